"""Accessibility of the main pages in real chromium: every field has a label, errors are
announced (role=alert, or tied to their field) and receive the focus, buttons and links have
enough colour contrast (WCAG AA, 4.5:1; 3:1 for large text), and `lang` names the language the
page is written in (R-X5)."""

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PhoneContext
from tests.factories import make_credit_union, make_member
from tests.web.login_steps import PASSWORD, last_sms_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Runs in the page; returns what is wrong, so a failing assertion names the element.
AUDIT = """() => {
  const visible = (el) =>
    el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.name ? "[name=" + el.name + "]" : "") + " " + (el.textContent || "").trim().slice(0, 40);

  const textOf = (ids) => ids.split(/\\s+/).map((id) => document.getElementById(id))
    .filter(Boolean).map((el) => el.textContent.trim()).join(" ");
  const unlabelled = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !visible(el)) continue;
    const fromLabels = [...(el.labels || [])].map((l) => l.textContent.trim()).join("");
    const name = fromLabels || (el.getAttribute("aria-label") || "").trim() ||
      textOf(el.getAttribute("aria-labelledby") || "");
    if (!name) unlabelled.push(describe(el));
  }

  const described = new Set();
  for (const el of document.querySelectorAll("[aria-describedby]")) {
    for (const id of el.getAttribute("aria-describedby").split(/\\s+/)) described.add(id);
  }
  const unannounced = [];
  for (const el of document.querySelectorAll(".alert-danger, .msg-error")) {
    if (visible(el) && el.getAttribute("role") !== "alert") unannounced.push(describe(el));
  }
  for (const el of document.querySelectorAll(".field-error")) {
    if (visible(el) && !described.has(el.id)) unannounced.push(describe(el));
  }

  const rgba = (s) => {
    const m = s.match(/[\\d.]+/g).map(Number);
    return m.length === 3 ? [...m, 1] : m;
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgba(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const lowContrast = [];
  for (const el of document.querySelectorAll("a[href], button, .btn")) {
    if (!visible(el) || el.disabled || !el.textContent.trim()) continue;
    const style = getComputedStyle(el);
    const bg = background(el);
    const fg = over(rgba(style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5)) lowContrast.push(describe(el) + " " + ratio.toFixed(2));
  }
  return {lang: document.documentElement.lang, unlabelled, unannounced, lowContrast};
}"""


def audit(page: Page, lang: str = "en") -> dict[str, Any]:
    found = page.evaluate(AUDIT)
    assert found == {"lang": lang, "unlabelled": [], "unannounced": [], "lowContrast": []}, page.url
    return found


def focused_id(page: Page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)


def test_r_w1_r_p2_r_w4_r_w6_pages_labelled_announced_focused_and_legible(page: Page):
    """Login, both SMS code forms, the forced password change and every Settings page: labels,
    announced errors with the focus on the first one, contrast, lang="en"."""
    cu = make_credit_union(name="SKOK Przykładowa", helpline_phones=["801 803 800"])
    member = make_member(cu, first_name="Anna", must_change_password="yes")

    page.goto("/")
    audit(page)
    # A wrong password: the message is announced and has the focus.
    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label("Password").fill("Wrong#pass1")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_contain_text("attempts left")
    assert focused_id(page) == "form-error"
    audit(page)

    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Enter the SMS code")).to_be_visible()
    audit(page)
    # An empty code: the field is marked, described by its error and focused.
    page.get_by_role("button", name="Log in").click()
    code = page.get_by_role("textbox", name="SMS code")
    expect(code).to_have_attribute("aria-invalid", "true")
    assert focused_id(page) == "id_code"
    audit(page)
    code.fill(last_sms_code(member))
    page.get_by_role("button", name="Log in").click()

    # Forced password change with two problems at once (R-P2).
    expect(page.get_by_role("heading", name="Set your own password")).to_be_visible()
    audit(page)
    page.get_by_label("New password", exact=True).fill("ąb1!")
    page.get_by_label("Repeat the new password").fill("ąb1!")
    page.get_by_role("button", name="Save the password").click()
    expect(page.locator("#password-problems li")).to_have_count(2)
    assert focused_id(page) == "id_new_password"
    described_by = page.locator("#id_new_password").get_attribute("aria-describedby") or ""
    assert "password-problems" in described_by.split()
    audit(page)
    page.get_by_label("New password", exact=True).fill("Nowe#haslo24")
    page.get_by_label("Repeat the new password").fill("Nowe#haslo24")
    page.get_by_role("button", name="Save the password").click()
    expect(page.get_by_role("heading", name="Good day, Anna")).to_be_visible()
    audit(page)

    for path, heading in [
        ("/settings/channels/", "Access channels"),
        ("/settings/devices/", "Devices"),
        ("/settings/security-events/", "Security events"),
        ("/get-the-app/", "Get the mobile app"),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        audit(page)

    # The mobile-app password (R-W4) with problems, then its SMS code step.
    page.goto("/settings/channels/mobile/activate/")
    audit(page)
    page.get_by_label("New mobile-app password").fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Next: SMS code").click()
    expect(page.locator("#password-problems")).to_be_visible()
    assert focused_id(page) == "id_new_password"
    audit(page)
    page.get_by_label("New mobile-app password").fill("Mobi!e2024xy")
    page.get_by_label("Repeat the password").fill("Mobi!e2024xy")
    page.get_by_role("button", name="Next: SMS code").click()
    expect(page.get_by_role("heading", name="Confirm with the SMS code")).to_be_visible()
    audit(page)
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    page.get_by_role("button", name="Confirm").click()
    # Now pending: the card shows its state label and the outline Deactivate button.
    expect(page.locator("#mobile-channel").get_by_role("link", name="Deactivate")).to_be_visible()
    audit(page)


def test_r_w2_blocked_page_is_legible_with_the_helpline(page: Page):
    member = make_member()
    page.goto("/")
    for _ in range(3):
        page.get_by_role("textbox", name="Login").fill(member.login)
        page.get_by_label("Password").fill("Wrong#pass1")
        page.get_by_role("button", name="Next").click()
    expect(
        page.get_by_role("heading", name="Access to the internet service is blocked")
    ).to_be_visible()
    audit(page)


def test_r_x5_lang_follows_the_chosen_language(browser: Browser, live_server):
    """The page says which language it is in: Polish by default, English after the switch."""
    make_member(make_credit_union(name="SKOK Przykładowa"))
    context = browser.new_context(base_url=live_server.url, locale="pl-PL")
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.locator("#id_login")).to_be_visible()
        audit(page, lang="pl")
        assert page.locator("label[for=id_password]").inner_text() != "Password"
        page.get_by_role("button", name="EN English").click()
        expect(page.locator("label[for=id_password]")).to_have_text("Password")
        audit(page, lang="en")
    finally:
        context.close()


def test_r_m10_mobile_app_screens_labelled_and_legible(phone_context: PhoneContext):
    """The PWA's activation screen and its error: labels, role=alert, contrast, lang."""
    member = make_member(make_credit_union(helpline_phones=["801 803 800"]))
    app = phone_context().new_page()
    app.goto("/m/")
    expect(app.get_by_role("heading", name="Activate the app")).to_be_visible()
    audit(app)
    app.get_by_role("textbox", name="Login").fill(member.login)
    app.get_by_label("Mobile-app password").fill("Wrong#pass1")
    app.get_by_role("button", name="Activate").click()
    expect(app.get_by_role("alert")).to_be_visible()
    audit(app)
    app.get_by_role("button", name="Help").click()
    expect(app.get_by_role("heading", name="Help", exact=True)).to_be_visible()
    audit(app)
