"""Monthly account statements (R-L5): opening and closing balance and every entry of one
calendar month (Europe/Warsaw), as a PDF.

A statement is issued once per account and month and kept (a `Statement` row with the PDF):
the member downloads the same document every time, the worker renders it away from any page
request, and the unique (account, month) constraint makes issuing idempotent, so a worker run
twice, two workers, or a worker racing a member's download still leave one statement. Ledger
entries are append-only and booked at the time of booking, so a past month never changes
after its statement is issued.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from skarbiec.core import clock
from skarbiec.ledger.accounts import get_member_account
from skarbiec.ledger.errors import InvalidOrderDetails
from skarbiec.ledger.models import Account, LedgerEntry, Statement
from skarbiec.ledger.statement_pdf import StatementDocument, render_statement
from skarbiec.members.models import Member

log = logging.getLogger(__name__)

MAX_LISTED_MONTHS = 24


@dataclass(frozen=True)
class StatementMonth:
    period: date
    issued: bool


def month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _bounds(period: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.combine(period, time.min, tzinfo=tz)
    end = datetime.combine(month_start(period, -1), time.min, tzinfo=tz)
    return start, end


def _today() -> date:
    return timezone.localdate(clock.now(), timezone.get_current_timezone())


def _opened(account: Account) -> date:
    return month_start(timezone.localdate(account.opened_at, timezone.get_current_timezone()))


def require_statement_period(account: Account, year: int, month: int) -> date:
    """A month that has ended and in which the account existed; refused otherwise."""
    if not (1 <= month <= 12 and 2000 <= year <= 9999):
        raise InvalidOrderDetails(_("There is no such month."), field="month")
    period = date(year, month, 1)
    if period >= month_start(_today()):
        raise InvalidOrderDetails(
            _("A statement is available once the month has ended."), field="month"
        )
    if period < _opened(account):
        raise InvalidOrderDetails(
            _("The account was opened after this month: there is no statement for it."),
            field="month",
        )
    return period


def issue_statement(account: Account, period: date, language: str | None = None) -> Statement:
    """The statement of `account` for the month starting `period`: the stored one, or issued
    now (in the member's language) and stored."""
    found = Statement.objects.filter(account=account, period=period).first()
    if found is not None:
        return found
    start, end = _bounds(period)
    # The sum of what was booked before the month, as the closing is the opening plus the
    # month's entries: two entries stamped in another order than they were booked (two
    # servers' clocks) would otherwise count one of them in two months (R-L5).
    before = LedgerEntry.objects.filter(account=account, booked_at__lt=start).aggregate(
        total=Sum("amount_minor")
    )["total"]
    entries = list(
        LedgerEntry.objects.filter(account=account, booked_at__gte=start, booked_at__lt=end)
        .select_related("transaction")
        .order_by("booked_at", "pk")
    )
    opening = before or 0
    credits = sum(e.amount_minor for e in entries if e.amount_minor > 0)
    debits = -sum(e.amount_minor for e in entries if e.amount_minor < 0)
    language = (language or (account.member.language if account.member else "") or "pl")[:2]
    document = StatementDocument(
        account=account,
        period=period,
        opening_minor=opening,
        closing_minor=opening + credits - debits,
        credits_minor=credits,
        debits_minor=debits,
        entries=entries,
        issued_at=clock.now(),
    )
    pdf = render_statement(document, language)
    try:
        with transaction.atomic():
            return Statement.objects.create(
                account=account,
                period=period,
                opening_minor=document.opening_minor,
                closing_minor=document.closing_minor,
                credits_minor=credits,
                debits_minor=debits,
                entry_count=len(entries),
                language=language,
                pdf=pdf,
                created_at=document.issued_at,
            )
    except IntegrityError:  # issued meanwhile by the worker or another request
        return Statement.objects.get(account=account, period=period)


def member_statement(
    member: Member, account_id: int, year: int, month: int, language: str | None = None
) -> Statement:
    """A member's statement for any past month of their account, issued on first request."""
    account = get_member_account(member, account_id)
    period = require_statement_period(account, year, month)
    return issue_statement(account, period, language or member.language)


def statement_months(member: Member, account_id: int) -> list[StatementMonth]:
    """The months a statement can be downloaded for, newest first (at most two years)."""
    account = get_member_account(member, account_id)
    last = month_start(_today(), 1)
    first = max(_opened(account), month_start(last, MAX_LISTED_MONTHS - 1))
    issued = set(
        Statement.objects.filter(account=account, period__gte=first).values_list(
            "period", flat=True
        )
    )
    months = []
    back = 0
    while (period := month_start(last, back)) >= first:
        months.append(StatementMonth(period, period in issued))
        back += 1
    return months


def issue_monthly_statements(today: date | None = None, batch: int = 500) -> int:
    """The worker's job: last month's statement of every member account that existed then and
    has none yet. Idempotent; returns how many were issued (at most `batch` per call)."""
    today = today or _today()
    period = month_start(today, 1)
    start, end = _bounds(period)
    missing = (
        Account.objects.filter(member__isnull=False, opened_at__lt=end)
        .exclude(Exists(Statement.objects.filter(account=OuterRef("pk"), period=period)))
        .select_related("member", "credit_union")
        .order_by("pk")[:batch]
    )
    issued = 0
    for account in missing:
        try:
            issue_statement(account, period)
        except DatabaseError:
            raise  # the database is away: the next pass tries them all again
        except Exception:  # noqa: BLE001 - one account that cannot be drawn stops no other
            log.exception("statement of account %s for %s could not be issued", account.pk, period)
            continue
        issued += 1
    return issued
