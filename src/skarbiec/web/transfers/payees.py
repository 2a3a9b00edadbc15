"""The payee book in the internet service (R-L4 extended): saving a payee needs nothing,
trusting one needs the SMS code that names it; removing one does not."""

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from skarbiec.core.errors import DomainError, InvalidInput, NotFound
from skarbiec.ledger.models import TrustedPayee
from skarbiec.ledger.order_input import WEB
from skarbiec.ledger.payee_book import add_payee, payee_book
from skarbiec.ledger.payees import (
    confirm_trusted_payee,
    payees_awaiting_code,
    remove_trusted_payee,
    trust_saved_payee,
)
from skarbiec.otp.errors import OperationOfOtherChannel, OtpAttemptsExhausted, OtpExpired
from skarbiec.otp.operation_channels import takes_codes_in
from skarbiec.web.decorators import member_required
from skarbiec.web.errors import error_context, form_refusal, reshow_on_error
from skarbiec.web.forms import CodeForm
from skarbiec.web.request import context_of, member_of
from skarbiec.web.transfers.forms import PayeeForm


def _render_payees(
    request: HttpRequest,
    values: dict[str, Any] | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    member = member_of(request)
    return render(
        request,
        "web/accounts/payees.html",
        {
            "payees": payee_book(member),
            # Each with where its code goes: a code link here, or a word on the app (R-O4).
            "awaiting": payees_awaiting_code(member),
            "values": values or {},
            "notice": request.GET.get("done", ""),
            "section": "payees",
            **error_context(error),
        },
        status=status,
    )


def _payees_refused(request: HttpRequest, error: DomainError, *args: Any) -> HttpResponse:
    values = {k: request.POST.get(k, "") for k in ("name", "account", "title", "trusted")}
    return _render_payees(request, values, error, status=error.status)


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_payees_refused)
def payees(request: HttpRequest) -> HttpResponse:
    """The book, and adding a payee: saved at once, or (ticked "trusted") step 1 of trusting
    it: an SMS code is sent."""
    if request.method == "GET":
        return _render_payees(request)
    form = PayeeForm(request.POST)
    if not form.is_valid():
        raise form_refusal(form)
    data = form.cleaned_data
    payee = add_payee(
        member_of(request),
        WEB,
        data["name"],
        data["account"],
        data["title"],
        data["trusted"],
        context_of(request),
    )
    if not data["trusted"]:
        return HttpResponseRedirect(reverse("web:payees") + "?done=saved")
    return _render_code_step(request, payee)


def _render_code_step(request: HttpRequest, payee: TrustedPayee) -> HttpResponse:
    return render(
        request,
        "web/accounts/payee_code.html",
        {"payee": payee, "payee_id": payee.pk, "section": "payees", **error_context(None)},
    )


@require_POST
@member_required
@reshow_on_error(_payees_refused)
def payee_trust(request: HttpRequest, payee_id: int) -> HttpResponse:
    """Mark a saved payee as trusted: step 1, the SMS code naming it is sent."""
    payee = trust_saved_payee(member_of(request), WEB, payee_id, context_of(request))
    return _render_code_step(request, payee)


def _code_refused(request: HttpRequest, error: DomainError, payee_id: int) -> HttpResponse:
    return render(
        request,
        "web/accounts/payee_code.html",
        {
            "payee": None,
            "payee_id": payee_id,
            "restart": isinstance(
                error, OtpExpired | OtpAttemptsExhausted | NotFound | OperationOfOtherChannel
            ),
            "section": "payees",
            **error_context(error),
        },
        status=error.status,
    )


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_code_refused, including_not_found=True)
def payee_code(request: HttpRequest, payee_id: int) -> HttpResponse:
    """Step 2: the SMS code that names the payee makes it trusted. A payee no longer pending
    (its codes used up) is not found: the member starts again. Reached again from the book
    (GET), the form is shown only while the web takes its code (R-O4): trusting started in the
    app is confirmed there, and the book says so."""
    if request.method == "GET":
        awaiting = payees_awaiting_code(member_of(request), payee_id)
        if not awaiting or not takes_codes_in(awaiting[0].code_channel, WEB):
            return HttpResponseRedirect(reverse("web:payees"))
        return _render_code_step(request, awaiting[0].payee)
    form = CodeForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("Enter the SMS code."))
    confirm_trusted_payee(
        member_of(request), payee_id, form.cleaned_data["code"], context_of(request), WEB
    )
    return HttpResponseRedirect(reverse("web:payees") + "?done=added")


@require_POST
@member_required
@reshow_on_error(_payees_refused)
def payee_remove(request: HttpRequest, payee_id: int) -> HttpResponse:
    remove_trusted_payee(member_of(request), payee_id, context_of(request))
    return HttpResponseRedirect(reverse("web:payees") + "?done=removed")
