"""Accounts, history, transfers, trusted payees and limits in the internet service (R-L1–R-L5,
R-O2, R-O4).

Views read the form, call one service of skarbiec.ledger and render the result; every rule
(limits, exemptions, SMS codes, what three wrong codes do) lives in the ledger's services. Amounts
typed by the member are parsed with the ledger's parser ("1 234,56" and "1234.56"); a refusal is
shown with its message and HTTP status, and nothing is stored.

A pending operation is carried by its id in the URL (transfer, payee, limit change); the
services check that it belongs to the logged-in member.
"""

import secrets
from datetime import date
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from skarbiec.channels.errors import WebChannelBlocked
from skarbiec.core.bounds import RecordIdField, record_id_or_none
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError, InvalidInput
from skarbiec.core.http import request_context
from skarbiec.ledger import history, pdf
from skarbiec.ledger.accounts import member_accounts
from skarbiec.ledger.amounts import parse_amount
from skarbiec.ledger.errors import InvalidAmount
from skarbiec.ledger.limits import change_limits, confirm_limit_change, limit_usage
from skarbiec.ledger.models import Order
from skarbiec.ledger.order_input import ORDER_CHANNELS, WEB
from skarbiec.ledger.orders import (
    authorize_transfer,
    cancel_order,
    create_transfer_order,
    get_order,
    resend_transfer_code,
)
from skarbiec.ledger.payees import (
    add_trusted_payee,
    confirm_trusted_payee,
    remove_trusted_payee,
    trusted_payees,
)
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpExpired
from skarbiec.web.decorators import member_required
from skarbiec.web.views import render_blocked

WEB = WEB
HISTORY_PAGE_SIZE = 20
# States in which a confirmation of the transfer can be downloaded (the money moved or is
# on its way, or the other bank refused it).
CONFIRMABLE = {Order.State.PENDING, Order.State.SENT, Order.State.BOOKED, Order.State.REJECTED}


class TransferForm(forms.Form):
    from_account = RecordIdField(label=_("From account"))
    # The number of one of the member's own accounts, picked from a list instead of typed.
    to_own = forms.CharField(label=_("To my account"), max_length=26, required=False)
    payee_account = forms.CharField(label=_("Payee account number"), max_length=64, required=False)
    payee_name = forms.CharField(label=_("Payee name"), max_length=200, required=False)
    title = forms.CharField(label=_("Title"), max_length=400)
    amount = forms.CharField(label=_("Amount"), max_length=40)
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)


class CodeForm(forms.Form):
    code = forms.CharField(label=_("SMS code"), max_length=16)


class PayeeForm(forms.Form):
    name = forms.CharField(label=_("Payee name"), max_length=200)
    account = forms.CharField(label=_("Account number"), max_length=64)


class LimitsForm(forms.Form):
    per_transaction = forms.CharField(label=_("Per transfer"), max_length=40)
    daily = forms.CharField(label=_("Daily"), max_length=40)
    monthly = forms.CharField(label=_("Monthly"), max_length=40)


def _ctx(request: HttpRequest) -> RequestContext:
    return request_context(request, "web")


def _member(request: HttpRequest) -> Any:
    return request.member  # type: ignore[attr-defined]


def _lang() -> str:
    return (translation.get_language() or "pl")[:2]


def _amount(text: str, field: str) -> int:
    try:
        return parse_amount(text)
    except InvalidAmount as e:
        raise type(e)(e.message, field=field) from None


def _error_context(error: DomainError | None) -> dict[str, Any]:
    if error is None:
        return {"error": None, "error_field": None, "attempts_left": None}
    return {
        "error": error,
        "error_field": error.details.get("field"),
        "attempts_left": error.details.get("attempts_left"),
    }


# ---------------------------------------------------------------------------------------------
# Accounts and history (R-L1, R-L5)


@require_GET
@member_required
def accounts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/accounts/accounts.html",
        {"accounts": member_accounts(_member(request)), "section": "accounts"},
    )


