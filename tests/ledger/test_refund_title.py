"""R-X8, R-L3: an external transfer with a title of the allowed 140 characters, rejected by
clearing: the refund's ledger title ("Refund: " + title) fits its column."""

import pytest

from skarbiec.ledger.clearing import reject_sent_order, send_outgoing_batch
from skarbiec.ledger.models import LedgerTransaction, Order
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee
from tests.ledger.helpers import EXTERNAL, WEB, last_code, member_with_account

pytestmark = pytest.mark.django_db


def test_r_x8_rejected_external_transfer_with_a_140_character_title_is_refunded():
    member, account = member_with_account(balance_minor=100_000)
    pending = add_trusted_payee(member, "web", "Anna Nowak", EXTERNAL, WEB)
    confirm_trusted_payee(member, pending.pk, last_code(member), WEB)
    title = "T" * 140  # the longest title the web form and the API accept
    order = create_transfer_order(
        member, "web", account, EXTERNAL, "Anna Nowak", 1000, title, "k-refund", WEB
    )
    assert order.state == Order.State.PENDING
    send_outgoing_batch(member.credit_union)
    rejected = reject_sent_order(order.pk, "account_closed")
    assert rejected.state == Order.State.REJECTED
    refund = LedgerTransaction.objects.get(kind=LedgerTransaction.Kind.REFUND)
    assert len(refund.title) <= 140, f"refund title stored with {len(refund.title)} characters"
