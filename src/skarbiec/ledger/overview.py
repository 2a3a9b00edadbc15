"""What the start page shows of a member's money (R-L1, R-L3, R-L5): the latest operations
across all accounts, orders still on their way, and income and expenses per month.

Each function is one or two queries whatever the number of accounts or months: the start page
is the most visited page of the service.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Case, IntegerField, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from skarbiec.core import clock
from skarbiec.ledger.history import HistoryItem, entry_items
from skarbiec.ledger.models import Account, LedgerEntry, Order
from skarbiec.ledger.names import shown_name
from skarbiec.members.models import Member

RECENT_OPERATIONS = 8
MAX_RECENT_OPERATIONS = 20
CHART_MONTHS = 6
MAX_CHART_MONTHS = 12

# Orders the member still waits for: a code to type, or the payee's bank to book them.
WAITING_STATES = (Order.State.AWAITING_AUTHORIZATION, Order.State.PENDING, Order.State.SENT)


@dataclass(frozen=True)
class RecentOperation:
    item: HistoryItem
    account_name: str
    account_number: str


@dataclass(frozen=True)
class MonthTotals:
    month: date  # the first day of the month, local time
    income_minor: int  # money in, ≥ 0
    expenses_minor: int  # money out, ≥ 0

    @property
    def net_minor(self) -> int:
        return self.income_minor - self.expenses_minor


def recent_operations(member: Member, limit: int = RECENT_OPERATIONS) -> list[RecentOperation]:
    """The member's newest entries across all accounts, newest first."""
    limit = max(1, min(limit, MAX_RECENT_OPERATIONS))
    entries = list(
        LedgerEntry.objects.filter(account__member=member)
        .select_related("transaction", "account")
        .order_by("-booked_at", "-pk")[:limit]
    )
    return [
        RecentOperation(item, shown_name(e.account.name), e.account.number)
        for item, e in zip(entry_items(member, entries), entries, strict=True)
    ]


def waiting_orders(member: Member) -> list[Order]:
    """Orders waiting for an SMS code or for clearing, oldest first."""
    return list(
        Order.objects.filter(member=member, state__in=WAITING_STATES)
        .select_related("from_account")
        .order_by("created_at", "pk")[:MAX_RECENT_OPERATIONS]
    )


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def monthly_totals(
    member: Member, months: int = CHART_MONTHS, today: date | None = None
) -> list[MonthTotals]:
    """Income and expenses per calendar month (Europe/Warsaw) for the last `months` months,
    oldest first, the current month included; months without entries are zeros.

    Transfers between the member's own accounts are neither income nor expense, so they are
    left out. One aggregate query.
    """
    months = max(1, min(months, MAX_CHART_MONTHS))
    tz = timezone.get_current_timezone()
    today = today or timezone.localdate(clock.now(), tz)
    first = _month_start(today, months - 1)
    own_numbers = Account.objects.filter(member=member).values("number")
    rows = (
        LedgerEntry.objects.filter(
            account__member=member,
            booked_at__gte=datetime.combine(first, time.min, tzinfo=tz),
        )
        .exclude(counterparty_account__in=own_numbers)
        .annotate(month=TruncMonth("booked_at", tzinfo=tz))
        .values("month")
        .annotate(
            income=Sum(
                Case(
                    When(amount_minor__gt=0, then="amount_minor"),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            ),
            expenses=Sum(
                Case(
                    When(amount_minor__lt=0, then="amount_minor"),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            ),
        )
        .order_by("month")
    )
    found: dict[date, tuple[int, int]] = {}
    for row in rows:
        month = row["month"]
        day = timezone.localtime(month, tz).date() if isinstance(month, datetime) else month
        found[day.replace(day=1)] = (int(row["income"] or 0), -int(row["expenses"] or 0))
    result = []
    for back in range(months - 1, -1, -1):
        month = _month_start(today, back)
        income, expenses = found.get(month, (0, 0))
        result.append(MonthTotals(month, income, expenses))
    return result
