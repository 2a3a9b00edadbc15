"""The internet service in real chromium: two-step login, start page, idle logout (R-W1, R-W3),
no inline script under the CSP (R-W7), the language switch (R-X5)."""

import pytest
from playwright.sync_api import Page, expect

from skarbiec.core import clock
from tests.factories import make_credit_union, make_member
from tests.web.login_steps import PASSWORD, last_sms_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)


def _collect_csp_violations(page: Page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return problems


def test_r_w1_r_w3_login_with_sms_code_then_idle_logout(page: Page, live_server, screenshots_dir):
    """R-W1 password + SMS code from the outbox; R-W3 the page's countdown and the server's
    idle limit both end the session and the login page says why."""
    cu = make_credit_union(name="SKOK Przykładowa")
    member = make_member(cu, first_name="Anna", last_name="Nowak")
    csp_problems = _collect_csp_violations(page)
    page.clock.install()

    page.goto("/")
    expect(page.get_by_role("heading", name="Log in to the internet service")).to_be_visible()
    expect(page.get_by_text("SKOK Przykładowa").first).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "web-login.png"), full_page=True)

    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Enter the SMS code")).to_be_visible()
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Good day, Anna")).to_be_visible()
    expect(page.locator("[data-remaining]")).to_have_text("5:00")
    page.screenshot(path=str(screenshots_dir / "web-start.png"), full_page=True)

    # A minute before the limit the page warns.
    page.clock.run_for(241_000)
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("You will be logged out soon")
    page.screenshot(path=str(screenshots_dir / "web-idle-warning.png"))

    # Past the limit on both clocks: the server refuses the session, the page leaves.
    clock.advance(301)
    page.clock.run_for(61_000)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(
        page.get_by_text("You were logged out after 5 minutes without activity.")
    ).to_be_visible()
    expect(page.get_by_role("textbox", name="Login")).to_be_visible()
    assert csp_problems == []


def test_r_w3_stay_logged_in_button_keeps_the_session(page: Page):
    member = make_member()
    page.clock.install()
    page.goto("/")
    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Next").click()
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("[data-remaining]")).to_have_text("5:00")

    clock.advance(250)
    page.clock.run_for(250_000)
    expect(page.get_by_role("alertdialog")).to_be_visible()
    page.get_by_role("button", name="Stay logged in").click()
    expect(page.get_by_role("alertdialog")).to_be_hidden()
    # The focus returns to the page, never to <body> (WCAG 2.4.3).
    expect(page.locator("#main")).to_be_focused()
    expect(page.locator("[data-remaining]")).to_contain_text("5:00")
    clock.advance(200)
    page.reload()
    expect(page.get_by_role("heading", name="Good day, Jan")).to_be_visible()


def test_r_w2_blocked_after_three_wrong_passwords_shows_helpline(page: Page):
    member = make_member()
    page.goto("/")
    for left in (2, 1, 0):
        page.get_by_role("textbox", name="Login").fill(member.login)
        page.get_by_label("Password").fill("Wrong#pass1")
        page.get_by_role("button", name="Next").click()
        if left:
            expect(page.get_by_role("alert")).to_contain_text(f"{left} attempt")
    expect(
        page.get_by_role("heading", name="Access to the internet service is blocked")
    ).to_be_visible()
    expect(page.get_by_role("link", name="801 803 800").first).to_be_visible()


def test_r_p2_forced_password_change_lists_all_problems(page: Page):
    member = make_member(must_change_password="yes")
    page.goto("/")
    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Next").click()
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Set your own password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("ąb1!")
    page.get_by_label("Repeat the new password").fill("ąb1!")
    page.get_by_role("button", name="Save the password").click()
    problems = page.locator("#password-problems li")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("at least 8 characters")
    expect(problems.nth(1)).to_contain_text("Polish letters")


def test_r_x5_language_switch_on_the_login_page(browser, live_server, screenshots_dir):
    context = browser.new_context(base_url=live_server.url, locale="pl-PL")
    page = context.new_page()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.get_by_role("heading", name="Log in to the internet service")).to_have_count(0)
    page.screenshot(path=str(screenshots_dir / "web-login-pl.png"), full_page=True)
    page.get_by_role("button", name="EN English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Log in to the internet service")).to_be_visible()
    context.close()


def test_login_page_fits_a_phone_screen(browser, live_server, screenshots_dir):
    """Mobile-friendly: nothing wider than a Pixel 7 screen, the form usable without zooming."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-GB",
        viewport={"width": 412, "height": 839},
        device_scale_factor=2.625,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    make_member(make_credit_union(name="SKOK Przykładowa"))
    page.goto("/")
    expect(page.get_by_role("textbox", name="Login")).to_be_visible()
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    box = page.get_by_role("button", name="Next").bounding_box()
    assert box and box["height"] >= 44 and box["width"] > 300  # a comfortable touch target
    page.screenshot(path=str(screenshots_dir / "web-login-phone.png"), full_page=True)
    context.close()
