"""Credit unions and their settings (R-T1, R-B4): name, sort code, helpline numbers, whether
the mobile app is offered, the logo, and the §8 policy within its bounds (`policy.py`).

Called by the back-office pages and by `skarbiec creditunion create|configure|list` alike. A
credit union's administrator configures only their own; only installation administrators
create credit unions (each fully separate: its own members, staff, accounts and audit chain).
"""

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from skarbiec.audit.services import record_event
from skarbiec.backoffice.errors import InvalidField
from skarbiec.backoffice.policy import checked_policy
from skarbiec.backoffice.scope import credit_union_of, is_installation_staff
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import Refused
from skarbiec.core.locks import for_update
from skarbiec.core.plain_text import has_hidden_characters
from skarbiec.ledger.accounts import (
    ensure_internal_accounts,
    members_have_accounts,
    renumber_own_accounts,
)
from skarbiec.members.models import CreditUnion, StaffProfile

SORT_CODE_RE = re.compile(r"^[0-9]{8}$")
PHONE_RE = re.compile(r"^\+?[0-9 ]{3,20}$")
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
LOGO_MAX_BYTES = 200 * 1024


class OnlyInstallationAdministrators(Refused):
    code = "only_installation_administrators"
    message = _("Only an administrator of the whole installation can create a credit union.")


def _name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    # The name starts every SMS of the credit union and heads its pages (R-O2).
    if has_hidden_characters(name):
        raise InvalidField("name", _("The name contains characters that are not allowed."))
    if not 2 <= len(name) <= 200:
        raise InvalidField("name", _("Enter a name of 2 to 200 characters."))
    return name


def _sort_code(value: Any, exclude: int | None = None) -> str:
    code = str(value or "").replace(" ", "")
    if not SORT_CODE_RE.match(code):
        raise InvalidField("sort_code", _("The sort code has exactly 8 digits."))
    if CreditUnion.objects.filter(sort_code=code).exclude(pk=exclude or 0).exists():
        raise InvalidField("sort_code", _("Another credit union has this sort code."))
    return code


def parse_phones(value: Any) -> list[str]:
    """Helpline numbers, one per line or separated by commas."""
    items = value if isinstance(value, list) else re.split(r"[,\n]", str(value or ""))
    phones = [" ".join(str(p).split()) for p in items if str(p).strip()]
    if not phones or len(phones) > 5 or any(not PHONE_RE.match(p) for p in phones):
        raise InvalidField(
            "helpline_phones", _("Enter one to five phone numbers (digits, spaces, a leading +).")
        )
    return phones


def _logo(data: bytes) -> tuple[bytes, str]:
    if len(data) > LOGO_MAX_BYTES:
        raise InvalidField("logo", _("The logo may have at most 200 KB."))
    for magic, content_type in LOGO_TYPES.items():
        if data.startswith(magic):
            return data, content_type
    raise InvalidField("logo", _("The logo must be a PNG or JPEG image."))


def create_credit_union(
    staff: StaffProfile | None,
    *,
    name: str,
    sort_code: str,
    helpline_phones: Any,
    offers_mobile_app: bool,
    ctx: RequestContext,
) -> CreditUnion:
    """A new, fully separate credit union. `staff` None: the CLI (an operator of the
    installation, named in ctx)."""
    if staff is not None and not is_installation_staff(staff):
        raise OnlyInstallationAdministrators()
    values = {
        "name": _name(name),
        "sort_code": _sort_code(sort_code),
        "helpline_phones": parse_phones(helpline_phones),
        "offers_mobile_app": bool(offers_mobile_app),
    }
    try:
        with transaction.atomic():
            cu = CreditUnion.objects.create(**values)
            ensure_internal_accounts(cu)
            record_event("credit_union_created", ctx, credit_union_id=cu.pk, data=values)
    except IntegrityError:
        raise InvalidField("sort_code", _("Another credit union has this sort code."))
    return cu


SETTINGS_FIELDS = ("name", "sort_code", "helpline_phones", "offers_mobile_app")


def configure_credit_union(
    staff: StaffProfile | None,
    credit_union: CreditUnion | int,
    changes: dict[str, Any],
    ctx: RequestContext,
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> CreditUnion:
    """Change settings and policy; everything is checked before anything is saved."""
    cu_id = credit_union.pk if isinstance(credit_union, CreditUnion) else credit_union
    if staff is not None:
        cu_id = credit_union_of(staff, cu_id).pk
    checked: dict[str, Any] = {}
    policy: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            checked[key] = _name(value)
        elif key == "sort_code":
            checked[key] = _sort_code(value, exclude=cu_id)
        elif key == "helpline_phones":
            checked[key] = parse_phones(value)
        elif key == "offers_mobile_app":
            checked[key] = bool(value)
        else:
            policy[key] = value
    checked.update(checked_policy(policy))
    if logo:
        checked["logo"], checked["logo_content_type"] = _logo(logo)
    elif remove_logo:
        checked["logo"], checked["logo_content_type"] = b"", ""
    with transaction.atomic():
        cu = for_update(CreditUnion.objects).get(pk=cu_id)
        changed = {}
        for key, value in checked.items():
            old = getattr(cu, key)
            current = bytes(old) if isinstance(old, memoryview | bytes) else old
            if current != value:
                changed[key] = (
                    {"bytes": len(value)} if key == "logo" else {"old": old, "new": value}
                )
                setattr(cu, key, value)
        if "sort_code" in changed and members_have_accounts(cu):
            # Members' account numbers carry the sort code: a new one would turn transfers
            # between members into external ones (R-L3) and free their numbers for another.
            raise InvalidField(
                "sort_code",
                _(
                    "The sort code is part of the members' account numbers: it cannot change "
                    "once a member has an account."
                ),
            )
        if changed:
            cu.save(update_fields=list(changed))
            if "sort_code" in changed:
                renumber_own_accounts(cu)
            record_event(
                "credit_union_configured", ctx, credit_union_id=cu.pk, data={"changed": changed}
            )
    return cu
