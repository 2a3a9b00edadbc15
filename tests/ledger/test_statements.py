"""Monthly statements (R-L5): balances and entries of one month, issued once per account and
month by the worker or on request for any past month, as a PDF with the credit union's name,
logo (or the default mark) and page numbers."""

import io
import threading
import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone
from pypdf import PdfReader

from skarbiec.core import clock
from skarbiec.core.errors import DomainError
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, LedgerEntry, Statement
from skarbiec.ledger.statements import (
    issue_monthly_statements,
    member_statement,
    month_start,
    statement_months,
)
from tests.ledger.helpers import WEB, member_with_account

pytestmark = pytest.mark.django_db

DAY = 86400


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _today() -> date:
    return timezone.localdate(clock.now())


def test_r_l5_statement_has_opening_and_closing_balance_every_entry_and_page_numbers():
    member, account = member_with_account(balance_minor=100_00, first_name="Anna")
    clock.advance(40 * DAY)  # a month after the opening deposit
    target = month_start(_today())
    for i in range(45):
        deposit_cash(account, 1_00 + i, WEB, title=f"Wpłata {i}")
    clock.advance(40 * DAY)  # the month has ended
    deposit_cash(account, 7_00, WEB, title="Later")
    statement = member_statement(member, account.pk, target.year, target.month, "pl")
    text = _text(bytes(statement.pdf))
    assert statement.opening_minor == 100_00
    assert statement.entry_count == 45
    assert statement.closing_minor == 100_00 + sum(1_00 + i for i in range(45))
    assert member.credit_union.name in text
    assert "Wpłata 0" in text and "Wpłata 44" in text and "Later" not in text
    pages = len(PdfReader(io.BytesIO(bytes(statement.pdf))).pages)
    assert pages >= 2
    assert f"Strona 1 z {pages}" in text and f"Strona {pages} z {pages}" in text


def test_r_l5_statement_is_issued_once_and_served_the_same_every_time():
    member, account = member_with_account(balance_minor=10_00)
    clock.advance(40 * DAY)
    period = month_start(_today(), 1)
    first = member_statement(member, account.pk, period.year, period.month)
    again = member_statement(member, account.pk, period.year, period.month, "en")
    assert again.pk == first.pk and bytes(again.pdf) == bytes(first.pdf)
    assert Statement.objects.count() == 1


def test_r_l5_statement_refused_for_the_current_month_and_before_the_account_opened():
    member, account = member_with_account(balance_minor=10_00)
    today = _today()
    with pytest.raises(DomainError) as refused:
        member_statement(member, account.pk, today.year, today.month)
    assert refused.value.status == 400
    before = month_start(today, 1)
    with pytest.raises(DomainError):
        member_statement(member, account.pk, before.year, before.month)
    with pytest.raises(DomainError):
        member_statement(member, account.pk, today.year, 13)
    assert not Statement.objects.exists()


def test_r_l5_another_members_account_has_no_statement_for_them():
    member, account = member_with_account(balance_minor=10_00)
    other, _theirs = member_with_account(member.credit_union)
    clock.advance(40 * DAY)
    period = month_start(_today(), 1)
    with pytest.raises(DomainError) as refused:
        member_statement(other, account.pk, period.year, period.month)
    assert refused.value.status == 404


