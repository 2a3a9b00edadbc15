"""Template context of every page: the member, their credit union, the session countdown."""

from typing import Any

from django.http import HttpRequest

from skarbiec.members.branding import installation_credit_union, logo_url
from skarbiec.members.models import CreditUnion
from skarbiec.web import member_session


def _credit_union(request: HttpRequest) -> CreditUnion | None:
    member = getattr(request, "member", None)
    if member is not None:
        return member.credit_union
    # Before login we do not know the member; an installation with one credit union shows it.
    return installation_credit_union()


def member_context(request: HttpRequest) -> dict[str, Any]:
    member = getattr(request, "member", None)
    credit_union = _credit_union(request)
    context = {
        "member": member,
        "credit_union": credit_union,
        "logo_url": logo_url(credit_union),
    }
    if member is not None:
        # The countdown starts from what is left of the session, idle or absolute: near the
        # absolute limit the warning comes a minute before that end, not after it (R-W3).
        now = member_session.now_ts()
        context |= {
            "idle_timeout_seconds": member.credit_union.idle_timeout_seconds,
            "session_left_seconds": member_session.remaining_seconds(member, request.session, now),
            "session_absolute_left_seconds": member_session.absolute_remaining_seconds(
                member, request.session, now
            ),
        }
    return context
