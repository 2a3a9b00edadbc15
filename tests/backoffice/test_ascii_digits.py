"""R-X8, R-B2, R-T1: back-office forms refuse digits of other scripts ("٣") where ASCII digits
are required (sort code, helpline, phone, PESEL, app versions), and store nothing."""

import pytest
from django.test import Client

from skarbiec.ledger.models import Account
from skarbiec.members.models import CreditUnion, Member
from tests.backoffice.staff import log_in, make_staff
from tests.factories import make_credit_union, make_pesel

pytestmark = pytest.mark.django_db

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _client(settings, staff):
    settings.RATE_LIMIT_PER_ADDRESS = (100_000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (100_000, 60)
    client = Client(raise_request_exception=False)
    client.cookies["skarbiec_lang"] = "en"
    log_in(client, staff)
    return client


def _page_4xx(response, what):
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code}"
    assert response["Content-Type"].startswith("text/html"), what


def test_r_x8_new_credit_union_with_arabic_indic_sort_code_is_refused(settings):
    client = _client(settings, make_staff("admin", None))
    before = CreditUnion.objects.count()
    response = client.post(
        "/backoffice/credit-unions/new/",
        {
            "name": "SKOK Arab",
            "sort_code": "95001234".translate(ARABIC),
            "helpline_phones": "801 803 800",
            "offers_mobile_app": "on",
        },
    )
    stored = list(CreditUnion.objects.values_list("sort_code", flat=True))
    numbers = list(Account.objects.values_list("number", flat=True))
    _page_4xx(response, f"stored sort codes {stored!r} accounts {numbers!r}")
    assert CreditUnion.objects.count() == before


def test_r_x8_new_credit_union_with_arabic_indic_helpline_is_refused(settings):
    client = _client(settings, make_staff("admin", None))
    before = CreditUnion.objects.count()
    response = client.post(
        "/backoffice/credit-unions/new/",
        {
            "name": "SKOK Arab",
            "sort_code": "95001235",
            "helpline_phones": "801 803 800".translate(ARABIC),
            "offers_mobile_app": "on",
        },
    )
    stored = list(CreditUnion.objects.values_list("helpline_phones", flat=True))
    _page_4xx(response, f"stored {stored!r}")
    assert CreditUnion.objects.count() == before


def test_r_x8_onboarding_with_arabic_indic_phone_is_refused(settings):
    cu = make_credit_union()
    client = _client(settings, make_staff("clerk", cu))
    response = client.post(
        "/backoffice/onboard/",
        {
            "first_name": "Ewa",
            "last_name": "Lis",
            "pesel": make_pesel(),
            "phone": "600100200".translate(ARABIC),
            "language": "pl",
        },
    )
    stored = list(Member.objects.values_list("phone", flat=True))
    _page_4xx(response, f"stored phones {stored!r}")
    assert not Member.objects.exists()


def test_r_x8_onboarding_with_arabic_indic_pesel_is_refused(settings):
    cu = make_credit_union()
    client = _client(settings, make_staff("clerk", cu))
    response = client.post(
        "/backoffice/onboard/",
        {
            "first_name": "Ewa",
            "last_name": "Lis",
            "pesel": make_pesel().translate(ARABIC),
            "phone": "600100200",
            "language": "pl",
        },
    )
    _page_4xx(response, "pesel")
    assert not Member.objects.exists()


def test_r_x8_policy_with_arabic_indic_min_android_version_is_refused(settings):
    cu = make_credit_union()
    client = _client(settings, make_staff("admin", cu))
    response = client.post(
        f"/backoffice/credit-unions/{cu.pk}/",
        {
            "name": cu.name,
            "sort_code": cu.sort_code,
            "helpline_phones": "801",
            "idle_timeout_seconds": "300",
            "max_auth_failures": "3",
            "max_otp_failures": "3",
            "max_web_password_failures": "3",
            "otp_ttl_seconds": "300",
            "otp_digits": "6",
            "pin_length": "5",
            "session_absolute_seconds": "3600",
            "min_android_version": "٥.١",
            "min_ios_version": "10.0",
            "refuse_rooted": "on",
            "activation_requires_otp": "on",
            "offers_mobile_app": "on",
        },
    )
    cu.refresh_from_db()
    _page_4xx(response, f"stored {cu.min_android_version!r} status")
    assert cu.min_android_version == "5.1"
