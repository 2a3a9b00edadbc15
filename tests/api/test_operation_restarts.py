"""An operation started again in the app is the same operation to its limit of resends (R-X7,
R-O3): trusting a payee again, adding it again, asking the same raise of limits again sends no
more codes than resending would. Transfers wait side by side, each with its own codes."""

import pytest

from skarbiec.client import ApiError
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.restarts import codes_per_operation
from tests.api.steps import WEB, member_with_channel, ready_device

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _only_the_operations_limit(settings):
    # The member's budget out of the way: only a limit per operation can stop the codes.
    settings.OTP_SEND_LIMIT = (10_000, 600)


@pytest.fixture
def member_and_payee_account(device):
    member = member_with_channel(first_name="Anna")
    current = open_account(member, Account.Kind.CURRENT, WEB)
    deposit_cash(current, 100_000, WEB)
    ready_device(device, member)
    other = member_with_channel(credit_union=member.credit_union, first_name="Ewa")
    return member, current, open_account(other, Account.Kind.CURRENT, WEB)


def _codes_until_refused(start) -> tuple[int, ApiError]:  # noqa: ANN001
    sent = 0
    for _ in range(codes_per_operation() + 4):
        try:
            start()
        except ApiError as refusal:
            return sent, refusal
        sent += 1
    raise AssertionError(f"{sent} starts, none refused")


@pytest.mark.parametrize("how", ["trust the saved payee again", "add the same payee again"])
def test_r_x7_a_payee_started_again_gets_no_more_codes_than_resends(
    device, member_and_payee_account, how
):
    member, _current, payee_account = member_and_payee_account
    if how == "trust the saved payee again":
        saved = device.add_payee("Ewa", payee_account.number, trusted=False)
        start = lambda: device.trust_payee(saved["id"])  # noqa: E731
    else:
        start = lambda: device.add_payee("Ewa", payee_account.number)  # noqa: E731
    before = SmsMessage.objects.filter(member=member).count()
    sent, refusal = _codes_until_refused(start)
    assert sent == codes_per_operation()
    assert refusal.status == 429 and refusal.code == "otp_rate_limited"
    assert refusal.body["retry_after"] > 0
    assert SmsMessage.objects.filter(member=member).count() - before == sent


def test_r_x7_the_same_raise_of_limits_asked_again_gets_no_more_codes(
    device, member_and_payee_account
):
    limits = device.limits()

    def ask() -> None:
        answer = device.change_limits(
            limits["per_transaction_minor"] + 1, limits["daily_minor"], limits["monthly_minor"]
        )
        assert answer["sms_code_required"]

    sent, refusal = _codes_until_refused(ask)
    assert sent == codes_per_operation() and refusal.code == "otp_rate_limited"


def test_r_x7_transfers_waiting_side_by_side_each_get_their_code(device, member_and_payee_account):
    member, current, payee_account = member_and_payee_account
    waiting = [
        device.create_transfer(current.pk, payee_account.number, f"t{i}", 1_00 + i, "Ewa")
        for i in range(codes_per_operation() + 2)
    ]
    assert all(order["sms_code_required"] for order in waiting)
