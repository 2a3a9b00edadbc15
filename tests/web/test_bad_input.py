"""Bad input to every page of the internet service gets a 4xx or the form again with a message,
never a 500 — for a logged-in member and for an anonymous visitor. The pages are taken from the
URL configuration, so new pages are covered without editing this test."""

import itertools
import re

import pytest
from django.test import Client
from django.urls import URLPattern
from tests.factories import make_member
from tests.web.login_steps import log_in

from skarbiec.web import urls as web_urls

pytestmark = pytest.mark.django_db

FIELDS = [
    "login", "password", "code", "new_password", "repeated", "repeat", "amount", "title",
    "payee_name", "payee_account", "account", "from_account", "from_account_id", "to_own",
    "idempotency_key", "name", "per_transaction", "daily", "monthly", "channel", "pin",
    "date_from", "date_to", "amount_min", "amount_max", "text", "page", "language", "next",
]  # fmt: skip
NASTY_VALUES = ["", "ą" * 3000, "' OR 1=1 --", "-1", "1" * 40, "12,345", "\x00", "2026-13-45"]
NASTY_IDS = ["0", "999999999", "1" * 30]


def _pages() -> list[str]:
    pages = []
    for pattern in web_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if "<" in route:
            pages += [re.sub(r"<[^>]+>", value, route) for value in NASTY_IDS]
        else:
            pages.append(route)
    return ["/" + page for page in dict.fromkeys(pages)]


def _clear(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"


@pytest.mark.parametrize("logged_in", [True, False], ids=["member", "anonymous"])
def test_every_page_answers_bad_input_without_a_server_error(settings, logged_in):
    settings.RATE_LIMIT_PER_ADDRESS = (100_000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (100_000, 60)
    client = Client()
    if logged_in:
        log_in(client, make_member())
    for page in _pages():
        _clear(client.get(page), f"GET {page}")
        _clear(client.get(page, dict.fromkeys(FIELDS, "ą' -1")), f"GET {page} with query")
        for value in NASTY_VALUES:
            form = dict.fromkeys(FIELDS, value)
            _clear(client.post(page, form), f"POST {page} {value[:20]!r}")
        if logged_in and page == "/logout/":
            log_in(client, make_member())


def test_pages_list_is_not_empty():
    assert len(_pages()) > 20
    assert list(itertools.islice(_pages(), 1)) == ["/"]
