"""What an order's input must be before anything is stored: a known channel, a request
identifier (idempotency key) and clean texts (R-L3).
"""

import hashlib
import json
import re
import unicodedata
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from skarbiec.ledger.errors import (
    InvalidOrderDetails,
)

WEB = "web"


MOBILE = "mobile"


ORDER_CHANNELS = (WEB, MOBILE)


KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


# Characters a title or name never needs and an SMS or statement must not carry: controls, and
# the invisible ones that change how the rest is shown (U+202E turns "...8264" into "4628..."
# in the SMS that names the payee, R-O2), line separators, private-use and unassigned ones.
_NOT_ALLOWED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


#: Accents stacked on one letter: two serve every language (Vietnamese "ệ" written
#: decomposed); more only make the letter spill over the lines of the SMS and the pages.
_MOST_MARKS_ON_A_LETTER = 2


def _has_hidden_characters(text: str) -> bool:
    stacked = 0
    for c in text:
        category = unicodedata.category(c)
        if category in _NOT_ALLOWED_CATEGORIES:
            return True
        stacked = stacked + 1 if category in ("Mn", "Me") else 0
        if stacked > _MOST_MARKS_ON_A_LETTER:
            return True
    return False


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
    if _has_hidden_characters(value.replace("\n", " ")):
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
