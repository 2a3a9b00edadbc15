"""R-X8, R-B2: onboarding fields beyond what the member's record holds are a clear 400."""

import pytest
from django.test import Client

from skarbiec.members.models import Member
from tests.backoffice.staff import log_in as staff_log_in
from tests.backoffice.staff import make_staff
from tests.factories import make_credit_union, make_pesel

pytestmark = pytest.mark.django_db


def test_r_x8_onboarding_with_a_300_character_email_is_a_clean_400(settings):
    cu = make_credit_union()
    client = Client(raise_request_exception=False)
    staff_log_in(client, make_staff("clerk", cu))
    email = "a" * 250 + "@example.com"  # valid for Django's EmailValidator (<= 320), column 254
    response = client.post(
        "/backoffice/onboard/",
        {
            "first_name": "Ewa",
            "last_name": "Lis",
            "pesel": make_pesel(),
            "phone": "600100200",
            "email": email,
            "language": "pl",
        },
    )
    assert response.status_code < 500, response.status_code
    for m in Member.objects.all():
        assert len(m.email) <= 254, f"stored {len(m.email)} characters in a 254 column"


def test_r_x8_r_b2_the_service_refuses_what_the_record_cannot_hold():
    """The command line and any other caller get the same clear refusal as the page."""
    from skarbiec.channels.enrolment import create_member
    from skarbiec.core.context import RequestContext
    from skarbiec.core.errors import InvalidInput

    for field, value in (("first_name", "J" * 101), ("email", "a" * 250 + "@example.com")):
        details = {"first_name": "Jan", "last_name": "Lis", field: value}
        with pytest.raises(InvalidInput) as refused:
            create_member(
                make_credit_union(), pesel=make_pesel(), phone="600100200",
                ctx=RequestContext(channel="cli"), **details,
            )  # fmt: skip
        assert refused.value.details["field"] == field
    assert not Member.objects.exists()
