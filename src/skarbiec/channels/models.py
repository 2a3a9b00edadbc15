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
    # Attempts counted and still being compared, and the last count (core/attempts.py).
    failed_attempts_in_flight = models.PositiveSmallIntegerField(default=0, db_default=0)
    failed_attempts_counted_at = models.DateTimeField(null=True, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    block_reason = models.CharField(max_length=32, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField()
    # Raised when the password changes; a web session that started under an older value ends
    # (a changed password must shut out whoever else was logged in with the old one).
    session_generation = models.PositiveIntegerField(default=0)


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
    # Attempts counted and still being compared, and the last count (core/attempts.py).
    failed_password_attempts_in_flight = models.PositiveSmallIntegerField(default=0, db_default=0)
    failed_password_attempts_counted_at = models.DateTimeField(null=True, blank=True)
    # Consecutive failed PIN and fingerprint attempts together (R-M5).
    failed_auth_attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts counted and still being compared, and the last count (core/attempts.py).
    failed_auth_attempts_in_flight = models.PositiveSmallIntegerField(default=0, db_default=0)
    failed_auth_attempts_counted_at = models.DateTimeField(null=True, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    block_reason = models.CharField(max_length=32, blank=True)
    changed_at = models.DateTimeField()
    # The password defined in the web (R-W4/R-W5) waits here until its SMS code is confirmed:
    # kept in the database, not in a web session, so any process can finish the second step.
    pending_password_hash = models.CharField(max_length=200, blank=True)
    pending_password_otp_id = models.BigIntegerField(null=True, blank=True)


class MobileDevice(models.Model):
    """The device bound to a member's mobile channel (R-M2). At most one is ACTIVE per member;
    a new activation marks the old one REMOVED (R-M6)."""

    class State(models.TextChoices):
        ACTIVE = "active"
        REMOVED = "removed"

    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="mobile_devices"
    )
    # Public identifier used by the app in every request; not a secret.
    device_id = models.CharField(max_length=43, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    # ECDSA P-256 public key of the device, SubjectPublicKeyInfo DER.
    public_key = models.BinaryField()
    name = models.CharField(max_length=100, blank=True)
    platform = models.CharField(max_length=16, blank=True)
    os_version = models.CharField(max_length=32, blank=True)
    app_version = models.CharField(max_length=32, blank=True)
    # keyed_hash("pin-proof", device_id, HMAC(device_secret, PIN)): without the device secret
    # (on the phone) and the server key (outside the database) no PIN can be tested (R-M3).
    pin_proof_hash = models.CharField(max_length=64, blank=True)
    # The secret key the PIN proof's hash was made under (core/keys.secret_key_id); empty for
    # PINs set before it was stored.
    pin_key_id = models.CharField(max_length=8, blank=True, default="", db_default="")
    activated_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [models.Index(fields=["member", "state"])]


class MobileActivation(models.Model):
    """Identification data accepted; the device waits for the SMS code before it is bound."""

    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="mobile_activations"
    )
    activation_id = models.CharField(max_length=43, unique=True)
    otp_id = models.BigIntegerField()
    public_key = models.BinaryField()
    device_info = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # The channel's `changed_at` read under its lock as the mobile-app password was accepted:
    # a channel changed since (a new password, a block, a device bound) binds nothing from it.
    # None for activations begun before the upgrade (they expire within minutes).
    channel_changed_at = models.DateTimeField(null=True, blank=True)


class DeviceChallenge(models.Model):
    """A single-use server challenge (60 s) signed by the device key or by an authenticator."""

    challenge_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=32)
    # Bound to one device for WebAuthn ceremonies; empty for generic challenges.
    device_id = models.CharField(max_length=43, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]


class FingerprintCredential(models.Model):
    """A WebAuthn platform credential registered on the bound device (R-M4)."""

    device = models.ForeignKey(MobileDevice, on_delete=models.CASCADE, related_name="credentials")
    credential_id = models.CharField(max_length=400, unique=True)  # base64url
    public_key = models.BinaryField()  # COSE
    sign_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)


class MobileSession(models.Model):
    """An opaque bearer token of the mobile app, stored only as a keyed hash (R-M9)."""

    token_hash = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="mobile_sessions"
    )
    device = models.ForeignKey(MobileDevice, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    absolute_expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, blank=True)
    # Opened by the PIN (set or entered), not by a fingerprint: only such a session, and only
    # right after, may enrol a fingerprint (channels/mobile/fingerprint.py).
    opened_with_pin = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [models.Index(fields=["member", "revoked_at"])]


class PendingWebPasswordChange(models.Model):
    """A new internet service password waiting for its SMS code (R-O1). Kept in the database,
    not in the web session, so any process can finish the second step; one per member, a new
    request replaces it (and its new confirmation voids the old code)."""

    member = models.OneToOneField(
        "members.Member", on_delete=models.CASCADE, related_name="pending_web_password_change"
    )
    otp_id = models.BigIntegerField()
    password_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField()
