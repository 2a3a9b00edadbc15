"""Looking up members and their credit union's details."""

from django.db.models import QuerySet

from skarbiec.core.prepared import prepared_select
from skarbiec.members.models import CreditUnion, Member


@prepared_select
def _member_with_login(login: str) -> QuerySet[Member]:
    # Prepared (core/prepared.py): every web login and mobile activation looks a Login up.
    return Member.objects.select_related("credit_union").filter(login=login)


def member_by_login(login: str) -> Member | None:
    """The member with this Login, or None (also for anything that is not a Login)."""
    login = (login or "").strip()
    if not (login.isascii() and login.isdigit() and len(login) == 10):
        return None
    return _member_with_login.first(login=login)


def helpline_phones(credit_union: CreditUnion | None) -> list[str]:
    """Whom a member calls (R-W2, R-M10). Without a credit union (an unknown Login) the
    installation's first one, so the answer does not tell the Login is unknown (R-T3)."""
    if credit_union is None:
        credit_union = CreditUnion.objects.order_by("pk").first()
    return list(credit_union.helpline_phones) if credit_union else []
