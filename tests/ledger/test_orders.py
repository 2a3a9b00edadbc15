"""R-L3, R-L4, R-O2, R-O4: orders, exemptions, SMS codes bound to the details, idempotency."""

import pytest
from django.db import connection

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.errors import MobileChannelBlocked, WebChannelBlocked
from skarbiec.channels.mobile.app_password import (
    confirm_mobile_channel_activation,
    request_mobile_channel_activation,
)
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.core import clock
from skarbiec.core.errors import DomainError
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.errors import (
    AccountNumberChecksum,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidOrderDetails,
    OrderStateConflict,
    PayeeAccountNotFound,
    SameAccount,
)
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.models import Account, LedgerTransaction, Order
from skarbiec.ledger.nrb import format_nrb, make_nrb
from skarbiec.ledger.order_authorization import (
    authorize_transfer,
    cancel_order,
    resend_transfer_code,
)
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpInvalid
from tests.factories import make_credit_union
from tests.ledger.helpers import (
    EXTERNAL,
    MOBILE,
    WEB,
    balance,
    key,
    last_code,
    last_sms,
    member_with_account,
    wrong_code,
)


@pytest.fixture
def two_members(db):
    cu = make_credit_union()
    payer, source = member_with_account(cu, balance_minor=1000_00)
    payee, target = member_with_account(cu, first_name="Anna", last_name="Nowak")
    return payer, source, payee, target


def _transfer(member, source, payee_account, amount, channel="web", k=None, **kw):
    return create_transfer_order(
        member,
        channel,
        source,
        payee_account,
        kw.get("name", "Anna Nowak"),
        amount,
        kw.get("title", "Rent for May"),
        k or key(),
        MOBILE if channel == "mobile" else WEB,
    )


@pytest.mark.django_db
def test_r_l3_r_l4_own_transfer_booked_at_once_without_code():
    cu = make_credit_union()
    member, current = member_with_account(cu, balance_minor=500_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    order = _transfer(member, current, format_nrb(savings.number), 200_00, name="")
    assert order.kind == Order.Kind.OWN and order.state == Order.State.BOOKED
    assert order.exempt_reason == "own" and order.otp_id is None
    assert balance(current) == 300_00 and balance(savings) == 200_00
    assert ledger_problems() == []


@pytest.mark.django_db
def test_r_l3_r_l4_r_o2_internal_transfer_needs_code_naming_amount_account_and_payee(two_members):
    payer, source, payee, target = two_members
    order = _transfer(payer, source, target.number, 100_00)
    assert order.kind == Order.Kind.INTERNAL
    assert order.state == Order.State.AWAITING_AUTHORIZATION and order.otp_id
    assert balance(source) == 1000_00  # nothing moves before the code
    sms = last_sms(payer)
    assert "100,00" in sms and target.number[-4:] in sms and "Anna Nowak" in sms
    order = authorize_transfer(payer, order.pk, last_code(payer), WEB)
    assert order.state == Order.State.BOOKED and order.booking_id
    assert balance(source) == 900_00 and balance(target) == 100_00
    # A booked order answers any code, the right one too, with a conflict and books nothing more.
    for code in ("123456", last_code(payer)):
        with pytest.raises(OrderStateConflict):
            authorize_transfer(payer, order.pk, code, WEB)
    assert balance(source) == 900_00
    assert ledger_problems() == []
    events = set(AuditEvent.objects.filter(member_id=payer.pk).values_list("event", flat=True))
    assert {"order_created", "order_authorized", "order_booked"} <= events


@pytest.mark.django_db
def test_r_o2_code_for_100_zl_refused_for_101_zl_or_another_payee(two_members):
    """Dynamic linking: the code is bound to the amount, payee account, name and title; the
    stored order is changed behind the code's back (as an attacker would) and the right code
    no longer confirms it."""
    payer, source, payee, target = two_members
    _m3, other = member_with_account(payer.credit_union, first_name="Ewa")
    for column, value in (
        ("amount_minor", 101_00),
        ("payee_account", other.number),
        ("payee_name", "Mallory"),
        ("title", "Other title"),
    ):
        # Each tampered order is a wrong code; more than ten minutes apart, each has its own
        # budget (R-X7 carries wrong codes into a transfer started again within ten minutes).
        clock.advance(11 * 60)
        order = _transfer(payer, source, target.number, 100_00)
        code = last_code(payer)
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {Order._meta.db_table} SET {column} = %s WHERE id = %s", [value, order.pk]
            )
        with pytest.raises(OtpInvalid):
            authorize_transfer(payer, order.pk, code, WEB)
        assert Order.objects.get(pk=order.pk).state == Order.State.AWAITING_AUTHORIZATION
    # A code of one order never confirms another (each order has its own code).
    clock.advance(11 * 60)
    first = _transfer(payer, source, target.number, 100_00)
    first_code = last_code(payer)
    second = _transfer(payer, source, target.number, 101_00)
    with pytest.raises(OtpInvalid):
        authorize_transfer(payer, second.pk, first_code, WEB)
    assert authorize_transfer(payer, first.pk, first_code, WEB).state == Order.State.BOOKED
    assert balance(source) == 900_00 and balance(target) == 100_00


