"""Prepared query shapes (core/prepared.py): the same rows and effects as the ORM's, one
statement each, compiled once per thread, refused where binding new values would be wrong."""

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from skarbiec.channels.models import DeviceChallenge
from skarbiec.core import clock
from skarbiec.core.models import RateLimitCounter
from skarbiec.core.prepared import Update, prepared_select, prepared_update
from skarbiec.members.models import Member
from tests.factories import make_member

pytestmark = pytest.mark.django_db


@prepared_select
def member_by_login(login: str) -> QuerySet[Member]:
    return Member.objects.select_related("credit_union").filter(login=login)


@prepared_select
def window_count(key: str, window: int) -> QuerySet[RateLimitCounter]:
    return RateLimitCounter.objects.filter(key=key, window_start=window).only("count")


@prepared_select
def member_locked(member_id: int) -> QuerySet[Member]:
    return Member.objects.select_for_update().filter(pk=member_id)


@prepared_update
def use_challenge(challenge_hash: str, now: datetime) -> Update:
    unused = DeviceChallenge.objects.filter(
        challenge_hash=challenge_hash, used_at__isnull=True, expires_at__gt=now
    )
    return unused, {"used_at": now}


def _challenge(name: str, expires_in: int = 60) -> DeviceChallenge:
    now = clock.now()
    return DeviceChallenge.objects.create(
        challenge_hash=name,
        purpose="device",
        device_id="",
        created_at=now,
        expires_at=now + timedelta(seconds=expires_in),
    )


def test_a_prepared_select_returns_what_the_orm_returns_with_its_related_rows():
    member = make_member()
    other = make_member()
    with CaptureQueriesContext(connection) as queries:
        found = member_by_login.first(login=member.login)
        again = member_by_login.first(login=other.login)
        assert found is not None and again is not None
        # select_related: the credit union came with the member, no statement of its own.
        assert found.credit_union.name == member.credit_union.name
    assert len(queries.captured_queries) == 2
    expected = Member.objects.select_related("credit_union").get(login=member.login)
    assert {f.attname: getattr(found, f.attname) for f in Member._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in Member._meta.concrete_fields
    }
    assert again.pk == other.pk
    assert member_by_login.first(login="nobody") is None


def test_a_prepared_update_changes_what_the_orm_would_and_binds_datetimes():
    fresh, stale = _challenge("fresh"), _challenge("stale", expires_in=-1)
    now = clock.now()
    assert use_challenge.run(challenge_hash="fresh", now=now) == 1
    assert use_challenge.run(challenge_hash="fresh", now=now) == 0  # used once only
    assert use_challenge.run(challenge_hash="stale", now=now) == 0  # expired
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert fresh.used_at == now
    assert stale.used_at is None


def test_a_bigint_value_is_bound_through_the_backends_own_type():
    RateLimitCounter.objects.create(key="k", window_start=7_000_000_000, count=3)
    found = window_count.first(key="k", window=7_000_000_000)
    assert found is not None and found.count == 3
    assert window_count.first(key="k", window=7_000_000_060) is None


@pytest.mark.django_db(transaction=True)
def test_a_locking_select_outside_a_transaction_is_refused_as_the_orm_refuses_it():
    member = make_member()
    with pytest.raises(TransactionManagementError):
        member_locked.first(member_id=member.pk)
    with transaction.atomic():
        locked = member_locked.first(member_id=member.pk)
    assert locked is not None and locked.pk == member.pk
    with pytest.raises(TransactionManagementError):  # compiled already: still checked
        member_locked.first(member_id=member.pk)


def test_each_thread_compiles_its_own_and_gets_the_same_rows():
    member = make_member()
    assert member_by_login.first(login=member.login) is not None
    seen: list[object] = []

    def look_up() -> None:
        try:
            found = member_by_login.first(login=member.login)
            seen.append(found.pk if found else None)
        finally:
            connection.close()

    worker = threading.Thread(target=look_up)
    worker.start()
    worker.join()
    # The other thread has its own connection: it sees committed rows only (none in a test
    # transaction on every backend), but it ran the statement rather than failing.
    assert len(seen) == 1


def test_shapes_whose_values_django_transforms_are_refused_when_first_compiled():
    @prepared_select
    def by_part_of_login(part: str) -> QuerySet[Member]:
        return Member.objects.filter(login__contains=part)

    with pytest.raises(TypeError, match="transforms"):
        by_part_of_login.all(part="12")


def test_values_must_be_the_named_ones_and_of_a_supported_kind():
    with pytest.raises(TypeError, match="takes"):
        member_by_login.first(name="x")
    with pytest.raises(TypeError, match="str, int or datetime"):

        @prepared_select
        def by_flag(flag: bool) -> QuerySet[Member]:
            return Member.objects.filter(must_change_password=flag)


def test_a_plain_model_queryset_only():
    @prepared_select
    def logins(login: str) -> QuerySet[Member]:
        return Member.objects.filter(login=login).values_list("pk", flat=True)  # type: ignore[return-value]

    with pytest.raises(TypeError, match="plain model"):
        logins.all(login="x")


def test_a_unique_lookup_that_finds_two_rows_is_an_error():
    @prepared_select
    def by_credit_union(credit_union_id: int) -> QuerySet[Member]:
        return Member.objects.filter(credit_union_id=credit_union_id)

    member = make_member()
    make_member(member.credit_union)
    with pytest.raises(TypeError, match="2 rows"):
        by_credit_union.first(credit_union_id=member.credit_union_id)
    assert len(by_credit_union.all(credit_union_id=member.credit_union_id)) == 2


