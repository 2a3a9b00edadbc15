"""Transfers in real chromium: the web page with its SMS code and PDF confirmation, and the
mobile app (PWA) with its SMS code and the blocked screen after three wrong codes (R-L1, R-L3,
R-L4, R-L5, R-O2, R-O4)."""

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import BrowserContext, Page, expect
from pypdf import PdfReader

from skarbiec.channels.models import MobileChannel
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, Order
from skarbiec.ledger.nrb import format_nrb
from tests.api.steps import MOBILE_PASSWORD, enable_mobile_channel
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB, balance
from tests.web.login_steps import last_sms_code, wrong_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PIN = "48159"


@pytest.fixture(autouse=True)
def _settings(settings, live_server, monkeypatch):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    settings.PUBLIC_URL = live_server.url
    settings.OTP_SEND_LIMIT = (10_000, 600)


def _members() -> tuple[Any, Account, Account, Account]:
    cu = make_credit_union(name="SKOK Przykładowa", helpline_phones=["801 803 800"])
    payer = make_member(cu, first_name="Anna", last_name="Nowak")
    current = open_account(payer, Account.Kind.CURRENT, WEB)
    savings = open_account(payer, Account.Kind.SAVINGS, WEB)
    for amount, title in (
        (2_500_00, "Wynagrodzenie"),
        (120_00, "Zwrot za bilety"),
        (45_50, "Wpłata"),
    ):
        deposit_cash(current, amount, WEB, title=title)
    payee = make_member(cu, first_name="Ewa", last_name="Lis")
    target = open_account(payee, Account.Kind.CURRENT, WEB)
    return payer, current, savings, target


def _ledger_check_passes(capsys) -> None:
    call_command("ledger", "check")
    assert "passed" in capsys.readouterr().out


def web_log_in(page: Page, member) -> None:
    page.goto("/")
    page.get_by_role("textbox", name="Login").fill(member.login)
    page.get_by_label("Password").fill("Start#2024pl")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=f"Good day, {member.first_name}")).to_be_visible()


def test_r_l1_r_l4_r_o2_r_l5_web_transfer_with_sms_code_and_pdf_confirmation(
    page: Page, screenshots_dir, capsys
):
    payer, current, _savings, target = _members()
    web_log_in(page, payer)

    # R-L1: the start page lists the accounts with both balances and the NRB in groups of 4.
    accounts = page.locator(f'[data-account="{current.pk}"]')
    expect(accounts).to_contain_text(format_nrb(current.number))
    expect(accounts.locator(".available")).to_have_text("PLN\u00a02,665.50")
    page.screenshot(path=str(screenshots_dir / "web-accounts.png"), full_page=True)

    # R-L5: the history of the account.
    accounts.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="Account history")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Zwrot za bilety")
    page.get_by_label("Title or name contains").fill("bilety")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="1 operation")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(page.get_by_role("heading", name="3 operations")).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "web-history.png"), full_page=True)

    # A transfer to another member: the form, then the SMS code (R-L4, R-O2).
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Transfer").click()
    expect(page.get_by_role("heading", name="New transfer")).to_be_visible()
    page.get_by_label("Payee account number").fill(format_nrb(target.number))
    page.get_by_label("Payee name").fill("Ewa Lis")
    page.get_by_label("Title").fill("Za obiad")
    page.get_by_label("Amount (PLN)").fill("1 234,56")
    page.screenshot(path=str(screenshots_dir / "web-transfer.png"), full_page=True)
    page.get_by_role("button", name="Next").click()
    expect(
        page.get_by_role("heading", name="Confirm the transfer with the SMS code")
    ).to_be_visible()
    expect(page.locator("dl.details")).to_contain_text("PLN\u00a01,234.56")
    page.get_by_role("textbox", name="SMS code").fill(last_sms_code(payer))
    page.get_by_role("button", name="Confirm the transfer").click()
    expect(page.locator("#transfer-result")).to_have_text("The transfer was booked.")
    page.screenshot(path=str(screenshots_dir / "web-transfer-booked.png"), full_page=True)
    assert balance(current) == 2_665_50 - 1_234_56 and balance(target) == 1_234_56

    # R-L5: the PDF confirmation downloads and names the amount.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download confirmation (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "1,234.56" in text or "1 234,56" in text or "1234.56" in text
    _ledger_check_passes(capsys)


# ---------------------------------------------------------------------------------------------
# The mobile app


@pytest.fixture
def app(phone_context) -> Iterator[Page]:
    context: BrowserContext = phone_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    assert errors == [], errors


def app_activate(app: Page, member) -> None:
    """R-M2 through the app's own screens: Login + mobile-app password, SMS code, PIN."""
    app.goto("/m/")
    expect(app.get_by_role("heading", name="Activate the app")).to_be_visible()
    app.get_by_role("textbox", name="Login").fill(member.login)
    app.get_by_label("Mobile-app password").fill(MOBILE_PASSWORD)
    app.get_by_role("button", name="Activate").click()
    expect(app.get_by_role("heading", name="Enter the SMS code")).to_be_visible()
    app.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    app.get_by_role("button", name="Confirm").click()
    expect(app.get_by_role("heading", name="Choose a PIN")).to_be_visible()
    app.get_by_role("textbox", name="PIN", exact=True).fill(PIN)
    app.get_by_role("textbox", name="Repeat the PIN").fill(PIN)
    app.get_by_role("button", name="Save the PIN").click()
    not_now = app.get_by_role("button", name="Not now")
    expect(not_now).to_be_visible()
    not_now.click()
    expect(app.get_by_role("heading", name=f"Good day, {member.first_name}")).to_be_visible()


