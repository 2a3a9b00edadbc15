"""Which channel takes an operation's SMS codes (R-O4): only the one it was started in, where
three wrong codes have that channel's consequence."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from skarbiec.members.models import Member
from skarbiec.otp.models import Confirmation

if TYPE_CHECKING:
    from skarbiec.otp.operations import OperationKind


def takes_codes_in(operation_channel: str | None, channel: str) -> bool:
    """R-O4: whether `channel` takes the codes of an operation started in `operation_channel`
    (None: no open operation, so no channel takes a code). Only the channel it was started in
    does, where three wrong codes have that channel's consequence. The one home of the rule:
    `_started_elsewhere` refuses the other channel's codes by it, and the pages and the API
    ask it before offering a code form (`open_operation_channels` says where one was started).
    """
    if operation_channel is None:
        return False
    return not (channel and operation_channel and channel != operation_channel)


def open_operation_channels(
    member: Member,
    confirmation_ids: Iterable[int | None] | None = None,
    *,
    kind: "OperationKind | None" = None,
) -> dict[int, str]:
    """The channel each of the member's open operations (among `confirmation_ids`, and of
    `kind`) was started in (`Confirmation.channel`), and so takes its codes in (R-O4), by id.
    A closed one (confirmed, voided, exhausted) or one gone (purged) is left out: no channel
    takes its code."""
    open_ones = Confirmation.objects.filter(member=member, state=Confirmation.State.OPEN)
    if confirmation_ids is not None:
        ids = {pk for pk in confirmation_ids if pk is not None}
        if not ids:
            return {}
        open_ones = open_ones.filter(pk__in=ids)
    if kind is not None:
        open_ones = open_ones.filter(kind=kind.name)
    return dict(open_ones.values_list("pk", "channel"))