def _history_filter(params: QueryDict) -> history.HistoryFilter:
    """The filter form's fields → a HistoryFilter; a field that cannot be read is refused."""

    def day(name: str) -> date | None:
        value = params.get(name, "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                _("Enter dates as year-month-day, for example 2025-03-31."), field=name
            ) from None

    def money(name: str) -> int | None:
        value = params.get(name, "").strip()
        return _amount(value, name) if value else None

    return history.HistoryFilter(
        date_from=day("date_from"),
        date_to=day("date_to"),
        amount_min_minor=money("amount_min"),
        amount_max_minor=money("amount_max"),
        text=params.get("text", "")[:100],
    )


def _page_number(params: QueryDict) -> int:
    # Unreadable is the first page; a number out of range is refused by the history service.
    text = params.get("page", "").strip()
    return int(text) if text.isascii() and text.isdigit() else 1


@require_GET
@member_required
def account_history(request: HttpRequest, account_id: int) -> HttpResponse:
    """Entries of one account, newest first, with filters and pages (R-L5)."""
    member = _member(request)
    context: dict[str, Any] = {"filters": request.GET, "section": "accounts"}
    try:
        page = history.account_history(
            member,
            account_id,
            _history_filter(request.GET),
            _page_number(request.GET),
            HISTORY_PAGE_SIZE,
        )
    except DomainError as e:
        if e.status == 404:
            return render(request, "web/accounts/not_found.html", {"error": e}, status=404)
        return render(
            request,
            "web/accounts/history.html",
            {**context, **_error_context(e), "account_id": account_id, "page": None},
            status=e.status,
        )
    return render(
        request,
        "web/accounts/history.html",
        {**context, "account_id": account_id, "page": page},
    )


@require_GET
@member_required
def account_history_csv(request: HttpRequest, account_id: int) -> HttpResponse:
    try:
        text = history.history_csv(_member(request), account_id, _history_filter(request.GET))
    except DomainError as e:
        return HttpResponse(str(e.message), status=e.status, content_type="text/plain")
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="history-{account_id}.csv"'
    return response


@require_GET
@member_required
def history_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    try:
        item = history.history_entry(_member(request), entry_id)
    except DomainError as e:
        return render(request, "web/accounts/not_found.html", {"error": e}, status=e.status)
    return render(request, "web/accounts/entry.html", {"item": item, "section": "accounts"})


# ---------------------------------------------------------------------------------------------
# Transfers (R-L3, R-L4, R-O2, R-O4)


