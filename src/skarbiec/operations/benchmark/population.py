"""Members ready for the benchmark, made through the real services (no shortcuts around a rule):
onboarding, the mobile channel confirmed by its SMS code, the app activated over the device
protocol (in-process, the full WSGI stack), a PIN, two accounts with money and a trusted payee
(the next member's current account), so own and internal transfers are exempt from SMS codes.
"""

import re
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from skarbiec.channels.enrolment import create_member
from skarbiec.channels.mobile.app_password import (
    confirm_mobile_channel_activation,
    request_mobile_channel_activation,
)
from skarbiec.client import DeviceClient
from skarbiec.core.context import RequestContext
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account
from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee
from skarbiec.members.models import CreditUnion, Member
from skarbiec.members.pesel import pesel_check_digit
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import decrypt_body

BENCH = RequestContext(actor="system:bench", channel="cli", ip_address="127.0.0.1")
WEB = RequestContext(actor="system:bench", channel="web", ip_address="127.0.0.1")
# The trusted payee is made and confirmed as in the app: codes are taken in the channel their
# operation was started in (R-O4).
APP = RequestContext(actor="system:bench", channel="mobile", ip_address="127.0.0.1")
WEB_PASSWORD = "Bench#Web2024pl"
MOBILE_PASSWORD = "Bench#App2024pl"
PIN = "48159"
OPENING_BALANCE_MINOR = 10_000_000_00
BENCH_SORT_CODE = "19401236"


@dataclass(frozen=True)
class BenchMember:
    """What a client process needs to act as this member's phone and browser."""

    login: str
    device_id: str
    private_key_pem: str
    device_secret_hex: str
    current_account_id: int
    savings_account_number: str
    payee_number: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def device_client(member: BenchMember, base_url: str, verify: Any) -> DeviceClient:
    """A device client holding this member's activated key, secret and device id."""
    device = DeviceClient(base_url, verify=verify, language="en")
    key = serialization.load_pem_private_key(member.private_key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    device.private_key = key
    device.device_secret = bytes.fromhex(member.device_secret_hex)
    device.device_id = member.device_id
    return device


def _last_code(member: Member) -> str:
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    assert sms is not None, "no SMS code in the outbox"
    found = re.search(r"\b(\d{6})\b", decrypt_body(sms.body_encrypted))
    assert found is not None
    return found.group(1)


def bench_credit_union() -> CreditUnion:
    cu, _created = CreditUnion.objects.get_or_create(
        sort_code=BENCH_SORT_CODE,
        defaults={"name": "SKOK Benchmark", "helpline_phones": ["801 803 800"]},
    )
    return cu


def _new_member(cu: CreditUnion, n: int) -> Member:
    first_ten = f"8001{n // 10000 % 28 + 1:02d}{n % 10000:04d}"
    member, _login = create_member(
        cu,
        first_name="Jan",
        last_name=f"Testowy{n}",
        pesel=first_ten + pesel_check_digit(first_ten),
        phone="600100200",
        ctx=BENCH,
        temporary_password=WEB_PASSWORD,
    )
    # As staff handing over a changed password: the web password step is what is measured.
    member.must_change_password = False
    member.save(update_fields=["must_change_password"])
    return member


def _activated_device(member: Member) -> DeviceClient:
    from skarbiec.wsgi import application

    device = DeviceClient(
        "https://localhost", transport=httpx.WSGITransport(app=application), language="en"
    )
    otp_id = request_mobile_channel_activation(member, MOBILE_PASSWORD, MOBILE_PASSWORD, WEB)
    confirm_mobile_channel_activation(member, otp_id, _last_code(member), WEB)
    started = device.activate(member.login, MOBILE_PASSWORD)
    if started["otp_required"]:
        device.confirm_activation(_last_code(member))
    device.set_pin(PIN)
    return device


def prepare_members(count: int) -> list[BenchMember]:
    """`count` members (at least 2) of one credit union; member i trusts member i+1."""
    cu = bench_credit_union()
    members: list[Member] = []
    devices: list[DeviceClient] = []
    currents: list[Account] = []
    savings: list[Account] = []
    for n in range(count):
        member = _new_member(cu, n)
        current = open_account(member, Account.Kind.CURRENT, BENCH)
        savings.append(open_account(member, Account.Kind.SAVINGS, BENCH))
        deposit_cash(current, OPENING_BALANCE_MINOR, BENCH)
        members.append(member)
        currents.append(current)
        devices.append(_activated_device(member))
    result: list[BenchMember] = []
    for n, member in enumerate(members):
        payee = currents[(n + 1) % count]
        pending = add_trusted_payee(member, "mobile", "Sasiad", payee.number, APP)
        confirm_trusted_payee(member, pending.pk, _last_code(member), APP)
        device = devices[n]
        result.append(
            BenchMember(
                login=member.login,
                device_id=device.device_id,
                private_key_pem=device.private_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
                device_secret_hex=device.device_secret.hex(),
                current_account_id=currents[n].pk,
                savings_account_number=savings[n].number,
                payee_number=payee.number,
            )
        )
        device.close()
    return result
