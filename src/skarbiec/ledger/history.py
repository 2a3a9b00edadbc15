"""Account history for members (R-L5): filtered, paginated, one entry's detail, CSV export."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.db.models.functions import Abs
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from skarbiec.core.bounds import MAX_PAGE
from skarbiec.core.spreadsheets import inert_cell
from skarbiec.ledger.accounts import get_member_account
from skarbiec.ledger.amounts import format_amount_plain, require_amount
from skarbiec.ledger.errors import AccountNotFound, InvalidOrderDetails
from skarbiec.ledger.models import LedgerEntry, Order
from skarbiec.ledger.names import shown_name
from skarbiec.members.models import Member

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class HistoryFilter:
    """All optional. Dates are local (Europe/Warsaw) and inclusive; amounts compare the
    absolute value in grosze; text is searched in the title and the counterparty's name."""

    date_from: date | None = None
    date_to: date | None = None
    amount_min_minor: int | None = None
    amount_max_minor: int | None = None
    text: str = ""


@dataclass(frozen=True)
class HistoryItem:
    entry_id: int
    account_id: int
    booked_at: datetime
    amount_minor: int  # positive: money in, negative: money out
    balance_after_minor: int
    title: str
    counterparty_name: str
    counterparty_account: str
    kind: str
    order_id: int | None  # the member's own order behind the entry, for its confirmation


@dataclass(frozen=True)
class HistoryPage:
    items: list[HistoryItem]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max((self.total + self.page_size - 1) // self.page_size, 1)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _entries(member: Member, account_id: int, filters: HistoryFilter) -> "QuerySet[LedgerEntry]":
    account = get_member_account(member, account_id)
    qs = LedgerEntry.objects.filter(account=account)
    tz = timezone.get_current_timezone()
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidOrderDetails(_date_order_message(), field="date_from")
    if filters.date_from:
        qs = qs.filter(booked_at__gte=datetime.combine(filters.date_from, time.min, tzinfo=tz))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=tz)
        qs = qs.filter(booked_at__lt=end)
    if filters.amount_min_minor is not None or filters.amount_max_minor is not None:
        qs = qs.annotate(abs_amount=Abs("amount_minor"))
        if filters.amount_min_minor is not None:
            qs = qs.filter(abs_amount__gte=require_amount(filters.amount_min_minor))
        if filters.amount_max_minor is not None:
            qs = qs.filter(abs_amount__lte=require_amount(filters.amount_max_minor))
    text = " ".join((filters.text or "").split())[:100].casefold()
    if text:
        qs = qs.filter(search_text__contains=text)
    return qs.select_related("transaction").order_by("-booked_at", "-pk")


def _date_order_message() -> str:
    return _("The start date must not be later than the end date.")


def entry_items(member: Member, entries: list[LedgerEntry]) -> list[HistoryItem]:
    # Only the member's own orders are linked: the payee of an internal transfer must not see
    # the payer's order.
    orders = dict(
        Order.objects.filter(
            member=member, booking_id__in={e.transaction_id for e in entries}
        ).values_list("booking_id", "pk")
    )
    refunds = dict(
        Order.objects.filter(
            member=member, settlement_id__in={e.transaction_id for e in entries}
        ).values_list("settlement_id", "pk")
    )
    return [
        HistoryItem(
            entry_id=e.pk,
            account_id=e.account_id,
            booked_at=e.booked_at,
            amount_minor=e.amount_minor,
            balance_after_minor=e.balance_after_minor,
            title=shown_name(e.transaction.title),
            counterparty_name=shown_name(e.counterparty_name),
            counterparty_account=e.counterparty_account,
            kind=e.transaction.kind,
            order_id=orders.get(e.transaction_id) or refunds.get(e.transaction_id),
        )
        for e in entries
    ]