def _render_transfer_form(
    request: HttpRequest,
    data: dict[str, Any] | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    # A fresh request identifier for every form shown: the same form sent twice carries the
    # same key and books once (R-L3); a corrected form is a new request.
    values = dict(data or {})
    values["idempotency_key"] = secrets.token_urlsafe(18)
    return render(
        request,
        "web/accounts/transfer_form.html",
        {
            "accounts": member_accounts(_member(request)),
            "values": values,
            "section": "transfer",
            **_error_context(error),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_required
def transfer_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial: dict[str, Any] = {}
        initial["from_account"] = record_id_or_none(request.GET.get("from", ""))
        return _render_transfer_form(request, initial)
    form = TransferForm(request.POST)
    posted: dict[str, Any] = {k: request.POST.get(k, "") for k in TransferForm.base_fields}
    # The template compares the chosen account with account ids (integers).
    posted["from_account"] = record_id_or_none(posted["from_account"])
    if not form.is_valid():
        field = next(iter(form.errors))
        error = InvalidInput(
            _("Fill in the field: %(field)s.") % {"field": form.fields[field].label or field},
            field=field,
        )
        return _render_transfer_form(request, posted, error, status=400)
    data = form.cleaned_data
    member = _member(request)
    try:
        amount_minor = _amount(data["amount"], "amount")
        order = create_transfer_order(
            member,
            WEB,
            data["from_account"],
            data["to_own"] or data["payee_account"],
            data["payee_name"],
            amount_minor,
            data["title"],
            data["idempotency_key"],
            _ctx(request),
        )
    except WebChannelBlocked as e:
        return render_blocked(request, e)
    except DomainError as e:
        return _render_transfer_form(request, posted, e, status=e.status)
    if order.state == Order.State.AWAITING_AUTHORIZATION:
        return HttpResponseRedirect(reverse("web:transfer_code", args=[order.pk]))
    return HttpResponseRedirect(reverse("web:transfer_detail", args=[order.pk]))


def _render_code(
    request: HttpRequest,
    order: Order | None,
    order_id: int,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/accounts/transfer_code.html",
        {
            "order": order,
            "order_id": order_id,
            "restart": isinstance(error, OtpExpired | OtpAttemptsExhausted),
            "section": "transfer",
            **_error_context(error),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_required
def transfer_code(request: HttpRequest, order_id: int) -> HttpResponse:
    """The SMS code step of a transfer that is not exempt (R-L4, R-O2); three wrong codes
    cancel the transfer and count toward the web lockout (R-O4)."""
    member = _member(request)
    if request.method == "GET":
        try:
            order = get_order(member, order_id)
        except DomainError as e:
            return render(request, "web/accounts/not_found.html", {"error": e}, status=e.status)
        if order.state != Order.State.AWAITING_AUTHORIZATION:
            return HttpResponseRedirect(reverse("web:transfer_detail", args=[order.pk]))
        return _render_code(request, order, order_id)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _render_code(
            request, None, order_id, InvalidInput(_("Enter the SMS code.")), status=400
        )
    try:
        order = authorize_transfer(member, order_id, form.cleaned_data["code"], _ctx(request))
    except WebChannelBlocked as e:
        return render_blocked(request, e)
    except DomainError as e:
        return _render_code(request, None, order_id, e, status=e.status)
    return HttpResponseRedirect(reverse("web:transfer_detail", args=[order.pk]))


@require_POST
@member_required
def transfer_code_resend(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = resend_transfer_code(_member(request), order_id, _ctx(request))
    except WebChannelBlocked as e:
        return render_blocked(request, e)
    except DomainError as e:
        return _render_code(request, None, order_id, e, status=e.status)
    return HttpResponseRedirect(reverse("web:transfer_code", args=[order.pk]) + "?resent=1")


@require_POST
@member_required
def transfer_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = cancel_order(_member(request), order_id, _ctx(request))
    except DomainError as e:
        return _render_code(request, None, order_id, e, status=e.status)
    return HttpResponseRedirect(reverse("web:transfer_detail", args=[order.pk]))


@require_GET
@member_required
def transfer_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = get_order(_member(request), order_id)
    except DomainError as e:
        return render(request, "web/accounts/not_found.html", {"error": e}, status=e.status)
    return render(
        request,
        "web/accounts/transfer_detail.html",
        {"order": order, "confirmable": order.state in CONFIRMABLE, "section": "transfer"},
    )


@require_GET
@member_required
def transfer_confirmation(request: HttpRequest, order_id: int) -> HttpResponse:
    """The PDF confirmation of one transfer (R-L5), in the page's language."""
    try:
        content = pdf.transfer_confirmation_pdf(_member(request), order_id, _lang())
    except DomainError as e:
        return render(request, "web/accounts/not_found.html", {"error": e}, status=e.status)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="transfer-{order_id}.pdf"'
    return response


# ---------------------------------------------------------------------------------------------
# Trusted payees (R-L4)


def _render_payees(
    request: HttpRequest,
    values: dict[str, Any] | None = None,
    error: DomainError | None = None,
    status: int = 200,
    notice: str = "",
) -> HttpResponse:
    return render(
        request,
        "web/accounts/payees.html",
        {
            "payees": trusted_payees(_member(request)),
            "values": values or {},
            "notice": notice or request.GET.get("done", ""),
            "section": "payees",
            **_error_context(error),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_required
def payees(request: HttpRequest) -> HttpResponse:
    """The list, and adding a payee (step 1: stored pending, SMS code sent)."""
    if request.method == "GET":
        return _render_payees(request)
    form = PayeeForm(request.POST)
    values = {"name": request.POST.get("name", ""), "account": request.POST.get("account", "")}
    if not form.is_valid():
        error = InvalidInput(_("Fill in the payee name and the account number."))
        return _render_payees(request, values, error, status=400)
    try:
        payee = add_trusted_payee(
            _member(request),
            WEB,
            form.cleaned_data["name"],
            form.cleaned_data["account"],
            _ctx(request),
        )
    except DomainError as e:
        return _render_payees(request, values, e, status=e.status)
    return render(
        request,
        "web/accounts/payee_code.html",
        {"payee": payee, "payee_id": payee.pk, "section": "payees", **_error_context(None)},
    )


@require_POST
@member_required
def payee_code(request: HttpRequest, payee_id: int) -> HttpResponse:
    """Step 2: the SMS code that names the payee makes it trusted."""
    form = CodeForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(_("Enter the SMS code."))
        confirm_trusted_payee(
            _member(request), payee_id, form.cleaned_data["code"], _ctx(request), WEB
        )
    except WebChannelBlocked as e:
        return render_blocked(request, e)
    except DomainError as e:
        return render(
            request,
            "web/accounts/payee_code.html",
            {
                "payee": None,
                "payee_id": payee_id,
                "restart": isinstance(e, OtpExpired | OtpAttemptsExhausted) or e.status == 404,
                "section": "payees",
                **_error_context(e),
            },
            status=e.status,
        )
    return HttpResponseRedirect(reverse("web:payees") + "?done=added")


@require_POST
@member_required
def payee_remove(request: HttpRequest, payee_id: int) -> HttpResponse:
    try:
        remove_trusted_payee(_member(request), payee_id, _ctx(request))
    except DomainError as e:
        return _render_payees(request, error=e, status=e.status)
    return HttpResponseRedirect(reverse("web:payees") + "?done=removed")


# ---------------------------------------------------------------------------------------------
# Limits (R-L4)


def _limits_channel(request: HttpRequest) -> str:
    channel = request.GET.get("channel") or request.POST.get("channel") or WEB
    return channel if channel in ORDER_CHANNELS else WEB


def _render_limits(
    request: HttpRequest,
    channel: str,
    values: dict[str, Any] | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/accounts/limits.html",
        {
            "usage": limit_usage(_member(request), channel),
            "channel": channel,
            "values": values,
            "notice": request.GET.get("done", ""),
            "section": "limits",
            **_error_context(error),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_required
def limits(request: HttpRequest) -> HttpResponse:
    """See the limits of a channel; lower them at once or raise them with an SMS code."""
    channel = _limits_channel(request)
    if request.method == "GET":
        return _render_limits(request, channel)
    form = LimitsForm(request.POST)
    values = {k: request.POST.get(k, "") for k in LimitsForm.base_fields}
    try:
        if not form.is_valid():
            raise InvalidInput(_("Fill in all three limits."))
        change = change_limits(
            _member(request),
            channel,
            _amount(form.cleaned_data["per_transaction"], "per_transaction"),
            _amount(form.cleaned_data["daily"], "daily"),
            _amount(form.cleaned_data["monthly"], "monthly"),
            _ctx(request),
        )
    except DomainError as e:
        return _render_limits(request, channel, values, e, status=e.status)
    if change.otp_id is None:
        return HttpResponseRedirect(reverse("web:limits") + f"?channel={channel}&done=lowered")
    return render(
        request,
        "web/accounts/limits_code.html",
        {"change": change, "change_id": change.pk, "section": "limits", **_error_context(None)},
    )


@require_POST
@member_required
def limits_code(request: HttpRequest, change_id: int) -> HttpResponse:
    form = CodeForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(_("Enter the SMS code."))
        applied = confirm_limit_change(
            _member(request), change_id, form.cleaned_data["code"], _ctx(request)
        )
    except WebChannelBlocked as e:
        return render_blocked(request, e)
    except DomainError as e:
        return render(
            request,
            "web/accounts/limits_code.html",
            {
                "change": None,
                "change_id": change_id,
                "restart": isinstance(e, OtpExpired | OtpAttemptsExhausted) or e.status == 404,
                "section": "limits",
                **_error_context(e),
            },
            status=e.status,
        )
    return HttpResponseRedirect(reverse("web:limits") + f"?channel={applied.channel}&done=raised")
