"""Transfer limits in the internet service (R-L4): seen per channel, lowered at once, raised
with an SMS code within the credit union's maximum."""

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from skarbiec.core.errors import DomainError, InvalidInput, NotFound
from skarbiec.ledger.amounts import amount_of_field
from skarbiec.ledger.limits import (
    LimitUsage,
    change_limits,
    confirm_limit_change,
    limit_usage,
    raises_awaiting_code,
)
from skarbiec.ledger.models import LimitChange
from skarbiec.ledger.order_input import ORDER_CHANNELS, WEB
from skarbiec.otp.errors import OperationOfOtherChannel, OtpAttemptsExhausted, OtpExpired
from skarbiec.otp.operation_channels import takes_codes_in
from skarbiec.web.decorators import member_required
from skarbiec.web.errors import error_context, form_refusal, reshow_on_error
from skarbiec.web.forms import CodeForm
from skarbiec.web.request import context_of, member_of
from skarbiec.web.transfers.forms import LimitsForm


def _requested_channel(request: HttpRequest) -> str:
    return request.GET.get("channel") or request.POST.get("channel") or WEB


def _limits_channel(request: HttpRequest) -> str:
    """The channel whose limits a page shows (the web's for an unknown one)."""
    channel = _requested_channel(request)
    return channel if channel in ORDER_CHANNELS else WEB


def _render_limits(
    request: HttpRequest,
    values: dict[str, Any] | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    channel = _limits_channel(request)
    member = member_of(request)
    usage = limit_usage(member, channel)
    return render(
        request,
        "web/accounts/limits.html",
        {
            "usage": usage,
            # With where its code goes: a code link here, or a word on the app (R-O4).
            "awaiting": raises_awaiting_code(member, channel=channel),
            "fields": _limit_fields(usage, values),
            "channel": channel,
            "values": values,
            "notice": request.GET.get("done", ""),
            "section": "limits",
            **error_context(error),
        },
        status=status,
    )


def _limit_fields(usage: LimitUsage, values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The three limits as form fields: the member's limit (or what they typed), used, maximum."""
    rows = (
        ("per_transaction", _("Per transfer"), usage.per_transaction_minor, None),
        ("daily", _("Daily"), usage.daily_minor, usage.used_today_minor),
        ("monthly", _("Monthly"), usage.monthly_minor, usage.used_this_month_minor),
    )
    maxima = {
        "per_transaction": usage.max_per_transaction_minor,
        "daily": usage.max_daily_minor,
        "monthly": usage.max_monthly_minor,
    }
    return [
        {
            "name": name,
            "label": label,
            "limit_minor": limit_minor,
            "typed": values.get(name, "") if values is not None else None,
            "used_minor": used_minor,
            "max_minor": maxima[name],
        }
        for name, label, limit_minor, used_minor in rows
    ]


def _limits_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    values = {k: request.POST.get(k, "") for k in LimitsForm.base_fields}
    return _render_limits(request, values, error, status=error.status)


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_limits_refused)
def limits(request: HttpRequest) -> HttpResponse:
    """See the limits of a channel; lower them at once or raise them with an SMS code."""
    if request.method == "GET":
        return _render_limits(request)
    # As asked: the service refuses a channel that is none (never the web's instead).
    channel = _requested_channel(request)
    form = LimitsForm(request.POST)
    if not form.is_valid():
        raise form_refusal(form)
    change = change_limits(
        member_of(request),
        channel,
        amount_of_field("per_transaction", form.cleaned_data["per_transaction"]),
        amount_of_field("daily", form.cleaned_data["daily"]),
        amount_of_field("monthly", form.cleaned_data["monthly"]),
        context_of(request),
    )
    if change.otp_id is None:
        return HttpResponseRedirect(reverse("web:limits") + f"?channel={channel}&done=lowered")
    return _render_code_step(request, change)


def _code_refused(request: HttpRequest, error: DomainError, change_id: int) -> HttpResponse:
    return render(
        request,
        "web/accounts/limits_code.html",
        {
            "change": None,
            "change_id": change_id,
            "restart": isinstance(
                error, OtpExpired | OtpAttemptsExhausted | NotFound | OperationOfOtherChannel
            ),
            "section": "limits",
            **error_context(error),
        },
        status=error.status,
    )


def _render_code_step(request: HttpRequest, change: LimitChange) -> HttpResponse:
    return render(
        request,
        "web/accounts/limits_code.html",
        {"change": change, "change_id": change.pk, "section": "limits", **error_context(None)},
    )


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_code_refused, including_not_found=True)
def limits_code(request: HttpRequest, change_id: int) -> HttpResponse:
    """The SMS code of a raise. Reached again from the Limits page (GET), the form is shown only
    while the web takes its code (R-O4): a raise started in the app is confirmed there, and the
    Limits page says so."""
    if request.method == "GET":
        awaiting = raises_awaiting_code(member_of(request), change_id=change_id)
        if not awaiting:
            return HttpResponseRedirect(reverse("web:limits"))
        change = awaiting[0].change
        if not takes_codes_in(awaiting[0].code_channel, WEB):
            return HttpResponseRedirect(reverse("web:limits") + f"?channel={change.channel}")
        return _render_code_step(request, change)
    form = CodeForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("Enter the SMS code."))
    applied = confirm_limit_change(
        member_of(request), change_id, form.cleaned_data["code"], context_of(request)
    )
    return HttpResponseRedirect(reverse("web:limits") + f"?channel={applied.channel}&done=raised")
