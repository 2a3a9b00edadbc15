"""R-B5: append-only audit log with a hash chain; `skarbiec audit verify` detects tampering."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import record_event, verify_audit_chains
from skarbiec.core.context import RequestContext

CTX = RequestContext(ip_address="10.0.0.1", channel="web", actor="member")


@pytest.mark.django_db
def test_r_b5_chain_links_every_event():
    first = record_event("web_login", CTX, credit_union_id=1, member_id=5)
    second = record_event("web_logout", CTX, credit_union_id=1, member_id=5)
    other = record_event("web_login", CTX, credit_union_id=2, member_id=9)
    assert second.prev_hash == first.hash
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    assert verify_audit_chains() == []
    call_command("audit", "verify")


@pytest.mark.django_db
def test_r_b5_events_cannot_be_changed_or_deleted_through_the_orm():
    event = record_event("web_login", CTX, credit_union_id=1)
    event.event = "nothing"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_r_b5_verify_detects_tampering_in_the_database(tamper):
    for n in range(3):
        record_event("web_login_failed", CTX, credit_union_id=1, member_id=n)
    middle = AuditEvent.objects.get(seq=2)
    with connection.cursor() as cur:
        if tamper == "edit":
            cur.execute(
                "UPDATE audit_auditevent SET event = %s WHERE id = %s", ["web_login", middle.pk]
            )
        else:
            cur.execute("DELETE FROM audit_auditevent WHERE id = %s", [middle.pk])
    problems = verify_audit_chains()
    # An edited event breaks its own hash; a deleted one leaves a gap before event 3.
    assert problems
    assert problems[0].seq == (2 if tamper == "edit" else 3)
    with pytest.raises(CommandError):
        call_command("audit", "verify")