def account_history(
    member: Member,
    account_id: int,
    filters: HistoryFilter | None = None,
    page: int = 1,
    page_size: int = 25,
) -> HistoryPage:
    """One page of an account's entries, newest first."""
    if not (1 <= page_size <= MAX_PAGE_SIZE):
        raise InvalidOrderDetails(field="page_size")
    if not (1 <= page <= MAX_PAGE):
        # Bounded so the offset below never overflows the database's integers (R-X8).
        raise InvalidOrderDetails(_("This page of the history does not exist."), field="page")
    qs = _entries(member, account_id, filters or HistoryFilter())
    total = qs.count()
    start = (page - 1) * page_size
    entries = list(qs[start : start + page_size])
    return HistoryPage(entry_items(member, entries), page, page_size, total)


def history_entry(member: Member, entry_id: int) -> HistoryItem:
    """The detail of one entry on one of the member's accounts."""
    entry = (
        LedgerEntry.objects.select_related("transaction")
        .filter(pk=entry_id, account__member=member)
        .first()
    )
    if entry is None:
        raise AccountNotFound()
    return entry_items(member, [entry])[0]


CSV_HEADER = [
    gettext_lazy("Booking date"),
    gettext_lazy("Amount"),
    gettext_lazy("Currency"),
    gettext_lazy("Balance after"),
    gettext_lazy("Title"),
    gettext_lazy("Counterparty"),
    gettext_lazy("Counterparty account"),
    gettext_lazy("Type"),
]


def csv_amount(amount_minor: int, lang: str) -> str:
    """Polish: "-1 234,56" (a space groups thousands, a comma before grosze: LibreOffice and
    Excel in a Polish locale read it as a number); English: "-1234.56"."""
    if lang == "en":
        return format_amount_plain(amount_minor)
    sign = "-" if amount_minor < 0 else ""
    whole, grosze = divmod(abs(amount_minor), 100)
    digits = str(whole)
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return f"{sign}{' '.join(groups)},{grosze:02d}"


#: Rows written to the response at a time: a long history goes out as it is read, never held
#: whole in a worker's memory (which Python keeps after the export).
CSV_ROWS_PER_CHUNK = 500


def history_csv_chunks(
    member: Member, account_id: int, filters: HistoryFilter | None = None, lang: str = "pl"
) -> Iterator[str]:
    """The filtered history as CSV for a spreadsheet in the member's language (R-L5): Polish
    with `;` separators, "1 234,56" amounts and Polish headers; English with `,` separators and
    "1234.56". Starts with a UTF-8 byte order mark so spreadsheets read the Polish letters.

    The account and the filter are checked now (a refusal is raised here, before anything is
    sent); the rows are read as the returned chunks are taken."""
    lang = "en" if (lang or "")[:2] == "en" else "pl"
    qs = _entries(member, account_id, filters or HistoryFilter())
    with translation.override(lang):
        header = [str(h) for h in CSV_HEADER]
        kinds = {k: str(v) for k, v in KIND_LABELS.items()}
    return _csv_chunks(qs, header, kinds, lang)


def _csv_chunks(
    qs: "QuerySet[LedgerEntry]", header: list[str], kinds: dict[str, str], lang: str
) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if lang == "pl" else ",", lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow(header)
    for n, e in enumerate(qs.iterator(chunk_size=1000), start=1):
        writer.writerow(
            [
                timezone.localtime(e.booked_at).strftime("%Y-%m-%d %H:%M"),
                csv_amount(e.amount_minor, lang),
                "PLN",
                csv_amount(e.balance_after_minor, lang),
                inert_cell(e.transaction.title),
                inert_cell(e.counterparty_name),
                e.counterparty_account,
                kinds.get(e.transaction.kind, e.transaction.kind),
            ]
        )
        if n % CSV_ROWS_PER_CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue()


def history_csv(
    member: Member, account_id: int, filters: HistoryFilter | None = None, lang: str = "pl"
) -> str:
    """The whole CSV at once (the command line, tests)."""
    return "".join(history_csv_chunks(member, account_id, filters, lang))


KIND_LABELS = {
    "transfer": gettext_lazy("transfer"),
    "outgoing": gettext_lazy("outgoing transfer"),
    "cleared": gettext_lazy("cleared"),
    "refund": gettext_lazy("refund"),
    "incoming": gettext_lazy("incoming transfer"),
    "card": gettext_lazy("card payment"),
    "deposit": gettext_lazy("cash deposit"),
    "withdrawal": gettext_lazy("cash withdrawal"),
}
