"""The password rules (R-P1, R-P2), shared by web, API and back-office.

Hashing is `skarbiec.core.password_hashing`; comparing is only `skarbiec.core.attempts` (R-X6).
"""

import gzip
import secrets
import string
import unicodedata
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from skarbiec.core import clock
from skarbiec.core.password_hashing import hash_password
from skarbiec.members.errors import PasswordRejected

if TYPE_CHECKING:
    from skarbiec.members.models import Member

MIN_LENGTH = 8
MAX_LENGTH = 15
SPECIAL_CHARACTERS = "`~!@#$%^&*()_+|-=\\{}[];':\",./<>?"
ALLOWED = frozenset(string.ascii_letters + string.digits + SPECIAL_CHARACTERS)
POLISH_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")


def _character_class(ch: str) -> Promise:
    if ch in POLISH_LETTERS:
        return _("Polish letters with diacritics (such as ą, ę, ś, ż, ź)")
    if ch.isspace():
        return _("spaces, tabs or other white space")
    category = unicodedata.category(ch)
    if category.startswith("C"):
        return _("control or invisible characters")
    if category.startswith("L"):
        return _("letters outside the English alphabet")
    if category.startswith("N"):
        return _("digits other than 0–9")
    if category in ("So", "Sk", "Sm", "Sc") and ord(ch) > 0x7F:
        return _("emoji or other symbols")
    return _("punctuation outside the allowed special characters")


@cache
def _common_passwords() -> frozenset[str]:
    path = Path(password_validation.__file__).resolve().parent / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip())


def password_problems(password: str, login: str | None = None) -> list[str]:
    """Every reason the password is refused, all at once (R-P2). Empty list: accepted."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(str(_("The password must have at least 8 characters.")))
    if len(password) > MAX_LENGTH:
        problems.append(str(_("The password may have at most 15 characters.")))
    classes: list[str] = []
    for ch in password:
        if ch not in ALLOWED:
            name = str(_character_class(ch))
            if name not in classes:
                classes.append(name)
    for name in classes:
        problems.append(
            str(
                _("The password contains characters that are not allowed: %(what)s.")
                % {"what": name}
            )
        )
    if login and login in password:
        problems.append(str(_("The password must not contain your Login.")))
    if password.lower() in _common_passwords():
        problems.append(str(_("This password is too common and easy to guess.")))
    return problems


def require_valid_password(password: str, login: str | None) -> None:
    problems = password_problems(password, login)
    if problems:
        raise PasswordRejected(problems)


def generate_temporary_password() -> str:
    """A random password that meets R-P1 (a digit, both cases, a special character)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        core = "".join(secrets.choice(alphabet) for _ in range(10))
        candidate = core[:5] + secrets.choice("!@#$%&*?") + core[5:]
        if (
            any(c.isdigit() for c in candidate)
            and any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and not password_problems(candidate)
        ):
            return candidate


def temporary_password_fields(password: str) -> dict[str, Any]:
    """The member's record after a temporary password is issued (onboarding, unblock by staff):
    the one place its hash, the forced change (R-W1) and its expiry are set together. Hashed
    here, before the caller takes its locks (Argon2 is slow)."""
    return {
        "web_password_hash": hash_password(password),
        "must_change_password": True,
        "temporary_password_expires_at": clock.now()
        + timedelta(days=settings.TEMPORARY_PASSWORD_DAYS),
    }


def temporary_password_expired(member: "Member", now: datetime) -> bool:
    """The member's password is a temporary one past its expiry (R-W1). One issued before
    expiries were recorded has none (the migration that added them gave the pending ones one)."""
    expires_at = member.temporary_password_expires_at
    return member.must_change_password and expires_at is not None and expires_at <= now
