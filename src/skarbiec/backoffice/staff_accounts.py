"""Staff accounts and roles (R-B1, R-B4), for administrators: create, change the role, unlock
after failed attempts, reset the authenticator (enrolled again at the next login), issue a new
password, deactivate. An administrator of a credit union manages only its staff and never
creates installation administrators; every change is audited with the acting administrator.
"""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from skarbiec.audit.services import record_event
from skarbiec.backoffice.errors import InvalidField
from skarbiec.backoffice.scope import colleague_of, credit_union_of, is_installation_staff
from skarbiec.core.attempt_counts import cleared_values
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import Refused
from skarbiec.core.locks import for_update
from skarbiec.members.models import StaffProfile
from skarbiec.members.passwords import generate_temporary_password
from skarbiec.members.staff import assign_role, create_staff_user


class NotOnYourself(Refused):
    code = "not_on_yourself"
    message = _("Ask another administrator to do this to your own account.")


def new_staff_member(
    admin: StaffProfile,
    username: str,
    role: str,
    credit_union_id: int | None,
    ctx: RequestContext,
) -> tuple[User, str]:
    """Returns the user and the initial password, shown once to hand over in person."""
    if is_installation_staff(admin):
        credit_union = credit_union_of(admin, credit_union_id) if credit_union_id else None
    else:
        credit_union = admin.credit_union
    if role not in StaffProfile.Role.values:
        raise InvalidField("role", _("Choose a role."))
    if credit_union is None and role != StaffProfile.Role.ADMIN:
        raise InvalidField(
            "credit_union", _("A helpline operator or clerk belongs to a credit union.")
        )
    try:
        return create_staff_user(username, role, credit_union, ctx)
    except Exception as error:  # the member layer's refusals name no field: this one is username
        if hasattr(error, "details"):
            error.details.setdefault("field", "username")
        raise


def _other(admin: StaffProfile, staff_id: object) -> StaffProfile:
    profile = colleague_of(admin, staff_id)
    if profile.pk == admin.pk:
        raise NotOnYourself()
    return profile


def _audit(event: str, admin_ctx: RequestContext, profile: StaffProfile, **data: object) -> None:
    record_event(
        event,
        admin_ctx,
        credit_union_id=profile.credit_union_id,
        data={"username": profile.user.username, **data},
    )


def change_role(admin: StaffProfile, staff_id: object, role: str, ctx: RequestContext) -> None:
    profile = _other(admin, staff_id)
    if role not in StaffProfile.Role.values:
        raise InvalidField("role", _("Choose a role."))
    with transaction.atomic():
        old = profile.role
        assign_role(profile, role)
        _audit("staff_role_changed", ctx, profile, old=old, new=role)


def unlock(admin: StaffProfile, staff_id: object, ctx: RequestContext) -> None:
    profile = _other(admin, staff_id)
    with transaction.atomic():
        StaffProfile.objects.filter(pk=profile.pk).update(
            locked_at=None,
            session_generation=F("session_generation") + 1,
            **cleared_values("failed_password_attempts", "failed_totp_attempts"),
        )
        _audit("staff_account_unlocked", ctx, profile)


def reset_authenticator(
    admin: StaffProfile, staff_id: object, ctx: RequestContext, *, at_the_server: bool = False
) -> None:
    """The staff member enrols their authenticator app again at the next login. An
    administrator's own only at the server (`skarbiec staff reset-authenticator`): after the
    secret key was changed, a lone administrator has no colleague to do it."""
    profile = colleague_of(admin, staff_id) if at_the_server else _other(admin, staff_id)
    with transaction.atomic():
        StaffProfile.objects.filter(pk=profile.pk).update(
            totp_secret="", totp_confirmed_at=None, totp_last_step=0, recovery_codes=[]
        )
        _audit("staff_authenticator_reset", ctx, profile)


def new_password(admin: StaffProfile, staff_id: object, ctx: RequestContext) -> str:
    profile = _other(admin, staff_id)
    password = generate_temporary_password()
    with transaction.atomic():
        locked = for_update(StaffProfile.objects).get(pk=profile.pk)
        profile.user.set_password(password)
        profile.user.save(update_fields=["password"])
        # Every session and login past the old password ends; an authenticator secret shown
        # to it and not yet confirmed is never shown again: whoever saw the enrolment under the
        # old password must not know the one the staff member enrols (R-B1).
        fresh: dict[str, Any] = {"session_generation": F("session_generation") + 1}
        if locked.totp_confirmed_at is None:
            fresh["totp_secret"] = ""
        StaffProfile.objects.filter(pk=profile.pk).update(**fresh)
        _audit("staff_password_reset", ctx, profile)
    return password


def set_active(admin: StaffProfile, staff_id: object, active: bool, ctx: RequestContext) -> None:
    profile = _other(admin, staff_id)
    with transaction.atomic():
        User.objects.filter(pk=profile.user_id).update(is_active=active)
        StaffProfile.objects.filter(pk=profile.pk).update(
            session_generation=F("session_generation") + 1
        )
        _audit("staff_activated" if active else "staff_deactivated", ctx, profile)
