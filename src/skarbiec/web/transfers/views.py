"""Transfers in the internet service (R-L3, R-L4, R-O2, R-O4, R-L5).

Views read the form, call one service of skarbiec.ledger.orders and render; every rule
(limits, exemptions, SMS codes, what three wrong codes do) lives there, and refusals go through
skarbiec.web.errors. A pending transfer is carried by its id in the URL; the services check it
belongs to the logged-in member.
"""

import secrets
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from skarbiec.core.bounds import record_id_or_none
from skarbiec.core.errors import DomainError, InvalidInput
from skarbiec.ledger import pdf
from skarbiec.ledger.accounts import member_accounts
from skarbiec.ledger.amounts import amount_of_field
from skarbiec.ledger.errors import OrderStateConflict
from skarbiec.ledger.models import Order
from skarbiec.ledger.nrb import format_nrb
from skarbiec.ledger.order_authorization import (
    authorize_transfer,
    cancel_order,
    order_code_channel,
    resend_transfer_code,
)
from skarbiec.ledger.order_input import WEB
from skarbiec.ledger.orders import get_order
from skarbiec.ledger.payee_book import book_payee, create_transfer_saving_payee, payee_book
from skarbiec.otp.errors import OperationOfOtherChannel, OtpAttemptsExhausted, OtpExpired
from skarbiec.otp.operation_channels import takes_codes_in
from skarbiec.web.decorators import member_required
from skarbiec.web.errors import error_context, form_refusal, reshow_on_error
from skarbiec.web.forms import CodeForm
from skarbiec.web.request import context_of, member_of
from skarbiec.web.transfers.forms import TransferForm

# States in which a confirmation of the transfer can be downloaded (the money moved or is
# on its way, or the other bank refused it).
CONFIRMABLE = {Order.State.PENDING, Order.State.SENT, Order.State.BOOKED, Order.State.REJECTED}


def _posted(request: HttpRequest) -> dict[str, Any]:
    posted: dict[str, Any] = {k: request.POST.get(k, "") for k in TransferForm.base_fields}
    # The template compares the chosen account with account ids (integers).
    posted["from_account"] = record_id_or_none(posted["from_account"])
    return posted


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
    member = member_of(request)
    return render(
        request,
        "web/accounts/transfer_form.html",
        {
            "accounts": member_accounts(member),
            "payees": payee_book(member),
            "values": values,
            "section": "transfer",
            **error_context(error),
        },
        status=status,
    )


def _transfer_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return _render_transfer_form(request, _posted(request), error, status=error.status)


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_transfer_refused)
def transfer_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial: dict[str, Any] = {"from_account": record_id_or_none(request.GET.get("from", ""))}
        payee_id = record_id_or_none(request.GET.get("payee", ""))
        if payee_id is not None:
            # Picked from the payee book: its details fill the form (no script needed).
            payee = book_payee(member_of(request), payee_id)
            initial.update(
                payee=payee.pk,
                payee_account=format_nrb(payee.account),
                payee_name=payee.name,
                title=payee.title,
            )
        return _render_transfer_form(request, initial)
    form = TransferForm(request.POST)
    if not form.is_valid():
        raise form_refusal(form)
    data = form.cleaned_data
    order = create_transfer_saving_payee(
        member_of(request),
        WEB,
        data["from_account"],
        data["to_own"] or data["payee_account"],
        data["payee_name"],
        amount_of_field("amount", data["amount"]),
        data["title"],
        data["idempotency_key"],
        context_of(request),
        save=data["save_payee"],
    )
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
            # The transfer takes no code here any more (expired, cancelled, booked, or the
            # app's): no code form, but the transfer and a new one.
            "restart": isinstance(
                error,
                OtpExpired | OtpAttemptsExhausted | OperationOfOtherChannel | OrderStateConflict,
            ),
            "section": "transfer",
            **error_context(error),
        },
        status=status,
    )


def _code_refused(request: HttpRequest, error: DomainError, order_id: int) -> HttpResponse:
    return _render_code(request, None, order_id, error, status=error.status)


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_code_refused)
def transfer_code(request: HttpRequest, order_id: int) -> HttpResponse:
    """The SMS code step of a transfer that is not exempt (R-L4, R-O2); three wrong codes
    cancel the transfer and count toward the web lockout (R-O4)."""
    member = member_of(request)
    if request.method == "GET":
        order = get_order(member, order_id)
        # A transfer ordered in the app takes its code there (R-O4): its page says so.
        if not takes_codes_in(order_code_channel(order), WEB):
            return HttpResponseRedirect(reverse("web:transfer_detail", args=[order.pk]))
        return _render_code(request, order, order_id)
    form = CodeForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("Enter the SMS code."))
    order = authorize_transfer(member, order_id, form.cleaned_data["code"], context_of(request))
    return HttpResponseRedirect(reverse("web:transfer_detail", args=[order.pk]))


@require_POST
@member_required
@reshow_on_error(_code_refused)
def transfer_code_resend(request: HttpRequest, order_id: int) -> HttpResponse:
    order = resend_transfer_code(member_of(request), order_id, context_of(request))
    return HttpResponseRedirect(reverse("web:transfer_code", args=[order.pk]) + "?resent=1")


@require_POST
@member_required
@reshow_on_error(_code_refused)
def transfer_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    order = cancel_order(member_of(request), order_id, context_of(request))
    return HttpResponseRedirect(reverse("web:transfer_detail", args=[order.pk]))


@require_safe
@member_required
def transfer_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_order(member_of(request), order_id)
    return render(
        request,
        "web/accounts/transfer_detail.html",
        {"order": order, "confirmable": order.state in CONFIRMABLE, "section": "transfer"},
    )


@require_safe
@member_required
def transfer_confirmation(request: HttpRequest, order_id: int) -> HttpResponse:
    """The PDF confirmation of one transfer (R-L5), in the page's language."""
    language = (translation.get_language() or "pl")[:2]
    content = pdf.transfer_confirmation_pdf(member_of(request), order_id, language)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="transfer-{order_id}.pdf"'
    return response
