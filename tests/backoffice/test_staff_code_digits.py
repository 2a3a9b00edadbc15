"""R-X8, R-B1: an authenticator code in digits of another script is a wrong code (counted),
not a 500 from comparing non-ASCII text."""

import pytest
from django.test import Client

from tests.backoffice.staff import PASSWORD, log_in, make_staff
from tests.factories import make_credit_union

pytestmark = pytest.mark.django_db

CODES = ["٠١٢٣٤٥", "１２３４５６", "۱۲۳۴۵۶"]


def _english_page(response, status):
    assert response.status_code == status, response.status_code
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("code", CODES)
def test_r_x8_login_code_with_non_ascii_digits_is_a_wrong_code_not_a_500(settings, code):
    staff = make_staff("helpline", make_credit_union())
    client = Client(raise_request_exception=False)
    log_in(client, staff)
    client.post("/backoffice/logout/")
    response = client.post(
        "/backoffice/login/", {"username": staff.user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    response = client.post("/backoffice/login/code/", {"code": code})
    assert response.status_code < 500, response.status_code
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("code", CODES)
def test_r_x8_enrolment_code_with_non_ascii_digits_is_a_wrong_code_not_a_500(settings, code):
    staff = make_staff("helpline", make_credit_union())
    client = Client(raise_request_exception=False)
    response = client.post(
        "/backoffice/login/", {"username": staff.user.username, "password": PASSWORD}
    )
    assert response["Location"].endswith("/enrol/")
    client.get("/backoffice/login/enrol/")
    response = client.post("/backoffice/login/enrol/", {"code": code})
    assert response.status_code < 500, response.status_code
    assert 400 <= response.status_code < 500
