"""The development page listing SMS messages (R-O5). Off unless settings.SMS_OUTBOX_PAGE."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from skarbiec.core.bounds import ascii_number
from skarbiec.otp.sms import read_outbox

MAX_MESSAGES = 200


@require_safe
def outbox_page(request: HttpRequest) -> HttpResponse:
    if not settings.SMS_OUTBOX_PAGE:
        # Same answer as any unknown address: production does not reveal the page exists.
        raise Http404()
    phone = request.GET.get("phone", "").strip()[:20]
    last_raw = request.GET.get("last", "20")
    last = ascii_number(last_raw)
    if last is None or not 1 <= last <= MAX_MESSAGES:
        return HttpResponseBadRequest(
            _("'last' must be a whole number from 1 to %(max)d.") % {"max": MAX_MESSAGES},
            content_type="text/plain; charset=utf-8",
        )
    entries = read_outbox(phone, last)
    return render(request, "otp/outbox.html", {"entries": entries, "phone": phone, "last": last})
