"""Looking up members and their credit union's details."""

from django.db.models import QuerySet

from skarbiec.core.keys import keyed_hash
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


def credit_union_answering_for(login: str) -> CreditUnion | None:
    """The credit union whose policy and helpline answer for a Login nobody has (R-T3): one of
    the installation's, chosen by a keyed hash of the Login, the same one each time. An
    unknown Login then blocks at a real credit union's limit and names a real helpline, as
    a member's Login of that credit union would, on an installation of several."""
    ids = list(CreditUnion.objects.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return None
    chosen = ids[int(keyed_hash("unknown-login-credit-union", login)[:12], 16) % len(ids)]
    return CreditUnion.objects.get(pk=chosen)


def helpline_phones(credit_union: CreditUnion | None) -> list[str]:
    """Whom a member calls (R-W2, R-M10); none on an installation without a credit union."""
    return list(credit_union.helpline_phones) if credit_union else []
