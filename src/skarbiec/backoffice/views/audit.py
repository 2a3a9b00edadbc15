"""The audit view and its CSV export (R-B5)."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from skarbiec.backoffice import audit_log
from skarbiec.backoffice.views.access import current_staff, staff_ctx, staff_required
from skarbiec.core.bounds import DayField


class AuditFilterForm(forms.Form):
    member = forms.RegexField(
        label=gettext_lazy("Member (Login)"), regex=r"^[0-9]{10}$", required=False,
        error_messages={"invalid": gettext_lazy("A Login has 10 digits.")},
    )  # fmt: skip
    event = forms.CharField(
        label=gettext_lazy("Event"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"list": "event-names"}),
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"),
        required=False,
        choices=[("", "—"), ("web", "web"), ("mobile", "mobile"), ("backoffice", "backoffice"),
                 ("cli", "cli"), ("system", "system")],
    )  # fmt: skip
    staff = forms.CharField(label=gettext_lazy("Staff member"), max_length=150, required=False)
    since = DayField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = DayField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _filter(request: HttpRequest) -> tuple[AuditFilterForm, audit_log.AuditFilter | None]:
    form = AuditFilterForm(request.GET or None)
    if not request.GET:
        return form, audit_log.AuditFilter()
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, audit_log.AuditFilter(
        member=data["member"] or "",
        event=data["event"] or "",
        channel=data["channel"] or "",
        staff=data["staff"] or "",
        since=data["since"],
        until=data["until"],
    )


@require_safe
@staff_required("read_audit")
def audit(request: HttpRequest) -> HttpResponse:
    staff = current_staff(request)
    form, f = _filter(request)
    rows = audit_log.page_of_events(staff, f, staff_ctx(request)) if f is not None else []
    return render(
        request,
        "backoffice/audit.html",
        {
            "form": form,
            "rows": rows,
            "event_names": audit_log.event_names(staff),
            "query": request.GET.urlencode(),
            "page_size": audit_log.PAGE_SIZE,
        },
        status=200 if f is not None else 400,
    )


@require_safe
@staff_required("read_audit")
def audit_csv(request: HttpRequest) -> HttpResponse:
    staff = current_staff(request)
    form, f = _filter(request)
    if f is None:
        return render(
            request,
            "backoffice/audit.html",
            {"form": form, "rows": [], "event_names": audit_log.event_names(staff)},
            status=400,
        )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(
        audit_log.events_csv(staff, f, staff_ctx(request)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
