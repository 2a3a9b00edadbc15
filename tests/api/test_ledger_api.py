"""Accounts, history and transfers in the mobile JSON API, through the device client over the
real WSGI stack (R-L1, R-L3, R-L4, R-L5, R-O2, R-O4)."""

import io

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.client import ApiError
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, Order, TrustedPayee
from skarbiec.ledger.nrb import format_nrb
from skarbiec.otp.models import Confirmation, SmsMessage
from skarbiec.otp.sms import decrypt_body
from tests.api.steps import WEB, last_code, member_with_channel, ready_device
from tests.ledger.helpers import EXTERNAL, balance

pytestmark = pytest.mark.django_db

WRONG_CHECKSUM = "61 1090 1014 0000 0712 1981 2875"


@pytest.fixture(autouse=True)
def _many_codes_allowed(settings):
    settings.OTP_SEND_LIMIT = (10_000, 600)


@pytest.fixture
def payer(device):
    """A member with an activated, logged-in app, 1 234,56 zł on the current account and an
    empty savings account."""
    member = member_with_channel(first_name="Anna")
    current = open_account(member, Account.Kind.CURRENT, WEB)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    deposit_cash(current, 1_234_56, WEB)
    ready_device(device, member)
    return member, current, savings


@pytest.fixture
def target(payer):
    member, _c, _s = payer
    other = member_with_channel(credit_union=member.credit_union, first_name="Ewa")
    return open_account(other, Account.Kind.CURRENT, WEB)


