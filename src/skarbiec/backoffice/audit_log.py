"""The audit log for staff (R-B5): filtered by member, event, channel, staff member and time,
and exported as CSV (semicolon-separated, UTF-8 with a BOM, as spreadsheets in Poland expect).
Only the staff member's own credit union's events (`scope.audit_events_of`, R-B6)."""

import csv
import io
import json
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import record_event
from skarbiec.backoffice.scope import audit_events_of, audit_logs_of, members_of, staff_of
from skarbiec.core.context import RequestContext
from skarbiec.core.spreadsheets import inert_cell
from skarbiec.members.models import StaffProfile

PAGE_SIZE = 100
# Event names as the code writes them (`record_event`): lower case and underscores.
NAME_RE = re.compile(r"^[a-z][a-z_]{0,63}\Z")
EXPORT_LIMIT = 50_000


@dataclass(frozen=True)
class AuditFilter:
    member: str = ""  # a Login
    event: str = ""
    channel: str = ""
    staff: str = ""  # a username
    since: date | None = None
    until: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_events(staff: StaffProfile, f: AuditFilter) -> QuerySet[AuditEvent]:
    events = audit_events_of(staff)
    if f.member:
        member_ids = members_of(staff).filter(login=f.member.strip()).values_list("pk", flat=True)
        events = events.filter(member_id__in=list(member_ids))
    if f.event:
        events = events.filter(event=f.event.strip())
    if f.channel:
        events = events.filter(channel=f.channel.strip())
    if f.staff:
        events = events.filter(actor__iexact=f"staff:{f.staff.strip()}")
    if f.since:
        events = events.filter(created_at__gte=_day_start(f.since))
    if f.until:
        events = events.filter(created_at__lt=_day_start(f.until + timedelta(days=1)))
    return events.order_by("-created_at", "-pk")


def event_names(staff: StaffProfile) -> list[str]:
    """The events found in the staff member's logs (the filter's suggestions)."""
    names: set[str] = set()
    for credit_union_id in audit_logs_of(staff):
        names.update(_events_logged(credit_union_id))
    return sorted(names)


def _events_logged(credit_union_id: int | None) -> list[str]:
    # A DISTINCT reads every event of the log (millions after a few years); this walks the
    # index of (credit union, event) from one name to the next: one probe per name.
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    of_log = "credit_union_id IS NULL" if credit_union_id is None else "credit_union_id = %s"
    params = [] if credit_union_id is None else [credit_union_id, credit_union_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE names(event) AS ("  # noqa: S608 (names are ours, values bound)
            f" SELECT MIN(event) FROM {table} WHERE {of_log}"
            f" UNION ALL SELECT (SELECT MIN(e.event) FROM {table} e"
            f" WHERE e.{of_log} AND e.event > names.event)"
            " FROM names WHERE names.event IS NOT NULL"
            ") SELECT event FROM names WHERE event IS NOT NULL",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def _logins(staff: StaffProfile, events: list[AuditEvent]) -> dict[int, str]:
    ids = {e.member_id for e in events if e.member_id}
    return dict(members_of(staff).filter(pk__in=ids).values_list("pk", "login"))


def _record_read(
    event: str, staff: StaffProfile, f: AuditFilter, rows: int, ctx: RequestContext
) -> None:
    """Who read the log, with what filter and how much (R-B5). A filter naming a member files
    the read under them (so "who looked at this member" is one filter of the log) instead of
    keeping the Login typed, which may be another credit union's (R-B6)."""
    named = (
        members_of(staff)
        .filter(login=f.member.strip())
        .values_list("pk", "credit_union_id")
        .first()
        if f.member
        else None
    )
    member_id, credit_union_id = named or (None, staff.credit_union_id)
    shown = {k: str(v) for k, v in asdict(f).items() if v}
    if f.member:
        shown["member"] = "found" if named else "none"
    # What was typed is kept only when it is what the log holds: text typed into the wrong
    # field (a PESEL, a name) stays out of a log that is kept for years. (The channel is a
    # choice of the form.)
    if f.event:
        shown["event"] = f.event.strip() if NAME_RE.match(f.event.strip()) else "other"
    if f.staff:
        shown["staff"] = (
            staff_of(staff)
            .filter(user__username__iexact=f.staff.strip())
            .values_list("user__username", flat=True)
            .first()
            or "none"
        )
    record_event(
        event,
        ctx,
        # In the member's credit union's log (an installation administrator has none).
        credit_union_id=credit_union_id,
        member_id=member_id,
        data={"rows": rows, "filter": shown},
    )


def page_of_events(
    staff: StaffProfile, f: AuditFilter, ctx: RequestContext
) -> list[tuple[AuditEvent, str]]:
    """The newest PAGE_SIZE events the filter selects; reading them is recorded (R-B5)."""
    events = list(filtered_events(staff, f)[:PAGE_SIZE])
    _record_read("audit_viewed", staff, f, len(events), ctx)
    logins = _logins(staff, events)
    return [(e, logins.get(e.member_id or 0, "")) for e in events]


COLUMNS = ["time", "chain", "seq", "event", "member_login", "staff_or_actor", "channel",
           "ip_address", "device", "data"]  # fmt: skip


def events_csv(staff: StaffProfile, f: AuditFilter, ctx: RequestContext) -> bytes:
    """The filtered events as CSV; the export itself is recorded, with its filter (R-B5)."""
    events = list(filtered_events(staff, f)[:EXPORT_LIMIT])
    _record_read("audit_exported", staff, f, len(events), ctx)
    logins = _logins(staff, events)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for e in events:
        row = [
            timezone.localtime(e.created_at).isoformat(timespec="seconds"),
            e.chain_key,
            e.seq if e.seq is not None else "",
            e.event,
            logins.get(e.member_id or 0, ""),
            e.actor,
            e.channel,
            e.ip_address,
            e.device,
            json.dumps(e.data or {}, ensure_ascii=False, sort_keys=True),
        ]
        writer.writerow([inert_cell(str(cell)) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
