"""Placeholder replaced by the web login work."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class MemberSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.member = None  # type: ignore[attr-defined]
        return self.get_response(request)
