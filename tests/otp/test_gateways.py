"""SMS gateways (R-O5): the exact HTTP request SMSAPI.pl receives, error mapping, selection.

The provider is the outside world: requests' transport adapter is replaced so the official
smsapi-client library runs for real up to the wire, and the provider's answer is canned.
"""

import json
from urllib.parse import parse_qs

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from urllib3.exceptions import MaxRetryError, NewConnectionError

from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.otp import delivery
from skarbiec.otp.delivery import LEASE_SECONDS, send_pending_sms
from skarbiec.otp.gateways import (
    GatewayError,
    OutboxGateway,
    SmsApiGateway,
    gateway_from_settings,
)
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.operations import start_confirmation
from tests.factories import make_member
from tests.otp.kinds import TEST_OPERATION, last_code

TOKEN = "tok-0123456789abcdef"
REF = "17-0f3a9c2b7d4e5f60718293ab"
ACCEPTED = {
    "count": 1,
    "list": [
        {
            "id": "6601F0E53738305D3C8A1B2C",
            "points": 0.16,
            "number": "48600100200",
            "date_sent": 1732800000,
            "submitted_number": "48600100200",
            "status": "QUEUE",
            "error": None,
            "idx": None,
            "parts": 1,
        }
    ],
}


class Provider:
    """Captures each PreparedRequest at the transport and answers like SMSAPI would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests: list[requests.PreparedRequest] = []
        self.status = 200
        self.body: object = ACCEPTED
        self.raise_error: Exception | None = None
        provider = self

        def send(adapter, request, **kwargs):  # noqa: ANN001
            provider.requests.append(request)
            provider.kwargs = kwargs
            if provider.raise_error is not None:
                raise provider.raise_error
            response = requests.Response()
            response.status_code = provider.status
            response._content = json.dumps(provider.body).encode()
            response.headers["Content-Type"] = "application/json"
            response.encoding = "utf-8"
            response.url = request.url
            response.request = request
            return response

        monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)

    @property
    def form(self) -> dict[str, list[str]]:
        body = self.requests[-1].body
        return parse_qs(body if isinstance(body, str) else body.decode("utf-8"))


@pytest.fixture
def provider(monkeypatch):
    return Provider(monkeypatch)


def test_r_o5_smsapi_sends_the_documented_request(provider):
    gateway = SmsApiGateway(TOKEN, sender="SKOK Test")
    text = "SKOK Test: kod 482913 do przelewu 1 250,00 zł na …4321 Anna Nowak"
    message_id = gateway.send("+48600100200", text, reference=REF)

    assert message_id == "6601F0E53738305D3C8A1B2C"
    assert len(provider.requests) == 1
    sent = provider.requests[0]
    assert sent.method == "POST"
    assert sent.url == "https://api.smsapi.pl/sms.do"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert provider.form == {
        "to": ["48600100200"],
        "message": [text],
        "from": ["SKOK Test"],
        "format": ["json"],
        "encoding": ["utf-8"],
        "normalize": ["1"],
        "max_parts": ["3"],
        "idx": [REF],
        "check_idx": ["1"],
    }
    # The library reads our timeout for the HTTP call instead of sending it as a field.
    assert provider.kwargs["timeout"] == 10.0


def test_r_o5_smsapi_leaves_out_the_sender_and_normalize_when_not_wanted(provider):
    SmsApiGateway(TOKEN, normalize=False).send("+48600100200", "Kod 111222", reference=REF)
    form = provider.form
    assert "from" not in form
    assert "normalize" not in form
    assert form["message"] == ["Kod 111222"]


@pytest.mark.parametrize(
    ("error", "temporary"),
    [
        (13, False),  # no valid phone number
        (14, False),  # unknown sender name
        (11, False),  # message too long / empty
        (101, False),  # bad credentials
        (52, True),  # too many messages to one number in 60 s
        (103, True),  # no credits left: the operator can top up
        (203, True),  # too many requests
        (999, True),  # provider's internal error
    ],
)
def test_r_o5_smsapi_errors_map_to_temporary_or_permanent(provider, error, temporary):
    provider.body = {"error": error, "message": "provider says no"}
    with pytest.raises(GatewayError) as e:
        SmsApiGateway(TOKEN).send("+48600100200", "Kod 123456", reference=REF)
    assert e.value.temporary is temporary
    assert str(error) in e.value.reason


@pytest.mark.parametrize(
    ("status", "temporary"), [(500, True), (502, True), (429, True), (401, False), (404, False)]
)
def test_r_o5_smsapi_http_errors_map_by_status(provider, status, temporary):
    provider.status = status
    provider.body = {"message": "nope"}
    with pytest.raises(GatewayError) as e:
        SmsApiGateway(TOKEN).send("+48600100200", "Kod 123456", reference=REF)
    assert e.value.temporary is temporary


@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.ReadTimeout("slow")]
)
def test_r_o5_smsapi_unreachable_is_temporary(provider, failure):
    provider.raise_error = failure
    with pytest.raises(GatewayError) as e:
        SmsApiGateway(TOKEN).send("+48600100200", "Kod 123456", reference=REF)
    assert e.value.temporary is True


def test_r_o5_smsapi_answer_without_message_id_is_retried(provider):
    provider.body = {"count": 0, "list": []}
    with pytest.raises(GatewayError) as e:
        SmsApiGateway(TOKEN).send("+48600100200", "Kod 123456", reference=REF)
    assert e.value.temporary is True
    assert e.value.maybe_sent is True  # the provider may have taken it


def _refused_connection() -> requests.ConnectionError:
    """What requests raises when nothing listens (read off a real refused connection): no
    byte reached the provider."""
    refused = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(MaxRetryError(None, "/api/sms.do", reason=refused))


@pytest.mark.parametrize(
    ("failure", "maybe_sent"),
    [
        (_refused_connection, False),
        (lambda: requests.ConnectTimeout("no connection"), False),
        (lambda: requests.ReadTimeout("sent, no answer"), True),
        (lambda: requests.ConnectionError("connection reset while reading"), True),
    ],
)
def test_r_x7_smsapi_says_whether_a_failed_message_may_have_been_sent(
    provider, failure, maybe_sent
):
    """A code that may have reached the member stays in their send budget; one that surely
    did not is not theirs to pay for."""
    provider.raise_error = failure()
    with pytest.raises(GatewayError) as e:
        SmsApiGateway(TOKEN).send("+48600100200", "Kod 123456", reference=REF)
    assert e.value.maybe_sent is maybe_sent


def test_r_o5_smsapi_needs_a_token():
    with pytest.raises(ImproperlyConfigured):
        SmsApiGateway("")


def test_r_o5_outbox_gateway_accepts_everything_locally(provider):
    gateway = OutboxGateway()
    assert gateway.keeps_body is True
    first = gateway.send("+48600100200", "Kod 1", reference=REF)
    assert first.startswith("outbox-")
    assert first != gateway.send("+48600100200", "Kod 1", reference=REF)
    assert provider.requests == []  # nothing leaves the machine


def test_r_o5_gateway_from_settings(settings):
    settings.SMS_GATEWAY = "outbox"
    assert isinstance(gateway_from_settings(), OutboxGateway)
    settings.SMS_GATEWAY = "smsapi"
    settings.SMSAPI_TOKEN = TOKEN
    settings.SMSAPI_SENDER = "SKOK"
    gateway = gateway_from_settings()
    assert isinstance(gateway, SmsApiGateway)
    assert gateway.keeps_body is False
    assert gateway.sender == "SKOK"
    settings.SMSAPI_TOKEN = ""
    with pytest.raises(ImproperlyConfigured):
        gateway_from_settings()
    settings.SMS_GATEWAY = "carrier-pigeon"
    with pytest.raises(ImproperlyConfigured):
        gateway_from_settings()


@pytest.mark.django_db
def test_r_o5_code_sms_goes_through_smsapi_and_is_erased_after(provider, settings):
    settings.SMS_GATEWAY = "smsapi"
    settings.SMSAPI_TOKEN = TOKEN
    settings.SMSAPI_SENDER = ""
    member = make_member(phone="601 202 303")
    start_confirmation(
        TEST_OPERATION,
        member,
        details={"text": "Kod {code} do logowania"},
        channel="web",
        ctx=RequestContext(channel="web"),
    )
    codes = [last_code()]
    assert send_pending_sms() == 2  # the onboarding SMS and the code
    assert [f["to"] for f in (parse_qs(r.body) for r in provider.requests)] == [
        ["48601202303"],
        ["48601202303"],
    ]
    assert parse_qs(provider.requests[-1].body)["message"] == [f"Kod {codes[0]} do logowania"]
    for sms in SmsMessage.objects.filter(member=member):
        assert sms.state == SmsMessage.State.SENT
        assert sms.gateway == "smsapi"
        assert sms.gateway_message_id == "6601F0E53738305D3C8A1B2C"
        assert sms.body_encrypted == ""


def test_r_o5_smsapi_message_it_took_before_is_not_sent_again(provider):
    """Error 53 with `check_idx`: this reference was taken before (a try whose answer was
    lost), so the member has the message and this try counts as sent."""
    provider.body = {"error": 53, "message": "Not unique idx"}
    message_id = SmsApiGateway(TOKEN).send("+48600100200", "Kod 123456", reference=REF)
    assert message_id == f"idx:{REF}"


@pytest.mark.django_db
def test_r_o5_r_x7_a_worker_killed_after_smsapi_took_the_code_does_not_send_it_twice(
    provider, settings, monkeypatch
):
    settings.SMS_GATEWAY = "smsapi"
    settings.SMSAPI_TOKEN = TOKEN
    member = make_member(phone="601 202 303")
    send_pending_sms()  # the onboarding SMS
    start_confirmation(
        TEST_OPERATION,
        member,
        details={"text": "Kod {code} do logowania"},
        channel="web",
        ctx=RequestContext(channel="web"),
    )
    sms = SmsMessage.objects.filter(member=member, state=SmsMessage.State.PENDING).get()

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):  # noqa: ANN002, ANN003
        raise Killed

    # The provider takes the code; the worker dies before it notes the answer.
    with monkeypatch.context() as patch:
        patch.setattr(delivery, "_record_sent", killed)
        with pytest.raises(Killed):
            send_pending_sms()
    clock.advance(LEASE_SECONDS)
    provider.body = {"error": 53, "message": "Not unique idx"}
    assert send_pending_sms() == 1

    first, second = (parse_qs(r.body) for r in provider.requests[-2:])
    assert first["idx"] == second["idx"] == [delivery.message_reference(sms)]
    assert first["check_idx"] == second["check_idx"] == ["1"]
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.SENT
    assert sms.attempts == 2
    assert sms.body_encrypted == ""
    # Another message is another reference, even with the same id in another database.
    other = SmsMessage(pk=sms.pk, body_encrypted="gAAAAAB-another-ciphertext")
    assert delivery.message_reference(other) != delivery.message_reference(sms)
