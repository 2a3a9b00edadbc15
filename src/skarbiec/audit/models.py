"""Append-only audit log with a hash chain per credit union (R-B5)."""

from django.db import models


class AuditChain(models.Model):
    """Head of one hash chain; locked while an event is appended so events are strictly ordered."""

    key = models.CharField(max_length=64, unique=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)


class AuditEvent(models.Model):
    chain = models.ForeignKey(AuditChain, on_delete=models.PROTECT, related_name="events")
    seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    event = models.CharField(max_length=64)
    credit_union_id = models.BigIntegerField(null=True)
    member_id = models.BigIntegerField(null=True, db_index=True)
    actor = models.CharField(max_length=128, blank=True)  # "member", "staff:<username>", "system"
    channel = models.CharField(max_length=16, blank=True)  # web, mobile, backoffice, cli
    ip_address = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq"),
        ]
        indexes = [models.Index(fields=["member_id", "-created_at"])]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")