def _sms(member) -> str:
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    return decrypt_body(sms.body_encrypted)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _refused(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as e:
        call(*args, **kwargs)
    return e.value


def test_r_l1_accounts_with_both_balances_formatted_for_the_language(device, payer):
    _m, current, savings = payer
    accounts = {a["id"]: a for a in device.accounts()}
    a = accounts[current.pk]
    assert a["number"] == current.number and a["number_formatted"] == format_nrb(current.number)
    assert a["iban"] == "PL" + current.number
    assert a["booked_minor"] == a["available_minor"] == 1_234_56
    assert a["available"] == "PLN\u00a01,234.56"  # the device client asks for English
    assert accounts[savings.pk]["kind"] == "savings"
    polish = device.request("GET", "/accounts", auth=True, headers={"Accept-Language": "pl"})
    assert "1\u00a0234,56\u00a0zł" in {x["available"] for x in polish.json()}


def test_r_l1_accounts_need_a_session(device):
    error = _refused(device.accounts)
    assert error.status == 401 and error.code == "not_authenticated"


def test_r_l4_r_o2_internal_transfer_with_sms_code(device, payer, target, capsys):
    member, current, _s = payer
    order = device.create_transfer(current.pk, target.number, "Rent", "100,00", "Ewa Nowak")
    assert order["state"] == "awaiting_authorization" and order["sms_code_required"]
    assert order["amount"] == "PLN\u00a0100.00" and order["kind"] == "internal"
    sms = _sms(member)
    assert "100,00" in sms and "Ewa Nowak" in sms and target.number[-4:] in sms
    assert balance(current) == 1_234_56
    done = device.authorize_transfer(order["id"], last_code(member))
    assert done["state"] == "booked" and not done["sms_code_required"]
    assert balance(current) == 1_134_56 and balance(target) == 100_00
    assert device.transfer(order["id"])["state"] == "booked"
    assert Order.objects.get(pk=order["id"]).channel == "mobile"
    call_command("ledger", "check")
    assert "passed" in capsys.readouterr().out


def test_r_l3_retried_idempotency_key_returns_the_first_order_and_books_once(device, payer, target):
    _m, current, savings = payer
    first = device.create_transfer(current.pk, savings.number, "Own", 50_00, idempotency_key="a1")
    again = device.create_transfer(current.pk, savings.number, "Own", 50_00, idempotency_key="a1")
    assert first["id"] == again["id"] and first["state"] == "booked"
    assert balance(savings) == 50_00
    # The key in the body works the same way as the header.
    body = {
        "from_account_id": current.pk,
        "payee_account": savings.number,
        "title": "Own",
        "amount_minor": 50_00,
        "idempotency_key": "a1",
    }
    assert device.call("POST", "/transfers", body, auth=True)["id"] == first["id"]
    # The same key with other details is refused, nothing booked.
    error = _refused(
        device.create_transfer, current.pk, savings.number, "Own", 51_00, idempotency_key="a1"
    )
    assert error.status == 409 and error.code == "idempotency_conflict"
    # No key at all is refused.
    del body["idempotency_key"]
    error = _refused(device.call, "POST", "/transfers", body, auth=True)
    assert error.status == 400 and "idempotency" in error.body["message"]
    assert balance(savings) == 50_00 and Order.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"payee_account": WRONG_CHECKSUM}, 400, "invalid_account_number"),
        ({"payee_account": "PL12"}, 400, "invalid_account_number"),
        ({"amount": "12,345"}, 400, "invalid_amount"),
        ({"amount": "-1"}, 400, "invalid_amount"),
        ({"amount": "0,00"}, 400, "invalid_amount"),
        ({"amount": "abc"}, 400, "invalid_amount"),
        ({"amount": None, "amount_minor": 0}, 400, "invalid_amount"),
        ({"amount": None, "amount_minor": -500}, 400, "invalid_amount"),
        ({"amount": None}, 400, "invalid_amount"),
        ({"amount_minor": 10_00}, 400, "invalid_amount"),  # both amount and amount_minor
        ({"amount": 12.345}, 422, "invalid_input"),
        ({"amount": None, "amount_minor": 12.5}, 422, "invalid_input"),
        ({"amount": "6000"}, 409, "limit_exceeded"),
        ({"from_account_id": 999_999}, 404, "account_not_found"),
        ({"title": ""}, 400, "invalid_order"),
    ],
)
def test_r_l1_r_l2_r_l4_bad_transfer_input_is_a_clear_4xx_and_nothing_booked(
    device, payer, change, status, code
):
    _m, current, _s = payer
    body = {
        "from_account_id": current.pk,
        "payee_account": EXTERNAL,
        "payee_name": "Jan Obcy",
        "title": "Invoice 7",
        "amount": "10,00",
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = device.request(
        "POST", "/transfers", json=body, auth=True, headers={"Idempotency-Key": "bad-1"}
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and response.json()["message"]
    assert not Order.objects.exists() and balance(current) == 1_234_56


def test_r_l6_insufficient_funds_is_409(device, payer):
    _m, current, savings = payer
    error = _refused(device.create_transfer, current.pk, savings.number, "All", "1234,57")
    assert error.status == 409 and error.code == "insufficient_funds"
    assert balance(current) == 1_234_56


def test_r_o2_dynamic_linking_code_for_100_zl_refused_for_101_zl(device, payer, target):
    member, current, _s = payer
    first = device.create_transfer(current.pk, target.number, "Gift", "100,00", "Ewa")
    code_for_100 = last_code(member)
    second = device.create_transfer(current.pk, target.number, "Gift", "101,00", "Ewa")
    error = _refused(device.authorize_transfer, second["id"], code_for_100)
    assert error.code == "otp_invalid" and error.body["attempts_left"] == 2
    assert balance(target) == 0
    assert device.transfer(second["id"])["state"] == "awaiting_authorization"
    assert device.transfer(first["id"])["state"] == "awaiting_authorization"


def test_r_o4_three_wrong_codes_in_the_app_block_it_and_reject_the_transfer(
    device, payer, target, capsys
):
    member, current, _s = payer
    order = device.create_transfer(current.pk, target.number, "Rent", "100,00", "Ewa")
    bad = _wrong(last_code(member))
    assert _refused(device.authorize_transfer, order["id"], bad).body["attempts_left"] == 2
    assert _refused(device.authorize_transfer, order["id"], bad).body["attempts_left"] == 1
    error = _refused(device.authorize_transfer, order["id"], bad)
    assert error.status == 403 and error.code == "channel_blocked"
    assert "mobile app is blocked" in error.body["message"]
    assert error.body["helpline"] == list(member.credit_union.helpline_phones)
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    assert Order.objects.get(pk=order["id"]).state == Order.State.REJECTED
    assert WebChannel.objects.get(member=member).failed_attempts == 0
    assert balance(current) == 1_234_56 and balance(target) == 0
    # The blocked app can do nothing more.
    assert _refused(device.accounts).code == "channel_blocked"
    call_command("ledger", "check")
    assert "passed" in capsys.readouterr().out


def test_r_o4_r_x6_an_empty_code_is_no_guess_and_is_not_counted(device, payer, target):
    member, current, _s = payer
    order = device.create_transfer(current.pk, target.number, "Rent", "100,00", "Ewa")
    for empty in ("", " ", " \t ", "", " "):
        refusal = _refused(device.authorize_transfer, order["id"], empty)
        assert refusal.code == "invalid_input" and refusal.status in (400, 422), refusal.body
    assert Confirmation.objects.filter(member=member).latest("pk").failed_codes == 0
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.ACTIVE
    assert device.authorize_transfer(order["id"], last_code(member))["state"] == "booked"


def test_r_o4_r_x7_transfers_waiting_side_by_side_share_three_wrong_codes(device, payer, target):
    """Four transfers begun before any code is entered: one wrong code on each of three of
    them blocks the app, as three on one would (each having three of its own, the app never
    blocked)."""
    member, current, _s = payer
    orders = [
        device.create_transfer(current.pk, target.number, f"Rent {i}", "10,00", "Ewa")
        for i in range(4)
    ]
    bad = "000000" if last_code(member) != "000000" else "111111"
    assert _refused(device.authorize_transfer, orders[0]["id"], bad).body["attempts_left"] == 2
    assert _refused(device.authorize_transfer, orders[1]["id"], bad).body["attempts_left"] == 1
    error = _refused(device.authorize_transfer, orders[2]["id"], bad)
    assert error.code == "channel_blocked"
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    assert balance(current) == 1_234_56 and balance(target) == 0
    # Guessed at together, rejected together: the fourth too, never guessed at.
    states = Order.objects.filter(pk__in=[o["id"] for o in orders]).values_list(
        "state", "reject_reason"
    )
    assert list(states) == [(Order.State.REJECTED, "wrong_codes")] * 4


def test_r_o4_r_x7_wrong_codes_across_resends_still_block_the_app_at_three(device, payer, target):
    """Hole 2 of the attack report: four wrong codes over resends left the app active. The
    budget belongs to the transfer, not to each code (R-X7)."""
    member, current, _s = payer
    order = device.create_transfer(current.pk, target.number, "Rent", "100,00", "Ewa")
    for left in (2, 1):
        bad = _wrong(last_code(member))
        assert _refused(device.authorize_transfer, order["id"], bad).body["attempts_left"] == left
        device.resend_transfer_code(order["id"])
    error = _refused(device.authorize_transfer, order["id"], _wrong(last_code(member)))
    assert (error.status, error.code) == (403, "channel_blocked")
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    assert Order.objects.get(pk=order["id"]).state == Order.State.REJECTED


def test_r_o3_r_x7_resends_of_one_transfer_are_limited(device, payer, target):
    member, current, _s = payer
    order = device.create_transfer(current.pk, target.number, "Rent", "100,00", "Ewa")
    for _ in range(3):
        device.resend_transfer_code(order["id"])
    error = _refused(device.resend_transfer_code, order["id"])
    assert (error.status, error.code) == (429, "otp_resend_limited")
    # The last code still confirms the transfer.
    assert device.authorize_transfer(order["id"], last_code(member))["state"] == "booked"


def test_r_o4_a_booked_or_cancelled_transfer_answers_any_code_with_a_conflict(
    device, payer, target
):
    member, current, _s = payer
    booked = device.create_transfer(current.pk, target.number, "Rent", "1,00", "Ewa")
    code = last_code(member)
    device.authorize_transfer(booked["id"], code)
    cancelled = device.create_transfer(current.pk, target.number, "Rent", "2,00", "Ewa")
    device.cancel_transfer(cancelled["id"])
    for order_id, guess in ((booked["id"], code), (booked["id"], _wrong(code)),
                            (cancelled["id"], last_code(member))):  # fmt: skip
        error = _refused(device.authorize_transfer, order_id, guess)
        assert (error.status, error.code) == (409, "order_state_conflict")
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0


def test_r_o4_a_web_order_takes_no_code_in_the_app(device, payer, target):
    """Three wrong codes in the app block the app (R-O4): a web order's codes sent from the app
    got the web's consequence instead, the app stayed open. An order is confirmed where it was
    made; the app's attempts count nothing and the web still books it with its code."""
    from skarbiec.ledger.order_authorization import authorize_transfer
    from skarbiec.ledger.orders import create_transfer_order

    member, current, _s = payer
    order = create_transfer_order(
        member, "web", current.pk, target.number, "Ewa", 50_00, "Rent", "web-1", WEB
    )
    code = last_code(member)
    for call, args in ((device.authorize_transfer, (order.pk, _wrong(code))),
                       (device.authorize_transfer, (order.pk, code)),
                       (device.resend_transfer_code, (order.pk,))):  # fmt: skip
        error = _refused(call, *args)
        assert (error.status, error.code) == (409, "operation_of_other_channel")
    assert last_code(member) == code  # no new code was sent
    assert authorize_transfer(member, order.pk, code, WEB).state == Order.State.BOOKED
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.ACTIVE
    assert WebChannel.objects.get(member=member).failed_attempts == 0
    assert balance(target) == 50_00


def test_r_o4_the_app_is_told_where_a_waiting_code_is_entered(device, payer, target):
    """A transfer or a trusted payee waiting for its SMS code takes it only in the channel it
    was started in: the API says which (code_channel), so the app offers its own code form
    only for its own and tells the member to confirm a web one in the internet service."""
    from skarbiec.ledger.nrb import make_nrb
    from skarbiec.ledger.orders import create_transfer_order
    from skarbiec.ledger.payee_book import save_payee
    from skarbiec.ledger.payees import trust_saved_payee

    member, current, savings = payer
    web_order = create_transfer_order(
        member, "web", current.pk, target.number, "Ewa", 50_00, "Rent", "web-1", WEB
    )
    app_order = device.create_transfer(current.pk, EXTERNAL, "Gas", "10", "Jan Nowak")
    assert app_order["code_channel"] == "mobile"
    booked = device.create_transfer(current.pk, savings.number, "Savings", "1")
    assert (booked["state"], booked["code_channel"]) == ("booked", None)
    waiting = {o["id"]: o["code_channel"] for o in device.overview()["waiting"]}
    assert waiting == {web_order.pk: "web", app_order["id"]: "mobile"}
    listed = {o["id"]: o["code_channel"] for o in device.transfers()}
    assert listed[web_order.pk] == "web" and listed[booked["id"]] is None

    in_web = save_payee(member, "Ewa", target.number, "", WEB)
    trust_saved_payee(member, "web", in_web.pk, WEB)
    in_app = device.add_payee("Jan Nowak", EXTERNAL)
    assert in_app["code_channel"] == "mobile"
    plain = device.add_payee("Olga", make_nrb("10901014", "0000000000000005"), trusted=False)
    book = {p["id"]: (p["sms_code_required"], p["code_channel"]) for p in device.payees()}
    assert book[in_web.pk] == (True, "web")
    assert book[plain["id"]] == (False, None)


def test_r_l5_history_paginated_and_filtered_with_entry_detail_and_pdf(device, payer, target):
    member, current, _s = payer
    for i in range(30):
        deposit_cash(current, 1_00 + i, WEB, title=f"Wpłata {i}")
    order = device.create_transfer(current.pk, target.number, "Czynsz marzec", "321,09", "Ewa")
    device.authorize_transfer(order["id"], last_code(member))
    page = device.history(current.pk, page_size=10)
    assert page["total"] == 32 and page["pages"] == 4 and page["has_next"]
    newest = page["items"][0]
    assert newest["amount_minor"] == -321_09 and newest["order_id"] == order["id"]
    assert newest["amount"] == "-PLN\u00a0321.09"
    assert device.history(current.pk, page=4, page_size=10)["has_next"] is False
    found = device.history(current.pk, text="czynsz")
    assert found["total"] == 1 and found["items"][0]["title"] == "Czynsz marzec"
    assert device.history(current.pk, amount_min="1,05", amount_max="1.07")["total"] == 3
    entry = device.history_entry(newest["entry_id"])
    assert entry["counterparty_account"] == target.number
    pdf = device.transfer_confirmation_pdf(order["id"])
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "321.09" in text or "321,09" in text

    error = _refused(device.history, current.pk, amount_min="1,005")
    assert error.status == 400 and error.code == "invalid_amount"
    error = _refused(device.history, current.pk, date_from="31.03.2025")
    assert error.status == 422 and error.code == "invalid_input"
    # R-X8: the ends of the calendar are a clear 422, not a date overflow (a 500).
    for far in ({"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}):
        error = _refused(device.history, current.pk, **far)
        assert error.status == 422 and error.code == "invalid_input", far
    error = _refused(device.history, target.pk)
    assert error.status == 404 and error.code == "account_not_found"


def test_r_l4_trusted_payee_via_api_then_transfers_need_no_code(device, payer, target):
    member, current, _s = payer
    payee = device.add_payee("Ewa Nowak", "PL" + format_nrb(target.number))
    assert payee["state"] == "pending" and payee["sms_code_required"]
    assert "Ewa Nowak" in _sms(member)
    assert _refused(device.confirm_payee, payee["id"], _wrong(last_code(member))).status == 400
    assert device.confirm_payee(payee["id"], last_code(member))["state"] == "active"
    assert [p["account"] for p in device.payees()] == [target.number]
    order = device.create_transfer(current.pk, target.number, "Exempt", "10", "Ewa Nowak")
    assert order["state"] == "booked" and order["exempt_reason"] == "trusted_payee"
    device.remove_payee(payee["id"])
    assert device.payees() == []
    assert _refused(device.add_payee, "X", WRONG_CHECKSUM).code == "invalid_account_number"
    assert TrustedPayee.objects.filter(state="active").count() == 0


def test_r_l4_limits_lowered_freely_raised_with_code_within_maximum(device, payer):
    member, current, _s = payer
    limits = device.limits()
    assert limits["channel"] == "mobile" and limits["per_transaction_minor"] == 5_000_00
    assert limits["max_per_transaction_minor"] == 20_000_00
    lowered = device.change_limits("100", "200", "300")
    assert lowered["state"] == "applied" and not lowered["sms_code_required"]
    assert device.limits()["per_transaction"] == "PLN\u00a0100.00"
    error = _refused(device.create_transfer, current.pk, EXTERNAL, "Big", "150", "Jan")
    assert error.status == 409 and error.code == "limit_exceeded"
    error = _refused(device.change_limits, 30_000_00, 50_000_00, 100_000_00)
    assert error.code == "limit_above_maximum"
    raised = device.change_limits(1_000_00, 2_000_00, 3_000_00)
    assert raised["state"] == "pending" and raised["sms_code_required"]
    done = device.confirm_limits(raised["id"], last_code(member))
    assert done["state"] == "applied" and device.limits()["per_transaction_minor"] == 1_000_00
    assert _refused(device.change_limits, "1,001", "2", "3").code == "invalid_amount"


def test_r_l3_openapi_lists_the_transfer_endpoints(device):
    paths = device.call("GET", "/openapi.json")["paths"]
    for path in (
        "/api/mobile/v1/accounts",
        "/api/mobile/v1/accounts/{account_id}/history",
        "/api/mobile/v1/transfers",
        "/api/mobile/v1/transfers/{order_id}/authorize",
        "/api/mobile/v1/payees",
        "/api/mobile/v1/limits",
    ):
        assert path in paths


def test_r_l4_payee_book_via_api_save_list_trust_with_code_and_delete(device, payer, target):
    member, current, _s = payer
    saved = device.add_payee("Ewa Nowak", format_nrb(target.number), title="Rent", trusted=False)
    assert (saved["state"], saved["trusted"], saved["sms_code_required"]) == ("saved", False, False)
    assert saved["title"] == "Rent"
    assert [p["id"] for p in device.payees()] == [saved["id"]]
    # Saved is not trusted: a transfer to it still needs its code.
    order = device.create_transfer(current.pk, target.number, "Rent", "10", "Ewa Nowak")
    assert order["sms_code_required"]

    asked = device.trust_payee(saved["id"])
    assert asked["state"] == "saved" and asked["sms_code_required"]
    assert "Ewa Nowak" in _sms(member)
    assert device.confirm_payee(saved["id"], last_code(member))["trusted"] is True
    order = device.create_transfer(current.pk, target.number, "Rent", "10", "Ewa Nowak")
    assert order["state"] == "booked" and order["exempt_reason"] == "trusted_payee"
    assert _refused(device.trust_payee, saved["id"]).code == "payee_already_trusted"
    device.remove_payee(saved["id"])
    assert device.payees() == []
    assert _refused(device.trust_payee, saved["id"]).status == 404


def test_r_l4_transfer_via_api_can_save_its_payee(device, payer, target):
    member, current, _s = payer
    device.create_transfer(
        current.pk, EXTERNAL, "Invoice 7", "12,50", "Jan Kowalski", save_payee=True
    )
    [payee] = device.payees()
    assert (payee["name"], payee["account"], payee["title"], payee["state"]) == (
        "Jan Kowalski",
        EXTERNAL,
        "Invoice 7",
        "saved",
    )


def test_r_l4_openapi_lists_the_payee_book_endpoints(device):
    paths = device.call("GET", "/openapi.json")["paths"]
    assert "/api/mobile/v1/payees/{payee_id}/trust" in paths
    assert "/api/mobile/v1/payees/{payee_id}" in paths
    schemas = device.call("GET", "/openapi.json")["components"]["schemas"]
    assert {"title", "trusted"} <= set(schemas["PayeeIn"]["properties"])


def test_r_x8_every_field_a_ledger_refusal_carries_is_in_the_openapi_error_schema(device, payer):
    """Clients generated from the OpenAPI document read the refusals' extra fields too."""
    _m, current, _s = payer

    def transfer(**change: object) -> dict:
        body = {
            "from_account_id": current.pk,
            "payee_account": EXTERNAL,
            "payee_name": "Jan Obcy",
            "title": "Invoice 7",
            "amount": "10,00",
            **change,
        }
        key = {"Idempotency-Key": "refused-1"}
        return _refused(device.call, "POST", "/transfers", body, auth=True, headers=key).body

    refusals = [
        transfer(amount="abc"),
        transfer(title=""),
        transfer(amount="6000"),
        transfer(payee_account="PL12"),
        _refused(device.change_limits, 30_000_00, 50_000_00, 100_000_00).body,
    ]
    assert [sorted(set(body) - {"code", "message"}) for body in refusals] == [
        ["field"], ["field"], ["limit"], ["digits"],
        ["max_daily_minor", "max_monthly_minor", "max_per_transaction_minor"],
    ]  # fmt: skip
    schema = device.call("GET", "/openapi.json")["components"]["schemas"]["ErrorOut"]
    for body in refusals:
        assert set(body) <= set(schema["properties"]), body


def test_r_x10_orders_booked_at_once_are_limited_per_minute(device, payer, settings):
    """Own transfers need no code: a script on the member's session could book dozens a
    second, filling the ledger and the audit log. Over the minute's limit an order is refused
    (429, nothing stored); a retry of a stored one still answers; the next minute books."""
    from skarbiec.core import clock

    settings.ORDER_RATE_LIMIT = (3, 60)
    clock.advance(60 - clock.now().timestamp() % 60)  # a minute of its own
    member, current, savings = payer
    first = device.create_transfer(current.pk, savings.number, "Own 1", "1", idempotency_key="k-1")
    for n in (2, 3):
        device.create_transfer(current.pk, savings.number, f"Own {n}", "1")
    stored = Order.objects.count()
    error = _refused(device.create_transfer, current.pk, savings.number, "Own 4", "1")
    assert error.status == 429 and error.code == "rate_limited"
    assert "Too many transfers" in error.body["message"]
    assert Order.objects.count() == stored
    again = device.create_transfer(current.pk, savings.number, "Own 1", "1", idempotency_key="k-1")
    assert again["id"] == first["id"]
    clock.advance(60)
    assert device.create_transfer(current.pk, savings.number, "Own 5", "1")["state"] == "booked"
    assert balance(savings) == 4_00
