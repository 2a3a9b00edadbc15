"""Administrator pages (R-B4): credit unions, their settings and policy, staff accounts."""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from skarbiec.backoffice import credit_unions, staff_accounts
from skarbiec.backoffice.policy import BOUNDS, FLAGS, VERSIONS
from skarbiec.backoffice.scope import (
    colleague_of,
    credit_union_of,
    credit_unions_of,
    is_installation_staff,
    staff_of,
)
from skarbiec.backoffice.views.access import (
    current_staff,
    flash,
    form_page,
    pop_flash,
    staff_ctx,
    staff_required,
)
from skarbiec.core.bounds import AsciiIntegerField
from skarbiec.core.edges import takes_uploads
from skarbiec.members.models import StaffProfile


@require_safe
@staff_required("configure_credit_union")
def credit_union_list(request: HttpRequest) -> HttpResponse:
    staff = current_staff(request)
    return render(
        request,
        "backoffice/credit_unions.html",
        {
            "unions": credit_unions_of(staff),
            "can_create": is_installation_staff(staff),
            "done": pop_flash(request),
        },
    )


class NewCreditUnionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    sort_code = forms.CharField(label=gettext_lazy("Sort code (8 digits)"), max_length=8)
    helpline_phones = forms.CharField(
        label=gettext_lazy("Helpline numbers"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=200,
        help_text=gettext_lazy("One per line."),
    )
    offers_mobile_app = forms.BooleanField(
        label=gettext_lazy("Offers the mobile app"), required=False, initial=True
    )


@require_http_methods(["GET", "POST"])
@staff_required("configure_credit_union")
def credit_union_new(request: HttpRequest) -> HttpResponse:
    staff = current_staff(request)
    if not is_installation_staff(staff):
        raise credit_unions.OnlyInstallationAdministrators()

    def action(data: dict[str, Any]) -> HttpResponse:
        cu = credit_unions.create_credit_union(staff, ctx=staff_ctx(request), **data)
        flash(request, _("Credit union %(name)s created.") % {"name": cu.name})
        return HttpResponseRedirect(reverse("backoffice:credit_unions"))

    form = NewCreditUnionForm(request.POST if request.method == "POST" else None)
    return form_page(request, "backoffice/credit_union_new.html", form, action)


class SettingsForm(NewCreditUnionForm):
    logo = forms.FileField(label=gettext_lazy("Logo (PNG or JPEG, at most 200 KB)"), required=False)
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, bound in BOUNDS.items():
            self.fields[name] = AsciiIntegerField(
                label=bound.label, min_value=bound.low, max_value=bound.high
            )
        for name, label in FLAGS.items():
            self.fields[name] = forms.BooleanField(label=label, required=False)
        for name, label in VERSIONS.items():
            self.fields[name] = forms.CharField(label=label, max_length=16)


def _initial(cu: Any) -> dict[str, Any]:
    initial = {
        name: getattr(cu, name)
        for name in ("name", "sort_code", "offers_mobile_app", *BOUNDS, *FLAGS, *VERSIONS)
    }
    initial["helpline_phones"] = "\n".join(cu.helpline_phones)
    return initial


@csrf_exempt  # checked below, after the access check: an anonymous upload is never parsed
@takes_uploads
@require_http_methods(["GET", "POST"])
@staff_required("configure_credit_union")
@csrf_protect
def credit_union_settings(request: HttpRequest, credit_union_id: int) -> HttpResponse:
    staff = current_staff(request)
    cu = credit_union_of(staff, credit_union_id)

    def action(data: dict[str, Any]) -> HttpResponse:
        logo = data.pop("logo", None)
        remove_logo = data.pop("remove_logo", False)
        credit_unions.configure_credit_union(
            staff,
            cu.pk,
            data,
            staff_ctx(request),
            logo=logo.read(credit_unions.LOGO_MAX_BYTES + 1) if logo else None,
            remove_logo=remove_logo,
        )
        flash(request, _("Settings saved."))
        return HttpResponseRedirect(reverse("backoffice:credit_unions"))

    if request.method == "POST":
        form = SettingsForm(request.POST, request.FILES)
    else:
        form = SettingsForm(initial=_initial(cu))
    return form_page(request, "backoffice/credit_union_settings.html", form, action, {"cu": cu})


@require_safe
@staff_required("manage_staff")
def staff_list(request: HttpRequest) -> HttpResponse:
    staff = current_staff(request)
    return render(
        request,
        "backoffice/staff.html",
        {
            "people": staff_of(staff).order_by("user__username"),
            "roles": StaffProfile.Role.choices,
            "done": pop_flash(request),
        },
    )


class NewStaffForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=100)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=StaffProfile.Role.choices)
    credit_union = forms.TypedChoiceField(
        label=gettext_lazy("Credit union"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, staff: StaffProfile, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_installation_staff(staff):
            self.fields["credit_union"].choices = [  # type: ignore[attr-defined]
                ("", gettext_lazy("— the whole installation (administrators only) —"))
            ] + [(cu.pk, cu.name) for cu in credit_unions_of(staff)]
        else:
            del self.fields["credit_union"]


@require_http_methods(["GET", "POST"])
@staff_required("manage_staff")
def staff_new(request: HttpRequest) -> HttpResponse:
    staff = current_staff(request)

    def action(data: dict[str, Any]) -> HttpResponse:
        user, password = staff_accounts.new_staff_member(
            staff, data["username"], data["role"], data.get("credit_union"), staff_ctx(request)
        )
        return render(
            request,
            "backoffice/staff_password.html",
            {"username": user.username, "password": password},
        )

    form = NewStaffForm(request.POST if request.method == "POST" else None, staff=staff)
    return form_page(request, "backoffice/staff_new.html", form, action)


@require_POST
@staff_required("manage_staff")
def staff_action(request: HttpRequest, staff_id: int, action: str) -> HttpResponse:
    admin = current_staff(request)
    ctx = staff_ctx(request)
    colleague = colleague_of(admin, staff_id)
    if action == "role":
        staff_accounts.change_role(admin, staff_id, request.POST.get("role", ""), ctx)
        flash(request, _("Role changed."))
    elif action == "unlock":
        staff_accounts.unlock(admin, staff_id, ctx)
        flash(request, _("Account unlocked."))
    elif action == "reset-authenticator":
        staff_accounts.reset_authenticator(admin, staff_id, ctx)
        flash(request, _("The authenticator will be set up again at the next login."))
    elif action == "deactivate":
        staff_accounts.set_active(admin, staff_id, False, ctx)
        flash(request, _("Account deactivated."))
    elif action == "activate":
        staff_accounts.set_active(admin, staff_id, True, ctx)
        flash(request, _("Account activated."))
    elif action == "password":
        password = staff_accounts.new_password(admin, staff_id, ctx)
        return render(
            request,
            "backoffice/staff_password.html",
            {"username": colleague.user.username, "password": password},
        )
    return HttpResponseRedirect(reverse("backoffice:staff"))
