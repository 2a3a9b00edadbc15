"""Steps shared by the mobile API tests, through the real services and the real HTTP stack."""

import re

import httpx
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from skarbiec.channels.mobile.app_password import (
    confirm_mobile_app_reactivation,
    confirm_mobile_channel_activation,
    request_mobile_app_reactivation,
    request_mobile_channel_activation,
)
from skarbiec.client import DeviceClient
from skarbiec.core.context import RequestContext
from skarbiec.members.models import Member
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import decrypt_body
from skarbiec.wsgi import application
from tests.factories import make_member

WEB = RequestContext(ip_address="10.0.0.5", channel="web")
WEB_PASSWORD = "Start#2024pl"
MOBILE_PASSWORD = "Mobi!e2024xy"
PIN = "48159"


def last_code(member: Member) -> str:
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    return re.search(r"\b(\d{6})\b", decrypt_body(sms.body_encrypted)).group(1)


def enable_mobile_channel(member: Member, password: str = MOBILE_PASSWORD) -> None:
    """R-W4 in the web: define the mobile-app password, confirm with the SMS code."""
    otp_id = request_mobile_channel_activation(member, password, password, WEB)
    confirm_mobile_channel_activation(member, otp_id, last_code(member), WEB)


def reactivate_mobile_app(member: Member, password: str) -> None:
    """R-W5 in the web: the only unblock path."""
    otp_id = request_mobile_app_reactivation(member, password, password, WEB)
    confirm_mobile_app_reactivation(member, otp_id, last_code(member), WEB)


def member_with_channel(**kwargs) -> Member:
    member = make_member(**kwargs)
    enable_mobile_channel(member)
    return member


def activate_device(device: DeviceClient, member: Member, password: str = MOBILE_PASSWORD) -> dict:
    """R-M2 in the app: Login + mobile-app password, then the SMS code."""
    started = device.activate(member.login, password)
    if started["otp_required"]:
        return device.confirm_activation(last_code(member))
    return started


def ready_device(device: DeviceClient, member: Member | None = None, pin: str = PIN) -> Member:
    """A member whose app is activated with a PIN and logged in."""
    member = member or member_with_channel()
    activate_device(device, member)
    device.set_pin(pin)
    return member


def _keep_connection_app(environ, start_response):  # noqa: ANN001, ANN202
    """The WSGI application without the handlers that close the database connection when a
    request ends (that would close the test's own connection). Django's test client detaches
    them the same way, and reattaches them after each request, so this is done per request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return list(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def device_beside_web_client(**kwargs) -> DeviceClient:
    """An in-process device client for tests that also use Django's test client."""
    transport = httpx.WSGITransport(app=_keep_connection_app)
    return DeviceClient("http://localhost", transport=transport, **kwargs)