@pytest.mark.django_db
def test_r_o4_three_wrong_codes_in_web_cancel_order_and_count_toward_web_lockout(two_members):
    payer, source, payee, target = two_members
    order = _transfer(payer, source, target.number, 100_00)
    bad = wrong_code(payer)
    for _ in range(2):
        with pytest.raises(OtpInvalid):
            authorize_transfer(payer, order.pk, bad, WEB)
    with pytest.raises(OtpAttemptsExhausted):
        authorize_transfer(payer, order.pk, bad, WEB)
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLED and order.reject_reason == "wrong_codes"
    web = WebChannel.objects.get(member=payer)
    assert web.failed_attempts == 1 and web.state == WebChannel.State.ACTIVE
    with pytest.raises(OrderStateConflict):
        authorize_transfer(payer, order.pk, last_code(payer), WEB)
    assert balance(source) == 1000_00
    # Three such cancellations reach the web lockout (policy: 3).
    for _ in range(2):
        o = _transfer(payer, source, target.number, 100_00)
        bad = wrong_code(payer)
        for _ in range(2):
            with pytest.raises(OtpInvalid):
                authorize_transfer(payer, o.pk, bad, WEB)
        with pytest.raises((OtpAttemptsExhausted, WebChannelBlocked)) as refusal:
            authorize_transfer(payer, o.pk, bad, WEB)
    # The third cancellation blocked the channel, and the member is told so (R-W2).
    assert isinstance(refusal.value, WebChannelBlocked)
    assert WebChannel.objects.get(member=payer).state == WebChannel.State.BLOCKED


@pytest.mark.django_db
def test_r_o4_r_x7_transfers_guessed_at_together_in_web_are_cancelled_together(two_members):
    """Three waiting side by side, one wrong code on each: their one budget is spent, one
    failure counts toward the web lockout, and every one of them is cancelled, not only the
    last guessed at (they were most likely all a thief's); none takes a code any more."""
    payer, source, payee, target = two_members
    orders = [_transfer(payer, source, target.number, 100_00 + i) for i in range(3)]
    bad = wrong_code(payer)
    for order, answer in zip(orders, (OtpInvalid, OtpInvalid, OtpAttemptsExhausted), strict=True):
        with pytest.raises(answer):
            authorize_transfer(payer, order.pk, bad, WEB)
    for order in orders:
        order.refresh_from_db()
        assert (order.state, order.reject_reason) == (Order.State.CANCELLED, "wrong_codes")
        with pytest.raises(OrderStateConflict):
            authorize_transfer(payer, order.pk, bad, WEB)
    assert WebChannel.objects.get(member=payer).failed_attempts == 1
    assert AuditEvent.objects.filter(member_id=payer.pk, event="order_cancelled").count() == 3
    assert AuditEvent.objects.filter(member_id=payer.pk, event="otp_failed").count() == 3
    assert balance(source) == 1000_00


