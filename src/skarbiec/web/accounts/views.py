"""The start page, accounts and their history (R-L1, R-L5).

Views read the query, call one service of skarbiec.ledger and render; refusals go through
skarbiec.web.errors. Amounts typed by the member are read by the ledger's parser ("1 234,56"
and "1234.56").
"""

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from skarbiec.audit.queries import previous_login
from skarbiec.core.bounds import FIRST_DAY, LAST_DAY, ascii_number, is_day
from skarbiec.core.errors import DomainError, InvalidInput
from skarbiec.ledger import history, overview, statements
from skarbiec.ledger.accounts import get_member_account, member_accounts
from skarbiec.ledger.amounts import amount_of_field
from skarbiec.web import member_session
from skarbiec.web.accounts.chart import monthly_chart
from skarbiec.web.decorators import member_required
from skarbiec.web.errors import error_context, reshow_on_error
from skarbiec.web.request import member_of

HISTORY_PAGE_SIZE = 20


@require_safe
@member_required
def start(request: HttpRequest) -> HttpResponse:
    """Balances, the latest operations, orders on their way, the previous login and a chart
    of income and expenses (R-L1, R-L5, R-W6)."""
    member = member_of(request)
    authenticated_at = member_session.session_started_at(request)
    totals = overview.monthly_totals(member)
    return render(
        request,
        "web/start.html",
        {
            "previous_login": previous_login(member.pk, authenticated_at),
            "accounts": member_accounts(member),
            "recent": overview.recent_operations(member),
            "waiting": overview.waiting_orders(member),
            "chart": monthly_chart(totals),
            "notice": member_session.pop_notice(request),
        },
    )


@require_safe
@member_required
def accounts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/accounts/accounts.html",
        {"accounts": member_accounts(member_of(request)), "section": "accounts"},
    )


def _history_filter(params: QueryDict) -> history.HistoryFilter:
    """The filter form's fields → a HistoryFilter; a field that cannot be read is refused."""

    def day(name: str) -> date | None:
        value = params.get(name, "").strip()
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                _("Enter dates as year-month-day, for example 2025-03-31."), field=name
            ) from None
        if not is_day(day):
            raise InvalidInput(
                _("Enter a date between %(first)s and %(last)s.")
                % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
                field=name,
            )
        return day

    def money(name: str) -> int | None:
        value = params.get(name, "").strip()
        return amount_of_field(name, value) if value else None

    return history.HistoryFilter(
        date_from=day("date_from"),
        date_to=day("date_to"),
        amount_min_minor=money("amount_min"),
        amount_max_minor=money("amount_max"),
        text=params.get("text", "")[:100],
    )


def _page_number(params: QueryDict) -> int:
    # Unreadable is the first page; a number out of range is refused by the history service.
    number = ascii_number(params.get("page", "").strip())
    return 1 if number is None else number


def _history_refused(request: HttpRequest, error: DomainError, account_id: int) -> HttpResponse:
    return render(
        request,
        "web/accounts/history.html",
        {
            "filters": request.GET,
            "section": "accounts",
            "account_id": account_id,
            "page": None,
            **error_context(error),
        },
        status=error.status,
    )


@require_safe
@member_required
@reshow_on_error(_history_refused)
def account_history(request: HttpRequest, account_id: int) -> HttpResponse:
    """Entries of one account, newest first, with filters and pages (R-L5)."""
    page = history.account_history(
        member_of(request),
        account_id,
        _history_filter(request.GET),
        _page_number(request.GET),
        HISTORY_PAGE_SIZE,
    )
    context: dict[str, Any] = {"filters": request.GET, "section": "accounts"}
    return render(
        request, "web/accounts/history.html", {**context, "account_id": account_id, "page": page}
    )


@require_safe
@member_required
@reshow_on_error(_history_refused)
def account_history_csv(request: HttpRequest, account_id: int) -> HttpResponseBase:
    """The filtered history as CSV, sent as it is read; a filter that cannot be read shows the
    history page."""
    chunks = history.history_csv_chunks(
        member_of(request),
        account_id,
        _history_filter(request.GET),
        translation.get_language() or "pl",
    )
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in chunks), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="history-{account_id}.csv"'
    return response


@require_safe
@member_required
def history_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    item = history.history_entry(member_of(request), entry_id)
    return render(request, "web/accounts/entry.html", {"item": item, "section": "accounts"})


@require_safe
@member_required
def account_statements(request: HttpRequest, account_id: int) -> HttpResponse:
    """The months of an account with a statement to download (R-L5)."""
    member = member_of(request)
    return render(
        request,
        "web/accounts/statements.html",
        {
            "account": get_member_account(member, account_id),
            "months": statements.statement_months(member, account_id),
            "section": "accounts",
        },
    )


@require_safe
@member_required
def account_statement_pdf(
    request: HttpRequest, account_id: int, year: int, month: int
) -> HttpResponse:
    """One month's statement as PDF: the stored one, or issued now for a past month."""
    statement = statements.member_statement(
        member_of(request), account_id, year, month, (translation.get_language() or "pl")[:2]
    )
    response = HttpResponse(bytes(statement.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{statement.account.number}-{year:04d}-{month:02d}.pdf"'
    )
    return response
