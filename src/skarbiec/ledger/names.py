"""Names the system gives are shown from the catalogue, in the page's language; names people
gave are shown as they are (R-X5: no English account name on a Polish page, nor the reverse).

Accounts opened without a name, the demo's accounts, the credit union's own accounts and cash
deposits carry one of these names, stored in either language.
"""

import unicodedata
from functools import cache

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CATALOGUE: tuple[Promise, ...] = (
    _("Current account"),
    _("Savings account"),
    _("Outgoing transfers in clearing"),
    _("Settlement account at the clearing house"),
    _("Branch cash"),
    _("Cash deposit"),
)


@cache
def _forms() -> dict[str, Promise]:
    """Every language's form of every catalogue name (case-folded) → the catalogue entry."""
    forms: dict[str, Promise] = {}
    for entry in CATALOGUE:
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                forms[str(entry).casefold()] = entry
    return forms


def shown_name(name: str) -> str:
    """A catalogue name in the active language; any other name unchanged."""
    entry = _forms().get(name.strip().casefold())
    return str(entry) if entry is not None else name


#: The most of a name people gave that an SMS code's text quotes.
SMS_NAME_LENGTH = 30


#: Punctuation a payee's name keeps in an SMS; any other mark (every kind of quote, primes,
#: modifier letters and look-alikes of other scripts) becomes an apostrophe.
_SMS_NAME_PUNCTUATION = frozenset(".,-–/&()+:;!?@#%*_' ")
# Letters (not modifier letters, some of which look like quotes), digits, combining accents.
_SMS_NAME_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lo", "Nd", "Mn"})


def _kept_in_sms(c: str) -> bool:
    return c in _SMS_NAME_PUNCTUATION or unicodedata.category(c) in _SMS_NAME_CATEGORIES


def sms_name(name: str) -> str:
    """A payee's name as an SMS code's text quotes it (R-O2), after the amount and account
    the code confirms: on one line, shortened, and with every mark but plain punctuation
    turned into an apostrophe, so a name written to look like another account or amount
    ("Jan na rachunek …9999 (1,00 zł)") stays visibly inside the text's quotes, never in
    their place."""
    flat = " ".join(name.split())
    flat = "".join(c if _kept_in_sms(c) else "'" for c in flat)
    if len(flat) > SMS_NAME_LENGTH:
        flat = flat[: SMS_NAME_LENGTH - 1].rstrip() + "…"
    return flat
