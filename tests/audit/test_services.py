"""R-B5: append-only audit log with a hash chain; `skarbiec audit verify` detects tampering."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import record_event, seal_audit_chains, verify_audit_chains
from skarbiec.core.context import RequestContext

CTX = RequestContext(ip_address="10.0.0.1", channel="web", actor="member")


@pytest.mark.django_db
def test_r_b5_chain_links_every_event():
    first = record_event("web_login", CTX, credit_union_id=1, member_id=5)
    second = record_event("web_logout", CTX, credit_union_id=1, member_id=5)
    other = record_event("web_login", CTX, credit_union_id=2, member_id=9)
    assert first.seq is None  # written without a lock; sealed into the chain after commit
    assert seal_audit_chains() == 3
    first, second, other = (AuditEvent.objects.get(pk=e.pk) for e in (first, second, other))
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
    seal_audit_chains()
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


@pytest.mark.django_db
def test_r_b5_verify_finds_an_edit_whose_own_hash_was_recomputed():
    """Mutation audit of 7 December: someone with write access edits an event and recomputes
    its hash; the next event's link names the edit."""
    from skarbiec.audit.services import _digest

    for n in range(3):
        record_event("web_login_failed", CTX, credit_union_id=1, member_id=n)
    seal_audit_chains()
    middle = AuditEvent.objects.get(seq=2)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE audit_auditevent SET event = %s WHERE id = %s", ["web_login", middle.pk]
        )
    edited = AuditEvent.objects.get(pk=middle.pk)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE audit_auditevent SET hash = %s WHERE id = %s",
            [_digest(edited.prev_hash, edited), middle.pk],
        )
    problems = verify_audit_chains()
    assert [(p.seq, p.reason) for p in problems] == [(3, "link to previous event broken")]
    with pytest.raises(CommandError):
        call_command("audit", "verify")


@pytest.mark.django_db
def test_r_b5_verify_finds_the_newest_event_deleted():
    """Deleting the newest event leaves no gap: only the chain's head tells."""
    for n in range(3):
        record_event("web_login_failed", CTX, credit_union_id=1, member_id=n)
    seal_audit_chains()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent WHERE seq = 3")
    problems = verify_audit_chains()
    assert [p.reason for p in problems] == ["chain head does not match"]
    with pytest.raises(CommandError):
        call_command("audit", "verify")


@pytest.mark.django_db(transaction=True)
def test_r_b5_appending_takes_no_lock_and_the_chain_follows_commit_order():
    """Two transactions append events of one credit union at the same time (neither waits for
    the other: audited writes are not serialised on one row). The one written first commits
    last; sealed in between, the chain follows commit order, and it verifies."""
    import threading

    from django.db import transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time whatever the code does")
    both_written = threading.Barrier(3, timeout=10)
    may_commit_late = threading.Event()
    early_done = threading.Event()
    late_written = threading.Event()

    def writer(name: str, go: threading.Event | None, done: threading.Event | None) -> None:
        try:
            with transaction.atomic():
                if name == "early":  # the late one writes first, so it gets the lower id
                    assert late_written.wait(timeout=10)
                record_event(f"test_{name}", CTX, credit_union_id=7)
                if name == "late":
                    late_written.set()
                both_written.wait()  # a lock on the chain would keep the other from getting here
                if go is not None:
                    assert go.wait(timeout=10)
            if done is not None:
                done.set()
        finally:
            connection.close()

    late = threading.Thread(target=writer, args=("late", may_commit_late, None))
    late.start()
    both_written_first = threading.Thread(target=writer, args=("early", None, early_done))
    both_written_first.start()
    both_written.wait()
    assert early_done.wait(timeout=10)
    assert seal_audit_chains() == 1  # only the committed one is visible
    may_commit_late.set()
    late.join()
    both_written_first.join()
    assert seal_audit_chains() == 1
    sealed = AuditEvent.objects.filter(chain_key="cu:7").order_by("seq")
    assert [e.event for e in sealed] == ["test_early", "test_late"]
    assert sealed[0].pk > sealed[1].pk  # written in the other order
    assert verify_audit_chains() == []


@pytest.mark.django_db
def test_r_b5_verify_seals_what_is_waiting_first():
    record_event("web_login", CTX, credit_union_id=3)
    assert verify_audit_chains() == []
    assert AuditEvent.objects.get(credit_union_id=3).seq == 1
    record_event("web_logout", CTX, credit_union_id=3)
    call_command("audit", "verify")
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0
