"""The branch clerk onboards a member (R-B2, R-T2, R-T3, R-W1): the member's data with PESEL and
phone validated, a current account, a Login and a temporary web password sent by SMS; the first
web login then forces a new password (the member's `must_change_password`).

The member is created by `channels/enrolment.create_member` (the one home of onboarding) in the
staff member's own credit union, or for an installation administrator in the one they chose.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from skarbiec.backoffice.errors import InvalidField
from skarbiec.backoffice.scope import credit_union_of, is_installation_staff, member_of
from skarbiec.channels.enrolment import create_member
from skarbiec.core.context import RequestContext
from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.models import Account
from skarbiec.members.models import Member, StaffProfile


@dataclass(frozen=True)
class NewMember:
    first_name: str
    last_name: str
    pesel: str
    phone: str
    email: str = ""
    address: str = ""
    language: str = "pl"
    open_savings: bool = False
    credit_union_id: int | None = None


def onboard_member(staff: StaffProfile, data: NewMember, ctx: RequestContext) -> Member:
    """Returns the member with their Login; the temporary password went only by SMS."""
    if not data.first_name.strip():
        raise InvalidField("first_name", _("Enter the first name."))
    if not data.last_name.strip():
        raise InvalidField("last_name", _("Enter the last name."))
    if is_installation_staff(staff):
        if data.credit_union_id is None:
            raise InvalidField("credit_union", _("Choose the credit union."))
        credit_union = credit_union_of(staff, data.credit_union_id)
    else:
        assert staff.credit_union is not None
        credit_union = staff.credit_union
    with transaction.atomic():
        member, _password = create_member(
            credit_union,
            first_name=data.first_name,
            last_name=data.last_name,
            pesel=data.pesel,
            phone=data.phone,
            email=data.email,
            address=data.address,
            language=data.language,
            ctx=ctx,
        )
        open_account(member, Account.Kind.CURRENT, ctx)
        if data.open_savings:
            open_account(member, Account.Kind.SAVINGS, ctx)
    return member


def open_member_account(
    staff: StaffProfile, member_id: object, kind: str, name: str, ctx: RequestContext
) -> Account:
    return open_account(member_of(staff, member_id), kind, ctx, name.strip() or None)
