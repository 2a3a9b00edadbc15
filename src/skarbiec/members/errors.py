from django.utils.translation import gettext_lazy as _

from skarbiec.core.errors import Conflict, DomainError, NotFound, Refused


class PasswordRejected(DomainError):
    code = "password_rejected"
    message = _("The password does not meet the rules.")
    status = 400

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems=problems)
        self.problems = problems


class InvalidPesel(DomainError):
    code = "invalid_pesel"
    message = _("The PESEL number is not valid.")


class InvalidPhone(DomainError):
    code = "invalid_phone"
    message = _("The mobile phone number is not valid.")


class DuplicateMember(Conflict):
    code = "duplicate_member"
    message = _("A member with this PESEL already exists in this credit union.")


class UnknownCreditUnion(NotFound):
    code = "unknown_credit_union"
    message = _("No such credit union.")


class DuplicateStaffUser(Conflict):
    code = "duplicate_staff_user"
    message = _("A staff user with this username already exists.")


class InvalidStaffUser(DomainError):
    code = "invalid_staff_user"
    message = _("The staff user data is not valid.")


class NotAllowedForRole(Refused):
    code = "not_allowed_for_role"
    message = _("Your role does not allow this.")