@pytest.mark.django_db
def test_r_o4_three_wrong_codes_in_mobile_block_the_app_and_reject_the_order(two_members):
    payer, source, payee, target = two_members
    otp_id = request_mobile_channel_activation(payer, "Mobi#2024ab", "Mobi#2024ab", WEB)
    confirm_mobile_channel_activation(payer, otp_id, last_code(payer), WEB)
    assert MobileChannel.objects.get(member=payer).state != MobileChannel.State.BLOCKED
    order = _transfer(payer, source, target.number, 100_00, channel="mobile")
    bad = wrong_code(payer)
    for _ in range(2):
        with pytest.raises(OtpInvalid):
            authorize_transfer(payer, order.pk, bad, MOBILE)
    with pytest.raises(OtpAttemptsExhausted):
        authorize_transfer(payer, order.pk, bad, MOBILE)
    order.refresh_from_db()
    assert order.state == Order.State.REJECTED and order.reject_reason == "wrong_codes"
    assert MobileChannel.objects.get(member=payer).state == MobileChannel.State.BLOCKED
    assert WebChannel.objects.get(member=payer).failed_attempts == 0
    # Another order waiting in the blocked app cannot be confirmed either.
    with pytest.raises(MobileChannelBlocked):
        _o = _transfer(payer, source, target.number, 5_00, channel="mobile")
        authorize_transfer(payer, _o.pk, last_code(payer), MOBILE)
    assert balance(source) == 1000_00
    events = set(AuditEvent.objects.filter(member_id=payer.pk).values_list("event", flat=True))
    assert {"order_rejected", "mobile_channel_blocked"} <= events


@pytest.mark.django_db
def test_r_l4_trusted_payee_needs_a_code_once_then_transfers_are_exempt(two_members):
    payer, source, payee, target = two_members
    pending = add_trusted_payee(payer, "web", "Anna Nowak", format_nrb(target.number), WEB)
    assert "Anna Nowak" in last_sms(payer) and target.number[-4:] in last_sms(payer)
    with pytest.raises(OtpInvalid):
        confirm_trusted_payee(payer, pending.pk, wrong_code(payer), WEB)
    confirm_trusted_payee(payer, pending.pk, last_code(payer), WEB)
    order = _transfer(payer, source, target.number, 50_00)
    assert order.state == Order.State.BOOKED and order.exempt_reason == "trusted_payee"
    assert balance(target) == 50_00


@pytest.mark.django_db
def test_r_l3_idempotency_key_replay_returns_first_order_and_conflict_on_other_details(
    two_members,
):
    payer, source, payee, target = two_members
    savings = open_account(payer, Account.Kind.SAVINGS, WEB)
    k = key()
    first = _transfer(payer, source, savings.number, 10_00, k=k, name="")
    again = _transfer(payer, source, savings.number, 10_00, k=k, name="")
    assert again.pk == first.pk and balance(source) == 990_00
    assert LedgerTransaction.objects.filter(entries__account=savings).count() == 1
    with pytest.raises(IdempotencyConflict):
        _transfer(payer, source, savings.number, 11_00, k=k, name="")
    # The same key used by another member is another member's order.
    deposit_cash(target, 5_00, WEB)
    other = _transfer(payee, target, savings.number, 1_00, k=k, name="Jan Kowalski")
    assert other.pk != first.pk and other.member_id == payee.pk
    # A waiting order replayed returns it without sending a second code.
    k2 = key()
    waiting = _transfer(payer, source, target.number, 10_00, k=k2)
    sms_before = payer.sms.count()
    assert _transfer(payer, source, target.number, 10_00, k=k2).pk == waiting.pk
    assert payer.sms.count() == sms_before


@pytest.mark.django_db
def test_r_l3_bad_orders_refused_with_clear_errors_and_nothing_stored(two_members):
    payer, source, payee, target = two_members
    bad_number = target.number[:-1] + str((int(target.number[-1]) + 1) % 10)
    with pytest.raises(AccountNumberChecksum):
        _transfer(payer, source, bad_number, 10_00)
    with pytest.raises(SameAccount):
        _transfer(payer, source, source.number, 10_00)
    missing = make_nrb(payer.credit_union.sort_code, "1999999999999999")
    with pytest.raises(PayeeAccountNotFound):
        _transfer(payer, source, missing, 10_00)
    with pytest.raises(InvalidOrderDetails):
        _transfer(payer, source, target.number, 10_00, title="")
    with pytest.raises(InvalidOrderDetails):
        _transfer(payer, source, target.number, 10_00, title="x" * 141)
    with pytest.raises(InvalidOrderDetails):
        _transfer(payer, source, target.number, 10_00, name="")
    with pytest.raises(InvalidOrderDetails):
        _transfer(payer, source, target.number, 10_00, title="bad\x00title")
    assert Order.objects.filter(member=payer).count() == 0


