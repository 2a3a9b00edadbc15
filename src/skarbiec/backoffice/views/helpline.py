"""Helpline pages (R-B3): search, the member page and the actions on it."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from skarbiec.backoffice import helpline
from skarbiec.backoffice.views.access import (
    current_staff,
    flash,
    pop_flash,
    staff_ctx,
    staff_required,
)
from skarbiec.core.errors import DomainError, NotFound

#: The last search, kept in the staff session: a query is sent by POST and shown after a
#: redirect, so a PESEL never stands in a URL (browser history, proxies' and servers' logs)
#: and the back button returns to the results without resending a form (R-B3).
SEARCH_KEY = "backoffice_member_search"


@require_http_methods(["GET", "POST"])
@staff_required("find_members")
def members(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.session[SEARCH_KEY] = request.POST.get("q", "")[:100]
        return HttpResponseRedirect(reverse("backoffice:members"))
    query = str(request.session.get(SEARCH_KEY, ""))
    found = helpline.search_members(current_staff(request), query, staff_ctx(request))
    return render(
        request,
        "backoffice/members.html",
        {"query": query, "members": found, "searched": len(query.strip()) >= 2},
    )


def _member_page(
    request: HttpRequest, member_id: int, error: DomainError | None = None
) -> HttpResponse:
    overview = helpline.member_overview(current_staff(request), member_id, staff_ctx(request))
    context = {"o": overview, "m": overview.member, "error": error, "done": pop_flash(request)}
    return render(request, "backoffice/member.html", context, status=error.status if error else 200)


@require_safe
@staff_required("find_members")
def member(request: HttpRequest, member_id: int) -> HttpResponse:
    return _member_page(request, member_id)


def _act(request: HttpRequest, member_id: int, action: Callable[[], str]) -> HttpResponse:
    """Run one action; its refusal is shown on the member page, its result after a redirect."""
    try:
        flash(request, action())
    except NotFound:
        raise
    except DomainError as error:
        return _member_page(request, member_id, error)
    return HttpResponseRedirect(reverse("backoffice:member", args=[member_id]))


@require_POST
@staff_required("act_on_channels")
def block_web(request: HttpRequest, member_id: int) -> HttpResponse:
    def action() -> str:
        changed = helpline.block_web(current_staff(request), member_id, staff_ctx(request))
        return _("The internet service is blocked.") if changed else _("It was blocked already.")

    return _act(request, member_id, action)


@require_POST
@staff_required("act_on_channels")
def block_mobile(request: HttpRequest, member_id: int) -> HttpResponse:
    def action() -> str:
        helpline.block_mobile(current_staff(request), member_id, staff_ctx(request))
        return _("The mobile app is blocked and its sessions have ended.")

    return _act(request, member_id, action)


@require_POST
@staff_required("act_on_channels")
def unblock_web(request: HttpRequest, member_id: int) -> HttpResponse:
    def action() -> str:
        member = helpline.unblock_web(current_staff(request), member_id, staff_ctx(request))
        return _(
            "The internet service is unblocked; a new temporary password was sent by SMS to "
            "%(phone)s."
        ) % {"phone": member.phone}

    return _act(request, member_id, action)


@require_POST
@staff_required("act_on_channels")
def renew_temporary_password(request: HttpRequest, member_id: int) -> HttpResponse:
    def action() -> str:
        member = helpline.renew_temporary(current_staff(request), member_id, staff_ctx(request))
        return _(
            "A new temporary password was sent by SMS to %(phone)s; the previous one no longer "
            "works."
        ) % {"phone": member.phone}

    return _act(request, member_id, action)


@require_POST
@staff_required("act_on_channels")
def lift_block(request: HttpRequest, member_id: int) -> HttpResponse:
    def action() -> str:
        helpline.lift_own_block(current_staff(request), member_id, staff_ctx(request))
        return _("The block set at the member's request is lifted.")

    return _act(request, member_id, action)


@require_POST
@staff_required()
def unblock_mobile(request: HttpRequest, member_id: int) -> HttpResponse:
    """There is no such action (R-B3): a forged request is refused (403) and audited; the
    refusal leaves the view and becomes the error page."""
    helpline.refuse_mobile_unblock(current_staff(request), member_id, staff_ctx(request))
    raise AssertionError("unreachable")  # pragma: no cover
