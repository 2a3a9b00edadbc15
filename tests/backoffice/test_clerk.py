"""R-B2: the branch clerk onboards a member (PESEL and phone validated, accounts, Login,
temporary web password by SMS; the first web login forces a new password), opens accounts, and
pays cash in and out as balanced entries against the branch's cash account, with a PDF
receipt."""

import io

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from skarbiec.audit.models import AuditEvent
from skarbiec.ledger.accounts import deposit_cash, internal_account, open_account
from skarbiec.ledger.models import Account, LedgerEntry, LedgerTransaction
from skarbiec.members.models import Member
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import decrypt_body
from tests.backoffice.staff import cash_form, make_staff
from tests.factories import CLI, make_member, make_pesel
from tests.web.login_steps import english_client, last_sms_code


def _onboard(client, **extra):
    data = {
        "first_name": "Ewa",
        "last_name": "Lis",
        "pesel": make_pesel(),
        "phone": "600 111 222",
        "email": "ewa@example.org",
        "language": "pl",
        **extra,
    }
    return client.post("/backoffice/onboard/", data), data


def test_r_b2_onboarding_then_first_login_forces_a_new_password(clerk_client, cu):
    response, data = _onboard(clerk_client, open_savings="on")
    assert response.status_code == 302
    member = Member.objects.get(pesel=data["pesel"])
    assert member.credit_union == cu and member.phone == "+48600111222"
    assert member.must_change_password
    assert sorted(Account.objects.filter(member=member).values_list("kind", flat=True)) == [
        "current",
        "savings",
    ]
    page = clerk_client.get(response["Location"])
    assert member.login.encode() in page.content
    sms = decrypt_body(SmsMessage.objects.get(member=member).body_encrypted)
    temporary = next(w for w in sms.split() if any(c in "!@#$%&*?" for c in w)).rstrip(".")
    assert temporary.encode() not in page.content  # the password goes only by SMS
    event = AuditEvent.objects.get(event="member_onboarded", member_id=member.pk)
    assert event.actor == "staff:piotr.clerk"
    # The member's first web login with the SMS'd password leads to the new-password page.
    web = english_client()
    web.post("/login/", {"login": member.login, "password": temporary})
    done = web.post("/login/code/", {"code": last_sms_code(member)})
    assert done.status_code == 302
    assert web.get("/start/")["Location"] == "/password/"


def test_r_b2_bad_pesel_or_phone_saves_nothing(clerk_client):
    count = Member.objects.count()
    response, _ = _onboard(clerk_client, pesel="90010112345")
    assert response.status_code == 400 and b'data-field-error="pesel"' in response.content
    response, _ = _onboard(clerk_client, phone="12")
    assert response.status_code == 400 and b'data-field-error="phone"' in response.content
    pesel = make_pesel()
    assert _onboard(clerk_client, pesel=pesel)[0].status_code == 302
    response, _ = _onboard(clerk_client, pesel=pesel)
    assert response.status_code == 409 and b'data-field-error="pesel"' in response.content
    assert Member.objects.count() == count + 1


def test_r_b2_open_an_account(clerk_client, member):
    response = clerk_client.post(
        f"/backoffice/members/{member.pk}/accounts/new/", {"kind": "savings", "name": "Na wakacje"}
    )
    assert response.status_code == 302
    assert Account.objects.get(member=member, kind="savings").name == "Na wakacje"


def test_r_b2_cash_in_and_out_are_balanced_against_the_branch_cash_account(
    clerk_client, member, capsys
):
    account = open_account(member, Account.Kind.CURRENT, CLI)
    cash = internal_account(member.credit_union, Account.Kind.FUNDING)
    url = f"/backoffice/accounts/{account.pk}/cash/"

    def book(**fields: str):
        return clerk_client.post(url, cash_form(clerk_client, account.pk, **fields))

    assert book(direction="deposit", amount="150,00").status_code == 302
    assert book(direction="withdrawal", amount="40,50").status_code == 302
    account.refresh_from_db()
    cash.refresh_from_db()
    assert account.booked_minor == 10_950 and cash.booked_minor == -10_950
    # More than the balance: refused beside the field, nothing booked.
    entries = LedgerEntry.objects.count()
    refused = book(direction="withdrawal", amount="1000,00")
    assert refused.status_code in (400, 409, 422)
    assert LedgerEntry.objects.count() == entries
    refused = book(direction="deposit", amount="abc")
    assert refused.status_code == 400 and b'data-field-error="amount"' in refused.content
    call_command("ledger", "check")
    events = AuditEvent.objects.filter(event__in=["cash_deposited", "cash_withdrawn"])
    assert {e.actor for e in events} == {"staff:piotr.clerk"}


