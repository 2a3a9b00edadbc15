"""The app's start screen and monthly statements (R-L1, R-L3, R-L5, R-W1), under the same
/api/mobile/v1/ API and bearer session as the rest of the app. One service call per handler."""

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from ninja import Router
from pydantic import Field

from skarbiec.api import overview_schemas as s
from skarbiec.api.auth import MobileSessionAuth, mobile_session
from skarbiec.api.ledger import account_out, item_out, money_text, order_out
from skarbiec.api.schemas import ERRORS
from skarbiec.audit.queries import previous_login
from skarbiec.channels.mobile.sessions import session_started_at
from skarbiec.core.bounds import RecordId, WholeNumber
from skarbiec.ledger import overview, statements
from skarbiec.ledger.accounts import member_accounts

ChartMonths = Annotated[int, Field(ge=1, le=overview.MAX_CHART_MONTHS), WholeNumber]
StatementYear = Annotated[int, Field(ge=2000, le=9999), WholeNumber]
StatementMonth = Annotated[int, Field(ge=1, le=12), WholeNumber]

router = Router(tags=["start and statements"], auth=MobileSessionAuth())


def _language() -> str:
    return (translation.get_language() or "pl")[:2]


@router.get(
    "/overview",
    response={200: s.OverviewOut, **ERRORS},
    description="The start screen: balances, the latest operations, orders on their way, "
    "income and expenses per month (6 by default, `months` up to 12) and the previous login.",
)
def start_overview(
    request: HttpRequest, months: ChartMonths = overview.CHART_MONTHS
) -> dict[str, Any]:
    session = mobile_session(request)
    member = session.member
    previous = previous_login(member.pk, session_started_at(session.session_id))
    return {
        "accounts": [account_out(a) for a in member_accounts(member)],
        "recent": [
            {
                **item_out(op.item),
                "account_name": op.account_name,
                "account_number": op.account_number,
            }
            for op in overview.recent_operations(member)
        ],
        "waiting": [order_out(o) for o in overview.waiting_orders(member)],
        "months": [
            {
                "month": t.month,
                "label": formats.date_format(t.month, "F Y"),
                "income_minor": t.income_minor,
                "expenses_minor": t.expenses_minor,
                "income": money_text(t.income_minor),
                "expenses": money_text(t.expenses_minor),
            }
            for t in overview.monthly_totals(member, months)
        ],
        "previous_login": previous
        and {
            "at": previous.at,
            "at_text": formats.date_format(timezone.localtime(previous.at), "DATE_FORMAT")
            + ", "
            + formats.time_format(timezone.localtime(previous.at), "H:i"),
            "channel": previous.channel,
            "channel_label": _("in the mobile app")
            if previous.channel == "mobile"
            else _("in the internet service"),
            "device": previous.device,
            "ip_address": previous.ip_address,
        },
    }


@router.get(
    "/accounts/{account_id}/statements", response={200: list[s.StatementMonthOut], **ERRORS}
)
def account_statements(request: HttpRequest, account_id: RecordId) -> list[dict[str, Any]]:
    """The past months with a statement to download, newest first (at most two years)."""
    return [
        {
            "year": m.period.year,
            "month": m.period.month,
            "label": formats.date_format(m.period, "F Y"),
            "issued": m.issued,
            "url": f"/api/mobile/v1/accounts/{account_id}/statements/"
            f"{m.period.year:04d}-{m.period.month:02d}.pdf",
        }
        for m in statements.statement_months(mobile_session(request).member, account_id)
    ]


@router.get(
    "/accounts/{account_id}/statements/{year}-{month}.pdf",
    response=ERRORS,
    description="One month's statement (application/pdf); a month not yet ended is refused.",
    openapi_extra={"responses": {"200": {"content": {"application/pdf": {}}}}},
)
def statement_pdf(
    request: HttpRequest, account_id: RecordId, year: StatementYear, month: StatementMonth
) -> HttpResponse:
    statement = statements.member_statement(
        mobile_session(request).member, account_id, year, month, _language()
    )
    response = HttpResponse(bytes(statement.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{statement.account.number}-{year:04d}-{month:02d}.pdf"'
    )
    return response
