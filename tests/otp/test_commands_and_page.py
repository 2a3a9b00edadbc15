"""`skarbiec worker`, `skarbiec sms outbox` and the /dev/sms/ page (R-O5, R-X2)."""

import io
import os
import signal
import threading

import pytest
from django.core.management import CommandError, call_command

from skarbiec.otp.delivery import send_pending_sms
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import queue_sms
from tests.factories import make_member


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_r_o5_worker_once_sends_due_messages_through_the_outbox():
    member = make_member()
    queue_sms(member.phone, "Kod 135790", member=member)
    assert run("worker", "--once").strip() == "2 message(s) handled"
    assert set(SmsMessage.objects.values_list("state", flat=True)) == {SmsMessage.State.SENT}
    assert run("worker", "--once").strip() == "0 message(s) handled"


@pytest.mark.django_db
def test_r_o5_worker_refuses_a_misconfigured_gateway(settings):
    settings.SMS_GATEWAY = "smsapi"
    settings.SMSAPI_TOKEN = ""
    with pytest.raises(CommandError, match="SMSAPI_TOKEN"):
        run("worker", "--once")


@pytest.mark.django_db
def test_r_o5_worker_rejects_bad_options():
    with pytest.raises(CommandError):
        run("worker", "--interval", "0")
    with pytest.raises(CommandError):
        run("worker", "--batch", "many")


@pytest.mark.django_db
def test_r_o5_worker_loops_until_sigterm_and_stops_cleanly():
    member = make_member()
    queue_sms(member.phone, "Kod 246801", member=member)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        out = run("worker", "--interval", "0.1")
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert "worker started (gateway: outbox)" in out
    assert out.strip().endswith("worker stopped")
    assert not SmsMessage.objects.filter(state=SmsMessage.State.PENDING).exists()


@pytest.mark.django_db
def test_r_o5_sms_outbox_prints_decrypted_messages_newest_first():
    first = make_member(phone="600111222")
    second = make_member(phone="600333444")
    queue_sms(first.phone, "Kod 111111 dla pierwszego", member=first)
    queue_sms(second.phone, "Kod 222222 dla drugiego", member=second)
    out = run("sms", "outbox", "--last", "2")
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert "+48600333444" in lines[0] and "Kod 222222 dla drugiego" in lines[0]
    assert "Kod 111111 dla pierwszego" in lines[1]

    only_first = run("sms", "outbox", "--phone", "600111222")
    assert "Kod 111111" in only_first
    assert "Kod 222222" not in only_first
    assert "+48600333444" not in only_first


@pytest.mark.django_db
def test_r_o5_sms_outbox_marks_bodies_erased_by_a_real_gateway():
    class Provider:
        name = "fake"
        keeps_body = False

        def send(self, phone: str, text: str, *, reference: str) -> str:
            return "p-1"

    make_member(phone="600555666")
    send_pending_sms(gateway=Provider())
    out = run("sms", "outbox", "--phone", "600555666")
    assert "(body erased after delivery)" in out
    assert "[sent]" in out


@pytest.mark.django_db
def test_r_o5_sms_outbox_rejects_bad_count():
    with pytest.raises(CommandError):
        run("sms", "outbox", "--last", "0")


@pytest.mark.django_db
def test_r_o5_dev_page_is_404_when_switched_off(client, settings):
    settings.SMS_OUTBOX_PAGE = False
    member = make_member()
    queue_sms(member.phone, "Kod 998877", member=member)
    response = client.get("/dev/sms/")
    assert response.status_code == 404
    assert b"998877" not in response.content


@pytest.mark.django_db
def test_r_o5_dev_page_lists_latest_messages_without_scripts(client, settings):
    settings.SMS_OUTBOX_PAGE = True
    member = make_member(phone="600777888")
    other = make_member(phone="600999000")
    queue_sms(member.phone, "Kod 314159 <b>nie</b>", member=member)
    queue_sms(other.phone, "Kod 271828", member=other)
    response = client.get("/dev/sms/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Kod 314159 &lt;b&gt;nie&lt;/b&gt;" in html  # escaped, not markup
    assert "Kod 271828" in html
    assert html.index("271828") < html.index("314159")  # newest first
    assert "<script" not in html
    assert " style=" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]

    filtered = client.get("/dev/sms/", {"phone": "600777888", "last": "5"}).content.decode()
    assert "314159" in filtered
    assert "271828" not in filtered


@pytest.mark.django_db
@pytest.mark.parametrize("last", ["abc", "0", "201", "-1"])
def test_r_o5_dev_page_answers_bad_input_with_400(client, settings, last):
    settings.SMS_OUTBOX_PAGE = True
    response = client.get("/dev/sms/", {"last": last})
    assert response.status_code == 400
    assert b"last" in response.content


@pytest.mark.django_db
def test_r_o5_dev_page_is_read_only(client, settings):
    settings.SMS_OUTBOX_PAGE = True
    assert client.post("/dev/sms/").status_code in (403, 405)
