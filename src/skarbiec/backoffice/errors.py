"""Refusals of the back-office (R-B1–R-B6): stable codes, translatable messages."""

from django.utils.translation import gettext_lazy as _

from skarbiec.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    NotMembersMistake,
    Refused,
    Unauthenticated,
)


class WrongStaffCredentials(Unauthenticated):
    code = "wrong_staff_credentials"
    message = _("Wrong username or password.")


class WrongStaffCode(Unauthenticated):
    code = "wrong_staff_code"
    message = _("Wrong code from the authenticator app.")


class WrongRecoveryCode(Unauthenticated):
    code = "wrong_recovery_code"
    message = _("Wrong recovery code.")


class StaffAccountLocked(Refused):
    code = "staff_account_locked"
    message = _(
        "This staff account is locked after too many failed attempts. "
        "An administrator must unlock it."
    )


class StaffAuthenticatorUnreadable(NotMembersMistake, Conflict):
    code = "staff_authenticator_unreadable"
    message = _(
        "Your authenticator app cannot be checked since the installation's secret key was "
        "changed. Ask an administrator to reset it, then enrol it again; no attempt was "
        "counted."
    )


class StaffLoginExpired(Unauthenticated):
    code = "staff_login_expired"
    message = _("The login has expired. Start again with your username and password.")


class NotInScope(NotFound):
    """Another credit union's member, account, order or staff member: answered as not found,
    so the back-office does not even reveal that it exists (R-B6)."""

    code = "not_found"
    message = _("Not found.")


class MobileUnblockRefused(Refused):
    code = "mobile_unblock_refused"
    message = _(
        "Staff cannot unblock the mobile app. The member unblocks it in the internet service: "
        "Settings → Activate mobile app, with a new mobile-app password and an SMS code."
    )


class InvalidField(DomainError):
    """Bad input on a back-office form: the message is shown beside the field."""

    code = "invalid_input"
    message = _("The data you entered is not valid.")

    def __init__(self, field: str, message: object = None) -> None:
        super().__init__(message, field=field)  # type: ignore[arg-type]


class CashFormUsed(DomainError):
    """A cash form is booked once (R-B2): sent again with other details, or without the key
    it was shown with, it books nothing."""

    code = "cash_form_used"
    message = _(
        "This cash form was already booked, or it has expired. Open the form again to book "
        "another payment."
    )
    status = 409
