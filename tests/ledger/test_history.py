"""R-L5: history with filters and pages, entry detail, CSV export, PDF confirmation; the demo
year of history keeps the ledger balanced."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from skarbiec.core import clock
from skarbiec.ledger.accounts import deposit_cash
from skarbiec.ledger.demo import load_demo_ledger
from skarbiec.ledger.errors import AccountNotFound, InvalidOrderDetails, OrderNotFound
from skarbiec.ledger.history import HistoryFilter, account_history, history_csv, history_entry
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.models import Account, LedgerEntry
from skarbiec.ledger.order_authorization import authorize_transfer
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.pdf import transfer_confirmation_pdf
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB, key, last_code, member_with_account


def _pay(member, source, target, amount, title):
    o = create_transfer_order(
        member, "web", source, target.number, "Anna Żółkiewska", amount, title, key(), WEB
    )
    return authorize_transfer(member, o.pk, last_code(member), WEB)


@pytest.fixture
def history(db):
    cu = make_credit_union()
    payer, source = member_with_account(cu, balance_minor=1000_00)
    payee, target = member_with_account(cu, first_name="Anna", last_name="Żółkiewska")
    orders = [_pay(payer, source, target, 10_00 * (i + 1), f"Rata {i + 1}") for i in range(5)]
    clock.advance(3 * 24 * 3600)
    orders.append(_pay(payer, source, target, 123_45, "Czynsz za maj"))
    return payer, source, payee, target, orders


def test_r_l5_history_pages_newest_first(history):
    payer, source, _payee, _target, orders = history
    page = account_history(payer, source.pk, page=1, page_size=4)
    assert page.total == 7 and page.pages == 2 and page.has_next  # 6 transfers + 1 deposit
    assert page.items[0].title == "Czynsz za maj" and page.items[0].amount_minor == -123_45
    assert page.items[0].order_id == orders[-1].pk
    assert page.items[0].counterparty_name == "Anna Żółkiewska"
    last = account_history(payer, source.pk, page=2, page_size=4)
    assert len(last.items) == 3 and not last.has_next
    assert last.items[-1].amount_minor == 1000_00 and last.items[-1].balance_after_minor == 1000_00
    # Running balance: each entry's balance-after follows from the one before it.
    items = account_history(payer, source.pk, page_size=100).items
    for newer, older in zip(items, items[1:]):
        assert newer.balance_after_minor == older.balance_after_minor + newer.amount_minor


def test_r_l5_history_filters_by_dates_amount_and_text(history):
    payer, source, _payee, _target, _orders = history
    today = timezone.localtime(clock.now()).date()
    recent = account_history(payer, source.pk, HistoryFilter(date_from=today))
    assert [i.title for i in recent.items] == ["Czynsz za maj"]
    older = account_history(payer, source.pk, HistoryFilter(date_to=today - timedelta(days=1)))
    assert older.total == 6
    by_amount = account_history(
        payer, source.pk, HistoryFilter(amount_min_minor=20_00, amount_max_minor=40_00)
    )
    assert sorted(i.amount_minor for i in by_amount.items) == [-40_00, -30_00, -20_00]
    assert account_history(payer, source.pk, HistoryFilter(text="rata")).total == 5
    assert account_history(payer, source.pk, HistoryFilter(text="żółkiew")).total == 6
    with pytest.raises(InvalidOrderDetails):
        account_history(
            payer, source.pk, HistoryFilter(date_from=today, date_to=today - timedelta(1))
        )
    with pytest.raises(InvalidOrderDetails):
        account_history(payer, source.pk, page_size=1000)


def test_r_l5_payee_sees_incoming_entries_but_not_the_payers_order(history):
    payer, source, payee, target, orders = history
    page = account_history(payee, target.pk)
    assert page.total == 6 and all(i.amount_minor > 0 for i in page.items)
    assert all(i.order_id is None for i in page.items)
    assert page.items[0].counterparty_account == source.number
    with pytest.raises(AccountNotFound):
        account_history(payee, source.pk)
    entry = LedgerEntry.objects.filter(account=source).first()
    with pytest.raises(AccountNotFound):
        history_entry(payee, entry.pk)
    assert history_entry(payer, entry.pk).entry_id == entry.pk
    with pytest.raises(OrderNotFound):
        transfer_confirmation_pdf(payee, orders[0].pk)


def test_r_l5_csv_export_in_english_has_dot_amounts_and_defuses_formulas(history):
    payer, source, _payee, target, _orders = history
    deposit_cash(source, 1_00, WEB, title='=HYPERLINK("http://evil")')
    text = history_csv(payer, source.pk, lang="en")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(text[1:].splitlines()))
    assert rows[0]["Title"].startswith("'=")
    assert rows[1]["Amount"] == "-123.45" and rows[1]["Counterparty account"] == target.number
    assert rows[-1]["Amount"] == "1000.00" and rows[-1]["Currency"] == "PLN"


def test_r_l5_csv_export_in_polish_has_semicolons_grouped_comma_amounts_and_polish_headers(
    history,
):
    payer, source, _payee, _target, _orders = history
    deposit_cash(source, 1_234_567_89, WEB, title="Duża wpłata; z średnikiem")
    text = history_csv(payer, source.pk, lang="pl")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(text[1:].splitlines(), delimiter=";"))
    assert list(rows[0])[:4] == ["Data księgowania", "Kwota", "Waluta", "Saldo po operacji"]
    assert rows[0]["Kwota"] == "1 234 567,89" and rows[0]["Tytuł"] == "Duża wpłata; z średnikiem"
    assert rows[1]["Kwota"] == "-123,45" and rows[1]["Typ"] == "przelew"
    assert rows[-1]["Kwota"] == "1 000,00"


def test_r_l5_pdf_confirmation_contains_the_amount_and_polish_letters(history):
    payer, _source, _payee, _target, orders = history
    pdf = transfer_confirmation_pdf(payer, orders[-1].pk, "pl")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "123,45" in text and "Żółkiewska" in text and "Czynsz za maj" in text
    en = PdfReader(io.BytesIO(transfer_confirmation_pdf(payer, orders[-1].pk, "en")))
    assert "PLN 123.45" in en.pages[0].extract_text().replace("\u00a0", " ")


@pytest.mark.django_db
def test_r_l5_demo_year_of_history_is_balanced_and_loads_once():
    cu = make_credit_union()
    anna, _a = member_with_account(cu, first_name="Anna")
    m1 = make_member(cu, first_name="Ewa")
    m2 = make_member(cu, first_name="Piotr")
    created = load_demo_ledger(cu, [m1, m2, anna])
    assert any("ledger transactions" in c for c in created)
    assert ledger_problems() == []
    current = Account.objects.get(member=m1, kind="current")
    page = account_history(m1, current.pk, page_size=100)
    assert page.total > 150
    oldest = account_history(m1, current.pk, page=page.pages, page_size=100).items[-1]
    assert (clock.now() - oldest.booked_at).days >= 360
    assert Account.objects.filter(member=anna).count() == 1  # had an account: left alone
    assert load_demo_ledger(cu, [m1, m2]) == []


@pytest.mark.django_db
def test_r_l2_r_l5_skarbiec_demo_books_history_and_ledger_check_passes(capsys):
    from django.core.management import call_command

    call_command("demo")
    call_command("ledger", "check")
    assert "ledger check passed" in capsys.readouterr().out
    assert LedgerEntry.objects.filter(account__member__isnull=False).count() > 300
