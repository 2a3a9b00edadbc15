"""R-B1, R-B5, R-X8: the audit log names a staff member "staff:<username>", so a username has
at most 100 characters; a longer one is refused on the page, and one of 100 works to the end."""

import pytest
from django.test import Client

from skarbiec.audit.models import AuditEvent
from skarbiec.members.models import StaffProfile
from tests.backoffice.staff import log_in, make_staff
from tests.factories import make_credit_union

pytestmark = pytest.mark.django_db


def test_r_b1_r_x8_a_username_over_100_characters_is_refused_on_the_page():
    cu = make_credit_union()
    client = Client(raise_request_exception=False)
    client.cookies["skarbiec_lang"] = "en"
    log_in(client, make_staff("admin", cu))
    response = client.post("/backoffice/staff/new/", {"username": "u" * 101, "role": "helpline"})
    assert response.status_code == 400 and "text/html" in response["Content-Type"]
    assert not StaffProfile.objects.filter(user__username__startswith="uuu").exists()


def test_r_b5_a_staff_member_with_a_100_character_username_logs_in_and_is_audited():
    staff = make_staff("helpline", make_credit_union(), username="u" * 100)
    client = Client(raise_request_exception=False)
    log_in(client, staff)
    assert client.post("/backoffice/members/", {"q": "Jan"}, follow=True).status_code == 200
    assert AuditEvent.objects.filter(actor="staff:" + "u" * 100).exists()
