"""Operations confirmed by one-time SMS codes (R-O1–R-O4, R-X7) and the SMS outbox (R-O5)."""

from django.db import models


class Confirmation(models.Model):
    """One operation confirmed by SMS codes (R-O1–R-O4, R-X7), e.g. one transfer or one web
    login. A resend replaces the code *in this row*, so the budget of wrong codes (failed_codes)
    holds across resends; only the newest code is stored, so a new code voids the old one."""

    class State(models.TextChoices):
        OPEN = "open"
        CONFIRMED = "confirmed"
        VOIDED = "voided"  # replaced by a new operation of the same kind, or cancelled
        EXHAUSTED = "exhausted"  # three wrong codes: the operation's consequence ran

    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="confirmations"
    )
    # The operation kind of the registry (skarbiec.otp.operations) and which one of its kind
    # (an order id, a payee id; empty where a member has at most one at a time).
    kind = models.CharField(max_length=32)
    subject = models.CharField(max_length=64, blank=True)
    # The channel whose rule three wrong codes apply (R-O4): "web" or "mobile".
    channel = models.CharField(max_length=16)
    # Keyed hash of the operation's details (dynamic linking, R-O2): another amount or payee
    # gives another digest and the code no longer matches.
    details_digest = models.CharField(max_length=64)
    # What the SMS names, kept for resends (amount, payee, ...); never the code.
    details = models.JSONField(default=dict)
    code_hash = models.CharField(max_length=64)
    code_expires_at = models.DateTimeField()
    codes_sent = models.PositiveSmallIntegerField(default=1)
    # The operation this one was started again from, whose codes sent it carried (R-X7,
    # otp/restarts.py): a code of that one never delivered is one less here too.
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    failed_codes = models.PositiveSmallIntegerField(default=0)
    # Attempts counted and still being compared, and the last count (core/attempts.py).
    failed_codes_in_flight = models.PositiveSmallIntegerField(default=0, db_default=0)
    failed_codes_counted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["member", "kind", "subject", "state"]),
            models.Index(fields=["code_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} confirmation #{self.pk} ({self.state})"


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
    # The operation whose code this SMS carries (code SMS only). It is not sent once that code
    # is no longer the operation's current one (a resend replaced it, the operation closed):
    # an old code arriving after the new one would cost the member a wrong code.
    confirmation = models.ForeignKey(
        "otp.Confirmation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.CharField(max_length=20)
    body_encrypted = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A code SMS is useless once its code expired; the worker does not send it after this.
    give_up_at = models.DateTimeField(null=True, blank=True)
    # A worker's lease while it hands the message to the gateway: until then it may be on its
    # way to the member, so a resend must not take it back (otp/delivery.py). Cleared when the
    # try failed and the message waits for its retry.
    sending_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    gateway = models.CharField(max_length=32, blank=True)
    gateway_message_id = models.CharField(max_length=100, blank=True)
    # A try whose outcome is unknown (no answer came): the member may have got it even if it is
    # given up later, so it stays in their send budget (otp/send_budget.py).
    maybe_sent = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            # The purge of old records (otp/purge.py) finds them without reading the table.
            models.Index(fields=["created_at"], name="otp_sms_created_at"),
        ]

    def __str__(self) -> str:
        # Never the body: it may hold a code or a temporary password.
        return f"SMS #{self.pk} to {self.phone} ({self.state})"
