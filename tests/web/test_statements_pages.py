"""Statements and the CSV export in the internet service (R-L5, R-X5): the list of months,
the PDF with its Content-Type and file name, refusals, and the CSV in the page's language."""

import pytest
from django.test import Client
from django.utils import timezone
from tests.ledger.helpers import member_with_account
from tests.web.login_steps import log_in

from skarbiec.core import clock
from skarbiec.ledger.statements import month_start

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture
def account_a_month_old(client: Client):
    member, account = member_with_account(balance_minor=1_234_56, first_name="Anna")
    clock.advance(40 * DAY)
    log_in(client, member)
    return member, account


def test_r_l5_statements_page_lists_past_months_and_downloads_a_pdf(client, account_a_month_old):
    _member, account = account_a_month_old
    last = month_start(timezone.localdate(clock.now()), 1)
    page = client.get(f"/accounts/{account.pk}/statements/")
    assert page.status_code == 200
    url = f"/accounts/{account.pk}/statements/{last.year}-{last.month}.pdf"
    assert f'href="{url}"' in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="statement-{account.number}-{last.year:04d}-{last.month:02d}.pdf"'
    )
    assert response.content.startswith(b"%PDF")


def test_r_l5_statement_of_the_current_month_or_of_someone_else_is_refused(
    client, account_a_month_old
):
    member, account = account_a_month_old
    today = timezone.localdate(clock.now())
    response = client.get(f"/accounts/{account.pk}/statements/{today.year}-{today.month}.pdf")
    assert response.status_code == 400 and "once the month has ended" in response.content.decode()
    _other, theirs = member_with_account(member.credit_union)
    last = month_start(today, 1)
    url = f"/accounts/{theirs.pk}/statements/{last.year}-{last.month}.pdf"
    assert client.get(url).status_code == 404
    assert client.get(f"/accounts/{theirs.pk}/statements/").status_code == 404


def test_r_l5_csv_export_is_polish_by_default_with_bom_and_semicolons(account_a_month_old):
    member, account = account_a_month_old
    polish = Client()
    log_in(polish, member)
    response = polish.get(f"/accounts/{account.pk}/history.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Data księgowania;Kwota;Waluta;")
    assert ";1 234,56;PLN;1 234,56;" in lines[1]
