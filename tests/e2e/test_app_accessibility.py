"""What axe cannot see in the mobile app, checked by hand in real chromium (issue 12, item 7):
the idle warning and its way to stay (WCAG 2.2.1, R-M9), typing as activity, focus after the
warning (2.4.3), the PIN pad's count (4.1.3), errors on their field (3.3.1), and a language
switch that leaves no Polish behind (R-X5)."""

import pytest
from playwright.sync_api import Page, expect

from skarbiec.core import clock
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account
from tests.api.steps import MOBILE_PASSWORD, enable_mobile_channel
from tests.e2e.test_mobile_story import (  # noqa: F401 (fixtures)
    _settings,
    app,
    app_activate,
    app_set_pin,
    app_type_pin,
    expect_start,
    phone,
)
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_r_m9_r_x5_idle_warning_typing_pin_count_errors_and_language(app: Page):  # noqa: F811
    cu = make_credit_union(name="SKOK Przykładowa", helpline_phones=["801 803 800"])
    member = make_member(cu, first_name="Anna", last_name="Nowak")
    deposit_cash(open_account(member, Account.Kind.CURRENT, WEB), 1_000_00, WEB)
    enable_mobile_channel(member)
    app.clock.install()
    app.goto("/m/")

    # The language switch: its name begins with what it shows (WCAG 2.5.3).
    expect(app.locator("#lang-switch")).to_have_accessible_name("PL Polski")

    # An error marks its field and takes the focus there (WCAG 3.3.1).
    app_activate(app, member, MOBILE_PASSWORD)
    app.get_by_role("textbox", name="PIN", exact=True).fill("48159")
    app.get_by_role("textbox", name="Repeat the PIN").fill("11111")
    app.get_by_role("button", name="Save the PIN").click()
    repeat = app.locator("#new-pin-repeat")
    expect(repeat).to_have_attribute("aria-invalid", "true")
    expect(repeat).to_be_focused()
    assert "error" in (repeat.get_attribute("aria-describedby") or "").split()
    app_set_pin(app)
    expect(repeat).not_to_have_attribute("aria-invalid", "true")
    app.get_by_role("button", name="Not now").click()
    expect_start(app, member)

    # A minute before the lock, a warning with a way to stay (WCAG 2.2.1).
    app.locator("#logout").focus()
    clock.advance(240)
    app.clock.run_for(241_000)
    warning = app.get_by_role("alertdialog", name="You will be logged out soon")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("It will lock in")
    stay = warning.get_by_role("button", name="Stay logged in")
    expect(stay).to_be_focused()
    stay.click()
    expect(warning).to_be_hidden()
    # The focus goes back where it was, not to <body> (WCAG 2.4.3).
    expect(app.locator("#logout")).to_be_focused()
    # The server's clock moved too: 4 more minutes later the session is still alive.
    clock.advance(240)
    app.clock.run_for(240_000)
    expect(warning).to_be_visible()

    # Typing in a form is activity: it keeps the session on the server and in the app.
    stay.click()
    app.get_by_role("button", name="New transfer").first.click()
    # The form on screen before the app's clock jumps (under load its data may come late).
    expect(app.locator("#transfer-title-input")).to_be_visible()
    for minute in range(6):
        clock.advance(55)
        app.clock.run_for(55_000)
        app.locator("#transfer-title-input").fill(f"Za obiad {minute}")
    expect(app.locator('[data-screen="transfer"]')).to_be_visible()
    expect(warning).to_be_hidden()

    # Back to start and the language switch: no Polish left on the screen (R-X5).
    app.locator('[data-screen="transfer"] [data-ledger-start]').click()
    expect_start(app, member)
    app.locator("#lang-switch").click()
    expect(app.get_by_role("heading", name="Dzień dobry, Anna")).to_be_visible()
    app.locator("#lang-switch").click()
    expect(app.get_by_role("heading", name="Good day, Anna")).to_be_visible()

    # The PIN pad says how many digits are entered (WCAG 4.1.3), politely.
    app.get_by_role("button", name="Log out").click()
    count = app.locator("#pin-count")
    expect(count).to_have_attribute("aria-live", "polite")
    app_type_pin(app, "48")
    expect(count).to_have_text("2 of 5 digits entered.")
    app.get_by_role("button", name="Delete the last digit").click()
    expect(count).to_have_text("1 of 5 digits entered.")
