"""The mobile app (PWA at /m/) in real chromium with phone emulation and a virtual WebAuthn
authenticator, together with the web Settings that govern it (R-M1–R-M11, R-W4–R-W6)."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Page, expect

from skarbiec.channels.models import MobileChannel, MobileDevice, MobileSession
from skarbiec.core import clock
from skarbiec.members.models import Member
from tests.e2e.conftest import PhoneContext
from tests.factories import make_credit_union, make_member
from tests.web.login_steps import PASSWORD, last_sms_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MOBILE_PASSWORD = "Mobi!e2024xy"
NEW_MOBILE_PASSWORD = "Telefon#2024"
PIN = "48159"
OLD_ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 5.0; Nexus 5 Build/LRX21O) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture(autouse=True)
def _settings(settings, live_server):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    # WebAuthn's rp_id and origin follow the public address: the live server at localhost.
    settings.PUBLIC_URL = live_server.url
    assert live_server.url.startswith("http://localhost:")


@pytest.fixture
def phone(phone_context: PhoneContext) -> BrowserContext:
    return phone_context()


@pytest.fixture
def app(phone: BrowserContext) -> Iterator[Page]:
    page = phone.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    yield page
    assert errors == [], errors
    page.close()


class Authenticator:
    """A virtual platform authenticator with user verification (the phone's fingerprint)."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.cdp: CDPSession = context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.id = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )["authenticatorId"]

    def finger(self, recognised: bool) -> None:
        self.cdp.send(
            "WebAuthn.setUserVerified", {"authenticatorId": self.id, "isUserVerified": recognised}
        )


# ---------------------------------------------------------------------------------------------
# Steps as the member does them


def web_log_in(page: Page, member: Member) -> None:
    page.goto("/")
    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Enter the SMS code")).to_be_visible()
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=f"Good day, {member.first_name}")).to_be_visible()


def web_define_mobile_password(page: Page, member: Member, link: str, password: str) -> None:
    """R-W4 (Activate) or R-W5 (Activate mobile app): password, then the SMS code."""
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Access channels")).to_be_visible()
    page.locator("#mobile-channel").get_by_role("link", name=link, exact=True).click()
    page.get_by_label("New mobile-app password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Next: SMS code").click()
    expect(page.get_by_role("heading", name="Confirm with the SMS code")).to_be_visible()
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#settings-notice")).to_be_visible()


def app_activate(app: Page, member: Member, password: str, screenshot: str | None = None) -> None:
    """R-M2: Login + mobile-app password → SMS code → the PIN screen."""
    expect(app.get_by_role("heading", name="Activate the app")).to_be_visible()
    app.get_by_role("textbox", name="Login").fill(member.login)
    app.get_by_label("Mobile-app password").fill(password)
    if screenshot:
        app.screenshot(path=screenshot)
    app.get_by_role("button", name="Activate").click()
    expect(app.get_by_role("heading", name="Enter the SMS code")).to_be_visible()
    app.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    app.get_by_role("button", name="Confirm").click()
    expect(app.get_by_role("heading", name="Choose a PIN")).to_be_visible()


def app_set_pin(app: Page, pin: str = PIN) -> None:
    app.get_by_role("textbox", name="PIN", exact=True).fill(pin)
    app.get_by_role("textbox", name="Repeat the PIN").fill(pin)
    app.get_by_role("button", name="Save the PIN").click()
    expect(app.get_by_role("heading", name="Log in with your fingerprint?")).to_be_visible()


def app_type_pin(app: Page, pin: str) -> None:
    pad = app.get_by_role("group", name="PIN")
    for digit in pin:
        pad.get_by_role("button", name=digit, exact=True).click()


def expect_start(app: Page, member: Member) -> None:
    expect(app.get_by_role("heading", name=f"Good day, {member.first_name}")).to_be_visible()
    # The accounts request restarts the idle timer when it answers: wait for it, or a clock
    # moved right after would race with it (R-M9).
    expect(app.locator("#accounts")).to_have_attribute("aria-busy", "false")
    expect(app.locator("#home-overview")).to_have_attribute("aria-busy", "false")  # likewise


