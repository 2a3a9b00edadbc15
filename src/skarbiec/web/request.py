"""What a page view knows of its request: the logged-in member and who acts from where."""

from django.http import HttpRequest

from skarbiec.core.context import RequestContext
from skarbiec.core.http import request_context
from skarbiec.members.models import Member


def member_of(request: HttpRequest) -> Member:
    """The logged-in member (views behind `member_required`; the middleware sets it)."""
    member = getattr(request, "member", None)
    if not isinstance(member, Member):
        raise RuntimeError("member_of() outside member_required")
    return member


def context_of(request: HttpRequest) -> RequestContext:
    return request_context(request, "web")
