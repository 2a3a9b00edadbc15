"""Append-only audit log with a hash chain per credit union (R-B5)."""

from django.db import models
from django.db.models import Q


class AuditChain(models.Model):
    """Head of one hash chain: the last sealed event. Only the sealer locks it, so appending an
    event never waits for another credit union's or member's transaction."""

    key = models.CharField(max_length=64, unique=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)


class AuditEvent(models.Model):
    """One event. Written with one INSERT in the transaction of the change it records; its place
    in the chain (seq, prev_hash, hash) is given by `seal_audit_chains` once it is committed, in
    the order events become visible, so the chain follows commit order."""

    chain_key = models.CharField(max_length=64)  # "cu:<id>" or "installation"
    seq = models.BigIntegerField(null=True, blank=True)  # None until sealed
    created_at = models.DateTimeField()
    event = models.CharField(max_length=64)
    credit_union_id = models.BigIntegerField(null=True)
    member_id = models.BigIntegerField(null=True, db_index=True)
    actor = models.CharField(max_length=128, blank=True)  # "member", "staff:<username>", "system"
    channel = models.CharField(max_length=16, blank=True)  # web, mobile, backoffice, cli
    ip_address = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_key", "seq"], name="audit_chain_seq"),
        ]
        indexes = [
            models.Index(fields=["member_id", "-created_at"]),
            # The back-office's audit view, newest first: a credit union's log (filtered by
            # time or not), by event (and the loose scan of its event names), and the whole
            # installation's for its administrators. Without them each page read the table.
            models.Index(fields=["credit_union_id", "created_at", "id"], name="audit_cu_time"),
            models.Index(
                fields=["credit_union_id", "event", "created_at", "id"], name="audit_cu_event"
            ),
            models.Index(fields=["created_at", "id"], name="audit_time"),
            # What the sealer reads: the unsealed events of one chain, oldest first.
            models.Index(
                fields=["chain_key", "id"], condition=Q(seq__isnull=True), name="audit_unsealed"
            ),
        ]

    #: core.prepared.insert_new may insert new events: save() below only refuses updates.
    save_refuses_only_updates = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")
