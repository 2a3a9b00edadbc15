"""A right code whose operation the database then failed to carry out (503) stays usable: the
member's retry with the same code completes it (R-X6). Transfers did this first; every
operation confirmed by an SMS code does it through `reopened_if_the_database_fails`."""

from collections.abc import Callable

import pytest
from django.db import OperationalError

from skarbiec.channels.mobile import activation
from skarbiec.channels.models import WebChannel
from skarbiec.channels.web import login as web_login
from skarbiec.channels.web import password as web_password
from skarbiec.client import DeviceClient
from skarbiec.ledger import limits, payees
from skarbiec.otp.models import Confirmation
from tests.api.steps import MOBILE_PASSWORD, member_with_channel
from tests.core.test_attempts import CTX, PASSWORD
from tests.factories import make_member
from tests.ledger.helpers import EXTERNAL, WEB, last_code, member_with_account

NEW_PASSWORD = "Nowe#Haslo42"


def _payee() -> tuple[Callable[[], object], object, str]:
    member, _account = member_with_account()
    payee = payees.add_trusted_payee(member, "web", "Jan Nowak", EXTERNAL, WEB)
    code = last_code(member)
    return (
        (lambda: payees.confirm_trusted_payee(member, payee.pk, code, WEB)),
        payees,
        "record_event",
    )


def _limits() -> tuple[Callable[[], object], object, str]:
    member, _account = member_with_account()
    limits.change_limits(member, "web", 100_00, 300_00, 1000_00, WEB)
    change = limits.change_limits(member, "web", 200_00, 400_00, 1200_00, WEB)
    code = last_code(member)
    return (
        (lambda: limits.confirm_limit_change(member, change.pk, code, WEB)),
        limits,
        "_apply_limits",
    )


def _web_login() -> tuple[Callable[[], object], object, str]:
    member = make_member()
    pending = web_login.begin_web_login(member.login, PASSWORD, CTX)
    code = last_code(member)
    return (lambda: web_login.complete_web_login(pending, code, CTX)), web_login, "record_event"


def _web_password_change() -> tuple[Callable[[], object], object, str]:
    member = make_member()
    otp_id = web_password.request_web_password_change(
        member, PASSWORD, NEW_PASSWORD, NEW_PASSWORD, CTX
    )
    code = last_code(member)
    session = WebChannel.objects.get(member=member).session_generation
    confirm = lambda: web_password.confirm_web_password_change(  # noqa: E731
        member, otp_id, code, session, CTX
    )
    return confirm, web_password, "record_event"


def _device_activation() -> tuple[Callable[[], object], object, str]:
    member = member_with_channel()
    device = DeviceClient.in_process(language="en")
    device.activate(member.login, MOBILE_PASSWORD)
    code = last_code(member)
    return (lambda: device.confirm_activation(code)), activation, "bind_device"


OPERATIONS = {
    "trusted payee": _payee,
    "raise of limits": _limits,
    "web login": _web_login,
    "web password change": _web_password_change,
    "device activation": _device_activation,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_r_x6_a_right_code_is_usable_again_after_the_database_failed_its_operation(
    name, settings, monkeypatch
):
    settings.RATE_LIMIT_PER_ADDRESS = settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    confirm, module, step = OPERATIONS[name]()

    def database_gone(*args: object, **kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(module, step, database_gone)
    with pytest.raises(Exception) as failed:  # noqa: PT011 (the API client's 503, or the error)
        confirm()
    assert "503" in str(failed.value) or isinstance(failed.value, OperationalError)
    monkeypatch.undo()
    confirm()
    assert Confirmation.objects.latest("pk").state == Confirmation.State.CONFIRMED
