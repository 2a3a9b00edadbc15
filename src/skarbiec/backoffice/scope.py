"""What a staff member may see and act on (R-B6): every back-office query for members, accounts,
orders, staff and audit events starts here, so isolation between credit unions holds by
construction. Staff of a credit union see only its own; installation administrators (no credit
union) see every credit union. Anything outside the scope is "not found" (404), never
"forbidden": the back-office does not reveal that it exists.
"""

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from skarbiec.audit.models import AuditEvent
from skarbiec.backoffice.errors import NotInScope
from skarbiec.ledger.models import Account
from skarbiec.members.models import CreditUnion, Member, StaffProfile


def is_installation_staff(staff: StaffProfile) -> bool:
    # An administrator without a credit union; a row with another role and none (which the
    # services refuse to write) is given no credit union at all rather than every one.
    return staff.credit_union_id is None and staff.role == StaffProfile.Role.ADMIN


def credit_unions_of(staff: StaffProfile) -> QuerySet[CreditUnion]:
    if is_installation_staff(staff):
        return CreditUnion.objects.order_by("name")
    return CreditUnion.objects.filter(pk=staff.credit_union_id or 0)


def members_of(staff: StaffProfile) -> QuerySet[Member]:
    members = Member.objects.select_related("credit_union")
    if is_installation_staff(staff):
        return members
    return members.filter(credit_union_id=staff.credit_union_id or 0)


def accounts_of(staff: StaffProfile) -> QuerySet[Account]:
    accounts = Account.objects.select_related("member", "member__credit_union")
    if is_installation_staff(staff):
        return accounts
    return accounts.filter(member__credit_union_id=staff.credit_union_id or 0)


def staff_of(staff: StaffProfile) -> QuerySet[StaffProfile]:
    profiles = StaffProfile.objects.select_related("user", "credit_union")
    if is_installation_staff(staff):
        return profiles
    return profiles.filter(credit_union_id=staff.credit_union_id or 0)


def audit_events_of(staff: StaffProfile) -> QuerySet[AuditEvent]:
    if is_installation_staff(staff):
        return AuditEvent.objects.all()
    return AuditEvent.objects.filter(credit_union_id=staff.credit_union_id or 0)


def audit_logs_of(staff: StaffProfile) -> list[int | None]:
    """The credit unions whose audit events the staff member reads, as `credit_union_id`s of
    the log (None: the installation's own events), for reads done one log at a time."""
    if is_installation_staff(staff):
        return [None, *CreditUnion.objects.order_by("pk").values_list("pk", flat=True)]
    return [staff.credit_union_id or 0]


def _one(queryset: QuerySet[Any], **lookup: Any) -> Any:
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotInScope()


def member_of(staff: StaffProfile, member_id: object) -> Member:
    return _one(members_of(staff), pk=member_id)


def account_of(staff: StaffProfile, account_id: object) -> Account:
    return _one(accounts_of(staff), pk=account_id)


def credit_union_of(staff: StaffProfile, credit_union_id: object) -> CreditUnion:
    return _one(credit_unions_of(staff), pk=credit_union_id)


def colleague_of(staff: StaffProfile, staff_id: object) -> StaffProfile:
    return _one(staff_of(staff), pk=staff_id)


def user_of(profile: StaffProfile) -> User:
    return profile.user
