"""The back-office in real chromium (R-B1–R-B3, R-B5): a clerk onboards a member who then logs
in with the SMS'd temporary password and must change it; the helpline blocks the mobile app on
the member's call, the app shows it blocked, and the member reactivates it in the internet
service. Screenshots of onboarding, the helpline member page and the audit view."""

import re

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from skarbiec.audit.services import seal_audit_chains
from skarbiec.channels.models import MobileChannel
from skarbiec.core import clock
from skarbiec.members.models import Member
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import decrypt_body
from tests.backoffice.staff import PASSWORD as STAFF_PASSWORD
from tests.backoffice.staff import make_staff
from tests.e2e.test_mobile_story import (
    MOBILE_PASSWORD,
    NEW_MOBILE_PASSWORD,
    PIN,
    _member,
    app_activate,
    app_set_pin,
    app_type_pin,
    expect_start,
    web_define_mobile_password,
    web_log_in,
)
from tests.factories import make_pesel
from tests.web.login_steps import last_sms_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Moje#Haslo24"


@pytest.fixture(autouse=True)
def _settings(settings, live_server):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    settings.PUBLIC_URL = live_server.url


@pytest.fixture
def staff_page(browser, live_server) -> Page:
    """The staff member's own browser (a desk at 1280 px), apart from the member's."""
    context: BrowserContext = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def staff_log_in(page: Page, username: str) -> None:
    """The first login: password, then the authenticator enrolled from the QR page's key."""
    page.goto("/backoffice/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Set up the authenticator app")).to_be_visible()
    expect(page.locator("[data-totp-qr] svg")).to_be_visible()
    secret = page.locator("[data-totp-secret]").inner_text()
    code = pyotp.TOTP(secret).at(clock.now().timestamp())
    page.get_by_label("Code from the authenticator app").fill(code)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("[data-recovery-codes] li")).to_have_count(10)
    page.get_by_role("link", name="I have written them down").click()
    expect(page.get_by_role("heading", name=f"Welcome, {username}")).to_be_visible()


def _temporary_password(member: Member) -> str:
    sms = SmsMessage.objects.filter(member=member).order_by("pk").first()
    assert sms is not None
    body = decrypt_body(sms.body_encrypted)
    words = [w.rstrip(".") for w in body.split() if any(c in "!@#$%&*?" for c in w)]
    assert words, body
    return words[0]


def test_r_b2_r_w1_clerk_onboards_a_member_who_must_change_the_temporary_password(
    staff_page: Page, page: Page, screenshots_dir
):
    cu = _member().credit_union
    make_staff("clerk", cu, "piotr.kasa")
    staff_log_in(staff_page, "piotr.kasa")
    staff_page.get_by_role("navigation", name="Back-office menu").get_by_role(
        "link", name="Onboard a member"
    ).click()
    form = staff_page.locator("[data-onboard-form]")
    form.get_by_label("First name").fill("Ewa")
    form.get_by_label("Last name").fill("Wiśniewska")
    form.get_by_label("PESEL").fill("12345678901")  # a wrong checksum first
    form.get_by_label("Mobile phone").fill("600 222 333")
    form.get_by_label("Also open a savings account").check()
    form.get_by_role("button", name="Onboard").click()
    expect(staff_page.locator('[data-field-error="pesel"]')).to_contain_text("PESEL")
    assert not Member.objects.filter(last_name="Wiśniewska").exists()
    pesel = make_pesel()
    staff_page.locator("[data-onboard-form]").get_by_label("PESEL").fill(pesel)
    staff_page.screenshot(path=str(screenshots_dir / "backoffice-onboarding.png"), full_page=True)
    staff_page.locator("[data-onboard-form]").get_by_role("button", name="Onboard").click()
    expect(staff_page.locator("[data-done]")).to_contain_text("Member onboarded. Login:")
    member = Member.objects.get(pesel=pesel)
    expect(staff_page.locator("[data-done]")).to_contain_text(member.login)

    # The member, at home: the Login from the agreement, the password from the SMS.
    page.goto("/")
    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label("Password").fill(_temporary_password(member))
    page.get_by_role("button", name="Next").click()
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Set your own password")).to_be_visible()
    page.goto("/start/")  # nothing else opens before the new password
    expect(page.get_by_role("heading", name="Set your own password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the password").click()
    expect(page.get_by_role("heading", name="Good day, Ewa")).to_be_visible()
    member.refresh_from_db()
    assert not member.must_change_password


def test_r_b3_r_w5_helpline_blocks_the_app_the_member_reactivates_it_in_the_web(
    staff_page: Page, page: Page, phone: BrowserContext, screenshots_dir
):
    member = _member()
    make_staff("helpline", member.credit_union, "ola.infolinia")

    # The member's app is active.
    web_log_in(page, member)
    web_define_mobile_password(page, member, "Activate", MOBILE_PASSWORD)
    app = phone.new_page()
    app.set_default_timeout(15_000)
    app.goto("/m/")
    app_activate(app, member, MOBILE_PASSWORD)
    app_set_pin(app)
    app.get_by_role("button", name="Not now").click()
    expect_start(app, member)

    # The member calls: the phone is lost. The helpline finds them and blocks the app.
    staff_log_in(staff_page, "ola.infolinia")
    staff_page.get_by_label("Login, name, PESEL or phone").fill("Nowak")
    staff_page.get_by_role("button", name="Search").click()
    staff_page.get_by_role("link", name="Anna Nowak").click()
    expect(staff_page.locator("[data-mobile-state]")).to_have_text("ACTIVE")
    staff_page.get_by_role("button", name="Block the app (lost phone)").click()
    expect(staff_page.locator("[data-done]")).to_contain_text("The mobile app is blocked")
    expect(staff_page.locator("[data-mobile-state]")).to_have_text("BLOCKED")
    expect(staff_page.locator("[data-mobile-unblock-note]")).to_contain_text(
        "Settings → Activate mobile app"
    )
    expect(staff_page.get_by_role("button", name=re.compile("Unblock the app"))).to_have_count(0)
    staff_page.screenshot(
        path=str(screenshots_dir / "backoffice-helpline-member.png"), full_page=True
    )
    assert MobileChannel.objects.get(member=member).state == "blocked"

    # The app (if found again) shows it blocked and where to go, at the next PIN.
    app.reload()
    app_type_pin(app, PIN)
    expect(app.get_by_role("heading", name="The mobile app is blocked")).to_be_visible()
    expect(app.locator("#blocked-message")).to_contain_text("Settings → Activate mobile app")

    # The member reactivates it in the internet service (R-W5), the only way.
    page.reload()
    expect(page.locator("#mobile-channel")).to_contain_text("blocked")
    web_define_mobile_password(page, member, "Activate mobile app", NEW_MOBILE_PASSWORD)
    assert MobileChannel.objects.get(member=member).state == "pending"

    # The audit view names the operator who blocked it (R-B5).
    seal_audit_chains()
    staff_page.get_by_role("navigation", name="Back-office menu").get_by_role(
        "link", name="Audit log"
    ).click()
    staff_page.get_by_label("Member (Login)").fill(member.login)
    staff_page.get_by_role("button", name="Filter").click()
    rows = staff_page.locator("[data-audit-rows] tbody tr")
    expect(rows.filter(has_text="mobile_channel_blocked")).to_contain_text("staff:ola.infolinia")
    expect(rows.filter(has_text="mobile_app_reactivated")).to_have_count(1)
    staff_page.screenshot(path=str(screenshots_dir / "backoffice-audit.png"), full_page=True)


@pytest.fixture
def phone(phone_context):
    return phone_context()
