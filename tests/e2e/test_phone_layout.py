"""The internet service on a phone (issue 12, item 4): at 360 px the main menu wraps instead of
scrolling sideways, so every item is on screen and opens its page; no page is wider than the
screen; the Limits page shows amounts as the language writes them (R-L4, R-X5, R-W4)."""

import pytest
from playwright.sync_api import Page, expect

from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account
from tests.e2e.conftest import PhoneContext
from tests.e2e.test_transfers import web_log_in
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Narrowest phone in common use (WCAG 1.4.10 asks for 320 CSS px; checked by the axe test).
NARROW = {"width": 360, "height": 740}


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)


def page_width(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def test_r_w4_r_l4_phone_menu_shows_and_opens_every_item(
    phone_context: PhoneContext, screenshots_dir
):
    cu = make_credit_union(name="SKOK Przykładowa")
    member = make_member(cu, first_name="Anna")
    deposit_cash(open_account(member, Account.Kind.CURRENT, WEB), 2_000_00, WEB, title="Wpłata")
    page = phone_context(viewport=NARROW).new_page()
    web_log_in(page, member)

    menu = page.get_by_role("navigation", name="Main menu")
    page.screenshot(path=str(screenshots_dir / "web-start-phone.png"), full_page=True)
    items = menu.get_by_role("link")
    names = [name.strip() for name in items.all_inner_texts()]
    assert {"Start", "Accounts", "Transfer", "Limits", "Settings"} <= set(names), names
    for name in names:
        link = menu.get_by_role("link", name=name, exact=True)
        # On screen without scrolling the menu sideways: inside the viewport's width.
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], (
            name,
            box,
        )
        link.click()
        expect(menu.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        assert page_width(page) <= NARROW["width"], (name, page.url, page_width(page))


def test_r_l4_r_x5_limits_page_is_a_form_with_amounts_as_the_language_writes_them(
    phone_context: PhoneContext, screenshots_dir
):
    member = make_member(first_name="Anna")
    page = phone_context(viewport=NARROW).new_page()
    web_log_in(page, member)
    page.goto("/limits/")
    page.get_by_role("button", name="PL").click()
    expect(page.get_by_role("textbox", name="Pojedynczy przelew")).to_have_value("20\u00a0000,00")
    daily = page.get_by_role("textbox", name="Dzienny")
    expect(daily).to_have_value("50\u00a0000,00")
    expect(page.locator("#daily-help")).to_contain_text("0,00\u00a0zł")
    page.screenshot(path=str(screenshots_dir / "web-limits-phone-pl.png"), full_page=True)
    # The fields are as wide as the form, like the other forms' fields.
    box = daily.bounding_box()
    assert box is not None and box["width"] > NARROW["width"] / 2
    # The shown amount is accepted back as typed.
    daily.fill("30\u00a0000,00")
    page.get_by_role("button", name="Zapisz limity").click()
    expect(page.get_by_role("status")).to_contain_text("Nowe limity")
    expect(page.get_by_role("textbox", name="Dzienny")).to_have_value("30\u00a0000,00")
    assert page_width(page) <= NARROW["width"]
