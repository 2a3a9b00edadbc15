"""Staff members for the back-office tests, made through the real services, and test clients
logged in through the real login (password, then the authenticator app)."""

import re

import pyotp
from django.test import Client

from skarbiec.core import clock
from skarbiec.members.models import CreditUnion, StaffProfile
from skarbiec.members.staff import authenticator_secret, create_staff_user
from tests.factories import CLI
from tests.web.login_steps import english_client

PASSWORD = "Biuro#2024pl"
ROLES = ("helpline", "clerk", "admin")


def make_staff(
    role: str, credit_union: CreditUnion | None, username: str | None = None
) -> StaffProfile:
    name = username or f"{role}{StaffProfile.objects.count() + 1}"
    user, _ = create_staff_user(name, role, credit_union, CLI, password=PASSWORD)
    return StaffProfile.objects.get(user=user)


def totp_code(profile: StaffProfile, step_offset: int = 0) -> str:
    profile.refresh_from_db()
    totp = pyotp.TOTP(authenticator_secret(profile))
    return totp.at(clock.now().timestamp() + step_offset * totp.interval)


def next_code(profile: StaffProfile) -> str:
    """A code of a step not used yet (a code is never accepted twice)."""
    profile.refresh_from_db()
    totp = pyotp.TOTP(authenticator_secret(profile))
    step = int(clock.now().timestamp() // totp.interval)
    if profile.totp_last_step >= step + 1:
        clock.advance(seconds=totp.interval)
        step += 1
    return totp.at((max(step, profile.totp_last_step + 1)) * totp.interval)


def log_in(client: Client, profile: StaffProfile) -> list[str]:
    """The whole login; at the first one the enrolment. Returns the recovery codes shown."""
    response = client.post(
        "/backoffice/login/", {"username": profile.user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]
    codes: list[str] = []
    if response["Location"].endswith("/enrol/"):
        assert client.get("/backoffice/login/enrol/").status_code == 200
        response = client.post("/backoffice/login/enrol/", {"code": totp_code(profile)})
        assert response.status_code == 302, response.content[:500]
        page = client.get("/backoffice/login/recovery-codes/")
        codes = [c.decode() for c in _codes(page.content)]
    else:
        response = client.post("/backoffice/login/code/", {"code": next_code(profile)})
        assert response.status_code == 302, response.content[:500]
    return codes


def _codes(html: bytes) -> list[bytes]:
    import re

    return re.findall(rb"<li><code>([0-9a-f-]+)</code></li>", html)


def staff_client(profile: StaffProfile) -> Client:
    client = english_client()
    log_in(client, profile)
    return client


def cash_form(client: Client, account_id: int, **fields: str) -> dict[str, str]:
    """The cash form of an account as the page shows it (its key included), with `fields`."""
    page = client.get(f"/backoffice/accounts/{account_id}/cash/").content.decode()
    found = re.search(r'name="request_key" value="([^"]+)"', page)
    assert found, "the cash form carries its key"
    return {"request_key": found.group(1), **fields}
