"""PageMiddleware: the cookie session, CSRF and the page middleware run for pages only; the API
(bearer tokens and device signatures, never cookies) skips them."""

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_hooks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    session_request = SessionMiddleware.process_request
    csrf_view = CsrfViewMiddleware.process_view

    def counted_session(self, request):  # type: ignore[no-untyped-def]
        seen.append("session")
        return session_request(self, request)

    def counted_csrf(self, request, *args):  # type: ignore[no-untyped-def]
        seen.append("csrf")
        return csrf_view(self, request, *args)

    monkeypatch.setattr(SessionMiddleware, "process_request", counted_session)
    monkeypatch.setattr(CsrfViewMiddleware, "process_view", counted_csrf)
    return seen


def test_an_api_call_runs_no_page_middleware(page_hooks: list[str]) -> None:
    response = Client().get("/api/mobile/v1/session", HTTP_AUTHORIZATION="Bearer " + "x" * 43)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert page_hooks == []
    assert "Set-Cookie" not in response
    assert "Cookie" not in response.get("Vary", "")


def test_a_page_runs_the_session_and_csrf_check(page_hooks: list[str]) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.get("/").status_code == 200
    refused = client.post("/login/", {"login": "1234567890", "password": "x"})
    assert refused.status_code == 403  # no CSRF token: refused before the view
    assert page_hooks.count("session") == 2 and page_hooks.count("csrf") == 2
