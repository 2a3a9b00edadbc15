"""Staff users of the back-office: helpline operators, branch clerks, administrators (R-B1)."""

from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.core.context import RequestContext
from skarbiec.core.sealed import seal, unseal
from skarbiec.members.errors import (
    DuplicateStaffUser,
    InvalidStaffUser,
    NotAllowedForRole,
    PasswordRejected,
)
from skarbiec.members.models import CreditUnion, StaffProfile
from skarbiec.members.passwords import generate_temporary_password, password_problems

# The Django group holding each role's permissions (created by migration 0004_staff_roles).
ROLE_GROUPS = {
    StaffProfile.Role.HELPLINE: "helpline",
    StaffProfile.Role.CLERK: "clerk",
    StaffProfile.Role.ADMIN: "administrator",
}


# What each role's group may do (the same as the data migration creates).
ROLE_PERMISSIONS = {
    "helpline": ["find_members", "act_on_channels", "read_audit"],
    "clerk": ["find_members", "onboard_members", "handle_cash"],
    "administrator": [codename for codename, _name in StaffProfile._meta.permissions],
}


def require_permission(staff: StaffProfile, permission: str) -> None:
    """What a staff member's role allows (R-B2, R-B6), asked by every door the same way: the
    back-office's pages (`staff_required`) and the staff commands (`cli_staff`) name the
    permission, and the roles' groups hold the permissions (ROLE_PERMISSIONS)."""
    if not staff.user.has_perm(f"members.{permission}"):
        raise NotAllowedForRole()


def role_group(role: str) -> Group:
    """The role's group; made again with its permissions if it is missing (a flushed
    database, as between transactional tests)."""
    name = ROLE_GROUPS[StaffProfile.Role(role)]
    group, created = Group.objects.get_or_create(name=name)
    if created:
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="members", codename__in=ROLE_PERMISSIONS[name]
            )
        )
    return group


def require_role_fits(role: str, credit_union_id: int | None) -> None:
    """Helpline operators and clerks always work for one credit union; only an administrator
    may have none (and then administers the whole installation, R-B1)."""
    if credit_union_id is None and role != StaffProfile.Role.ADMIN:
        raise InvalidStaffUser(_("A helpline operator or clerk must belong to a credit union."))


def assign_role(profile: StaffProfile, role: str) -> None:
    """The role and its group together: pages check the group's permissions (R-B1)."""
    require_role_fits(role, profile.credit_union_id)
    profile.role = role
    profile.save(update_fields=["role"])
    profile.user.groups.set([role_group(role)])


def create_staff_user(
    username: str,
    role: str,
    credit_union: CreditUnion | None,
    ctx: RequestContext,
    password: str | None = None,
) -> tuple[User, str]:
    """Create a staff user and return it with its password (generated unless given).

    Helpline operators and clerks always work for one credit union; an administrator without
    one administers the whole installation.
    """
    # Checked as it will be stored: Django's create_user applies Unicode NFKC, which can
    # lengthen a name, bring in spaces or make a case twin of another staff member's (R-B5).
    username = User.normalize_username((username or "").strip())
    try:
        UnicodeUsernameValidator()(username)
        # Letters of any language (a Polish "ł"), digits of ASCII only: "١٢٣" reads as
        # another name than "123" in the audit log and at the login form.
        if any(c.isdigit() and not c.isascii() for c in username):
            raise ValidationError("digits")
    except ValidationError:
        raise InvalidStaffUser(_("The username may contain only letters, digits and @.+-_."))
    # 100 at most: the audit log names the person as "staff:<username>" (R-B5).
    if not username or len(username) > 100:
        raise InvalidStaffUser(_("The username must have 1 to 100 characters."))
    if role not in StaffProfile.Role.values:
        raise InvalidStaffUser(
            _("Unknown role %(role)s; use one of: %(roles)s.")
            % {"role": role, "roles": ", ".join(StaffProfile.Role.values)}
        )
    require_role_fits(role, credit_union.pk if credit_union is not None else None)
    if password is None:
        password = generate_temporary_password()
    elif problems := password_problems(password, username):
        raise PasswordRejected(problems)

    try:
        with transaction.atomic():
            if User.objects.filter(username__iexact=username).exists():
                raise DuplicateStaffUser()
            user = User.objects.create_user(username=username, password=password)
            profile = StaffProfile.objects.create(user=user, credit_union=credit_union, role=role)
            assign_role(profile, role)
            record_event(
                "staff_user_created",
                ctx,
                credit_union_id=credit_union.pk if credit_union else None,
                data={"username": username, "role": role},
            )
    except IntegrityError:
        # Two creations of the same username at once: the unique index decides.
        raise DuplicateStaffUser()
    return user, password


#: What staff authenticator secrets are sealed for (core/sealed.py).
AUTHENTICATOR_SEAL = "staff-authenticator"


def sealed_authenticator_secret(secret: str) -> str:
    """How a staff member's authenticator secret is stored (R-B1, R-X9): a copy of the
    database alone must not give every staff member's second factor."""
    return seal(AUTHENTICATOR_SEAL, secret) if secret else ""


def authenticator_secret(profile: StaffProfile) -> str:
    """The staff member's authenticator secret, "" when none is enrolled; raises
    core.sealed.Unsealable when it was sealed under a secret key changed since."""
    return unseal(AUTHENTICATOR_SEAL, profile.totp_secret) if profile.totp_secret else ""
