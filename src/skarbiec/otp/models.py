"""One-time passwords (R-O1–R-O4) and the transactional SMS outbox (R-O5)."""

from django.db import models


class OneTimePassword(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active"
        USED = "used"
        VOIDED = "voided"  # replaced by a newer code for the same operation, or cancelled
        EXHAUSTED = "exhausted"  # too many wrong codes

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="otps")
    operation = models.CharField(max_length=48)
    # Keyed hash of the operation's details (dynamic linking, R-O2): another amount or payee
    # gives another digest and the code no longer matches.
    details_digest = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["member", "operation", "state"])]

    def __str__(self) -> str:
        return f"{self.operation} code #{self.pk} ({self.state})"


class SmsMessage(models.Model):
    """An SMS waiting for the worker. Written in the same transaction as its code; the body is
    encrypted at rest and erased once a real gateway accepted it (or it was given up)."""

    class State(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"  # refused for good by the gateway, or the last retry failed
        EXPIRED = "expired"  # not sent before give_up_at: its code had expired

    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="sms"
    )
    phone = models.CharField(max_length=20)
    body_encrypted = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A code SMS is useless once its code expired; the worker does not send it after this.
    give_up_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    gateway = models.CharField(max_length=32, blank=True)
    gateway_message_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        # Never the body: it may hold a code or a temporary password.
        return f"SMS #{self.pk} to {self.phone} ({self.state})"
