"""The API's surface: OpenAPI, JSON errors in the request's language, help, rate limits
(R-M10, R-X5)."""

import pytest

from skarbiec.client import ApiError, DeviceClient
from tests.api.steps import MOBILE_PASSWORD, member_with_channel, ready_device
from tests.factories import make_credit_union

pytestmark = pytest.mark.django_db


def test_openapi_document_lists_every_endpoint(device):
    r = device.request("GET", "/openapi.json")
    assert r.status_code == 200
    paths = set(r.json()["paths"])
    expected = {
        "/challenge", "/activation", "/activation/confirm", "/pin", "/fingerprint/options",
        "/fingerprint/register", "/login/pin", "/login/fingerprint/options",
        "/login/fingerprint", "/login/fingerprint/failed", "/logout", "/session", "/me", "/help",
    }  # fmt: skip
    assert {f"/api/mobile/v1{p}" for p in expected} <= paths


def test_r_m1_errors_are_polish_by_default_and_english_on_request():
    member = member_with_channel()
    polish = DeviceClient.in_process(language="pl")
    polish.http.headers.pop("Accept-Language")
    with pytest.raises(ApiError) as pl:
        polish.activate(member.login, "Wrong#pass12")
    english = DeviceClient.in_process(language="en")
    with pytest.raises(ApiError) as en:
        english.activate(member.login, "Wrong#pass12")
    assert pl.value.code == en.value.code == "wrong_credentials"
    assert en.value.body["message"].startswith("The Login or the mobile-app password is incorrect")
    # Without a Polish catalogue compiled yet the texts may coincide; the language switch is
    # what is tested here: the English request must not get a Polish text.
    assert "Login" in en.value.body["message"]


def test_r_m10_help_gives_helpline_and_faq_of_the_members_credit_union(device):
    cu = make_credit_union(helpline_phones=["22 111 22 33"])
    ready_device(device, member_with_channel(credit_union=cu))
    help_page = device.help()
    assert help_page["helpline"] == ["22 111 22 33"]
    assert help_page["credit_union"] == cu.name
    questions = " ".join(item["question"] for item in help_page["faq"])
    assert "forgot my PIN" in questions and "blocked" in questions


def test_r_m10_help_without_a_device(device):
    make_credit_union()
    r = device.request("GET", "/help")
    assert r.status_code == 200 and r.json()["faq"]


def test_rate_limit_per_login_on_activation(device, settings, fresh_rate_limit_window):
    settings.RATE_LIMIT_PER_LOGIN = (2, 60)
    member = member_with_channel()
    for _ in range(2):
        with pytest.raises(ApiError):
            device.activate(member.login, "Wrong#pass12")
    with pytest.raises(ApiError) as e:
        device.activate(member.login, MOBILE_PASSWORD)
    assert (e.value.status, e.value.code) == (429, "rate_limited")


def test_rate_limit_per_device_on_pin_login(device, settings, fresh_rate_limit_window):
    ready_device(device)
    settings.RATE_LIMIT_PER_LOGIN = (2, 60)  # set_pin already counted once for this device
    device.login_pin("48159")
    with pytest.raises(ApiError) as e:
        device.login_pin("48159")
    assert e.value.code == "rate_limited"


def test_r_x10_a_stranger_naming_a_device_cannot_spend_its_limits(
    device, settings, fresh_rate_limit_window
):
    """A device's id is no secret (it travels in URLs and in the WebAuthn options): requests
    that name it without its key count under their own address, never against the member's
    device. The stranger still meets a limit of their own."""
    import httpx

    from skarbiec.wsgi import application

    ready_device(device)
    settings.RATE_LIMIT_PER_LOGIN = (3, 60)  # set_pin counted once for this device
    stranger = DeviceClient(
        "http://localhost",
        transport=httpx.WSGITransport(app=application, remote_addr="203.0.113.9"),
        language="en",
    )
    stranger.device_id, stranger.device_secret = device.device_id, b"x" * 32  # not its key
    refused: list[str] = []
    for _ in range(10):
        for attempt in (lambda: stranger.login_pin("48159"), stranger.fingerprint_login_options):
            with pytest.raises(ApiError) as e:
                attempt()
            refused.append(e.value.code)
    assert "signature_invalid" in refused and "rate_limited" in refused
    device.login_pin("48159")
    assert device.me()["channel_state"] == "active"


def test_api_needs_no_csrf_token_and_sets_no_cookie(device):
    r = device.request("POST", "/challenge")
    assert r.status_code == 200
    assert "set-cookie" not in r.headers
    assert r.headers["Cache-Control"] == "no-store"


def test_me_answers_name_and_channel_state(device):
    ready_device(device)
    me = device.me()
    assert me["first_name"] == "Jan" and me["channel_state"] == "active"
