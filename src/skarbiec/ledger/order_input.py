"""What an order's input must be before anything is stored: a known channel, a request
identifier (idempotency key) and clean texts (R-L3).
"""

import hashlib
import json
import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from skarbiec.core.plain_text import has_hidden_characters
from skarbiec.ledger.errors import (
    InvalidOrderDetails,
)

WEB = "web"


MOBILE = "mobile"


ORDER_CHANNELS = (WEB, MOBILE)


KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def require_channel(channel: str) -> None:
    if channel not in ORDER_CHANNELS:
        raise InvalidOrderDetails(_("Unknown channel."))


_FIELD_MESSAGES = {
    "title": (
        gettext_lazy("Fill in the transfer title."),
        gettext_lazy("The transfer title may have at most 140 characters."),
        gettext_lazy("The transfer title contains characters that are not allowed."),
    ),
    "payee_name": (
        gettext_lazy("Fill in the payee name."),
        gettext_lazy("The payee name may have at most 70 characters."),
        gettext_lazy("The payee name contains characters that are not allowed."),
    ),
}


def clean_text(value: str, field: str, max_length: int, required: bool = True) -> str:
    missing, too_long, bad = _FIELD_MESSAGES[field]
    if not isinstance(value, str):
        raise InvalidOrderDetails(missing, field=field)
    if has_hidden_characters(value.replace("\n", " ")):
        raise InvalidOrderDetails(bad, field=field)
    text = " ".join(value.split())
    if required and not text:
        raise InvalidOrderDetails(missing, field=field)
    if len(text) > max_length:
        raise InvalidOrderDetails(too_long, field=field)
    return text


def request_digest(details: dict[str, Any]) -> str:
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
