"""The temporary password as the member typed it at login, so that the password set at the
first login is a new one (R-W1: the first login "forces a new password").

The login keeps a keyed digest of what was typed, once the password was accepted, in the
server-side session that goes on to /password/; the new password is compared with that digest,
never with the stored hash. Both texts come from the same session, which has just proven the
first: nothing is guessed, so nothing is counted (R-X6), and a session that could guess here
could set any password anyway.
"""

import hmac

from skarbiec.core.keys import keyed_hash

_PURPOSE = "temporary-password-typed"


def typed_temporary_password(member_id: int, password: str) -> str:
    """The digest the session keeps of the temporary password accepted at login."""
    return keyed_hash(_PURPOSE, str(member_id), password)


def is_the_temporary_password(member_id: int, new_password: str, typed: str) -> bool:
    """Whether `new_password` is the temporary password this session typed at login."""
    return bool(typed) and hmac.compare_digest(
        typed_temporary_password(member_id, new_password), typed
    )
