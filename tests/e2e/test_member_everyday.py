"""A member's everyday walk on a phone (412×915, like a Pixel 7), in Polish and in English
(issue 12): the start page with the latest operations and the chart, the payee book (save from
the transfer form, pick it, transfer), and a monthly statement download; then the same in the
mobile app (PWA). Real chromium against the live server (R-L1, R-L3, R-L4, R-L5, R-O2)."""

import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from skarbiec.core import clock
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, Order, TrustedPayee
from skarbiec.ledger.nrb import format_nrb
from skarbiec.ledger.payee_book import save_payee
from skarbiec.ledger.statements import month_start
from tests.api.steps import enable_mobile_channel
from tests.e2e.test_transfers import _settings, app_activate  # noqa: F401 (fixtures)
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB
from tests.web.login_steps import last_sms_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PIXEL_7 = {"viewport": {"width": 412, "height": 915}}
DAY = 86400

TEXTS = {
    "pl": {
        "password": "Hasło", "next": "Dalej", "sms": "Kod SMS", "log_in": "Zaloguj",
        "good_day": "Dzień dobry", "recent": "Ostatnie operacje",
        "chart": "Wpływy i wydatki w miesiącach", "transfer": "Przelew",
        "new_transfer": "Nowy przelew", "account_no": "Numer rachunku odbiorcy",
        "payee_name": "Nazwa odbiorcy", "title": "Tytuł", "amount": "Kwota (PLN)",
        "save": "Zapisz tego odbiorcę w mojej książce odbiorców",
        "pick": "Odbiorca z Twojej książki", "fill": "Wypełnij",
        "confirm": "Potwierdź przelew", "statements": "Wyciągi",
    },
    "en": {
        "password": "Password", "next": "Next", "sms": "SMS code", "log_in": "Log in",
        "good_day": "Good day", "recent": "Latest operations",
        "chart": "Income and expenses per month", "transfer": "Transfer",
        "new_transfer": "New transfer", "account_no": "Payee account number",
        "payee_name": "Payee name", "title": "Title", "amount": "Amount (PLN)",
        "save": "Save this payee in my payee book",
        "pick": "Payee from your book", "fill": "Fill in",
        "confirm": "Confirm the transfer", "statements": "Statements",
    },
}  # fmt: skip


def _member(cu_name: str, first_name: str):
    cu = make_credit_union(name=cu_name, helpline_phones=["801 803 800"])
    member = make_member(cu, first_name=first_name, last_name="Nowak")
    current = open_account(member, Account.Kind.CURRENT, WEB)
    deposit_cash(current, 3_000_00, WEB, title="Wynagrodzenie")
    payee = make_member(cu, first_name="Ewa", last_name="Lis")
    target = open_account(payee, Account.Kind.CURRENT, WEB)
    return member, current, target


def _web_log_in(page: Page, member, t: dict[str, str]) -> None:
    page.goto("/")
    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label(t["password"]).fill("Start#2024pl")
    page.get_by_role("button", name=t["next"]).click()
    page.get_by_role("textbox", name=t["sms"]).fill(last_sms_code(member))
    page.get_by_role("button", name=t["log_in"]).click()
    expect(
        page.get_by_role("heading", name=f"{t['good_day']}, {member.first_name}")
    ).to_be_visible()


