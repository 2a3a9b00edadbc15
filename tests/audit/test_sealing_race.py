"""Two sealers of one audit chain at once (R-B5, R-X4), on PostgreSQL: `skarbiec worker` and
`skarbiec audit verify` (which seals what waits before it checks). The head's row lock makes
them take turns; without it the slower one writes back the head it read, and the next event
gets a sequence number already taken."""

import threading

import pytest
from django.db import connection

from skarbiec.audit import services
from skarbiec.audit.models import AuditChain, AuditEvent
from skarbiec.audit.services import (
    chain_key,
    record_event,
    seal_audit_chains,
    verify_audit_chains,
)
from skarbiec.core.context import RequestContext
from tests.factories import make_credit_union

CTX = RequestContext(ip_address="10.9.9.9", channel="cli")


@pytest.mark.django_db(transaction=True)
def test_r_x4_a_second_sealer_waits_for_the_first_and_the_chain_stays_whole(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no sealer runs inside another")
    cu = make_credit_union()
    for i in range(5):
        record_event("test_event", CTX, credit_union_id=cu.pk, data={"i": i})
    real_write_links = services._write_links
    threads: list[threading.Thread] = []
    failures: list[BaseException] = []

    def another_event_and_sealer() -> None:
        try:
            record_event("test_event", CTX, credit_union_id=cu.pk, data={"i": 5})
            seal_audit_chains()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            failures.append(e)
        finally:
            connection.close()

    def write_links_with_a_second_sealer(links):  # type: ignore[no-untyped-def]
        if not threads:  # the first sealer read its head and events, wrote nothing yet
            threads.append(threading.Thread(target=another_event_and_sealer))
            threads[0].start()
            threads[0].join(1.0)
        return real_write_links(links)

    monkeypatch.setattr(services, "_write_links", write_links_with_a_second_sealer)
    seal_audit_chains()
    threads[0].join(10)
    monkeypatch.undo()
    assert failures == []
    key = chain_key(cu.pk)
    head = AuditChain.objects.get(key=key)
    seqs = sorted(AuditEvent.objects.filter(chain_key=key).values_list("seq", flat=True))
    assert seqs == list(range(1, 7)) and head.last_seq == 6, (seqs, head.last_seq)
    record_event("test_event", CTX, credit_union_id=cu.pk, data={"i": 6})
    assert seal_audit_chains() == 1
    assert verify_audit_chains() == []
