"""Bad input to every page of the internet service gets a 4xx or the form again with a message,
never a 500 — for a logged-in member and for an anonymous visitor; the database unavailable is a
503 page with Retry-After (R-X8). The pages are taken from the URL configuration, so new pages
are covered without editing this test."""

import itertools
import re

import pytest
from django.test import Client
from django.urls import URLPattern
from tests.factories import make_member
from tests.outage import database_unreachable
from tests.web.login_steps import log_in

from skarbiec.core.context import RequestContext
from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.models import Account
from skarbiec.members.models import Member
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


# ---------------------------------------------------------------------------------------------
# Clean edges (R-X8): ids out of range, oversized bodies, NUL characters, the database
# unavailable; every page, as the URL configuration lists them.

OUT_OF_RANGE_IDS = ["0", str(2**63), "9" * 20]
FIVE_MB = "x" * (5 * 1024 * 1024)


def _routes() -> list[str]:
    return ["/" + str(pattern.pattern) for pattern in web_urls.urlpatterns]


def _with_id(route: str, value: str = "1") -> str:
    return re.sub(r"<[^>]+>", value, route)


def _assert_page(response, status: int, what: str, language: str = "pl") -> None:
    assert response.status_code == status, f"{what}: {response.status_code}"
    assert response["Content-Type"].startswith("text/html"), what
    assert f'<html lang="{language}">' in response.content.decode(), what


@pytest.fixture
def member_client(settings) -> Client:
    client = Client(raise_request_exception=False)
    log_in(client, make_member())
    return client


def test_r_x8_every_id_out_of_range_in_a_page_address_is_a_400_page(member_client):
    routes = [route for route in _routes() if "<id:" in route]
    assert len(routes) > 10
    for route in routes:
        for value in OUT_OF_RANGE_IDS:
            page = _with_id(route, value)
            _assert_page(member_client.get(page), 400, f"GET {page}")
            _assert_page(member_client.post(page, {"code": "123456"}), 400, f"POST {page}")


def test_r_x8_history_page_out_of_range_is_a_400_page(member_client):
    member = Member.objects.get()
    account = open_account(member, Account.Kind.CURRENT, RequestContext(channel="web"))
    url = f"/accounts/{account.pk}/"
    for page in (str(2**62), "100001", "0"):
        response = member_client.get(url, {"page": page})
        _assert_page(response, 400, f"page={page}")
    assert member_client.get(url, {"page": "3"}).status_code == 200
    csv = member_client.get(url + "history.csv", {"page": str(2**62)})
    assert csv.status_code == 200  # the export has no pages


@pytest.mark.parametrize("logged_in", [True, False], ids=["member", "anonymous"])
def test_r_x8_every_page_refuses_nul_characters_and_a_5_mb_body(settings, logged_in):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    if logged_in:
        log_in(client, make_member())
    for route in _routes():
        page = _with_id(route)
        _assert_page(client.get(page, {"text": "a\x00b"}), 400, f"GET {page}", "en")
        _assert_page(client.post(page, {"text": "a\x00b"}), 400, f"POST {page}", "en")
        large = client.post(page, {"text": FIVE_MB})
        _assert_page(large, 413, f"POST {page} 5 MB", "en")
        assert "too large" in large.content.decode()


def test_r_x8_history_and_export_refuse_nul_in_the_filter(member_client):
    member = Member.objects.get()
    account = open_account(member, Account.Kind.CURRENT, RequestContext(channel="web"))
    for url in (f"/accounts/{account.pk}/", f"/accounts/{account.pk}/history.csv"):
        _assert_page(member_client.get(url, {"text": "\x00"}), 400, url)


def test_r_x8_unknown_page_is_a_404_page_in_the_language():
    response = Client().get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    _assert_page(response, 404, "404", "en")
    assert "Page not found" in response.content.decode()
    _assert_page(Client().get("/no-such-page/"), 404, "404")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("logged_in", [True, False], ids=["member", "anonymous"])
