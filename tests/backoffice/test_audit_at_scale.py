"""The audit view of a log with years of events (R-B5, R-B6): every page is served by an index,
never by reading the log (each login adds an event: millions after a few years), and its event
names are found one index probe per name. The indexes are built without holding off writes."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import record_event
from skarbiec.backoffice.audit_log import AuditFilter, event_names, filtered_events
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.online_schema import AddIndexOnline
from tests.backoffice.staff import make_staff

SYSTEM = RequestContext(actor="system", channel="cli", ip_address="127.0.0.1")


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("query plans and concurrent index builds are PostgreSQL's")


def test_r_b5_r_b6_event_names_are_those_of_the_staff_members_logs(cu, other_cu, member):
    record_event("only_here", SYSTEM, credit_union_id=cu.pk, member_id=member.pk)
    record_event("only_here", SYSTEM, credit_union_id=cu.pk)
    record_event("only_elsewhere", SYSTEM, credit_union_id=other_cu.pk)
    record_event("only_installation", SYSTEM)
    helpline = make_staff("helpline", cu)
    root = make_staff("admin", None, "root.admin")

    names = event_names(helpline)
    assert names == sorted(set(names)) and "only_here" in names and "member_onboarded" in names
    assert "only_elsewhere" not in names and "only_installation" not in names
    everything = event_names(root)
    assert {"only_here", "only_elsewhere", "only_installation"} <= set(everything)
    assert everything == sorted(set(everything))


@pytest.fixture
def long_log(cu, other_cu):
    """1,500 events of one credit union (three of them rare) and 500 of another's."""
    now = clock.now()

    def event(n: int, name: str, credit_union_id: int | None) -> AuditEvent:
        return AuditEvent(
            chain_key=f"cu:{credit_union_id}",
            created_at=now - timedelta(minutes=n),
            event=name,
            credit_union_id=credit_union_id,
            actor="member",
            channel="mobile",
        )

    rows = [event(n, "web_login" if n % 2 else "mobile_login", cu.pk) for n in range(1497)]
    rows += [event(n, "mobile_channel_blocked", cu.pk) for n in range(3)]
    rows += [event(n, "web_login", other_cu.pk) for n in range(500)]
    AuditEvent.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")


def _rows_read(sql: str, params: list[object] | tuple[object, ...]) -> int:
    """Rows of the audit log the statement reads, as PostgreSQL counts them running it. Seq
    scans are priced out: on a log this short the planner would read the table either way;
    what is measured is whether an index lets it read only what it returns."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)

    def read(node: dict) -> int:
        own = 0
        if node.get("Relation Name") == "audit_auditevent":
            kept, dropped = node["Actual Rows"], node.get("Rows Removed by Filter", 0)
            own = (int(kept) + int(dropped)) * int(node["Actual Loops"])
        return own + sum(read(child) for child in node.get("Plans", []))

    return read(plan[0]["Plan"])


@pytest.mark.parametrize(
    ("kind", "f", "at_most"),
    [
        ("credit union", AuditFilter(), 100),
        ("credit union", AuditFilter(event="mobile_channel_blocked"), 3),
        ("credit union", AuditFilter(since=date(2026, 1, 1)), 100),
        ("installation", AuditFilter(), 100),
    ],
)
def test_r_b5_a_page_of_the_audit_view_reads_what_it_shows(cu, long_log, kind, f, at_most):
    _postgresql_only()
    staff = make_staff("helpline", cu) if kind == "credit union" else make_staff("admin", None)
    sql, params = filtered_events(staff, f)[:100].query.sql_with_params()
    assert _rows_read(sql, params) <= at_most


def test_r_b5_event_names_are_probed_one_by_one(cu, long_log):
    _postgresql_only()
    from skarbiec.backoffice.audit_log import _events_logged

    with CaptureQueriesContext(connection) as statements:
        names = _events_logged(cu.pk)
    assert {"web_login", "mobile_login", "mobile_channel_blocked"} <= set(names)
    (statement,) = statements.captured_queries
    # One probe per name (and one past the last), not one row per event.
    assert _rows_read(statement["sql"], []) <= len(names) + 1


@pytest.mark.django_db(transaction=True)
def test_r_d5_an_index_is_built_without_holding_off_writes():
    """CREATE INDEX takes a lock that stops every INSERT until the index is built: on the audit
    log that is every login. On PostgreSQL AddIndexOnline builds it CONCURRENTLY."""
    state = MigrationLoader(connection).project_state(("audit", "0003_cu_time_event_indexes"))
    operation = AddIndexOnline(
        model_name="auditevent", index=models.Index(fields=["actor"], name="audit_test_actor")
    )
    after = state.clone()
    operation.state_forwards("audit", after)
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        operation.database_forwards("audit", editor, state, after)
        operation.database_backwards("audit", editor, after, state)
    create, drop = editor.collected_sql
    assert "audit_test_actor" in create and "audit_test_actor" in drop
    concurrently = connection.vendor == "postgresql"
    assert ("CONCURRENTLY" in create, "CONCURRENTLY" in drop) == (concurrently, concurrently)
