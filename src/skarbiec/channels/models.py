"""Access channels of a member: the internet service (web) and the mobile app (mobile)."""

from django.db import models


class WebChannel(models.Model):
    """The internet service. States: ACTIVE ⇄ BLOCKED (only staff unblock, R-W2)."""

    class State(models.TextChoices):
        ACTIVE = "active"
        BLOCKED = "blocked"

    member = models.OneToOneField(
        "members.Member", on_delete=models.CASCADE, related_name="web_channel"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    # Consecutive failed attempts (passwords, cancelled code confirmations); reset by a login.
    # An attempt is counted before the password is checked and given back on success, so
    # parallel requests can never test more passwords than the policy allows.
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    blocked_at = models.DateTimeField(null=True, blank=True)
    block_reason = models.CharField(max_length=32, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField()


class MobileChannel(models.Model):
    """The mobile app (§5): DISABLED → PENDING → ACTIVE → BLOCKED → PENDING; any → DISABLED."""

    class State(models.TextChoices):
        DISABLED = "disabled"
        PENDING = "pending"
        ACTIVE = "active"
        BLOCKED = "blocked"

    member = models.OneToOneField(
        "members.Member", on_delete=models.CASCADE, related_name="mobile_channel"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.DISABLED)
    # The mobile-app password used to activate the app ("identification data", R-M2).
    password_hash = models.CharField(max_length=200, blank=True)
    failed_password_attempts = models.PositiveSmallIntegerField(default=0)
    # Consecutive failed PIN and fingerprint attempts together (R-M5).
    failed_auth_attempts = models.PositiveSmallIntegerField(default=0)
    blocked_at = models.DateTimeField(null=True, blank=True)
    block_reason = models.CharField(max_length=32, blank=True)
    changed_at = models.DateTimeField()
