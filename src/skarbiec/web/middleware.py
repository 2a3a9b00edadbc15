"""Resolves the logged-in member of the internet service and enforces the session limits.

R-W3: the server, not the page, decides that a session has ended: a request after the idle
limit (credit union policy, 5 minutes by default) or after the absolute limit is refused and
lands on the login page with a message. Every request of a logged-in member moves the idle
clock on, except the status endpoint the page's countdown polls.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from skarbiec.channels.errors import whole_minutes
from skarbiec.channels.web.login import end_web_session
from skarbiec.core.http import request_context
from skarbiec.core.middleware import PUBLIC_ASSETS
from skarbiec.members.models import Member
from skarbiec.web import member_session


def wants_fragment(request: HttpRequest) -> bool:
    """htmx and script requests get 401 + HX-Redirect instead of a redirect they would follow."""
    return (
        request.headers.get("HX-Request") == "true"
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
        or request.path == reverse("web:session_status")
    )


def login_page_response(request: HttpRequest) -> HttpResponse:
    login_url = reverse("web:landing")
    if wants_fragment(request):
        response = JsonResponse({"expired": True, "redirect": login_url}, status=401)
        response["HX-Redirect"] = login_url
        return response
    return HttpResponseRedirect(login_url)


def _ended_notice(member: Member | None, reason: str) -> dict[str, object]:
    notice: dict[str, object] = {"kind": reason}
    if member is not None:
        policy = member.credit_union
        notice["idle_minutes"] = whole_minutes(policy.idle_timeout_seconds)
        notice["absolute_minutes"] = whole_minutes(policy.session_absolute_seconds)
        # Whom to call is shown if the channel was blocked under the member's session (R-W2).
        notice["helpline"] = list(policy.helpline_phones)
    return notice


class MemberSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.member = None  # type: ignore[attr-defined]
        # Public files neither need the member nor count as their activity (R-W3). The
        # back-office has its own staff session (skarbiec.backoffice.middleware): a member's
        # session is never resolved there (R-B1).
        if request.path.startswith((*PUBLIC_ASSETS, "/backoffice/")):
            return self.get_response(request)
        member_id = request.session.get(member_session.MEMBER_ID)
        if member_id is None:
            return self.get_response(request)

        member = (
            Member.objects.select_related("credit_union", "web_channel")
            .filter(pk=member_id)
            .first()
        )
        now = member_session.now_ts()
        reason = member_session.session_end_reason(member, request.session, now)
        if reason is not None:
            if member is not None:
                end_web_session(member, reason, request_context(request, "web"))
            member_session.end_member_session(request, _ended_notice(member, reason))
            return login_page_response(request)

        request.member = member  # type: ignore[attr-defined]
        if request.path != reverse("web:session_status"):
            request.session[member_session.LAST_SEEN] = now

        assert member is not None
        if member.must_change_password and request.path not in self._allowed_before_new_password():
            if wants_fragment(request):
                response = HttpResponse(status=403)
                response["HX-Redirect"] = reverse("web:password")
                return response
            return HttpResponseRedirect(reverse("web:password"))
        return self.get_response(request)

    @staticmethod
    def _allowed_before_new_password() -> set[str]:
        # A temporary password opens only the page that replaces it (R-W1).
        return {
            reverse("web:password"),
            reverse("web:logout"),
            reverse("web:session_status"),
            reverse("web:session_extend"),
            reverse("set_language"),
        }