def _fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 412, f"the page is {width} px wide on a 412 px screen"


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_r_l5_r_l4_member_on_a_phone_start_page_payee_book_and_statement(
    phone_context, lang: str, screenshots_dir
):
    t = TEXTS[lang]
    member, current, target = _member(f"SKOK Codzienna {lang}", "Anna")
    opened = month_start(clock.now().date())
    clock.advance(40 * DAY)  # the salary's month has ended: it has a statement
    page = phone_context(**PIXEL_7, locale="pl-PL" if lang == "pl" else "en-GB").new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    _web_log_in(page, member, t)

    # The start page: latest operations linking to details, the chart with its table.
    expect(page.get_by_role("heading", name=t["recent"])).to_be_visible()
    expect(page.locator(".recent-list")).to_contain_text("Wynagrodzenie")
    expect(page.locator("svg.month-chart rect.bar-income")).to_have_count(6)
    expect(page.get_by_role("heading", name=t["chart"])).to_be_visible()
    _fits_the_screen(page)
    page.screenshot(path=str(screenshots_dir / f"phone-start-{lang}.png"), full_page=True)

    # A transfer that saves its payee in the book.
    page.get_by_role("navigation").get_by_role("link", name=t["transfer"], exact=True).click()
    expect(page.get_by_role("heading", name=t["new_transfer"])).to_be_visible()
    page.get_by_label(t["account_no"]).fill(format_nrb(target.number))
    page.get_by_label(t["payee_name"]).fill("Ewa Lis")
    page.get_by_label(t["title"], exact=True).fill("Czynsz")
    page.get_by_label(t["amount"]).fill("100,00")
    page.get_by_label(t["save"]).check()
    page.get_by_role("button", name=t["next"]).click()
    expect(page.get_by_role("button", name=t["confirm"])).to_be_visible()
    page.get_by_role("textbox", name=t["sms"]).fill(last_sms_code(member))
    page.get_by_role("button", name=t["confirm"]).click()
    expect(page.locator("#transfer-result")).to_be_visible()
    payee = TrustedPayee.objects.get(member=member)
    assert (payee.state, payee.title) == ("saved", "Czynsz")

    # Picked from the book: the form fills without typing the number.
    page.get_by_role("navigation").get_by_role("link", name=t["transfer"], exact=True).click()
    page.get_by_label(t["pick"]).select_option(str(payee.pk))
    page.get_by_role("button", name=t["fill"]).click()
    expect(page.get_by_label(t["account_no"])).to_have_value(format_nrb(target.number))
    expect(page.get_by_label(t["title"], exact=True)).to_have_value("Czynsz")
    page.get_by_label(t["amount"]).fill("50,00")
    page.get_by_role("button", name=t["next"]).click()
    expect(page.get_by_role("button", name=t["confirm"])).to_be_visible()
    page.get_by_role("textbox", name=t["sms"]).fill(last_sms_code(member))
    page.get_by_role("button", name=t["confirm"]).click()
    expect(page.locator("#transfer-result")).to_be_visible()
    assert Order.objects.filter(member=member, state="booked").count() == 2

    # The statement of the salary's month downloads as a PDF.
    page.goto(f"/accounts/{current.pk}/statements/")
    expect(page.get_by_role("heading", name=t["statements"], exact=True)).to_be_visible()
    _fits_the_screen(page)
    with page.expect_download() as info:
        page.locator(".statement-list a").last.click()
    download = info.value
    assert download.suggested_filename.endswith(f"{opened.year:04d}-{opened.month:02d}.pdf")
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(Path(download.path()).read_bytes())).pages
    )
    assert "Wynagrodzenie" in text and member.credit_union.name in text
    assert errors == [], errors


def test_r_l5_r_l4_app_start_screen_payee_pick_and_statement(phone_context, screenshots_dir):
    member, _current, target = _member("SKOK Aplikacja", "Anna")
    save_payee(member, "Ewa Lis", target.number, "Za obiad", WEB)
    clock.advance(40 * DAY)  # the salary's month has ended: it has a statement
    enable_mobile_channel(member)
    app = phone_context(**PIXEL_7).new_page()
    app.set_default_timeout(15_000)
    errors: list[str] = []
    app.on("pageerror", lambda e: errors.append(str(e)))
    app.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    app_activate(app, member)

    overview = app.locator("#home-overview")
    expect(overview).to_have_attribute("aria-busy", "false")
    expect(overview.get_by_role("heading", name="Latest operations")).to_be_visible()
    expect(overview).to_contain_text("Wynagrodzenie")
    expect(overview.locator("table.month-table tbody tr")).to_have_count(6)
    app.screenshot(path=str(screenshots_dir / "mobile-start-overview.png"), full_page=True)

    card = app.locator("#account-list .account-card").first
    card.get_by_role("button", name="New transfer").click()
    expect(app.get_by_role("heading", name="New transfer")).to_be_visible()
    app.get_by_label("Payee from your book").select_option(label="Ewa Lis …" + target.number[-4:])
    expect(app.get_by_label("Payee account number")).to_have_value(format_nrb(target.number))
    expect(app.get_by_label("Title", exact=True)).to_have_value("Za obiad")
    app.get_by_label("Amount (PLN)").fill("10,00")
    app.get_by_role("button", name="Next").click()
    expect(app.get_by_role("heading", name="Confirm the transfer")).to_be_visible()
    app.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    app.get_by_role("button", name="Confirm the transfer").click()
    expect(app.locator("#transfer-result-message")).to_be_visible()
    assert Order.objects.get(member=member).state == "booked"

    app.locator('[data-screen="transfer-result"] [data-ledger-start]').click()
    card.get_by_role("button", name="History").click()
    app.get_by_role("button", name="Statements").click()
    expect(app.get_by_role("heading", name="Statements")).to_be_visible()
    with app.expect_download() as info:
        app.locator("#statement-list button").last.click()
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")
    assert errors == [], errors
