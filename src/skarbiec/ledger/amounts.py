"""Money as integer grosze: parsing what people type and formatting per language (R-L2, R-X5).

No float is used anywhere: the text is split into digits and the grosze counted exactly.
"""

import re

from django.utils import translation

from skarbiec.ledger.errors import (
    AmountNotPositive,
    AmountTooLarge,
    AmountTooManyDecimals,
    InvalidAmount,
)

# Below one billion złoty: far above any member's transfer, far below 64-bit limits.
MAX_AMOUNT_MINOR = 100_000_000_000 - 1
NBSP = "\u00a0"

_SPACES = re.compile(r"[\s\u00a0\u2007\u202f']+")
# Spaces (and apostrophes) only group thousands, in the złoty part: "1 2 3" is no amount.
_SPACE_GROUPED = re.compile(r"^[0-9]{1,3}(?:[\s\u00a0\u2007\u202f'][0-9]{3})+(?:[.,][0-9]*)?$")
_CURRENCY = re.compile(r"^(?:pln|zł|zl)\s*|\s*(?:pln|zł|zl)$", re.IGNORECASE)
_NUMBER = re.compile(r"^(?P<whole>[0-9]+)(?:[.,](?P<frac>[0-9]*))?$")


def parse_amount(text: str) -> int:
    """ "1 234,56" → 123456. Also "1234.56", "1234", "1,234.56", "1.234,56", "12,5 zł".

    When both separators appear, the last one separates grosze and the other groups
    thousands. Refuses: nothing, letters, signs, zero, more than two decimals, absurd sizes.
    """
    if not isinstance(text, str):
        raise InvalidAmount()
    s = _CURRENCY.sub("", text.strip()).strip()
    if s.startswith("-") or s.startswith("−"):
        raise AmountNotPositive()
    if _SPACES.search(s) and not _SPACE_GROUPED.match(s):
        raise InvalidAmount()
    s = _SPACES.sub("", s)
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        grouping = "." if decimal == "," else ","
        whole, _sep, frac = s.rpartition(decimal)
        groups = whole.split(grouping)
        if not groups[0] or any(len(g) != 3 for g in groups[1:]):
            raise InvalidAmount()
        s = "".join(groups) + "." + frac
    m = _NUMBER.match(s)
    if not m:
        raise InvalidAmount()
    whole, frac = m.group("whole"), m.group("frac") or ""
    if len(frac) > 2:
        raise AmountTooManyDecimals()
    if len(whole.lstrip("0")) > 12:
        raise AmountTooLarge()
    minor = int(whole) * 100 + int(frac.ljust(2, "0"))
    return require_amount(minor)


def require_amount(amount_minor: object) -> int:
    """Check an amount given as integer grosze (API input, service callers)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise InvalidAmount()
    if amount_minor <= 0:
        raise AmountNotPositive()
    if amount_minor > MAX_AMOUNT_MINOR:
        raise AmountTooLarge()
    return amount_minor


def _group(digits: str, sep: str) -> str:
    parts: list[str] = []
    while len(digits) > 3:
        parts.insert(0, digits[-3:])
        digits = digits[:-3]
    parts.insert(0, digits)
    return sep.join(parts)


def format_amount(amount_minor: int, lang: str | None = None, currency: bool = True) -> str:
    """123456 → "1 234,56 zł" (pl, non-breaking spaces) or "PLN 1,234.56" (en)."""
    lang = (lang or translation.get_language() or "pl")[:2]
    sign = "-" if amount_minor < 0 else ""
    whole, grosze = divmod(abs(amount_minor), 100)
    if lang == "en":
        number = f"{_group(str(whole), ',')}.{grosze:02d}"
        return f"{sign}PLN\u00a0{number}" if currency else sign + number
    number = f"{_group(str(whole), NBSP)},{grosze:02d}"
    return f"{sign}{number}\u00a0zł" if currency else sign + number


def currency_symbol(lang: str | None = None) -> str:
    """How the language writes the currency next to an amount: "zł" (pl) or "PLN" (en)."""
    return "PLN" if (lang or translation.get_language() or "pl")[:2] == "en" else "zł"


def format_amount_plain(amount_minor: int) -> str:
    """Machine form for files: "1234.56" (CSV exports, clearing batches)."""
    sign = "-" if amount_minor < 0 else ""
    whole, grosze = divmod(abs(amount_minor), 100)
    return f"{sign}{whole}.{grosze:02d}"


def amount_of_field(field: str, text: str | None = None, minor: int | None = None) -> int:
    """An amount a form field or an API body gives, as typed (`text`) or in grosze (`minor`):
    exactly one of the two; a refusal names the field."""
    if (text is None) == (minor is None):
        raise InvalidAmount(field=field)
    try:
        return parse_amount(text) if text is not None else require_amount(minor)
    except InvalidAmount as e:
        raise type(e)(e.message, field=field) from None
