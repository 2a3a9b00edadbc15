"""Branch clerk pages (R-B2): onboarding, opening accounts, cash in and out with a receipt."""

import secrets
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from skarbiec.backoffice import cash, onboarding
from skarbiec.backoffice.scope import credit_unions_of, is_installation_staff, member_of
from skarbiec.backoffice.views.access import (
    current_staff,
    flash,
    form_page,
    staff_ctx,
    staff_required,
)
from skarbiec.core.errors import DomainError
from skarbiec.members.pesel import is_valid_pesel
from skarbiec.members.phone import normalize_phone

ONBOARDING_FIELDS = {
    "invalid_pesel": "pesel",
    "duplicate_member": "pesel",
    "invalid_phone": "phone",
}


class OnboardForm(forms.Form):
    credit_union = forms.TypedChoiceField(
        label=gettext_lazy("Credit union"), coerce=int, required=False
    )
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=100)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=100)
    pesel = forms.CharField(label="PESEL", max_length=11, min_length=11)
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone"),
        max_length=20,
        help_text=gettext_lazy("For SMS codes and the temporary password."),
    )
    email = forms.EmailField(label=gettext_lazy("E-mail"), max_length=254, required=False)
    address = forms.CharField(label=gettext_lazy("Postal address"), max_length=300, required=False)
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), choices=[("pl", "Polski"), ("en", "English")]
    )
    open_savings = forms.BooleanField(
        label=gettext_lazy("Also open a savings account"), required=False
    )

    def __init__(self, *args: Any, staff: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff is not None and is_installation_staff(staff):
            self.fields["credit_union"].choices = [  # type: ignore[attr-defined]
                (cu.pk, cu.name) for cu in credit_unions_of(staff)
            ]
            self.fields["credit_union"].required = True
        else:
            del self.fields["credit_union"]

    def clean_pesel(self) -> str:
        pesel = self.cleaned_data["pesel"].strip()
        if not is_valid_pesel(pesel):
            raise ValidationError(_("The PESEL number is not valid."))
        return str(pesel)

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except DomainError as error:
            raise ValidationError(str(error.message))


@require_http_methods(["GET", "POST"])
@staff_required("onboard_members")
def onboard(request: HttpRequest) -> HttpResponse:
    staff = current_staff(request)

    def action(data: dict[str, Any]) -> HttpResponse:
        try:
            member = onboarding.onboard_member(
                staff,
                onboarding.NewMember(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    pesel=data["pesel"],
                    phone=data["phone"],
                    email=data.get("email") or "",
                    address=data.get("address") or "",
                    language=data["language"],
                    open_savings=bool(data.get("open_savings")),
                    credit_union_id=data.get("credit_union"),
                ),
                staff_ctx(request),
            )
        except DomainError as error:
            error.details.setdefault("field", ONBOARDING_FIELDS.get(error.code))
            raise
        flash(
            request,
            _(
                "Member onboarded. Login: %(login)s (print it on the agreement). The temporary "
                "password went by SMS to %(phone)s; the member sets their own at the first login."
            )
            % {"login": member.login, "phone": member.phone},
        )
        return HttpResponseRedirect(reverse("backoffice:member", args=[member.pk]))

    form = OnboardForm(request.POST if request.method == "POST" else None, staff=staff)
    return form_page(request, "backoffice/onboard.html", form, action)


class OpenAccountForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Account type"),
        choices=[
            ("current", gettext_lazy("Current account")),
            ("savings", gettext_lazy("Savings account")),
        ],
    )
    name = forms.CharField(label=gettext_lazy("Account name"), max_length=100, required=False)


@require_http_methods(["GET", "POST"])
@staff_required("onboard_members")
def open_account(request: HttpRequest, member_id: int) -> HttpResponse:
    staff = current_staff(request)
    member = member_of(staff, member_id)

    def action(data: dict[str, Any]) -> HttpResponse:
        account = onboarding.open_member_account(
            staff, member_id, data["kind"], data.get("name") or "", staff_ctx(request)
        )
        flash(request, _("Account %(number)s opened.") % {"number": account.number})
        return HttpResponseRedirect(reverse("backoffice:member", args=[member_id]))

    form = OpenAccountForm(request.POST if request.method == "POST" else None)
    return form_page(request, "backoffice/open_account.html", form, action, {"m": member})


class CashForm(forms.Form):
    direction = forms.ChoiceField(
        label=gettext_lazy("Operation"),
        choices=[("deposit", gettext_lazy("Cash in")), ("withdrawal", gettext_lazy("Cash out"))],
    )
    amount = forms.CharField(
        label=gettext_lazy("Amount"), max_length=32, help_text=gettext_lazy('For example "150,00"')
    )
    # The form's own key: the same form sent twice books once (R-B2).
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)


# The receipt of the cash just booked, offered once on its account's page: a key of its own, so
# a confirmation meant for another page (a member onboarded in another tab) is never taken for
# a transaction id.
CASH_BOOKED = "staff_cash_booked"


def _booked_here(request: HttpRequest, account_id: int) -> int | None:
    booked = request.session.get(CASH_BOOKED)
    if not isinstance(booked, dict) or booked.get("account") != account_id:
        return None
    del request.session[CASH_BOOKED]
    txn = booked.get("txn")
    return txn if isinstance(txn, int) else None


@require_http_methods(["GET", "POST"])
@staff_required("handle_cash")
def cash_page(request: HttpRequest, account_id: int) -> HttpResponse:
    staff = current_staff(request)
    account = cash.cash_account(staff, account_id)

    def action(data: dict[str, Any]) -> HttpResponse:
        txn = cash.book_cash(
            staff,
            account_id,
            data["direction"],
            data["amount"],
            data["request_key"],
            staff_ctx(request),
        )
        request.session[CASH_BOOKED] = {"account": account.pk, "txn": txn.pk}
        return HttpResponseRedirect(reverse("backoffice:cash", args=[account_id]))

    if request.method == "POST":
        form = CashForm(request.POST)
    else:
        form = CashForm(initial={"request_key": secrets.token_urlsafe(18)})
    booked = _booked_here(request, account.pk) if request.method == "GET" else None

    def shown() -> dict[str, Any]:
        # Read, and recorded as seen, only when the page with the balance is rendered.
        return {
            "account": cash.account_shown(staff, account_id, staff_ctx(request)),
            "booked": booked,
        }

    return form_page(request, "backoffice/cash.html", form, action, shown)


@require_safe
@staff_required("handle_cash")
def receipt(request: HttpRequest, txn_id: int) -> HttpResponse:
    found = cash.cash_receipt(current_staff(request), txn_id, translation.get_language() or "pl")
    response = HttpResponse(found.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{found.filename}"'
    response["Cache-Control"] = "no-store"
    return response
