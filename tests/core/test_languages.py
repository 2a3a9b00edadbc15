"""R-X8, R-L1: a language the request refuses (q=0) is never the answer's language."""

import pytest
from django.test import Client

from skarbiec.core.languages import drop_refused_languages


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en;q=0", "pl"),
        ("en;q=0, pl;q=0.5", "pl"),
        ("en-US;q=0.0, en;q=0.000, de", "pl"),
        ("pl;q=0, en;q=0.3", "en"),
        ("en;q=0.5", "en"),
        ("en", "en"),
        ("", "pl"),
    ],
)
@pytest.mark.django_db
def test_r_x8_an_api_refusal_is_not_in_a_refused_language(header, language):
    client = Client(headers={"Accept-Language": header})
    response = client.get("/api/mobile/v1/me")
    assert response.status_code == 401
    assert response["Content-Language"] == language
    assert ("Log in" in response.json()["message"]) == (language == "en")


@pytest.mark.parametrize(("header", "language"), [("en;q=0", "pl"), ("pl;q=0, en", "en")])
@pytest.mark.django_db
def test_r_x8_a_page_is_not_in_a_refused_language(header, language):
    response = Client(headers={"Accept-Language": header}).get("/")
    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert f'<html lang="{language}"' in response.content.decode()


def test_r_x8_only_refused_ranges_are_dropped():
    class Request:
        META = {"HTTP_ACCEPT_LANGUAGE": "de;q=0.9, en;q=0, pl;q=0.5, *;q=0"}

    request = Request()
    drop_refused_languages(request)  # type: ignore[arg-type]
    assert request.META["HTTP_ACCEPT_LANGUAGE"] == "de;q=0.9, pl;q=0.5"
    request.META["HTTP_ACCEPT_LANGUAGE"] = "en;q=0.5, pl"
    drop_refused_languages(request)  # type: ignore[arg-type]
    assert request.META["HTTP_ACCEPT_LANGUAGE"] == "en;q=0.5, pl"