def test_r_x8_every_page_answers_a_503_page_while_the_database_is_unreachable(logged_in):
    client = Client(raise_request_exception=False)
    if logged_in:
        log_in(client, make_member())
    unavailable = 0
    with database_unreachable():
        for route in _routes():
            page = _with_id(route)
            for response in (client.get(page), client.post(page, {"code": "123456"})):
                what = f"{response.request['REQUEST_METHOD']} {page}"
                assert response.status_code != 500, what
                # A member's every request reads the session; a visitor's only some pages; the
                # logo is public and reads no session, so it may refuse a POST first (405).
                public = page.startswith("/brand/") and response.status_code == 405
                assert response.status_code == 503 or not logged_in or public, what
                if response.status_code == 503:
                    unavailable += 1
                    _assert_page(response, 503, what)
                    assert "chwilowo niedostępna" in response.content.decode(), what
                    assert int(response["Retry-After"]) > 0, what
    assert unavailable > 3
    assert client.get("/").status_code in (200, 302)


def test_r_x8_a_body_django_finds_too_big_is_a_413_page_too(settings):
    # Below our limit but above Django's own (an installation that lowered it).
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = Client().post("/login/", {"login": "1" * 200, "password": "x"})
    _assert_page(response, 413, "RequestDataTooBig")


# ---------------------------------------------------------------------------------------------
# The back-office's pages (R-B1–R-B5) answer bad input the same way, for each role, and save
# nothing from a refused form.

BACKOFFICE_FIELDS = [
    "username", "password", "code", "q", "first_name", "last_name", "pesel", "phone", "email",
    "address", "language", "open_savings", "kind", "name", "direction", "amount", "sort_code",
    "helpline_phones", "offers_mobile_app", "idle_timeout_seconds", "max_auth_failures",
    "max_otp_failures", "max_web_password_failures", "otp_ttl_seconds", "otp_digits",
    "pin_length", "session_absolute_seconds", "min_android_version", "min_ios_version", "role",
    "credit_union", "member", "event", "channel", "staff", "since", "until", "remove_logo",
]  # fmt: skip


def _backoffice_pages() -> list[str]:
    from skarbiec.backoffice import urls as backoffice_urls

    pages = []
    for pattern in backoffice_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern).lstrip("^").rstrip("$")
        route = re.sub(r"\(\?P<action>[^)]*\)", "unlock", route)
        if "<" in route or "(?P" in route:
            pages += [re.sub(r"<[^>]+>|\(\?P<\w+>[^)]*\)", value, route) for value in NASTY_IDS]
        else:
            pages.append(route)
    return ["/backoffice/" + page for page in dict.fromkeys(pages)]


def _saved_state() -> tuple[int, ...]:
    from skarbiec.ledger.models import LedgerTransaction
    from skarbiec.members.models import CreditUnion, StaffProfile

    return (
        Member.objects.count(),
        Account.objects.count(),
        LedgerTransaction.objects.count(),
        CreditUnion.objects.count(),
        StaffProfile.objects.count(),
        *CreditUnion.objects.order_by("pk").values_list("idle_timeout_seconds", flat=True),
    )


