"""Resolves the logged-in staff member on back-office pages and enforces the session limits
(R-B1): after the idle limit (5 minutes at most) a request lands on the staff login page."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from skarbiec.backoffice import session as staff_session
from skarbiec.backoffice.login import record_staff_logout
from skarbiec.core.errors import DomainError
from skarbiec.core.http import request_context
from skarbiec.members.models import StaffProfile

PREFIX = "/backoffice/"


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.staff = None  # type: ignore[attr-defined]
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        session = request.session
        staff_id = session.get(staff_session.STAFF_ID)
        # A member's session never opens the back-office (R-B1).
        if staff_id is None or session.get(staff_session.MEMBER_ID) is not None:
            return self.get_response(request)
        profile = (
            StaffProfile.objects.select_related("user", "credit_union").filter(pk=staff_id).first()
        )
        now = staff_session.now_ts()
        reason = staff_session.session_end_reason(profile, session, now)
        if reason is not None:
            if profile is not None:
                record_staff_logout(profile, reason, request_context(request, "backoffice"))
            staff_session.end_staff_session(request, reason)
            return HttpResponseRedirect(reverse("backoffice:login"))
        session[staff_session.STAFF_LAST_SEEN] = now
        request.staff = profile  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A refusal that left a back-office view: the back-office's own error page."""
        if not request.path.startswith(PREFIX) or not isinstance(exception, DomainError):
            return None
        return render(
            request, "backoffice/error.html", {"error": exception}, status=exception.status
        )
