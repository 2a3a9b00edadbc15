"""R-L4 limits per channel; R-L3 settlement of external transfers by `skarbiec settle`."""

import csv

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from skarbiec.core import clock
from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.errors import LimitAboveMaximum, LimitExceeded
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.limits import change_limits, confirm_limit_change, limit_usage
from skarbiec.ledger.models import Account, LimitChange, Order
from skarbiec.ledger.order_authorization import authorize_transfer
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee
from skarbiec.otp.errors import OtpInvalid
from tests.factories import make_credit_union
from tests.ledger.helpers import (
    EXTERNAL,
    WEB,
    balance,
    key,
    last_code,
    last_sms,
    member_with_account,
    wrong_code,
)


def _trusted(member, account_number):
    p = add_trusted_payee(member, "web", "Anna Nowak", account_number, WEB)
    confirm_trusted_payee(member, p.pk, last_code(member), WEB)


def _pay(member, source, number, amount, channel="web"):
    return create_transfer_order(
        member, channel, source, number, "Anna Nowak", amount, "Gift", key(), WEB
    )


@pytest.mark.django_db
def test_r_l4_member_sees_limits_and_lowers_them_without_a_code():
    member, _source = member_with_account(balance_minor=0)
    usage = limit_usage(member, "web")
    assert usage.per_transaction_minor <= usage.max_per_transaction_minor
    sms_before = member.sms.count()
    change = change_limits(member, "web", 100_00, 300_00, 1000_00, WEB)
    assert change.state == LimitChange.State.APPLIED and member.sms.count() == sms_before
    usage = limit_usage(member, "web")
    assert (usage.per_transaction_minor, usage.daily_minor, usage.monthly_minor) == (
        100_00,
        300_00,
        1000_00,
    )
    # Mobile limits are separate.
    assert limit_usage(member, "mobile").per_transaction_minor != 100_00


@pytest.mark.django_db
def test_r_l4_per_transaction_daily_and_monthly_limits_refuse_and_own_transfers_do_not_count():
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=10_000_00)
    _payee, target = member_with_account(cu, first_name="Anna")
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    _trusted(member, target.number)
    change_limits(member, "web", 100_00, 250_00, 400_00, WEB)
    with pytest.raises(LimitExceeded) as e:
        _pay(member, source, target.number, 100_01)
    assert e.value.details["limit"] == "per_transaction"
    _pay(member, source, target.number, 100_00)
    _pay(member, source, target.number, 100_00)
    with pytest.raises(LimitExceeded) as e:
        _pay(member, source, target.number, 50_01)
    assert e.value.details["limit"] == "daily"
    # Own transfers are outside limits; the mobile channel has its own.
    own = create_transfer_order(
        member, "web", source, savings.number, "", 5000_00, "Save", key(), WEB
    )
    assert own.state == Order.State.BOOKED
    assert _pay(member, source, target.number, 100_00, channel="mobile").state == Order.State.BOOKED
    assert limit_usage(member, "web").used_today_minor == 200_00
    today = timezone.localtime(clock.now())
    clock.advance(24 * 3600)
    if timezone.localtime(clock.now()).month == today.month:
        # A new day, the same month: the daily limit is fresh, the monthly one is not.
        _pay(member, source, target.number, 100_00)
        _pay(member, source, target.number, 100_00)
        with pytest.raises(LimitExceeded) as e:
            _pay(member, source, target.number, 1_00)
        assert e.value.details["limit"] == "monthly"
    else:
        # The last day of a month: tomorrow both periods start again.
        assert limit_usage(member, "web").used_this_month_minor == 0
    assert ledger_problems() == []


@pytest.mark.django_db
def test_r_l4_limit_checked_again_when_the_code_is_entered():
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=10_000_00)
    _payee, target = member_with_account(cu, first_name="Anna")
    change_limits(member, "web", 100_00, 150_00, 1000_00, WEB)
    first = _pay(member, source, target.number, 100_00)
    first_code = last_code(member)
    second = _pay(member, source, target.number, 100_00)
    authorize_transfer(member, second.pk, last_code(member), WEB)
    with pytest.raises(LimitExceeded):
        authorize_transfer(member, first.pk, first_code, WEB)
    first.refresh_from_db()
    assert first.state == Order.State.REJECTED and first.reject_reason == "limit_exceeded"
    assert balance(source) == 9_900_00