def test_r_b2_printable_pdf_receipt(clerk_client, member):
    account = open_account(member, Account.Kind.CURRENT, CLI)
    url = f"/backoffice/accounts/{account.pk}/cash/"
    clerk_client.post(url, cash_form(clerk_client, account.pk, direction="deposit", amount="150"))
    page = clerk_client.get(url)
    assert b"data-booked" in page.content
    txn = AuditEvent.objects.get(event="cash_deposited").data["txn"]
    pdf = clerk_client.get(f"/backoffice/cash/{txn}/receipt.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "piotr.clerk" in text and "Anna Nowak" in text and "150" in text


def test_r_b2_r_x8_a_confirmation_meant_for_another_page_is_no_receipt(clerk_client, member):
    """A member onboarded in one tab, the cash page opened in another before the member's
    page: the onboarding's confirmation is not taken for a transaction (it was a 500)."""
    account = open_account(member, Account.Kind.CURRENT, CLI)
    other = open_account(member, Account.Kind.SAVINGS, CLI)
    response, _data = _onboard(clerk_client)
    assert response.status_code == 302
    page = clerk_client.get(f"/backoffice/accounts/{account.pk}/cash/")
    assert page.status_code == 200 and b"data-booked" not in page.content
    url = f"/backoffice/accounts/{account.pk}/cash/"
    clerk_client.post(url, cash_form(clerk_client, account.pk, direction="deposit", amount="5"))
    # The receipt is offered on its own account's page only, and once.
    assert b"data-booked" not in clerk_client.get(f"/backoffice/accounts/{other.pk}/cash/").content
    assert b"data-booked" in clerk_client.get(url).content
    assert b"data-booked" not in clerk_client.get(url).content


def test_r_b2_helpline_cannot_onboard_or_pay_cash(helpline_client, member):
    account = open_account(member, Account.Kind.CURRENT, CLI)
    assert helpline_client.get("/backoffice/onboard/").status_code == 403
    response = helpline_client.post(
        f"/backoffice/accounts/{account.pk}/cash/", {"direction": "deposit", "amount": "5"}
    )
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.booked_minor == 0


def test_r_b2_the_branch_cash_account_itself_is_not_a_members_account(clerk_client, member):
    open_account(member, Account.Kind.CURRENT, CLI)
    cash = internal_account(member.credit_union, Account.Kind.FUNDING)
    assert clerk_client.get(f"/backoffice/accounts/{cash.pk}/cash/").status_code == 404
    response = clerk_client.post(
        f"/backoffice/accounts/{cash.pk}/cash/", {"direction": "deposit", "amount": "5,00"}
    )
    assert response.status_code == 404


def test_r_b2_not_even_installation_administrators_book_cash_on_the_cash_account(member):
    from tests.backoffice.staff import make_staff, staff_client

    root = staff_client(make_staff("admin", None, "root"))
    cash = internal_account(member.credit_union, Account.Kind.FUNDING)
    assert root.get(f"/backoffice/accounts/{cash.pk}/cash/").status_code == 404


def test_r_b2_the_same_cash_form_sent_twice_books_once(clerk_client, member):
    """A double click on "Book", or the browser sending the form again: the clerk hands the
    cash over once, so it is booked once, and the second answer shows the first booking."""
    account = open_account(member, Account.Kind.CURRENT, CLI)
    deposit_cash(account, 50_000, CLI)
    url = f"/backoffice/accounts/{account.pk}/cash/"
    form = cash_form(clerk_client, account.pk, direction="withdrawal", amount="100,00")
    assert [clerk_client.post(url, form).status_code for _ in range(2)] == [302, 302]
    account.refresh_from_db()
    assert account.booked_minor == 40_000
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.WITHDRAWAL).count() == 1
    # The same form sent again with another amount books nothing either.
    refused = clerk_client.post(url, {**form, "amount": "200,00"})
    assert refused.status_code == 409 and b"already booked" in refused.content
    # Without the key it was shown with, a form books nothing.
    del form["request_key"]
    assert clerk_client.post(url, form).status_code == 409
    account.refresh_from_db()
    assert account.booked_minor == 40_000
    call_command("ledger", "check")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("balance_minor", [50_000, 15_000])
def test_r_b2_r_x4_the_same_cash_form_sent_twice_at_once_books_once(cu, balance_minor):
    """Two submits of one form racing each other: one books, the other finds that booking;
    also when the balance pays out only one (the second was answered "balance too low" while
    the first had paid out)."""
    import threading

    from django.db import connection

    from skarbiec.backoffice.cash import book_cash
    from skarbiec.backoffice.login import staff_context

    clerk = make_staff("clerk", cu, "piotr.clerk")
    account = open_account(make_member(cu), Account.Kind.CURRENT, CLI)
    deposit_cash(account, balance_minor, CLI)
    ctx = staff_context(clerk, CLI)
    start, bookings = threading.Barrier(2), []

    def submit() -> None:
        try:
            start.wait()
            bookings.append(book_cash(clerk, account.pk, "withdrawal", "100", "k" * 24, ctx).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    account.refresh_from_db()
    assert len(bookings) == 2 and len(set(bookings)) == 1
    assert account.booked_minor == balance_minor - 10_000
    call_command("ledger", "check")
