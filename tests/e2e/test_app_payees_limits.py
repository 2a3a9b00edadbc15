"""Trusted payees and limits in the mobile app (PWA) in real chromium: a payee added with the SMS
code, limits lowered at once and raised with the SMS code, errors in the live region (R-L4,
R-O2)."""

import pytest
from playwright.sync_api import Page, expect

from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.limits import member_limits
from skarbiec.ledger.models import Account, MemberLimits, TrustedPayee
from skarbiec.ledger.nrb import format_nrb
from skarbiec.ledger.order_input import MOBILE
from tests.api.steps import enable_mobile_channel
from tests.e2e.test_transfers import _settings, app, app_activate  # noqa: F401 (fixtures)
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB
from tests.web.login_steps import last_sms_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_r_l4_r_o2_pwa_trusted_payee_with_sms_code_then_lower_and_raise_a_limit(
    app: Page,  # noqa: F811
    screenshots_dir,
):
    cu = make_credit_union(name="SKOK Przykładowa", helpline_phones=["801 803 800"])
    member = make_member(cu, first_name="Anna", last_name="Nowak")
    deposit_cash(open_account(member, Account.Kind.CURRENT, WEB), 1_000_00, WEB)
    target = open_account(
        make_member(cu, first_name="Ewa", last_name="Lis"), Account.Kind.CURRENT, WEB
    )
    enable_mobile_channel(member)
    app_activate(app, member)

    # Trusted payees from the start screen: empty, then add one with the SMS code.
    app.get_by_role("button", name="Trusted payees").click()
    expect(app.get_by_role("heading", name="Trusted payees")).to_be_visible()
    expect(app.locator("#payees-empty")).to_be_visible()
    add = app.get_by_role("button", name="Add the payee")
    app.get_by_label("Name of the payee").fill("Ewa Lis")
    app.get_by_label("Account number of the payee").fill("12 3456")
    add.click()
    expect(app.get_by_role("alert")).to_contain_text("26 digits")
    assert not TrustedPayee.objects.filter(member=member).exists()
    app.get_by_label("Account number of the payee").fill(format_nrb(target.number))
    add.click()
    expect(app.get_by_role("heading", name="Confirm the trusted payee")).to_be_visible()
    expect(app.locator("#payee-code-intro")).to_contain_text(target.number[-4:])
    app.screenshot(path=str(screenshots_dir / "mobile-payee-code.png"), full_page=True)
    app.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    app.get_by_role("button", name="Confirm the payee").click()
    expect(app.get_by_role("status")).to_have_text("Ewa Lis is now a trusted payee.")
    row = app.locator("#payee-list li")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(format_nrb(target.number))
    expect(row.get_by_role("button", name="Remove Ewa Lis")).to_be_visible()
    app.screenshot(path=str(screenshots_dir / "mobile-payees.png"), full_page=True)
    payee = TrustedPayee.objects.get(member=member)
    assert payee.state == TrustedPayee.State.ACTIVE and payee.account == target.number

    # Limits: see them with the maximum, lower one at once, raise it back with the SMS code.
    app.get_by_role("button", name="Back to the start screen").click()
    app.get_by_role("button", name="Limits").click()
    expect(app.get_by_role("heading", name="Limits of the mobile app")).to_be_visible()
    before = member_limits(member, MOBILE)
    per_transaction = app.locator('#limits-now [data-limit="per_transaction"]')
    expect(per_transaction).to_contain_text("Credit union's maximum: PLN\u00a020,000.00")
    expect(app.locator('#limits-now [data-limit="daily"]')).to_contain_text("Used today")
    field = app.get_by_label("Per transaction (PLN)")
    # Amounts in the fields are written as the member writes them, thousands grouped.
    daily = before.daily_minor
    expect(app.locator("#limit-daily")).to_have_value(f"{daily // 100:,}.{daily % 100:02d}")
    save = app.get_by_role("button", name="Save the limits")

    field.fill("1000")
    save.click()
    expect(app.get_by_role("status")).to_have_text("The new limits apply from now on.")
    expect(per_transaction).to_contain_text("PLN\u00a01,000.00")
    assert MemberLimits.objects.get(pk=before.pk).per_transaction_minor == 1_000_00

    field.fill("20000,01")  # above the daily limit: refused, nothing changes
    save.click()
    expect(app.get_by_role("alert")).to_contain_text("may not exceed the daily one")
    assert MemberLimits.objects.get(pk=before.pk).per_transaction_minor == 1_000_00

    field.fill(str(before.per_transaction_minor // 100))
    save.click()
    expect(app.get_by_role("heading", name="Confirm the higher limits")).to_be_visible()
    assert MemberLimits.objects.get(pk=before.pk).per_transaction_minor == 1_000_00
    app.get_by_role("textbox", name="SMS code").fill(last_sms_code(member))
    app.get_by_role("button", name="Confirm the limits").click()
    expect(app.get_by_role("status")).to_have_text("The new limits apply from now on.")
    app.screenshot(path=str(screenshots_dir / "mobile-limits.png"), full_page=True)
    assert (
        MemberLimits.objects.get(pk=before.pk).per_transaction_minor == before.per_transaction_minor
    )