def test_r_l5_worker_issues_last_months_statements_once_for_every_member_account():
    member, account = member_with_account(balance_minor=50_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    clock.advance(40 * DAY)
    late = open_account(member, Account.Kind.SAVINGS, WEB, name="Opened this month")
    assert issue_monthly_statements() == 2
    assert issue_monthly_statements() == 0
    assert set(Statement.objects.values_list("account_id", flat=True)) == {account.pk, savings.pk}
    assert late.pk not in Statement.objects.values_list("account_id", flat=True)
    months = statement_months(member, account.pk)
    assert months[0].period == month_start(_today(), 1) and months[0].issued


def test_r_l5_statement_without_a_logo_draws_the_default_mark_and_with_a_broken_one_too():
    member, account = member_with_account(balance_minor=10_00)
    cu = member.credit_union
    cu.logo = b"not an image"
    cu.save(update_fields=["logo"])
    clock.advance(40 * DAY)
    period = month_start(_today(), 1)
    statement = member_statement(member, account.pk, period.year, period.month)
    assert bytes(statement.pdf).startswith(b"%PDF")


@pytest.mark.django_db(transaction=True)
def test_r_l5_parallel_requests_for_one_statement_leave_one_row():
    member, account = member_with_account(balance_minor=10_00)
    clock.advance(40 * DAY)
    period = month_start(_today(), 1)
    barrier = threading.Barrier(3)
    results: list[int] = []

    def fetch() -> None:
        try:
            barrier.wait()
            results.append(member_statement(member, account.pk, period.year, period.month).pk)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(set(results)) == 1
    assert Statement.objects.filter(account=account).count() == 1


def test_r_l5_worker_command_issues_missing_statements_once(capsys):
    from django.core.management import call_command

    member, account = member_with_account(balance_minor=10_00)
    clock.advance(40 * DAY)
    call_command("worker", "--once")
    assert "1 statement(s) issued" in capsys.readouterr().out
    call_command("worker", "--once")
    assert "statement" not in capsys.readouterr().out
    assert Statement.objects.filter(account=account).count() == 1


class _FrozenClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _warsaw(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=ZoneInfo("Europe/Warsaw")).astimezone(UTC)  # type: ignore[misc]


def test_r_l5_statements_chain_when_two_servers_clocks_stamp_entries_out_of_order(monkeypatch):
    """Two app servers whose clocks differ by 0.3 s: the deposit booked second carries the
    earlier time, in the month before. Each month's opening is the one before's closing, and
    the last closing is the balance: no entry counted in two months."""
    frozen = _FrozenClock(_warsaw(2027, 2, 10, 12))
    monkeypatch.setattr(clock, "now", frozen)
    member, account = member_with_account(balance_minor=100_00)
    frozen.at = _warsaw(2027, 3, 1, 0, 0, 0, 100000)
    deposit_cash(account, 5_00, WEB, title="server 1, March")
    frozen.at = _warsaw(2027, 2, 28, 23, 59, 59, 850000)
    deposit_cash(account, 7_00, WEB, title="server 2, February")
    frozen.at = _warsaw(2027, 4, 5, 12)
    february = member_statement(member, account.pk, 2027, 2, "pl")
    march = member_statement(member, account.pk, 2027, 3, "pl")
    assert march.opening_minor == february.closing_minor == 107_00
    assert march.closing_minor == 112_00 == Account.objects.get(pk=account.pk).booked_minor


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_r_l5_an_entry_is_stamped_after_the_bookings_it_waited_for(monkeypatch):
    """One server: a booking that read the clock before it waited for the account's lock would
    carry a time before the booking it waited for, and the later balance after it."""
    frozen = _FrozenClock(_warsaw(2027, 2, 10, 12))
    monkeypatch.setattr(clock, "now", frozen)
    member, account = member_with_account(balance_minor=100_00)
    from skarbiec.ledger import booking

    def slow_after_reading() -> datetime:
        at = frozen()
        if threading.current_thread().name == "first":
            time.sleep(0.5)  # preempted right after reading the clock
        return at

    monkeypatch.setattr(booking.clock, "now", slow_after_reading)
    frozen.at = _warsaw(2027, 2, 28, 23, 59, 59, 900000)

    def book_first() -> None:
        try:
            deposit_cash(account, 7_00, WEB, title="first")
        finally:
            connection.close()

    first = threading.Thread(target=book_first, name="first")
    first.start()
    time.sleep(0.1)
    frozen.at = _warsaw(2027, 3, 1, 0, 0, 0, 100000)
    deposit_cash(account, 5_00, WEB, title="second")
    first.join()
    close_old_connections()
    entries = list(LedgerEntry.objects.filter(account=account).order_by("pk"))
    assert [e.booked_at for e in entries] == sorted(e.booked_at for e in entries)


def test_r_x5_a_polish_statement_names_the_account_and_writes_dates_in_polish(monkeypatch):
    frozen = _FrozenClock(_warsaw(2027, 2, 10, 12))
    monkeypatch.setattr(clock, "now", frozen)
    member, account = member_with_account(balance_minor=100_00)
    frozen.at = _warsaw(2027, 3, 1, 0, 30)
    deposit_cash(account, 5_00, WEB)
    frozen.at = _warsaw(2027, 4, 5, 12)
    text = _text(member_statement(member, account.pk, 2027, 3, "pl").pdf)
    assert "Konto osobiste" in text and "Current account" not in text
    assert "Wpłata gotówkowa" in text and "Cash deposit" not in text
    assert "01.03.2027" in text and "01-03-2027" not in text


def test_r_l5_an_account_whose_statement_cannot_be_drawn_stops_no_other(monkeypatch):
    """The worker goes through the accounts in order: one that fails to draw (a glyph the
    font lacks, say) is logged and left for the next pass, the accounts after it get theirs."""
    from skarbiec.ledger import statements

    _first, failing = member_with_account(balance_minor=10_00)
    _second, healthy = member_with_account(balance_minor=10_00)
    clock.advance(40 * DAY)
    real_render = statements.render_statement

    def render(document: statements.StatementDocument, language: str) -> bytes:
        if document.account.pk == failing.pk:
            raise ValueError("a glyph the font lacks")
        return real_render(document, language)

    monkeypatch.setattr(statements, "render_statement", render)
    assert issue_monthly_statements() == 1
    assert list(Statement.objects.values_list("account", flat=True)) == [healthy.pk]
