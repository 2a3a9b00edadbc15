"""`skarbiec worker`: codes go out while statements are issued (R-O5, R-L5)."""

import io
import os
import signal
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection

from skarbiec.core import clock
from skarbiec.ledger import statements
from skarbiec.ledger.models import Statement
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import queue_sms
from tests.ledger.helpers import member_with_account

DAY = 86400


@pytest.mark.django_db(transaction=True)
def test_r_o5_r_l5_a_code_goes_out_while_a_statement_is_being_drawn(monkeypatch):
    """On the first of a month every account's statement is drawn (seconds for a busy
    account): a login code queued meanwhile is sent at once, not after them."""
    member, account = member_with_account(balance_minor=10_00)
    clock.advance(40 * DAY)
    drawing, drawn = threading.Event(), threading.Event()
    real_render = statements.render_statement

    def slow_render(document: statements.StatementDocument, language: str) -> bytes:
        drawing.set()
        drawn.wait(10)
        return real_render(document, language)

    monkeypatch.setattr(statements, "render_statement", slow_render)
    sent_while_drawing: list[bool] = []

    def queue_a_code_then_stop() -> None:
        try:
            assert drawing.wait(10)
            code = queue_sms(member.phone, "Kod: 123456", member)
            deadline = time.monotonic() + 5
            while (
                time.monotonic() < deadline
                and not SmsMessage.objects.filter(pk=code.pk, state=SmsMessage.State.SENT).exists()
            ):
                time.sleep(0.05)
            sent_while_drawing.append(
                not drawn.is_set()
                and SmsMessage.objects.get(pk=code.pk).state == SmsMessage.State.SENT
            )
        finally:
            drawn.set()
            connection.close()
            time.sleep(0.5)  # the statement is stored
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    helper = threading.Thread(target=queue_a_code_then_stop)
    helper.start()
    try:
        call_command("worker", "--interval", "0.05", stdout=io.StringIO())
    finally:
        helper.join(20)
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert sent_while_drawing == [True]
    assert Statement.objects.filter(account=account).count() == 1
