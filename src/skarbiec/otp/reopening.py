"""A right code whose operation did not complete (R-X6): open again, so that the member's same
code completes it instead of finding it closed for good. Right after a database failure in the
completion (`reopened_if_the_database_fails`), or, when even that could not run (the process
killed, the database gone), once the subject is seen still waiting (`reopen_if_left_undone`)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction

from skarbiec.core import clock
from skarbiec.core.prepared import Update, prepared_update
from skarbiec.members.models import Member
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import OperationKind, lock_operation

log = logging.getLogger(__name__)


def reopen_confirmation(kind: OperationKind, confirmation_id: int, member: Member) -> None:
    """CONFIRMED → OPEN, in a transaction of its own, when what the right code confirmed
    could not be done for a reason that is not the member's (the database failed while
    booking): the same code, within its validity, may be entered again. If even this fails
    the operation stays closed, and the member starts it again (fails closed)."""
    with transaction.atomic(durable=True):
        confirmation = lock_operation(kind, confirmation_id, member)
        if confirmation.state == Confirmation.State.CONFIRMED:
            confirmation.state = Confirmation.State.OPEN
            confirmation.closed_at = None
            confirmation.save(update_fields=["state", "closed_at"])


#: How long after its right code an operation whose subject still waits (the order still
#: awaiting authorisation) is taken to have been left undone by a process that died between
#: the code's commit and its own, rather than to be completing right now.
LEFT_UNDONE_AFTER = timedelta(seconds=30)


@prepared_update
def _reopen_left_undone(
    confirmation_id: int, member_id: int, kind: str, confirmed_before: datetime
) -> Update:
    return Confirmation.objects.filter(
        pk=confirmation_id,
        member_id=member_id,
        kind=kind,
        state=Confirmation.State.CONFIRMED,
        closed_at__lte=confirmed_before,
    ), {"state": Confirmation.State.OPEN, "closed_at": None}


def reopen_if_left_undone(kind: OperationKind, confirmation_id: int, member: Member) -> None:
    """Called while what the code confirms still waits: a right code accepted over
    LEFT_UNDONE_AFTER ago whose operation never completed (the process killed, or the database
    gone so that even `reopened_if_the_database_fails` could not reopen it) is open again, so
    the member's same code completes it instead of finding it closed for good (R-X6). One
    conditional statement, committed by itself; completing twice is refused by the subject's
    own state (an order books once)."""
    _reopen_left_undone.run(
        confirmation_id=confirmation_id,
        member_id=member.pk,
        kind=kind.name,
        confirmed_before=clock.now() - LEFT_UNDONE_AFTER,
    )


@contextmanager
def reopened_if_the_database_fails(
    kind: OperationKind, confirmation_id: int, member: Member
) -> Iterator[None]:
    """Around what a right code confirmed (book the transfer, trust the payee, bind the device,
    log in): if the database fails in it (a deadlock victim, the connection lost; the member
    is told 503), the code is open again, so the retry with the same code completes the
    operation instead of finding it closed for good (R-X6). A refusal (the operation changed
    meanwhile) leaves it closed."""
    try:
        yield
    except DatabaseError:
        try:
            reopen_confirmation(kind, confirmation_id, member)
        except DatabaseError:
            log.warning("could not reopen operation %s", confirmation_id, exc_info=True)
        raise