@prepared_update
def count_below(key: str, limit: int) -> Update:
    from django.db.models import F

    return RateLimitCounter.objects.filter(key=key, count__lt=limit), {"count": F("count") + 1}


def test_a_limit_is_bound_into_the_comparison_and_the_expression():
    RateLimitCounter.objects.create(key="c", window_start=0, count=1)
    assert count_below.run(key="c", limit=2) == 1
    assert count_below.run(key="c", limit=2) == 0  # at the limit: nothing counted
    assert count_below.run(key="c", limit=3) == 1
    assert RateLimitCounter.objects.get(key="c").count == 3


def test_a_value_the_orm_would_coerce_is_a_programming_error():
    with pytest.raises(TypeError, match="must be str"):
        member_by_login.first(login=123)
    with pytest.raises(TypeError, match="must be int"):
        window_count.first(key="k", window=True)
    with pytest.raises(TypeError, match="beyond a bigint"):
        window_count.first(key="k", window=2**63)


def test_insert_new_stores_what_save_stores_and_marks_the_row_saved():
    from skarbiec.audit.models import AuditEvent
    from skarbiec.core.prepared import insert_new

    member = make_member()
    now = clock.now()
    fields = {
        "chain_key": f"cu:{member.credit_union_id}",
        "created_at": now,
        "event": "test_event",
        "credit_union_id": member.credit_union_id,
        "member_id": member.pk,
        "actor": "test",
        "channel": "cli",
        "ip_address": "2001:db8::1",
        "device": "phone",
        "data": {"amount_minor": 5, "nested": ["a", 1]},
    }
    with CaptureQueriesContext(connection) as queries:
        event = insert_new(AuditEvent(**fields))
    assert len(queries.captured_queries) == 1
    assert event.pk is not None and not event._state.adding and event._state.db == "default"
    stored = AuditEvent.objects.get(pk=event.pk)
    for name, value in fields.items():
        assert getattr(stored, name) == value, name
    second = insert_new(AuditEvent(**fields))
    assert second.pk != event.pk


def test_insert_new_refuses_a_model_whose_save_signals_would_be_skipped():
    from django.db.models.signals import post_save

    from skarbiec.core.prepared import insert_new

    def listener(**kwargs: object) -> None:
        pass

    post_save.connect(listener, sender=RateLimitCounter)
    try:
        with pytest.raises(TypeError, match="signals"):
            insert_new(RateLimitCounter(key="s", window_start=0, count=1))
    finally:
        post_save.disconnect(listener, sender=RateLimitCounter)


def test_insert_new_belongs_to_the_callers_transaction():
    from skarbiec.core.prepared import insert_new

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        insert_new(RateLimitCounter(key="t", window_start=0, count=1))
        raise Rollback()
    assert not RateLimitCounter.objects.filter(key="t").exists()


def test_get_raises_the_models_does_not_exist_as_the_orm_does():
    member = make_member()
    assert member_by_login.get(login=member.login).pk == member.pk
    with pytest.raises(Member.DoesNotExist):
        member_by_login.get(login="nobody")


def test_insert_new_refuses_a_model_whose_own_save_holds_a_rule():
    """LedgerTransaction.save() refuses a booking whose entries were not checked to balance:
    inserting it around save() would skip that rule. AuditEvent's save() only refuses
    updates, and says so."""
    from skarbiec.core.prepared import insert_new
    from skarbiec.ledger.models import LedgerTransaction
    from tests.factories import make_credit_union

    txn = LedgerTransaction(
        credit_union=make_credit_union(), kind="transfer", title="x", booked_at=clock.now()
    )
    with pytest.raises(TypeError, match="own save"):
        insert_new(txn)
    assert not LedgerTransaction.objects.exists()


def test_prepared_rows_sum_as_the_orm_sums_and_find_no_group_without_rows():
    from django.db.models import Q, Sum

    from skarbiec.core.prepared import prepared_rows

    @prepared_rows
    def counts_since(prefix_key: str, since: int) -> "QuerySet[Any, tuple[Any, Any]]":
        return (
            RateLimitCounter.objects.filter(key=prefix_key)
            .values("key")
            .annotate(all=Sum("count"), recent=Sum("count", filter=Q(window_start__gte=since)))
            .values_list("all", "recent")
        )

    for window, count in ((100, 2), (200, 3), (300, 5)):
        RateLimitCounter.objects.create(key="k", window_start=window, count=count)
    RateLimitCounter.objects.create(key="other", window_start=300, count=7)
    orm = RateLimitCounter.objects.filter(key="k").aggregate(
        all=Sum("count"), recent=Sum("count", filter=Q(window_start__gte=200))
    )
    assert counts_since.all(prefix_key="k", since=200) == [(orm["all"], orm["recent"])] == [(10, 8)]
    assert counts_since.all(prefix_key="k", since=400) == [(10, None)]
    assert counts_since.all(prefix_key="none", since=0) == []

    def counters(key: str) -> QuerySet[RateLimitCounter]:
        return RateLimitCounter.objects.filter(key=key)

    with pytest.raises(TypeError, match="values_list"):
        prepared_rows(counters).all(key="k")
