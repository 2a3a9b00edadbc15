"""The payee book's services (R-L4 extended, R-O2)."""

import pytest

from skarbiec.core.errors import DomainError
from skarbiec.ledger.errors import PayeeAlreadyTrusted, PayeeNotFound
from skarbiec.ledger.models import TrustedPayee
from skarbiec.ledger.payee_book import book_payee, payee_book, save_payee
from skarbiec.ledger.payees import confirm_trusted_payee, remove_trusted_payee, trust_saved_payee
from tests.ledger.helpers import EXTERNAL, WEB, last_code, member_with_account, wrong_code

pytestmark = pytest.mark.django_db


def test_r_l4_saving_the_same_account_twice_keeps_one_payee_with_the_latest_details():
    member, _account = member_with_account()
    first = save_payee(member, "Jan", EXTERNAL, "Rent", WEB)
    again = save_payee(member, "Jan Kowalski", "PL" + EXTERNAL, "Rent for May", WEB)
    assert again.pk == first.pk
    assert [(p.name, p.title, p.state) for p in payee_book(member)] == [
        ("Jan Kowalski", "Rent for May", "saved")
    ]


def test_r_l4_saving_refuses_bad_numbers_and_names_and_stores_nothing():
    member, _account = member_with_account()
    with pytest.raises(DomainError) as refused:
        save_payee(member, "Jan", "61109010140000071219812875", "", WEB)
    assert refused.value.code == "invalid_account_number"
    with pytest.raises(DomainError):
        save_payee(member, "   ", EXTERNAL, "", WEB)
    with pytest.raises(DomainError):
        save_payee(member, "Jan", EXTERNAL, "x" * 141, WEB)
    assert not TrustedPayee.objects.exists()


def test_r_l4_trusting_a_saved_payee_needs_its_code_and_used_up_codes_keep_it_saved():
    member, _account = member_with_account()
    payee = save_payee(member, "Jan", EXTERNAL, "", WEB)
    trust_saved_payee(member, "web", payee.pk, WEB)
    for _ in range(3):
        with pytest.raises(DomainError):
            confirm_trusted_payee(member, payee.pk, wrong_code(member), WEB, "web")
    payee.refresh_from_db()
    assert payee.state == "saved"  # still in the book, not trusted
    with pytest.raises(DomainError):
        confirm_trusted_payee(member, payee.pk, last_code(member), WEB, "web")
    payee.refresh_from_db()
    assert payee.state == "saved"

    trust_saved_payee(member, "web", payee.pk, WEB)
    confirm_trusted_payee(member, payee.pk, last_code(member), WEB, "web")
    payee.refresh_from_db()
    assert payee.state == "active"
    with pytest.raises(PayeeAlreadyTrusted):
        trust_saved_payee(member, "web", payee.pk, WEB)


def test_r_l4_a_saved_payee_without_a_code_sent_cannot_be_confirmed():
    member, _account = member_with_account()
    payee = save_payee(member, "Jan", EXTERNAL, "", WEB)
    with pytest.raises(PayeeNotFound):
        confirm_trusted_payee(member, payee.pk, "123456", WEB, "web")


def test_r_l4_payee_book_is_the_members_own_and_removed_payees_leave_it():
    member, _account = member_with_account()
    other, _other_account = member_with_account(member.credit_union)
    payee = save_payee(member, "Jan", EXTERNAL, "", WEB)
    with pytest.raises(PayeeNotFound):
        book_payee(other, payee.pk)
    with pytest.raises(PayeeNotFound):
        trust_saved_payee(other, "web", payee.pk, WEB)
    remove_trusted_payee(member, payee.pk, WEB)
    assert payee_book(member) == []
    with pytest.raises(PayeeNotFound):
        book_payee(member, payee.pk)


def _saved_payee_awaiting_its_code():
    member, _account = member_with_account()
    payee = save_payee(member, "Jan Kowalski", EXTERNAL, "Rent", WEB)
    trust_saved_payee(member, "web", payee.pk, WEB)
    payee.refresh_from_db()
    assert payee.otp_id is not None
    return member, payee


def test_r_o2_a_payee_renamed_while_its_trust_waits_voids_the_code():
    """Lock audit of 7 December: the SMS named the payee as it was; renamed meanwhile, the
    code trusted it under a name the member never confirmed."""
    member, payee = _saved_payee_awaiting_its_code()
    code = last_code(member)
    save_payee(member, "Someone Else", EXTERNAL, "Rent", WEB)
    with pytest.raises(PayeeNotFound):
        confirm_trusted_payee(member, payee.pk, code, WEB)
    payee.refresh_from_db()
    assert payee.state == TrustedPayee.State.SAVED and payee.otp_id is None


def test_r_o2_a_payee_renamed_as_its_code_is_checked_is_not_trusted(monkeypatch):
    from skarbiec.ledger import payees

    member, payee = _saved_payee_awaiting_its_code()
    confirm_code = payees.confirm_code

    def renamed_right_after_the_check(*args, **kwargs):
        confirmed = confirm_code(*args, **kwargs)
        TrustedPayee.objects.filter(pk=payee.pk).update(name="Someone Else")
        return confirmed

    monkeypatch.setattr(payees, "confirm_code", renamed_right_after_the_check)
    with pytest.raises(PayeeNotFound):
        confirm_trusted_payee(member, payee.pk, last_code(member), WEB)
    payee.refresh_from_db()
    assert payee.state == TrustedPayee.State.SAVED


@pytest.mark.parametrize("saved_by", ["the book's form", "a transfer saving its payee"])
def test_r_l4_a_payee_saved_while_its_trust_waits_for_the_code_is_trusted_once(saved_by):
    """Trusting a new payee waits for its code; meanwhile the same account is saved in the book.
    The right code trusts the account: one payee in the book, the confirmed one, with the
    saved copy's title (not a database error, R-X8)."""
    from skarbiec.ledger.payee_book import create_transfer_saving_payee
    from skarbiec.ledger.payees import add_trusted_payee

    member, account = member_with_account()
    pending = add_trusted_payee(member, "web", "Jan", EXTERNAL, WEB)
    code = last_code(member)
    if saved_by == "the book's form":
        save_payee(member, "Jan K.", EXTERNAL, "Rent", WEB)
    else:
        create_transfer_saving_payee(
            member, "web", account.pk, EXTERNAL, "Jan K.", 100, "Rent", "key-1", WEB, save=True
        )

    confirm_trusted_payee(member, pending.pk, code, WEB, "web")

    assert [(p.pk, p.name, p.title, p.state) for p in payee_book(member)] == [
        (pending.pk, "Jan", "Rent", "active")
    ]
