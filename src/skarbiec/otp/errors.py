from django.utils.translation import gettext_lazy as _

from skarbiec.core.errors import DomainError


class OtpInvalid(DomainError):
    code = "otp_invalid"
    message = _("The SMS code is incorrect.")
    status = 400


class OtpExpired(DomainError):
    code = "otp_expired"
    message = _("The SMS code has expired or was already used. Ask for a new code.")
    status = 400


class OtpAttemptsExhausted(DomainError):
    code = "otp_attempts_exhausted"
    message = _("Three wrong SMS codes: the operation was cancelled.")
    status = 400


class OtpSendingLimited(DomainError):
    code = "otp_rate_limited"
    message = _("Too many SMS codes were requested. Wait a few minutes and try again.")
    status = 429
