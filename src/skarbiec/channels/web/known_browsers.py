"""Browsers a member has logged in from, so junk from a shared address cannot keep them out
(R-X10).

A client address that failed too often is refused before any password is looked at: one
address guessing many Logins is stopped. Behind a carrier's address, or a workplace's, that
would also keep out every member sharing it for the rest of the window. The app proves its
members by their device key; the web has no key before the password, so a browser that
completed both factors for a Login gets a signed note of it (a cookie, see
`web/login/views.py`). A login for that Login from that browser is served over its address's
limit. The note grants nothing else: the per-Login limit, the channel's three wrong passwords
(R-W2) and the code's budget (R-X7) count as for anyone, and a note names Logins only as
digests, so a copied cookie is worth a few attempts at its own Logins at most.
"""

from typing import Any

from django.core import signing
from django.utils.crypto import salted_hmac

from skarbiec.core import clock

#: How long a browser stays known after its last login.
KNOWN_FOR_SECONDS = 180 * 24 * 3600
#: Logins one browser is known for (a family's computer); the oldest is forgotten first.
LOGINS_PER_BROWSER = 3
#: Longer than any note this module writes: anything longer is not read at all.
LONGEST_NOTE = 1024

_SALT = "skarbiec.web.known-browser"


def _digest(login: str) -> str:
    # Keyed: a Login is ten digits, so a plain hash of it in a cookie readable by whoever
    # holds the browser would be the Login in clear after a minute's search (R-T3).
    return salted_hmac(_SALT, login, algorithm="sha256").hexdigest()[:32]


def _logins(note: str | None) -> dict[str, int]:
    """The Logins (as digests) a note vouches for, with when each last logged in; {} for no
    note, a forged, altered or unreadable one."""
    if not note or len(note) > LONGEST_NOTE:
        return {}
    try:
        data: Any = signing.loads(note, salt=_SALT)
    except signing.BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    oldest = clock.now().timestamp() - KNOWN_FOR_SECONDS
    return {
        str(digest): int(when)
        for digest, when in data.items()
        if isinstance(when, int) and when >= oldest
    }


def is_known_browser(note: str | None, login: str) -> bool:
    """Whether `note` (the browser's cookie) vouches that this browser logged in as `login`."""
    return _digest(login) in _logins(note)


def remember_browser(note: str | None, login: str) -> str:
    """The browser's new note after a login with both factors as `login`: this Login added
    (or its time renewed), the oldest dropped beyond LOGINS_PER_BROWSER."""
    logins = _logins(note)
    logins.pop(_digest(login), None)
    logins[_digest(login)] = int(clock.now().timestamp())
    newest = sorted(logins.items(), key=lambda item: item[1])[-LOGINS_PER_BROWSER:]
    return signing.dumps(dict(newest), salt=_SALT, compress=False)
