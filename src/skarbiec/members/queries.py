"""Looking up members and their credit union's details."""

from collections.abc import Callable

from django.db import models
from django.db.models import QuerySet

from skarbiec.core.errors import DomainError
from skarbiec.core.keys import keyed_hash
from skarbiec.core.models import RateLimitCounter
from skarbiec.core.prepared import prepared_select
from skarbiec.core.throttling import UnknownLoginCounter, rate_limit_key
from skarbiec.members.models import CreditUnion, Member


@prepared_select
def _member_with_login(login: str) -> QuerySet[Member]:
    # Prepared (core/prepared.py): every web login and mobile activation looks a Login up.
    return Member.objects.select_related("credit_union").filter(login=login)


@prepared_select
def _web_password_of(member_id: int) -> QuerySet[Member]:
    return Member.objects.filter(pk=member_id).only("web_password_hash")


def current_web_password_hash(member_id: int) -> str:
    """The member's web password hash as committed now, by a statement of its own. Read after
    a lock on the web channel (which every password change takes first) it is the hash no
    change can replace before that lock is released; a member row joined to the lock's own
    statement is not: PostgreSQL re-reads only the locked row when it waited for the lock."""
    found = _web_password_of.first(member_id=member_id)
    return found.web_password_hash if found is not None else ""


def member_by_login(login: str) -> Member | None:
    """The member with this Login, or None (also for anything that is not a Login)."""
    login = (login or "").strip()
    if not (login.isascii() and login.isdigit() and len(login) == 10):
        return None
    return _member_with_login.first(login=login)


def policy_default(field: str) -> int:
    """The §8 default of a credit union's policy field."""
    model_field = CreditUnion._meta.get_field(field)
    assert isinstance(model_field, models.Field)
    return int(model_field.get_default())


def policy_value(credit_union: CreditUnion | None, field: str) -> int:
    """A policy field of the credit union, or its §8 default where there is none
    (installation staff, an installation without credit unions)."""
    return int(getattr(credit_union, field)) if credit_union is not None else policy_default(field)


def credit_union_answering_for(login: str, installation_too: bool = False) -> CreditUnion | None:
    """The credit union whose policy and helpline answer for a Login nobody has (R-T3): one of
    the installation's, chosen by a keyed hash of the Login, the same one each time. An
    unknown Login then blocks at a real credit union's limit and names a real helpline, as
    a member's Login of that credit union would, on an installation of several. The
    back-office answers an unknown staff username the same way (R-B1); `installation_too`
    lets the installation itself (None: the §8 defaults) answer as well, as it does for its
    own staff."""
    return _hashed_choice(login, _answering_candidates(installation_too))


def _answering_candidates(installation_too: bool) -> list[CreditUnion | None]:
    credit_unions: list[CreditUnion | None] = list(CreditUnion.objects.order_by("pk"))
    if installation_too:
        credit_unions.append(None)
    return credit_unions


def _hashed_choice(login: str, candidates: list[CreditUnion | None]) -> CreditUnion | None:
    if not candidates:
        return None
    return candidates[
        int(keyed_hash("unknown-login-credit-union", login)[:12], 16) % len(candidates)
    ]


def unknown_login_counter(
    scope: str,
    login: str,
    policy_field: str,
    *,
    wrong: Callable[[int], DomainError],
    blocked: Callable[[CreditUnion | None], DomainError],
    chosen: CreditUnion | None = None,
    installation_too: bool = False,
    names: str = "member",
) -> UnknownLoginCounter:
    """The failures of a Login (or staff username) nobody has, walking the answers a real one
    gets (R-T3): the limit `policy_field` and the refusals of the credit union `chosen` (the
    one the app names), or of the one answering for that Login (`installation_too`: or of the
    installation, where it has staff of its own), kept for what it `names` (a member's Login
    in every channel, or a staff username)."""
    answering = (
        chosen if chosen is not None else _answering_as_before(names, login, installation_too)
    )
    return UnknownLoginCounter(
        scope,
        login,
        policy_value(answering, policy_field),
        wrong=wrong,
        blocked=lambda: blocked(answering),
    )


#: `RateLimitCounter.answered_as` of the installation answering for itself.
_INSTALLATION = 0


def _answering_as_before(names: str, login: str, installation_too: bool) -> CreditUnion | None:
    """The credit union that answered for this unknown Login the first time, in any channel,
    kept in a row of its own from then on. Chosen again by the hash, a Login blocked with one
    credit union's helpline and limit would name another's once a credit union was added, or
    answer in the app as another than in the web, which a member's Login never does (R-T3)."""
    candidates = _answering_candidates(installation_too)
    choice = _hashed_choice(login, candidates)
    # A parallel first attempt chooses the same; whichever writes first is kept.
    kept, _created = RateLimitCounter.objects.get_or_create(
        key=rate_limit_key(f"unknown-{names}-answered-as", login),
        window_start=0,
        defaults={"answered_as": choice.pk if choice is not None else _INSTALLATION},
    )
    if kept.answered_as == _INSTALLATION:
        return None
    return next((cu for cu in candidates if cu and cu.pk == kept.answered_as), choice)


def helpline_phones(credit_union: CreditUnion | None) -> list[str]:
    """Whom a member calls (R-W2, R-M10); none on an installation without a credit union."""
    return list(credit_union.helpline_phones) if credit_union else []
