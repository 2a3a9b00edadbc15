"""The SMS outbox: messages are queued in the caller's transaction and sent by the worker."""

from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings

import base64

from skarbiec.core import clock
from skarbiec.core.keys import derive_key
from skarbiec.members.models import Member
from skarbiec.otp.models import SmsMessage


@cache
def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key("sms-body")))


def encrypt_body(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt_body(token: str) -> str:
    if not token:
        return ""
    return _fernet().decrypt(token.encode()).decode()


def queue_sms(phone: str, text: str, member: Member | None = None) -> SmsMessage:
    now = clock.now()
    return SmsMessage.objects.create(
        member=member,
        phone=phone,
        body_encrypted=encrypt_body(text),
        next_attempt_at=now,
        created_at=now,
        gateway=settings.SMS_GATEWAY,
    )
