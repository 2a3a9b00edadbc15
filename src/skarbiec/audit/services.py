"""Writing and verifying the audit log."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from skarbiec.audit.models import AuditChain, AuditEvent
from skarbiec.core import clock
from skarbiec.core.context import RequestContext


def _digest(prev_hash: str, event: AuditEvent) -> str:
    body = json.dumps(
        {
            "prev": prev_hash,
            "seq": event.seq,
            "at": event.created_at.isoformat(),
            "event": event.event,
            "cu": event.credit_union_id,
            "member": event.member_id,
            "actor": event.actor,
            "channel": event.channel,
            "ip": event.ip_address,
            "device": event.device,
            "data": event.data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record_event(
    event: str,
    ctx: RequestContext,
    *,
    credit_union_id: int | None = None,
    member_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to its credit union's chain, in the caller's transaction."""
    key = f"cu:{credit_union_id}" if credit_union_id else "installation"
    with transaction.atomic():
        AuditChain.objects.get_or_create(key=key)
        chain = AuditChain.objects.select_for_update().get(key=key)
        entry = AuditEvent(
            chain=chain,
            seq=chain.last_seq + 1,
            created_at=clock.now(),
            event=event,
            credit_union_id=credit_union_id,
            member_id=member_id,
            actor=ctx.actor,
            channel=ctx.channel,
            ip_address=ctx.ip_address,
            device=ctx.device[:200],
            data=json.loads(json.dumps(data or {}, default=str)),
            prev_hash=chain.last_hash,
        )
        entry.hash = _digest(chain.last_hash, entry)
        entry.save()
        chain.last_seq = entry.seq
        chain.last_hash = entry.hash
        chain.save(update_fields=["last_seq", "last_hash"])
    return entry


@dataclass
class ChainProblem:
    chain: str
    seq: int
    reason: str


def verify_audit_chains() -> list[ChainProblem]:
    """Recompute every chain; report gaps, edited events and a head that does not match."""
    problems: list[ChainProblem] = []
    for chain in AuditChain.objects.order_by("key"):
        prev = "0" * 64
        expected_seq = 1
        for entry in chain.events.order_by("seq").iterator(chunk_size=2000):
            if entry.seq != expected_seq:
                problems.append(ChainProblem(chain.key, entry.seq, f"missing event {expected_seq}"))
            if entry.prev_hash != prev:
                problems.append(ChainProblem(chain.key, entry.seq, "link to previous event broken"))
            if _digest(entry.prev_hash, entry) != entry.hash:
                problems.append(ChainProblem(chain.key, entry.seq, "event content changed"))
            prev = entry.hash
            expected_seq = entry.seq + 1
        if chain.last_seq != expected_seq - 1 or chain.last_hash != prev:
            problems.append(ChainProblem(chain.key, chain.last_seq, "chain head does not match"))
    return problems
