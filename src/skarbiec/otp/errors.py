from django.utils.translation import gettext_lazy as _

from skarbiec.core.errors import Conflict, DomainError, NotMembersMistake, RateLimited


class OtpInvalid(DomainError):
    code = "otp_invalid"
    message = _("The SMS code is incorrect.")
    status = 400


class OtpExpired(NotMembersMistake, DomainError):
    """Refused before any comparison (expired, used, or the operation closed meanwhile):
    nothing was guessed, so it is no failure of the client's address either (R-X10)."""

    code = "otp_expired"
    message = _("The SMS code has expired or was already used. Ask for a new code.")
    status = 400


class OtpAttemptsExhausted(DomainError):
    code = "otp_attempts_exhausted"
    message = _("Three wrong SMS codes: the operation was cancelled.")
    status = 400


class OtpSendingLimited(RateLimited):
    """The member's budget of SMS codes is spent for now (R-X7). Not the member's mistake: it
    never counts as a failed attempt."""

    code = "otp_rate_limited"
    message = _("Too many SMS codes were requested. Wait a few minutes and try again.")

    def __init__(self, retry_after: int) -> None:
        minutes = max((retry_after + 59) // 60, 1)
        if minutes > 60:  # the day's budget
            message = _("Too many SMS codes were requested today. Try again in %(hours)d h.") % {
                "hours": (minutes + 59) // 60
            }
        else:
            message = _(
                "Too many SMS codes were requested in a short time. Try again in %(minutes)d min."
            ) % {"minutes": minutes}
        super().__init__(message, retry_after=retry_after)


class OtpResendLimited(RateLimited):
    """Resends of one operation's code are limited (R-X7); the last code still works."""

    code = "otp_resend_limited"
    message = _(
        "A new code cannot be sent again for this operation. Use the last code you received, "
        "or cancel and start the operation again."
    )


class OperationOfOtherChannel(Conflict):
    """An operation takes its codes only in the channel it was started in: three wrong codes
    have that channel's consequence (R-O4), so the other channel neither counts nor resends."""

    code = "operation_of_other_channel"
    message = _(
        "This operation was started in the other channel (internet service or mobile app). "
        "Confirm it there, or start it again here."
    )


class CodeBeingChecked(NotMembersMistake, Conflict):
    """The operation is started again while a code of the one before is still being compared:
    it must settle first, on the operation it was sent for (R-X7). Not the member's mistake."""

    code = "code_being_checked"
    message = _("A code of this operation is being checked right now. Try again in a moment.")
