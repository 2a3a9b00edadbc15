"""WCAG 2.1 AA in the mobile app (issue 12, item 7): axe-core finds no violation on any screen,
in Polish and English, on a desktop and a 320 px phone, and no screen is wider than the phone
(R-M1–R-M11, R-L1–R-L5, R-X5). A new screen: one more row in the table below."""

from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account
from skarbiec.ledger.nrb import format_nrb
from skarbiec.members.models import Member
from tests.api.steps import MOBILE_PASSWORD, enable_mobile_channel
from tests.e2e.axe import LANGUAGES, State, open_context, walk
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB
from tests.web.login_steps import last_sms_code, wrong_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PIN = "48159"
WRONG_PIN = "11111"


@pytest.fixture(autouse=True)
def _settings(settings, live_server):
    settings.RATE_LIMIT_PER_ADDRESS = (10_000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (10_000, 60)
    settings.OTP_SEND_LIMIT = (10_000, 600)
    settings.PUBLIC_URL = live_server.url


@dataclass
class World:
    member: Member
    target: Account


def _world() -> World:
    cu = make_credit_union(name="SKOK Przykładowa", helpline_phones=["801 803 800"])
    member = make_member(cu, first_name="Anna", last_name="Nowak")
    deposit_cash(open_account(member, Account.Kind.CURRENT, WEB), 1_000_00, WEB, title="Wpłata")
    enable_mobile_channel(member)
    target = open_account(make_member(cu, first_name="Ewa"), Account.Kind.CURRENT, WEB)
    return World(member, target)


def screen(name: str):
    return lambda page: expect(page.locator(f'[data-screen="{name}"]')).to_be_visible()


def error_shown(page: Page) -> None:
    expect(page.locator("#error")).to_be_visible()


def submit(page: Page, form: str) -> None:
    page.locator(form).evaluate("(f) => f.requestSubmit()")


VISIBLE = "[data-screen]:not([hidden]) "
TO_START = VISIBLE + "[data-ledger-start]"


def click(selector: str, then):
    """Clicks the first match, within the screen shown when the selector starts with VISIBLE."""

    def reach(page: Page, world: World) -> None:
        page.locator(selector).first.click()
        then(page)

    return reach


def type_pin(page: Page, pin: str) -> None:
    for digit in pin:
        page.locator(f'[data-digit="{digit}"]').click()


def activate(page: Page, world: World) -> None:
    page.clock.install()
    page.goto("/m/")
    screen("activate")(page)


def activate_refused(page: Page, world: World) -> None:
    page.fill("#login", world.member.login)
    page.fill("#mobile-password", "Wrong#pass1")
    submit(page, "#activate-form")
    error_shown(page)


def code(page: Page, world: World) -> None:
    page.fill("#login", world.member.login)
    page.fill("#mobile-password", MOBILE_PASSWORD)
    submit(page, "#activate-form")
    screen("code")(page)


def code_refused(page: Page, world: World) -> None:
    page.fill("#sms-code", wrong_code(last_sms_code(world.member)))
    submit(page, "#code-form")
    error_shown(page)


def set_pin(page: Page, world: World) -> None:
    page.fill("#sms-code", last_sms_code(world.member))
    submit(page, "#code-form")
    screen("set-pin")(page)


def pins_differ(page: Page, world: World) -> None:
    page.fill("#new-pin", PIN)
    page.fill("#new-pin-repeat", WRONG_PIN)
    submit(page, "#set-pin-form")
    error_shown(page)


def fingerprint_offer(page: Page, world: World) -> None:
    page.fill("#new-pin-repeat", PIN)
    submit(page, "#set-pin-form")
    screen("fingerprint")(page)


def start(page: Page, world: World) -> None:
    page.locator("#skip-fingerprint").click()
    screen("start")(page)
    expect(page.locator("#accounts")).to_have_attribute("aria-busy", "false")


def transfer_refused(page: Page, world: World) -> None:
    submit(page, "#transfer-form")
    error_shown(page)


def transfer_code(page: Page, world: World) -> None:
    page.fill("#transfer-account", format_nrb(world.target.number))
    page.fill("#transfer-name", "Ewa Lis")
    page.fill("#transfer-title-input", "Za obiad")
    page.fill("#transfer-amount", "12,50")
    submit(page, "#transfer-form")
    screen("transfer-code")(page)


def transfer_result(page: Page, world: World) -> None:
    page.fill("#transfer-code", last_sms_code(world.member))
    submit(page, "#transfer-code-form")
    screen("transfer-result")(page)


def payee_code(page: Page, world: World) -> None:
    page.fill("#payee-name", "Ewa Lis")
    page.fill("#payee-account", format_nrb(world.target.number))
    submit(page, "#payee-form")
    screen("payee-code")(page)


def limits_code(page: Page, world: World) -> None:
    page.fill("#limit-per-transaction", "6000")
    submit(page, "#limits-form")
    screen("limits-code")(page)


def open_limits(page: Page, world: World) -> None:
    page.locator(VISIBLE + "[data-open-payees]").first.click()  # cancel the payee
    page.locator(TO_START).first.click()
    screen("start")(page)
    page.locator("#start-ledger-links button").nth(1).click()
    screen("limits")(page)


def idle_warning(page: Page, world: World) -> None:
    """A minute before the lock (R-M9, WCAG 2.2.1): the warning over the screen."""
    page.clock.run_for(241_000)
    expect(page.locator("#idle-warning")).to_be_visible()


def pin_screen(page: Page, world: World) -> None:
    page.locator("#idle-extend").click()
    expect(page.locator("#idle-warning")).to_be_hidden()
    page.locator(VISIBLE + "[data-open-limits]").click()
    screen("limits")(page)
    page.locator(TO_START).first.click()
    screen("start")(page)
    page.locator("#logout").click()
    screen("pin")(page)


def pin_refused(page: Page, world: World) -> None:
    type_pin(page, WRONG_PIN)
    error_shown(page)


def blocked(page: Page, world: World) -> None:
    for _ in range(2):
        type_pin(page, WRONG_PIN)
        expect(page.locator("#pin")).to_have_value("")
    screen("blocked")(page)


def back_to_start(page: Page) -> None:
    screen("start")(page)


SCREENS = [
    State("activate", activate),
    State("activate, refused", activate_refused),
    State("help", click("#help-button", screen("help"))),
    State("back from help", click("#help-back", screen("activate"))),
    State("SMS code", code),
    State("SMS code, refused", code_refused),
    State("choose a PIN", set_pin),
    State("choose a PIN, PINs differ", pins_differ),
    State("offer of fingerprint login", fingerprint_offer),
    State("start", start),
    State("history", click("[data-account] .account-actions button", screen("history"))),
    State("statements", click("#history-statements", screen("statements"))),
    State("back from statements", click("#statements-back", screen("history"))),
    State("new transfer", click(TO_START, lambda p: None)),
    State(
        "new transfer (form)", click("[data-account] .account-actions .primary", screen("transfer"))
    ),
    State("new transfer, refused", transfer_refused),
    State("transfer, SMS code", transfer_code),
    State("transfer, booked", transfer_result),
    State("trusted payees", click(TO_START, lambda p: None)),
    State("trusted payees (list)", click("#start-ledger-links button", screen("payees"))),
    State("trusted payee, SMS code", payee_code),
    State(
        "limits", click(VISIBLE + "[data-open-payees]", lambda p: p.locator(TO_START).first.click())
    ),
    State("limits (form)", click("#start-ledger-links button >> nth=1", screen("limits"))),
    State("limits, SMS code", limits_code),
    State("idle warning", idle_warning),
    State("PIN", pin_screen),
    State("reset the application?", click(VISIBLE + '[data-go="reset"]', screen("reset"))),
    State("PIN again", click("#reset-cancel", screen("pin"))),
    State("PIN, wrong", pin_refused),
    State("blocked after three wrong PINs", blocked),
]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_r_x5_r_m10_every_app_screen_meets_wcag_21_aa(browser: Browser, live_server, lang: str):
    world = _world()
    context = open_context(browser, live_server.url, lang, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    found = walk(page, SCREENS, world, lang)
    context.close()
    assert found == {}, "\n".join(f"{name}: {p}" for name, ps in found.items() for p in ps)