def expect_pin_screen(app: Page) -> None:
    expect(app.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    expect(app.get_by_role("group", name="PIN")).to_be_visible()


def app_log_out(app: Page) -> None:
    app.get_by_role("button", name="Log out").click()
    expect_pin_screen(app)


def _state(member: Member) -> str:
    return MobileChannel.objects.get(member=member).state


def _member() -> Member:
    cu = make_credit_union(name="SKOK Przykładowa", helpline_phones=["801 803 800"])
    return make_member(cu, first_name="Anna", last_name="Nowak")


# ---------------------------------------------------------------------------------------------
# The story


def test_r_m2_r_m4_r_m5_r_w5_r_m9_mobile_story(
    page: Page, phone: BrowserContext, app: Page, screenshots_dir
):
    """R-W4 activate the channel in the web → R-M2 activate the app → PIN → R-M4 fingerprint →
    log out → fingerprint login → R-M5 three failed fingerprints → blocked screen (R-M10
    helpline) → R-W5 Activate mobile app in the web → activate again → R-M3 PIN login →
    R-M9 idle 5 minutes (server and page) → PIN screen."""
    member = _member()
    authenticator = Authenticator(phone, app)
    app.clock.install()

    # The web: Settings → Access channels → Activate (R-W4).
    web_log_in(page, member)
    web_define_mobile_password(page, member, "Activate", MOBILE_PASSWORD)
    expect(page.locator("#mobile-channel")).to_contain_text("waiting for activation in the app")
    page.screenshot(path=str(screenshots_dir / "web-access-channels.png"), full_page=True)
    assert _state(member) == "pending"

    # The app: activation, PIN, fingerprint (R-M2, R-M4).
    app.goto("/m/")
    app_activate(app, member, MOBILE_PASSWORD, str(screenshots_dir / "mobile-activation.png"))
    app_set_pin(app)
    app.get_by_role("button", name="Enable fingerprint login").click()
    expect_start(app, member)
    expect(app.get_by_role("status")).to_have_text("Fingerprint login is on.")
    expect(app.locator("#accounts")).to_be_visible()
    app.screenshot(path=str(screenshots_dir / "mobile-start.png"))
    device = MobileDevice.objects.get(member=member, state="active")
    assert device.credentials.count() == 1 and device.pin_proof_hash
    assert _state(member) == "active"

    # Log out, log in with the fingerprint.
    app_log_out(app)
    app.screenshot(path=str(screenshots_dir / "mobile-pin.png"))
    app.get_by_role("button", name="Log in with fingerprint").click()
    expect_start(app, member)

    # Three fingers the phone does not recognise: reported, counted, blocked (R-M4, R-M5).
    app_log_out(app)
    authenticator.finger(recognised=False)
    fingerprint = app.get_by_role("button", name="Log in with fingerprint")
    fingerprint.click()
    expect(app.get_by_role("alert")).to_contain_text("Attempts left: 2.")
    fingerprint.click()
    expect(app.get_by_role("alert")).to_contain_text("Attempts left: 1.")
    fingerprint.click()
    expect(app.get_by_role("heading", name="The mobile app is blocked")).to_be_visible()
    expect(app.get_by_role("link", name="801 803 800")).to_have_attribute("href", "tel:801803800")
    expect(app.locator("#blocked-message")).to_contain_text("Settings → Activate mobile app")
    # The way out is told once (the server's message), not repeated as a list below it.
    blocked_screen = app.locator('[data-screen="blocked"]')
    expect(blocked_screen.get_by_text("Activate mobile app")).to_have_count(1)
    app.screenshot(path=str(screenshots_dir / "mobile-blocked.png"), full_page=True)
    assert _state(member) == "blocked"

    # The web is the only way out (R-W5).
    page.reload()
    expect(page.locator("#mobile-channel")).to_contain_text("blocked")
    web_define_mobile_password(page, member, "Activate mobile app", NEW_MOBILE_PASSWORD)
    assert _state(member) == "pending"

    # Activate again with the new password; PIN login (R-M3).
    authenticator.finger(recognised=True)
    app.get_by_role("button", name="Activate again").click()
    app_activate(app, member, NEW_MOBILE_PASSWORD)
    app_set_pin(app)
    app.get_by_role("button", name="Not now").click()
    expect_start(app, member)
    app_log_out(app)
    app_type_pin(app, PIN)
    expect_start(app, member)

    # R-M9: five idle minutes. The server's answer (session_expired on the page's check)...
    clock.advance(301)
    app.clock.run_for(61_000)
    expect_pin_screen(app)
    expect(app.get_by_role("status")).to_have_text(
        "You were logged out after 5 minutes without activity. Log in again to continue."
    )
    # ...and the page's own timer, with the server clock standing still, both lead there.
    app_type_pin(app, PIN)
    expect_start(app, member)
    app.clock.run_for(301_000)
    expect_pin_screen(app)
    expect(app.get_by_role("status")).to_have_text(
        "You were logged out after 5 minutes without activity. Log in again to continue."
    )
    app_type_pin(app, PIN)
    expect_start(app, member)


def test_r_m4_a_fingerprint_turned_on_later_asks_for_the_pin_first(
    page: Page, phone: BrowserContext, app: Page
):
    """Enrolling a finger needs the PIN just entered (a phone left logged in must not gain
    one): turned on from the start screen minutes after the login, the app asks for the PIN,
    logs in with it and enrols the finger."""
    member = _member()
    Authenticator(phone, app)
    web_log_in(page, member)
    web_define_mobile_password(page, member, "Activate", MOBILE_PASSWORD)
    app.goto("/m/")
    app_activate(app, member, MOBILE_PASSWORD)
    app_set_pin(app)
    app.get_by_role("button", name="Not now").click()
    expect_start(app, member)
    clock.advance(150)  # the session goes on; the PIN is no longer fresh
    app.get_by_role("button", name="Enable fingerprint login").click()
    expect_pin_screen(app)
    expect(app.get_by_role("status")).to_contain_text("needs your PIN")
    # The session that could not enrol was ended, not left open behind the PIN screen.
    assert not MobileSession.objects.filter(member=member, revoked_at__isnull=True).exists()
    app_type_pin(app, PIN)
    expect_start(app, member)
    expect(app.get_by_role("status")).to_have_text("Fingerprint login is on.")
    device = MobileDevice.objects.get(member=member, state="active")
    assert device.credentials.count() == 1


def test_r_m6_forgotten_pin_reset_application(page: Page, phone: BrowserContext, app: Page):
    """R-M6: Reset application clears the phone's data; activation again sets a new PIN."""
    member = _member()
    web_log_in(page, member)
    web_define_mobile_password(page, member, "Activate", MOBILE_PASSWORD)
    app.goto("/m/")
    app_activate(app, member, MOBILE_PASSWORD)
    app_set_pin(app)
    app.get_by_role("button", name="Not now").click()
    expect_start(app, member)  # settled: a late overview shifts the Log out button
    app_log_out(app)
    first_device = MobileDevice.objects.get(member=member, state="active").device_id

    app.get_by_role("button", name="Forgot the PIN?").click()
    expect(app.get_by_role("heading", name="Reset the application?")).to_be_visible()
    app.get_by_role("button", name="Reset application").click()
    expect(app.get_by_role("status")).to_have_text("The application was reset. Activate it again.")
    assert app.evaluate("async () => (await indexedDB.databases()).length") == 0
    app.reload()  # nothing left on the phone: the app starts at activation
    app_activate(app, member, MOBILE_PASSWORD)
    app_set_pin(app, "70394")
    app.get_by_role("button", name="Not now").click()
    expect_start(app, member)  # settled: a late overview shifts the Log out button
    app_log_out(app)
    app_type_pin(app, "70394")
    expect_start(app, member)
    active = MobileDevice.objects.filter(member=member, state="active")
    assert [d.device_id for d in active] != [first_device] and active.count() == 1


def test_r_m7_forgotten_password_deactivate_and_activate_again(
    page: Page, phone: BrowserContext, app: Page
):
    """R-M7, R-W4: deactivate in the web, activate with a new password; the app activates with
    the new one and refuses the old one."""
    member = _member()
    web_log_in(page, member)
    web_define_mobile_password(page, member, "Activate", MOBILE_PASSWORD)
    app.goto("/m/")
    app_activate(app, member, MOBILE_PASSWORD)
    app_set_pin(app)
    app.get_by_role("button", name="Not now").click()
    expect_start(app, member)  # settled: a late overview shifts the Log out button
    app_log_out(app)

    page.locator("#mobile-channel").get_by_role("link", name="Deactivate").click()
    page.get_by_role("button", name="Yes, deactivate").click()
    expect(page.locator("#settings-notice")).to_contain_text("deactivated")
    assert _state(member) == "disabled"
    web_define_mobile_password(page, member, "Activate", NEW_MOBILE_PASSWORD)

    # The unbound phone learns it must start again.
    app_type_pin(app, PIN)
    expect(app.get_by_role("alert")).to_contain_text("Reset the application")
    app.get_by_role("button", name="Forgot the PIN?").click()
    app.get_by_role("button", name="Reset application").click()
    app.get_by_role("textbox", name="Login").fill(member.login)
    app.get_by_label("Mobile-app password").fill(MOBILE_PASSWORD)
    app.get_by_role("button", name="Activate").click()
    expect(app.get_by_role("alert")).to_contain_text(
        "The Login or the mobile-app password is incorrect"
    )
    app_activate(app, member, NEW_MOBILE_PASSWORD)
    app_set_pin(app)
    assert _state(member) == "active"


def test_r_m8_old_android_refused_with_its_message(phone_context: PhoneContext, page: Page):
    """R-M8: the browser says Android 5.0; the policy needs 5.1."""
    member = _member()
    web_log_in(page, member)
    web_define_mobile_password(page, member, "Activate", MOBILE_PASSWORD)
    old = phone_context(user_agent=OLD_ANDROID_UA).new_page()
    old.goto("/m/")
    old.get_by_role("textbox", name="Login").fill(member.login)
    old.get_by_label("Mobile-app password").fill(MOBILE_PASSWORD)
    old.get_by_role("button", name="Activate").click()
    expect(old.get_by_role("heading", name="This device cannot use the app")).to_be_visible()
    expect(old.locator("#refused-message")).to_contain_text("Android 5.1 or newer")
    expect(old.locator("#refused-message")).to_contain_text("Android 5.0")
    assert not MobileDevice.objects.filter(member=member).exists()


def test_r_m8_rooted_device_refused(phone_context: PhoneContext, page: Page):
    """R-M8: a wrapper that detects root tells the app (window.SkarbiecHost); refused."""
    member = _member()
    web_log_in(page, member)
    web_define_mobile_password(page, member, "Activate", MOBILE_PASSWORD)
    context = phone_context()
    context.add_init_script("window.SkarbiecHost = {deviceSignals: () => ({rooted: true})};")
    rooted = context.new_page()
    rooted.goto("/m/")
    rooted.get_by_role("textbox", name="Login").fill(member.login)
    rooted.get_by_label("Mobile-app password").fill(MOBILE_PASSWORD)
    rooted.get_by_role("button", name="Activate").click()
    expect(rooted.get_by_role("heading", name="This device cannot use the app")).to_be_visible()
    expect(rooted.locator("#refused-message")).to_contain_text("rooted or jailbroken")
    assert not MobileDevice.objects.filter(member=member).exists()


def test_r_m10_help_and_language_switch(app: Page):
    """R-M10: help with the helpline and FAQ in our words; Polish/English switch (R-X5)."""
    _member()
    app.goto("/m/")
    app.get_by_role("button", name="Help").click()
    expect(app.get_by_role("heading", name="Help", exact=True)).to_be_visible()
    expect(app.get_by_role("link", name="801 803 800")).to_be_visible()
    expect(app.get_by_text("I forgot my PIN. What now?")).to_be_visible()
    app.get_by_role("button", name="Back").click()
    # The switch shows the other language's code, and its name begins with it (WCAG 2.5.3).
    app.get_by_role("button", name="PL Polski").click()
    expect(app.locator("html")).to_have_attribute("lang", "pl")
    expect(app.locator("#lang-switch")).to_have_accessible_name("EN English")
    # The choice is remembered.
    app.reload()
    expect(app.locator("html")).to_have_attribute("lang", "pl")


def test_r_m1_r_x6_app_says_where_to_activate_the_channel_without_an_oracle(app: Page):
    """R-M1, R-X6: the mobile channel was never activated in the internet service and the
    member types the web password: the app names the ways out (activate the channel in the
    internet service) in the same answer a wrong password gets, and the attempt counts."""
    member = _member()
    app.goto("/m/")
    app.get_by_role("textbox", name="Login").fill(member.login)
    app.get_by_label("Mobile-app password").fill(PASSWORD)
    app.get_by_role("button", name="Activate").click()
    expect(app.get_by_role("alert")).to_contain_text("the mobile app is not active")
    expect(app.get_by_role("alert")).to_contain_text("Settings → Access channels")
    expect(app.get_by_role("heading", name="Activate the app")).to_be_visible()
    assert _state(member) == "disabled"
