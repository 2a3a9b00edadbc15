"""The member's row as the first lock of everything touching the member's SMS codes (R-X7),
in a module of its own: the SMS worker takes it too (otp/delivery.py), below the send budget."""

from django.db.models import QuerySet

from skarbiec.core.locks import for_update
from skarbiec.core.prepared import prepared_select
from skarbiec.members.models import Member


@prepared_select
def _member_locked(member_id: int) -> QuerySet[Member]:
    # Prepared (core/prepared.py): every code sent, resent or checked runs it.
    return for_update(Member.objects).filter(pk=member_id).only("pk")


def lock_members_codes(member: Member) -> None:
    """The member's row, locked: every start, resend and check of the member's SMS codes takes
    it first, so they run one at a time per member and lock the operations' rows in one order
    (a wrong code settled on one of them writes the others waiting beside it, R-X7).

    That settlement goes on to what the operations wait for (orders, payees, limit changes)
    and to the channel that bears three wrong codes. So the member's row is the first lock of
    every transaction that locks one of those and then another of them, the member's row or
    operations (docs/architecture.md lists them); tests/lock_order.py watches every test on
    PostgreSQL for a transaction that does not."""
    lock_members_codes_by_id(member.pk)


def lock_members_codes_by_id(member_id: int) -> None:
    """`lock_members_codes` where only the member's id is at hand (the SMS worker)."""
    _member_locked.all(member_id=member_id)