def app_fill_transfer(app: Page, target: Account, amount: str, title: str) -> None:
    app.locator("#account-list .account-card").first.get_by_role(
        "button", name="New transfer"
    ).click()
    expect(app.get_by_role("heading", name="New transfer")).to_be_visible()
    app.get_by_label("Payee account number").fill(target.number)
    app.get_by_label("Payee name").fill("Ewa Lis")
    app.get_by_label("Title", exact=True).fill(title)
    app.get_by_label("Amount (PLN)").fill(amount)


def back_to_accounts(app: Page) -> None:
    """Back to the start screen, once the app has drawn its accounts again: the list is
    replaced when their balances arrive, and a tap on a card being replaced is lost."""
    drawn = app.locator("#account-list .account-card").first.element_handle()
    app.get_by_role("button", name="Back to accounts").click()
    app.wait_for_function("card => !card.isConnected", arg=drawn)
    expect(app.locator("#accounts")).to_have_attribute("aria-busy", "false")
    expect(app.locator("#home-overview")).to_have_attribute("aria-busy", "false")


def test_r_l3_r_l4_r_o2_r_o4_pwa_transfer_with_sms_code_then_three_wrong_codes_block(
    app: Page, screenshots_dir, capsys
):
    payer, current, _savings, target = _members()
    enable_mobile_channel(payer)  # R-W4 in the web, through the services
    app_activate(app, payer)

    # R-L1: accounts on the start screen, with the balance in the app's language.
    card = app.locator(f'#account-list [data-account="{current.pk}"]')
    expect(card).to_contain_text("Available: PLN\u00a02,665.50")
    expect(card).to_contain_text(format_nrb(current.number))
    app.screenshot(path=str(screenshots_dir / "mobile-accounts.png"), full_page=True)

    # R-L5: the history screen.
    card.get_by_role("button", name="History").click()
    expect(app.get_by_role("heading", name="Account history")).to_be_visible()
    expect(app.locator("#history-list li")).to_have_count(3)
    expect(app.locator("#history-list")).to_contain_text("Wynagrodzenie")
    app.screenshot(path=str(screenshots_dir / "mobile-history.png"), full_page=True)
    back_to_accounts(app)

    # A transfer with the SMS code (R-L4, R-O2): the code screen names amount and account.
    app_fill_transfer(app, target, "100.50", "Za kino")
    app.screenshot(path=str(screenshots_dir / "mobile-transfer.png"), full_page=True)
    app.get_by_role("button", name="Next").click()
    expect(app.get_by_role("heading", name="Confirm the transfer")).to_be_visible()
    expect(app.locator("#transfer-code-intro")).to_contain_text("PLN\u00a0100.50")
    expect(app.locator("#transfer-code-intro")).to_contain_text(target.number[-4:])
    app.get_by_role("textbox", name="SMS code").fill(last_sms_code(payer))
    app.get_by_role("button", name="Confirm the transfer").click()
    expect(app.get_by_role("status").filter(has_text="The transfer was booked.")).to_be_visible()
    app.screenshot(path=str(screenshots_dir / "mobile-transfer-booked.png"), full_page=True)
    assert balance(target) == 100_50
    order = Order.objects.get(member=payer)
    assert order.channel == "mobile" and order.state == Order.State.BOOKED

    # R-O4: three wrong codes for the next transfer block the app and reject the transfer.
    back_to_accounts(app)
    expect(card).to_contain_text("Available: PLN\u00a02,565.00")
    app_fill_transfer(app, target, "50", "Drugi")
    app.get_by_role("button", name="Next").click()
    expect(app.get_by_role("heading", name="Confirm the transfer")).to_be_visible()
    bad = wrong_code(last_sms_code(payer))
    code_box = app.get_by_role("textbox", name="SMS code")
    confirm = app.get_by_role("button", name="Confirm the transfer")
    code_box.fill(bad)
    confirm.click()
    expect(app.get_by_role("alert")).to_contain_text("Attempts left: 2.")
    code_box.fill(bad)
    confirm.click()
    expect(app.get_by_role("alert")).to_contain_text("Attempts left: 1.")
    code_box.fill(bad)
    confirm.click()
    expect(app.get_by_role("heading", name="The mobile app is blocked")).to_be_visible()
    expect(app.locator("#blocked-message")).to_contain_text("transfer was rejected")
    expect(app.get_by_role("link", name="801 803 800")).to_be_visible()
    assert MobileChannel.objects.get(member=payer).state == MobileChannel.State.BLOCKED
    rejected = Order.objects.exclude(pk=order.pk).get(member=payer)
    assert rejected.state == Order.State.REJECTED and balance(target) == 100_50
    _ledger_check_passes(capsys)
