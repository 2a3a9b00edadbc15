"""The SMS outbox: messages are queued in the caller's transaction and sent by the worker.

Bodies are encrypted at rest with a key derived from the secret key (kept outside the
database), so a database copy alone does not reveal codes or temporary passwords.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from skarbiec.core import clock
from skarbiec.core.prepared import insert_new
from skarbiec.core.sealed import Unsealable, seal, unseal
from skarbiec.members.models import Member
from skarbiec.otp.models import SmsMessage

#: What the bodies are sealed for (core/sealed.py): the key is derived for it alone.
BODY_SEAL = "sms-body"


def encrypt_body(text: str) -> str:
    return seal(BODY_SEAL, text)


def decrypt_body(token: str) -> str:
    """The message text, or "" once the body was erased after delivery. Raises Unsealable
    for a body sealed under another secret key."""
    if not token:
        return ""
    return unseal(BODY_SEAL, token)


def queue_sms(
    phone: str,
    text: str,
    member: Member | None = None,
    *,
    give_up_at: datetime | None = None,
    confirmation_id: int | None = None,
) -> SmsMessage:
    """Queue one message in the caller's transaction; the worker sends it (R-O5).

    `give_up_at`: do not send after this moment (a code SMS passes `expires_at` of its code).
    `confirmation_id`: the operation whose code it carries (not sent once the code is replaced).
    """
    now = clock.now()
    # Every code sent inserts one: the INSERT is compiled once (core/prepared.py).
    return insert_new(
        SmsMessage(
            member=member,
            phone=phone,
            body_encrypted=encrypt_body(text),
            next_attempt_at=now,
            give_up_at=give_up_at,
            confirmation_id=confirmation_id,
            created_at=now,
            gateway=settings.SMS_GATEWAY,
        )
    )


@dataclass(frozen=True)
class OutboxEntry:
    """One message as the development outbox shows it."""

    id: int
    phone: str
    text: str
    state: str
    created_at: datetime
    sent_at: datetime | None
    gateway: str
    last_error: str


def read_outbox(phone: str = "", last: int = 20) -> list[OutboxEntry]:
    """The latest `last` messages, newest first, decrypted (development: `skarbiec sms outbox`
    and /dev/sms/). `phone` matches the end of the number, so 600100200 finds +48600100200.
    Bodies erased after delivery by a real gateway come back as ""."""
    messages = SmsMessage.objects.order_by("-created_at", "-pk")
    digits = "".join(ch for ch in phone if ch in "0123456789")
    if digits:
        messages = messages.filter(phone__endswith=digits)
    return [
        OutboxEntry(
            id=m.pk,
            phone=m.phone,
            text=_readable_body(m.body_encrypted),
            state=m.state,
            created_at=m.created_at,
            sent_at=m.sent_at,
            gateway=m.gateway,
            last_error=m.last_error,
        )
        for m in messages[: max(1, last)]
    ]


def _readable_body(token: str) -> str:
    try:
        return decrypt_body(token)
    except Unsealable:
        # Encrypted under another secret key (e.g. a copied database): unreadable here.
        return ""
