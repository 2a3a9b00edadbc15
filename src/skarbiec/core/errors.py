"""Base of every domain error: a stable code, a translatable message, an HTTP status.

Each app defines its own errors in its errors.py; `skarbiec.web` and `skarbiec.api` map them to
responses in one place each.
"""

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code: str = "error"
    message: str | Promise = _("The operation could not be completed.")
    status: int = 400
    #: The page's heading, where the status's own would mislead (core/refusals.py).
    page_title: str | Promise | None = None

    def __init__(self, message: str | Promise | None = None, **details: Any) -> None:
        if message is not None:
            self.message = message
        self.details = details
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        data.update({k: v for k, v in self.details.items() if v is not None})
        return data


class NotMembersMistake:
    """Marks refusals that are not the member's mistake (limits, outages): they never count as
    a failed attempt and never leave one counted (R-X6, R-X10)."""


class InvalidInput(DomainError):
    code = "invalid_input"
    message = _("The data you entered is not valid.")
    status = 400


class UnknownHost(InvalidInput):
    """A Host header naming a server this installation is not (SKARBIEC_ALLOWED_HOSTS)."""

    code = "unknown_host"
    message = _("This server does not answer for the address named in the request.")


class SessionEndedElsewhere(DomainError):
    """The session was ended in another window (a logout, a new password) while this request
    ran: its end could not be saved (web/session_middleware.py)."""

    code = "session_ended_elsewhere"
    message = _("You logged out or set a new password in another window. Log in again.")
    status = 409
    page_title = _("Your session has ended")


class SessionEndedAfterItsWork(SessionEndedElsewhere):
    """As SessionEndedElsewhere, for a request whose work was done (a transfer booked)."""

    message = _(
        "You logged out or set a new password in another window while this was being done. "
        "It was done: log in again to see it."
    )
    status = 200


class NothingPresented(InvalidInput):
    """A password of nothing but spaces or invisible characters (core/attempts.py)."""

    message = _("Enter the password.")


class RateLimited(NotMembersMistake, DomainError):
    code = "rate_limited"
    message = _("Too many attempts. Wait a minute and try again.")
    status = 429


class AttemptsBeingChecked(RateLimited):
    """Every attempt the limit allows is taken by parallel requests whose secrets are still
    being compared (core/attempts.py): nothing is counted; a moment later the answer is known."""

    message = _("Your previous attempt is still being checked. Try again in a moment.")


class ServiceUnavailable(NotMembersMistake, DomainError):
    code = "service_unavailable"
    message = _("The service is temporarily unavailable. Try again in a moment.")
    status = 503


# Refusals at the edge (R-X8): answered before or around the views, as JSON under the API and
# as a page elsewhere, by skarbiec.core.refusals.


class ForbiddenCharacters(InvalidInput):
    message = _("The request contains a character that is not allowed (NUL).")


class UnreadableRequest(InvalidInput):
    message = _("The request could not be read.")


class FieldGivenTwice(InvalidInput):
    """A JSON object naming one field twice: which one counts would be the parser's choice,
    and a signature over the body need not mean what the server reads (R-X8)."""

    message = _("The request names a field more than once.")


class RequestTooLarge(DomainError):
    code = "request_too_large"
    message = _("The request is too large.")
    status = 413


class LengthRequired(DomainError):
    """A body sent in chunks, without its length: refused rather than read as empty (a
    proxy in front, like the shipped nginx, sends the length itself)."""

    code = "length_required"
    message = _("Send the request body with its length (Content-Length).")
    status = 411


class Unauthenticated(DomainError):
    """Kind: who asks is not (or no longer) known: log in again, or the secret was wrong."""

    code = "not_authenticated"
    status = 401


class Refused(DomainError):
    """Kind: not allowed now (a blocked channel, a refused device, a policy)."""

    code = "refused"
    status = 403


class Conflict(DomainError):
    """Kind: the thing is in a state in which this cannot be done (any more)."""

    code = "conflict"
    status = 409


class NotFound(DomainError):
    code = "not_found"
    message = _("Not found.")
    status = 404


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    message = _("This address does not accept this kind of request.")
    status = 405


class ServerError(DomainError):
    code = "error"
    message = _("Something went wrong on our side. Try again later.")
    status = 500
