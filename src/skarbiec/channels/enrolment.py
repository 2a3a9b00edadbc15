"""Giving a member the internet service (R-T2, R-T3, R-W1, R-B2): the member's record, a
Login, both channels, and a temporary web password sent by SMS.
"""

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from skarbiec.audit.services import record_event
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import InvalidInput
from skarbiec.core.plain_text import has_hidden_characters
from skarbiec.members.errors import DuplicateMember, InvalidPesel
from skarbiec.members.models import CreditUnion, Member
from skarbiec.members.passwords import generate_temporary_password, temporary_password_fields
from skarbiec.members.pesel import is_valid_pesel
from skarbiec.members.phone import normalize_phone
from skarbiec.otp.sms import queue_sms


def _new_login() -> str:
    # 10 digits, not starting with 0 so it survives spreadsheets and printing.
    return str(secrets.randbelow(9 * 10**9) + 10**9)


def temporary_password_sms(member: Member, password: str) -> str:
    days = settings.TEMPORARY_PASSWORD_DAYS
    with translation.override(member.language):
        text = _(
            "%(cu)s: your temporary password to the internet service is %(password)s. "
            "Your Login: %(login)s. You will set your own password at first login."
        ) % {"cu": member.credit_union.name, "password": password, "login": member.login}
        validity = ngettext(
            "The password is valid for %(days)d day.",
            "The password is valid for %(days)d days.",
            days,
        ) % {"days": days}
    return f"{text} {validity}"


def _require_member_fields(**values: str) -> None:
    """What the member's record holds, checked before it is written: pages, the API and the
    command line alike get a clear refusal, never a database error (R-X8), and no control or
    invisible character reaches the pages, the audit log or a terminal (a name written right
    to left by U+202E reads as another member's) (R-T2, R-B5). An address may have lines."""
    labels = {
        "first_name": _("First name"),
        "last_name": _("Last name"),
        "email": _("E-mail"),
        "address": _("Postal address"),
    }
    for name, value in values.items():
        if has_hidden_characters(
            (value or "").replace("\n", " ") if name == "address" else value or ""
        ):
            raise InvalidInput(
                _("%(field)s contains characters that are not allowed.") % {"field": labels[name]},
                field=name,
            )
        limit = int(getattr(Member._meta.get_field(name), "max_length", 0) or 0)
        if len((value or "").strip()) > limit:
            raise InvalidInput(
                _("%(field)s may have at most %(limit)s characters.")
                % {"field": labels[name], "limit": limit},
                field=name,
            )


def create_member(
    credit_union: CreditUnion,
    *,
    first_name: str,
    last_name: str,
    pesel: str,
    phone: str,
    email: str = "",
    address: str = "",
    language: str = "pl",
    ctx: RequestContext,
    temporary_password: str | None = None,
) -> tuple[Member, str]:
    """Onboard a member with the internet service (R-T2, R-T3, R-B2).

    Issues a Login and a temporary web password sent by SMS; returns both so staff can print
    the Login on the agreement. The password is returned only for the demo and the CLI.
    """
    pesel = (pesel or "").strip()
    if not is_valid_pesel(pesel):
        raise InvalidPesel()
    phone = normalize_phone(phone)
    _require_member_fields(first_name=first_name, last_name=last_name, email=email, address=address)
    password = temporary_password or generate_temporary_password()
    password_fields = temporary_password_fields(password)
    now = clock.now()
    for _attempt in range(10):
        login = _new_login()
        try:
            with transaction.atomic():
                if Member.objects.filter(credit_union=credit_union, pesel=pesel).exists():
                    raise DuplicateMember()
                member = Member.objects.create(
                    credit_union=credit_union,
                    first_name=first_name.strip(),
                    last_name=last_name.strip(),
                    pesel=pesel,
                    phone=phone,
                    email=email.strip(),
                    address=address.strip(),
                    language=language if language in ("pl", "en") else "pl",
                    login=login,
                    **password_fields,
                    created_at=now,
                )
                WebChannel.objects.create(member=member, changed_at=now)
                MobileChannel.objects.create(member=member, changed_at=now)
                queue_sms(member.phone, temporary_password_sms(member, password), member=member)
                record_event(
                    "member_onboarded",
                    ctx,
                    credit_union_id=credit_union.pk,
                    member_id=member.pk,
                    data={"login": login},
                )
            return member, password
        except IntegrityError:
            if Member.objects.filter(credit_union=credit_union, pesel=pesel).exists():
                raise DuplicateMember()
            continue  # Login collision: draw another
    raise RuntimeError("could not draw a free Login")
