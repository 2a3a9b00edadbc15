"""Staff authenticator secrets sealed at rest (R-B1, R-X9): a copy of the database alone gives
no staff member's second factor, and a changed secret key counts nothing against them."""

import io

import pyotp
import pytest
from django.core.management import call_command
from django.db import connection

from skarbiec.core import keys
from skarbiec.members.models import StaffProfile
from skarbiec.members.staff import authenticator_secret
from tests.backoffice.staff import PASSWORD, log_in, make_staff
from tests.migrating import migrate_to, migrated_back_to
from tests.web.login_steps import english_client


def test_r_b1_r_x9_the_authenticator_secret_is_not_in_the_database(cu):
    helpline = make_staff("helpline", cu, "ola.helpline")
    log_in(english_client(), helpline)
    helpline.refresh_from_db()
    secret = authenticator_secret(helpline)
    assert len(secret) == 32 and pyotp.TOTP(secret).now().isdigit()
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM members_staffprofile WHERE id = %s", [helpline.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored and stored.startswith("gAAAAA")  # a Fernet token
    log_in(english_client(), helpline)  # and the codes still work


def test_r_b1_r_x6_after_a_new_secret_key_the_code_page_says_so_and_counts_nothing(cu, settings):
    helpline = make_staff("helpline", cu, "ola.helpline")
    admin = make_staff("admin", cu, "ewa.admin")
    log_in(english_client(), helpline)
    settings.SECRET_KEY = "another-key-" + "x" * 40  # a database restored without its key
    keys.derive_key.cache_clear()
    try:
        client = english_client()
        client.post("/backoffice/login/", {"username": "ola.helpline", "password": PASSWORD})
        for _ in range(4):
            page = client.post("/backoffice/login/code/", {"code": "123456"})
            assert page.status_code == 409 and b"reset it" in page.content
        helpline.refresh_from_db()
        assert helpline.failed_totp_attempts == 0 and helpline.locked_at is None
        # At the server an administrator resets it, their own too; the next login enrols anew.
        out = io.StringIO()
        for who in ("ola.helpline", "ewa.admin"):
            call_command(
                "staff", "reset-authenticator", "--username", who, "--staff", "ewa.admin",
                stdout=out,
            )  # fmt: skip
        assert "enrols the authenticator app again" in out.getvalue()
        log_in(english_client(), helpline)
        log_in(english_client(), admin)
    finally:
        keys.derive_key.cache_clear()


@pytest.mark.django_db(transaction=True)
def test_r_b1_the_upgrade_seals_the_secrets_stored_in_clear():
    admin = make_staff("admin", None, "stary.admin")
    plain = pyotp.random_base32()
    with migrated_back_to(("members", "0007_temporary_password_expiry")) as earlier:
        earlier.get_model("members", "StaffProfile").objects.filter(pk=admin.pk).update(
            totp_secret=plain
        )
        migrate_to(("members", "0008_staff_authenticator_sealed"))
    sealed = StaffProfile.objects.get(pk=admin.pk)
    assert sealed.totp_secret != plain and authenticator_secret(sealed) == plain
