"""R-X7: the send limit fits the longest documented story, with the installation's defaults.

The member does, within ten minutes, through the real pages and the app's API: a web login
(with one resend), activates the mobile channel, activates the app, makes a transfer, blocks
the app with three wrong PINs, unblocks it in the internet service and activates it again.
No refusal on the way; one more code at the end of the budget is refused with the wait.
"""

import pytest
from django.conf import settings
from django.test import Client

from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.client import ApiError
from skarbiec.core import clock
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account
from skarbiec.otp.models import SmsMessage
from tests.api.steps import WEB, device_beside_web_client
from tests.factories import make_member
from tests.web.login_steps import PASSWORD, last_sms_code

APP_PASSWORD = "Mobi!e2024xy"
NEW_APP_PASSWORD = "Nowe!Haslo77"
PIN = "48159"


def _step(seconds: int = 40) -> None:
    clock.advance(seconds)  # a member's pace between steps


@pytest.mark.django_db
def test_r_x7_the_longest_documented_story_fits_in_the_send_limit():
    assert settings.OTP_SEND_LIMIT == (12, 600), "the story is sized for the default"
    member = make_member()
    payee = make_member(credit_union=member.credit_union, first_name="Ewa")
    account = open_account(member, Account.Kind.CURRENT, WEB)
    deposit_cash(account, 500_00, WEB)
    target = open_account(payee, Account.Kind.CURRENT, WEB)
    sent_before = SmsMessage.objects.filter(member=member).count()
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    app = device_beside_web_client(language="en")

    # Web login, asking once for a new code.
    assert web.post("/login/", {"login": member.login, "password": PASSWORD}).status_code == 302
    assert web.post("/login/code/resend/").status_code == 302
    assert web.post("/login/code/", {"code": last_sms_code(member)})["Location"] == "/start/"
    _step()
    # Activate the mobile channel (R-W4).
    password = {"new_password": APP_PASSWORD, "repeated": APP_PASSWORD}
    assert web.post("/settings/channels/mobile/activate/", password).status_code == 302
    code = {"code": last_sms_code(member)}
    assert web.post("/settings/channels/mobile/activate/code/", code).status_code == 302
    _step()
    # Activate the app (R-M2) and set the PIN.
    app.activate(member.login, APP_PASSWORD)
    app.confirm_activation(last_sms_code(member))
    app.set_pin(PIN)
    _step()
    # A transfer confirmed with a code (R-L4).
    order = app.create_transfer(account.pk, target.number, "Rent", "10,00", "Ewa Kowalski")
    assert app.authorize_transfer(order["id"], last_sms_code(member))["state"] == "booked"
    _step()
    # Three wrong PINs block the app (R-M5).
    app.logout()
    for _ in range(3):
        with pytest.raises(ApiError):
            app.login_pin("13572")
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    _step()
    # Unblock in the internet service (R-W5): log in again, new app password.
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert web.post("/login/", {"login": member.login, "password": PASSWORD}).status_code == 302
    assert web.post("/login/code/", {"code": last_sms_code(member)})["Location"] == "/start/"
    password = {"new_password": NEW_APP_PASSWORD, "repeated": NEW_APP_PASSWORD}
    assert web.post("/settings/mobile-app/", password).status_code == 302
    code = {"code": last_sms_code(member)}
    assert web.post("/settings/mobile-app/code/", code).status_code == 302
    _step()
    # Activate the app again.
    app.reset()
    app.activate(member.login, NEW_APP_PASSWORD)
    app.confirm_activation(last_sms_code(member))
    app.set_pin(PIN)
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.ACTIVE
    assert WebChannel.objects.get(member=member).failed_attempts == 0

    sent = SmsMessage.objects.filter(member=member).count() - sent_before
    assert sent == 8  # 2 for the first login, then one per step
    # The budget left over is what a member would need for a few more resends, not more.
    for _ in range(settings.OTP_SEND_LIMIT[0] - sent):
        order = app.create_transfer(account.pk, target.number, "Rent", "1,00", "Ewa Kowalski")
    with pytest.raises(ApiError) as e:
        app.create_transfer(account.pk, target.number, "Rent", "1,00", "Ewa Kowalski")
    assert (e.value.status, e.value.code) == (429, "otp_rate_limited")
    assert 0 < e.value.body["retry_after"] <= 600
