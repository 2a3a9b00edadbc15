"""Test data built through the real services."""

import itertools

from skarbiec.channels.enrolment import create_member
from skarbiec.core.context import RequestContext
from skarbiec.members.models import CreditUnion, Member
from skarbiec.members.pesel import pesel_check_digit

CLI = RequestContext(actor="test", channel="cli", ip_address="127.0.0.1")
_seq = itertools.count(1)


def make_pesel(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    first_ten = f"900101{n % 10000:04d}"
    return first_ten + pesel_check_digit(first_ten)


def make_credit_union(**overrides: object) -> CreditUnion:
    n = next(_seq)
    data: dict[str, object] = {
        "name": f"SKOK Test {n}",
        "sort_code": f"{95000000 + n:08d}",
        "helpline_phones": ["801 803 800", "58 782 59 00"],
    }
    data.update(overrides)
    return CreditUnion.objects.create(**data)


def make_member(
    credit_union: CreditUnion | None = None, password: str = "Start#2024pl", **overrides: str
) -> Member:
    """A member whose own web password is `password` (temporary already changed)."""
    cu = credit_union or make_credit_union()
    member, _ = create_member(
        cu,
        first_name=overrides.get("first_name", "Jan"),
        last_name=overrides.get("last_name", "Kowalski"),
        pesel=overrides.get("pesel", make_pesel()),
        phone=overrides.get("phone", "600100200"),
        ctx=CLI,
        temporary_password=password,
    )
    member.must_change_password = overrides.get("must_change_password", "") == "yes"
    if not member.must_change_password:
        member.temporary_password_expires_at = None  # as when the member sets their own
    member.save(update_fields=["must_change_password", "temporary_password_expires_at"])
    return member


def password_matches(stored_hash: str, password: str) -> bool:
    """For assertions only: the product compares passwords solely through its attempts
    mechanism (R-X6); tests read the stored hash directly."""
    from argon2 import PasswordHasher
    from argon2.exceptions import VerificationError

    try:
        return PasswordHasher().verify(stored_hash, password)
    except VerificationError:
        return False