@pytest.mark.parametrize("role", ["helpline", "clerk", "admin", "anonymous"])
def test_r_x8_every_back_office_page_answers_bad_input_without_a_server_error(settings, role):
    from tests.backoffice.staff import log_in as staff_log_in
    from tests.backoffice.staff import make_staff

    settings.RATE_LIMIT_PER_ADDRESS = (100_000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (100_000, 60)
    member = make_member()
    open_account(member, Account.Kind.CURRENT, RequestContext(channel="cli"))
    client = Client()
    staff = None
    if role != "anonymous":
        staff = make_staff(role, member.credit_union)
        staff_log_in(client, staff)
    before = _saved_state()
    for page in _backoffice_pages():
        _clear(client.get(page), f"GET {page}")
        _clear(client.get(page, dict.fromkeys(BACKOFFICE_FIELDS, "ą' -1")), f"GET {page} query")
        for value in NASTY_VALUES:
            form = dict.fromkeys(BACKOFFICE_FIELDS, value)
            _clear(client.post(page, form), f"POST {page} {value[:20]!r}")
        if staff is not None and page == "/backoffice/logout/":
            staff_log_in(client, staff)
    assert _saved_state() == before


def test_r_x8_back_office_forms_show_the_message_beside_the_field(settings):
    from tests.backoffice.staff import log_in as staff_log_in
    from tests.backoffice.staff import make_staff

    member = make_member()
    client = Client()
    client.cookies["skarbiec_lang"] = "en"
    staff_log_in(client, make_staff("admin", member.credit_union))
    before = _saved_state()
    response = client.post(
        "/backoffice/onboard/",
        {"first_name": "Ewa", "last_name": "Lis", "pesel": "90010112345", "phone": "600100200",
         "language": "pl"},
    )  # fmt: skip
    assert response.status_code == 400
    assert b'data-field-error="pesel"' in response.content
    assert b"The PESEL number is not valid." in response.content
    response = client.post(
        f"/backoffice/credit-unions/{member.credit_union.pk}/",
        {"name": "SKOK", "sort_code": member.credit_union.sort_code, "helpline_phones": "801",
         "idle_timeout_seconds": "600", "max_auth_failures": "3", "max_otp_failures": "3",
         "max_web_password_failures": "3", "otp_ttl_seconds": "300", "otp_digits": "6",
         "pin_length": "5", "session_absolute_seconds": "3600", "min_android_version": "5.1",
         "min_ios_version": "10.0"},
    )  # fmt: skip
    assert response.status_code == 400
    assert b'data-field-error="idle_timeout_seconds"' in response.content
    assert _saved_state() == before


def test_r_x8_a_form_refusal_says_what_is_wrong_with_the_field(member_client):
    """A title too long was answered "fill in the field", an account that is no number
    likewise, the payee book's "fill in the name and account" whatever was wrong, and a
    missing hidden key named the field's code name."""
    form = {"from_account": "1", "payee_account": "61109010140000071219812874",
            "payee_name": "Anna", "title": "x" * 401, "amount": "1,00",
            "idempotency_key": "k" * 20}  # fmt: skip
    page = member_client.post("/transfers/new/", form).content.decode()
    assert "Tytuł: " in page and "400" in page and "Wypełnij" not in page
    page = member_client.post("/transfers/new/", {**form, "title": "T", "from_account": "abc"})
    assert "Z rachunku: " in page.content.decode() and page.status_code == 400
    page = member_client.post("/transfers/new/", {**form, "title": "T", "idempotency_key": ""})
    text = page.content.decode()
    assert "Odśwież stronę" in text and "idempotency_key" not in text
    payee = {"name": "Anna", "account": "61109010140000071219812874", "title": "x" * 401}
    text = member_client.post("/payees/", payee).content.decode()
    assert "Domyślny tytuł: " in text and "nazwę odbiorcy i numer" not in text


def _parses(monkeypatch) -> list[str]:
    """The paths whose body Django parses into form fields, as they are parsed."""
    from django.http.request import HttpRequest

    parsed: list[str] = []
    parse = HttpRequest._load_post_and_files

    def recorded(request):  # noqa: ANN001, ANN202
        parsed.append(request.path)
        return parse(request)

    monkeypatch.setattr(HttpRequest, "_load_post_and_files", recorded)
    return parsed


def test_r_x8_a_page_refuses_a_form_larger_than_any_of_text_unparsed(settings, monkeypatch):
    """Parsing a form costs ~0.1 ms of CPU per kilobyte of %-escapes, before any session or
    rate limit: a page's form of text is refused above 32 KiB with a 413 page, unread."""
    assert settings.FORM_MAX_REQUEST_BYTES == 32 * 1024 < settings.MAX_REQUEST_BYTES
    parsed = _parses(monkeypatch)
    escapes = "x=" + "%41" * (settings.FORM_MAX_REQUEST_BYTES // 3 + 1)
    for page in ("/login/", "/no-such-page/", "/backoffice/login/", "/i18n/setlang/"):
        response = Client().post(page, escapes, content_type="application/x-www-form-urlencoded")
        _assert_page(response, 413, f"POST {page} 32 KiB")
    assert parsed == []
    within = Client().post("/login/", {"login": "1" * 10, "password": "x" * 20_000})
    assert within.status_code != 413