HIDDEN_CHARACTERS = [
    "\u202e",  # right-to-left override: "...8264" shown as "4628..." in the SMS
    "\u2066",  # left-to-right isolate
    "\u200b",  # zero-width space
    "\ufeff",  # zero-width no-break space
    "\u061c",  # Arabic letter mark
    "\u00ad",  # soft hyphen
    "\u2028",  # line separator
    "\x85",  # next line (a C1 control)
    "\ue000",  # private use
    "\u0301\u0301\u0301",  # three accents stacked on one letter
    "\u034f",  # combining grapheme joiner: "J\u034fan" looks like "Jan"
    "\u3164",  # Hangul filler
    "\u17b4",  # Khmer inherent vowel
    "\ufe0f",  # variation selector
    "\U000e0100",  # variation selector supplement
    "\u2800",  # braille blank
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "hidden", HIDDEN_CHARACTERS, ids=lambda text: "+".join(f"U+{ord(c):04X}" for c in text)
)
def test_r_o2_r_x8_hidden_characters_in_a_title_or_name_are_refused(two_members, hidden):
    """The SMS names the payee and the amount (R-O2): what it shows must be what is sent."""
    from skarbiec.ledger.payee_book import save_payee

    payer, source, _payee, target = two_members
    for field in ("name", "title"):
        with pytest.raises(InvalidOrderDetails) as refused:
            _transfer(payer, source, target.number, 1_00, **{field: f"Jan{hidden} Kot"})
        assert refused.value.details["field"] == {"name": "payee_name"}.get(field, field)
    with pytest.raises(InvalidOrderDetails):
        save_payee(payer, f"Jan{hidden}", target.number, "", WEB)
    assert Order.objects.filter(member=payer).count() == 0
    # Polish letters, composed or not, and ordinary punctuation stay allowed.
    _transfer(
        payer,
        source,
        target.number,
        1_00,
        name="Zażółć ge\u0328ślą jaźń, Nguye\u0302\u0303n",
        title="Czynsz 03/2026 (lok. 5) – #1",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("mark", ["”", "″", "＂", "‟", "〞", "ʺ", "״", "»"])
def test_r_o2_a_payee_name_cannot_pose_as_the_account_or_amount_in_the_sms(two_members, mark):
    """Malware in the browser chooses the payee name: written like another account and amount,
    it must not read as what the code confirms. The SMS names the amount and the account
    first, and the name last, shortened, inside quotes it cannot close, not even with a mark
    that only looks like a quote."""
    from skarbiec.ledger.nrb import masked_nrb

    payer, source, _payee, target = two_members
    payer.language = "pl"
    payer.save(update_fields=["language"])
    _transfer(payer, source, target.number, 4999_00, name=f"Jan{mark} na rachunek …9999 (1,00 zł)")
    sms = last_sms(payer)
    amount, account = sms.index("4\u00a0999,00\u00a0zł"), sms.index(masked_nrb(target.number))
    name = sms.index("„")
    assert amount < account < name, sms
    quoted = sms[name + 1 : sms.index("”", name)]
    assert quoted == "Jan' na rachunek '9999 (1,00…", sms
    assert sms.count("”") == 1 and mark not in sms.replace("”", "", 1)


@pytest.mark.django_db
def test_r_l4_r_x6_a_right_code_whose_booking_a_killed_process_left_undone_books_later(
    two_members, monkeypatch
):
    """The process dies between the code's commit and the booking's (kill -9, or the database
    gone so that it could not even reopen the code): the order waits with its code confirmed.
    The member's same code books it once the booking is seen left undone; never twice."""
    from skarbiec.ledger import order_authorization
    from skarbiec.otp.reopening import LEFT_UNDONE_AFTER

    payer, source, _payee, target = two_members
    order = _transfer(payer, source, target.number, 10_00)
    code = last_code(payer)

    def killed(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as m:
        m.setattr(order_authorization, "_book_authorized_order", killed)
        with pytest.raises(SystemExit):
            authorize_transfer(payer, order.pk, code, WEB)
    assert Order.objects.get(pk=order.pk).state == Order.State.AWAITING_AUTHORIZATION
    with pytest.raises(DomainError):  # still completing, for all anyone can tell
        authorize_transfer(payer, order.pk, code, WEB)
    clock.advance(LEFT_UNDONE_AFTER.total_seconds() + 1)
    assert authorize_transfer(payer, order.pk, code, WEB).state == Order.State.BOOKED
    with pytest.raises(OrderStateConflict):
        authorize_transfer(payer, order.pk, code, WEB)
    assert balance(target) == 10_00 and ledger_problems() == []


@pytest.mark.django_db
def test_r_l6_balance_checked_at_booking_time_rejects_the_order(two_members):
    payer, source, payee, target = two_members
    order = _transfer(payer, source, target.number, 800_00)
    code = last_code(payer)
    savings = open_account(payer, Account.Kind.SAVINGS, WEB)
    _transfer(payer, source, savings.number, 500_00, name="")  # balance drops meanwhile
    with pytest.raises(InsufficientFunds):
        authorize_transfer(payer, order.pk, code, WEB)
    order.refresh_from_db()
    assert order.state == Order.State.REJECTED and order.reject_reason == "insufficient_funds"
    assert balance(source) == 500_00 and balance(target) == 0
    # An exempt order that cannot be covered is refused and not stored.
    with pytest.raises(InsufficientFunds):
        _transfer(payer, source, savings.number, 500_01, name="")
    assert ledger_problems() == []


@pytest.mark.django_db
def test_r_o3_resend_voids_old_code_and_cancel_ends_order(two_members):
    payer, source, payee, target = two_members
    order = _transfer(payer, source, target.number, 10_00)
    old = last_code(payer)
    resend_transfer_code(payer, order.pk, WEB)
    new = last_code(payer)
    if old != new:
        with pytest.raises(OtpInvalid):
            authorize_transfer(payer, order.pk, old, WEB)
    cancelled = cancel_order(payer, order.pk, WEB)
    assert cancelled.state == Order.State.CANCELLED
    with pytest.raises(OrderStateConflict):
        authorize_transfer(payer, order.pk, new, WEB)
    assert balance(source) == 1000_00


@pytest.mark.django_db
def test_r_l4_an_order_cancelled_while_its_right_code_is_checked_is_not_booked(
    two_members, monkeypatch
):
    """The member cancels in another tab between the code's check and the order's lock: the
    authorization sees the cancelled order under its lock and books nothing."""
    from skarbiec.ledger import order_authorization

    payer, source, payee, target = two_members
    order = _transfer(payer, source, target.number, 10_00)
    code = last_code(payer)
    real_confirm_code = order_authorization.confirm_code

    def confirm_then_cancel_elsewhere(*args, **kwargs):
        real_confirm_code(*args, **kwargs)
        cancel_order(payer, order.pk, WEB)

    monkeypatch.setattr(order_authorization, "confirm_code", confirm_then_cancel_elsewhere)
    with pytest.raises(OrderStateConflict):
        authorize_transfer(payer, order.pk, code, WEB)
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLED and order.booking_id is None
    assert balance(source) == 1000_00 and balance(target) == 0


@pytest.mark.django_db
def test_r_l3_external_transfer_moves_money_to_clearing_at_once(two_members):
    payer, source, payee, target = two_members
    order = _transfer(payer, source, EXTERNAL, 300_00, name="Energa SA", title="Invoice 7")
    assert order.kind == Order.Kind.EXTERNAL
    order = authorize_transfer(payer, order.pk, last_code(payer), WEB)
    assert order.state == Order.State.PENDING
    source.refresh_from_db()
    assert source.available_minor == 700_00 and source.booked_minor == 700_00
    clearing = Account.objects.get(credit_union=payer.credit_union, kind="clearing")
    assert clearing.booked_minor == 300_00
    assert ledger_problems() == []
