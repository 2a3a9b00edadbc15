"""Polish account numbers (NRB) and their IBAN form (R-L1).

NRB = 2 check digits + 8-digit sort code of the credit union + 16-digit account number. The
check digits follow ISO 7064 mod 97-10 over the number rearranged as for an IBAN: the 24 digits
after the check digits, then "PL" as 2521, then the check digits.
"""

import re
import secrets

from skarbiec.ledger.errors import (
    AccountNumberCharacters,
    AccountNumberChecksum,
    AccountNumberLength,
    ForeignAccountNumber,
)

COUNTRY_DIGITS = "2521"  # P=25, L=21
# Spaces people type or paste, including the non-breaking ones from documents.
_SEPARATORS = re.compile(r"[\s\u00a0\u2007\u202f-]+")


def check_digits(sort_code: str, account: str) -> str:
    """The two check digits for a sort code (8 digits) and an account number (16 digits)."""
    if not (len(sort_code) == 8 and sort_code.isascii() and sort_code.isdigit()):
        raise ValueError("sort code must have 8 digits")
    if not (len(account) == 16 and account.isascii() and account.isdigit()):
        raise ValueError("account number must have 16 digits")
    return f"{98 - int(sort_code + account + COUNTRY_DIGITS + '00') % 97:02d}"


def is_valid_nrb(nrb: str) -> bool:
    return (
        len(nrb) == 26
        and nrb.isascii()
        and nrb.isdigit()
        and int(nrb[2:] + COUNTRY_DIGITS + nrb[:2]) % 97 == 1
    )


def make_nrb(sort_code: str, account: str) -> str:
    return check_digits(sort_code, account) + sort_code + account


def random_nrb(sort_code: str) -> str:
    """A new number in the credit union; the caller retries on the (unlikely) collision."""
    # Leading 1..9 keeps the number from looking like an internal account (reserved 0…).
    account = str(secrets.randbelow(9 * 10**15) + 10**15)
    return make_nrb(sort_code, account)


def parse_nrb(text: str) -> str:
    """Normalise what a member typed into 26 digits, or raise a message saying what is wrong.

    Accepts spaces and dashes anywhere and an optional PL prefix (IBAN form).
    """
    cleaned = _SEPARATORS.sub("", text or "").upper()
    if cleaned[:2].isalpha() and cleaned[:2].isascii():
        if cleaned[:2] != "PL":
            raise ForeignAccountNumber()
        cleaned = cleaned[2:]
    if not cleaned or not (cleaned.isascii() and cleaned.isdigit()):
        raise AccountNumberCharacters()
    if len(cleaned) != 26:
        raise AccountNumberLength(digits=len(cleaned))
    if not is_valid_nrb(cleaned):
        raise AccountNumberChecksum()
    return cleaned


def sort_code_of(nrb: str) -> str:
    return nrb[2:10]


def format_nrb(nrb: str) -> str:
    """The printed form: "12 3456 7890 1234 5678 9012 3456"."""
    return nrb[:2] + " " + " ".join(nrb[i : i + 4] for i in range(2, 26, 4))


def iban(nrb: str) -> str:
    return "PL" + nrb


def masked_nrb(nrb: str) -> str:
    """Last digits only, as in SMS texts: "…3456"."""
    return "…" + nrb[-4:]
