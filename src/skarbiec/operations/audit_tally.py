"""Counts of audit events by type, kept up to date incrementally for the metrics (R-D4).

Logins, failures and blocks are counted from the audit log rather than by in-process counters:
every process of every instance then reports the same totals (the installation's), nothing is
lost when a process restarts, and no service code has to know about metrics.

Counting the whole log at every scrape would grow with the log. Events are counted once sealed
into their chain, and the sealer numbers them under the chain head's lock: once this process has
counted a chain up to sequence N, only events after N can be new. The hash of event
N is kept as an anchor; when it no longer matches (the database was restored or replaced) the
chain is counted again from the start.
"""

import threading
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count

from skarbiec.audit.models import AuditChain, AuditEvent


@dataclass
class _ChainTally:
    seq: int = 0
    anchor: str = ""
    counts: Counter[str] = field(default_factory=Counter)


class AuditTally:
    def __init__(self) -> None:
        self._chains: dict[str, _ChainTally] = {}
        self._lock = threading.Lock()

    def counts(self) -> Counter[str]:
        """Events per type over the whole audit log."""
        with self._lock:
            heads = dict(AuditChain.objects.values_list("key", "last_seq"))
            self._drop_stale(heads)
            for chain_id, last_seq in heads.items():
                tally = self._chains.setdefault(chain_id, _ChainTally())
                if last_seq > tally.seq:
                    self._count_range(chain_id, tally, last_seq)
            total: Counter[str] = Counter()
            for tally in self._chains.values():
                total.update(tally.counts)
            return total

    def _drop_stale(self, heads: dict[str, int]) -> None:
        for chain_id in list(self._chains):
            tally = self._chains[chain_id]
            if chain_id not in heads or heads[chain_id] < tally.seq:
                del self._chains[chain_id]
        anchors = {chain_id: t.seq for chain_id, t in self._chains.items() if t.seq}
        if not anchors:
            return
        found: dict[str, str] = {}
        # One small indexed lookup per chain (there is one chain per credit union).
        for chain_id, seq in anchors.items():
            digest = (
                AuditEvent.objects.filter(chain_key=chain_id, seq=seq)
                .values_list("hash", flat=True)
                .first()
            )
            if digest is not None:
                found[chain_id] = digest
        for chain_id in anchors:
            if found.get(chain_id) != self._chains[chain_id].anchor:
                del self._chains[chain_id]

    def _count_range(self, chain_id: str, tally: _ChainTally, last_seq: int) -> None:
        rows = (
            AuditEvent.objects.filter(chain_key=chain_id, seq__gt=tally.seq, seq__lte=last_seq)
            .values("event")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in rows:
            tally.counts[row["event"]] += row["n"]
        tally.seq = last_seq
        tally.anchor = (
            AuditEvent.objects.filter(chain_key=chain_id, seq=last_seq)
            .values_list("hash", flat=True)
            .first()
            or ""
        )


audit_tally = AuditTally()