@pytest.mark.django_db
def test_r_l4_raising_limits_needs_a_code_and_stays_within_the_maximum():
    member, _source = member_with_account(balance_minor=0)
    usage = limit_usage(member, "web")
    with pytest.raises(LimitAboveMaximum):
        change_limits(
            member,
            "web",
            usage.max_per_transaction_minor + 1,
            usage.max_daily_minor,
            usage.max_monthly_minor,
            WEB,
        )
    change = change_limits(
        member,
        "web",
        usage.max_per_transaction_minor,
        usage.max_daily_minor,
        usage.max_monthly_minor,
        WEB,
    )
    assert change.state == LimitChange.State.PENDING and change.otp_id
    assert "limit" in last_sms(member).lower()
    assert limit_usage(member, "web").per_transaction_minor == usage.per_transaction_minor
    with pytest.raises(OtpInvalid):
        confirm_limit_change(member, change.pk, wrong_code(member), WEB)
    confirm_limit_change(member, change.pk, last_code(member), WEB)
    assert limit_usage(member, "web").per_transaction_minor == usage.max_per_transaction_minor


@pytest.mark.django_db
@pytest.mark.parametrize("raised", ["per_transaction", "daily", "monthly"])
def test_r_l4_raising_any_one_limit_needs_a_code(raised):
    """Mutation audit of 7 December: raising the monthly limit alone was not tried."""
    member, _source = member_with_account(balance_minor=0)
    usage = limit_usage(member, "web")
    values = {
        "per_transaction": usage.per_transaction_minor,
        "daily": usage.daily_minor,
        "monthly": usage.monthly_minor,
    }
    values[raised] += 100
    change = change_limits(
        member, "web", values["per_transaction"], values["daily"], values["monthly"], WEB
    )
    assert change.state == LimitChange.State.PENDING and change.otp_id
    assert "limit" in last_sms(member).lower()
    after = limit_usage(member, "web")
    assert (after.per_transaction_minor, after.daily_minor, after.monthly_minor) == (
        usage.per_transaction_minor,
        usage.daily_minor,
        usage.monthly_minor,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("above", ["per_transaction", "daily", "monthly"])
def test_r_l4_any_one_limit_above_the_maximum_is_refused_at_once(above):
    member, _source = member_with_account(balance_minor=0)
    usage = limit_usage(member, "web")
    values = {
        "per_transaction": usage.max_per_transaction_minor,
        "daily": usage.max_daily_minor,
        "monthly": usage.max_monthly_minor,
    }
    values[above] += 1
    if above == "per_transaction":
        values["daily"] = values["monthly"] = values["per_transaction"]
    elif above == "daily":
        values["monthly"] = max(values["monthly"], values["daily"])
    with pytest.raises(LimitAboveMaximum):
        change_limits(
            member, "web", values["per_transaction"], values["daily"], values["monthly"], WEB
        )
    assert not LimitChange.objects.filter(member=member).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("lowered", ["per_transaction", "daily", "monthly"])
def test_r_l4_a_maximum_lowered_before_the_code_holds_at_the_confirmation(lowered):
    """The credit union lowered its maximum while the member's raise waited for its code:
    the code applies nothing above the new maximum."""
    from skarbiec.ledger.limits import credit_union_limits

    member, _source = member_with_account(balance_minor=0)
    usage = limit_usage(member, "web")
    change = change_limits(
        member,
        "web",
        usage.max_per_transaction_minor,
        usage.max_daily_minor,
        usage.max_monthly_minor,
        WEB,
    )
    maximum = credit_union_limits(member.credit_union, "web")
    field = f"max_{lowered}_minor"
    setattr(maximum, field, getattr(maximum, field) - 1)
    maximum.save(update_fields=[field])
    with pytest.raises(LimitAboveMaximum):
        confirm_limit_change(member, change.pk, last_code(member), WEB)
    after = limit_usage(member, "web")
    assert (after.per_transaction_minor, after.daily_minor, after.monthly_minor) == (
        usage.per_transaction_minor,
        usage.daily_minor,
        usage.monthly_minor,
    )
    assert LimitChange.objects.get(pk=change.pk).state != LimitChange.State.APPLIED


def _external(member, source, amount):
    o = create_transfer_order(
        member, "web", source, EXTERNAL, "Energa SA", amount, "Invoice 7/2026", key(), WEB
    )
    return authorize_transfer(member, o.pk, last_code(member), WEB)


@pytest.mark.django_db
def test_r_l3_settle_writes_batch_file_books_and_rejects_with_refund(
    capsys, django_capture_on_commit_callbacks
):
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    ok = _external(member, source, 100_00)
    refused = _external(member, source, 200_00)
    assert balance(source) == 700_00
    with django_capture_on_commit_callbacks(execute=True):  # the file appears at commit
        call_command("settle", "--send-only")
    ok.refresh_from_db()
    refused.refresh_from_db()
    assert ok.state == refused.state == Order.State.SENT and ok.batch_id == refused.batch_id
    path = settings.DATA_DIR / "outgoing" / ok.batch.file_name
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    assert [r["amount_minor"] for r in rows] == ["10000", "20000"]
    assert rows[0]["payee_account"] == EXTERNAL and rows[0]["title"] == "Invoice 7/2026"
    assert rows[0]["payer_account"] == source.number
    assert ok.batch.order_count == 2 and ok.batch.total_minor == 300_00
    call_command("settle", "--reject", f"{refused.pk}:account_closed")
    ok.refresh_from_db()
    refused.refresh_from_db()
    assert ok.state == Order.State.BOOKED and refused.state == Order.State.REJECTED
    assert refused.reject_reason == "account_closed"
    assert balance(source) == 900_00  # 200 zł came back
    clearing = Account.objects.get(credit_union=cu, kind="clearing")
    settlement = Account.objects.get(credit_union=cu, kind="settlement")
    assert clearing.booked_minor == 0 and settlement.booked_minor == 100_00
    assert ledger_problems() == []
    # Nothing left: a second run sends and books nothing.
    call_command("settle")
    assert "booked 0, rejected 0" in capsys.readouterr().out


@pytest.mark.django_db
def test_r_o4_three_wrong_codes_void_a_payee_or_limit_request_and_count_in_web():
    from skarbiec.channels.models import WebChannel
    from skarbiec.ledger.models import TrustedPayee
    from skarbiec.otp.errors import OtpAttemptsExhausted

    cu = make_credit_union()
    member, _source = member_with_account(cu)
    _other, target = member_with_account(cu, first_name="Anna")
    payee = add_trusted_payee(member, "web", "Anna Nowak", target.number, WEB)
    bad = wrong_code(member)
    for _ in range(2):
        with pytest.raises(OtpInvalid):
            confirm_trusted_payee(member, payee.pk, bad, WEB, channel="web")
    with pytest.raises(OtpAttemptsExhausted):
        confirm_trusted_payee(member, payee.pk, bad, WEB, channel="web")
    payee.refresh_from_db()
    assert payee.state == TrustedPayee.State.REMOVED
    usage = limit_usage(member, "web")
    change = change_limits(
        member,
        "web",
        usage.max_per_transaction_minor,
        usage.max_daily_minor,
        usage.max_monthly_minor,
        WEB,
    )
    bad = wrong_code(member)
    for _ in range(3):
        with pytest.raises((OtpInvalid, OtpAttemptsExhausted)):
            confirm_limit_change(member, change.pk, bad, WEB)
    change.refresh_from_db()
    assert change.state == LimitChange.State.VOIDED
    assert limit_usage(member, "web").per_transaction_minor == usage.per_transaction_minor
    assert WebChannel.objects.get(member=member).failed_attempts == 2
