"""Where one secret's failed attempts are kept (R-X6): the `Counter` each flow defines beside
the secret it counts. `core/attempts.py` counts, compares and settles through it; nothing here
compares a secret."""

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from django.db import models

from skarbiec.core.attempt_counts import give_back_one, in_flight_now, settled_failures
from skarbiec.core.errors import DomainError

Row = TypeVar("Row", bound=models.Model)


class Counter(ABC, Generic[Row]):
    """Where one secret's failed attempts are kept, how many the policy allows, and what a
    refusal, a success and a failure do. Subclasses live with the secret they count."""

    #: Name of the counted field on the row.
    field: str
    #: Failed attempts allowed before the consequence (policy).
    limit: int

    @abstractmethod
    def lock(self) -> Row:
        """The counter's row, locked for update in the current transaction."""

    def refusal(self, row: Row) -> DomainError | None:
        """Why no attempt may be made now (closed, every attempt taken), or None."""
        return None

    def counted_beside(self, row: Row) -> int:
        """Attempts being compared right now on other rows that share this row's budget (the
        operations waiting side by side for their SMS codes): each holds one of its places, as
        one in flight on the row itself does. Asked only when an attempt is counted, under the
        lock `lock()` takes; a counter that has such rows counts under it (no `open_rows`)."""
        return 0

    def refusal_once_proven(self, row: Row) -> DomainError | None:
        """A refusal told only to whoever presented the right secret, or None. A blocked Login
        is counted and answered like an unknown one ("wrong", attempts left, then blocked at
        the limit) until its own secret is presented, so the answer does not tell whether a
        Login exists (R-T3); the right secret is not left counted."""
        return None

    def closed(self, row: Row) -> bool:
        """The consequence ran (a blocked channel, a locked account): the count is kept as it
        stands, whatever the policy's limit is now. By default, any refusal told once the
        secret is proven; a counter with a proven-only refusal that is no consequence of
        failures (an expired temporary password) says so here."""
        return self.refusal_once_proven(row) is not None

    #: What `open_rows` is given: the id of the member (or other owner) of the counter's row.
    subject_id: int = 0

    @classmethod
    def open_rows(cls, subject_id: int) -> "models.QuerySet[Row] | None":
        """The counter's row as a filter that matches only while `refusal` is None: an attempt
        is then counted by one conditional UPDATE (compiled once per counter class) instead
        of a locked read and a write. None (the default) counts under the row lock."""
        return None

    @abstractmethod
    def exhausted(self, row: Row) -> DomainError:
        """The refusal once every attempt is taken (parallel attempts not yet settled)."""

    def accept(self, row: Row) -> None:
        """Right secret: give the attempt back. Subclasses may reset the count instead."""
        give_back_one(self, row)

    @abstractmethod
    def reject(self, row: Row) -> DomainError:
        """Wrong secret, the attempt stays counted: audit it, run the consequence at the limit,
        return the refusal to raise once this commits."""

    def counted(self, row: Row) -> int:
        """Attempts counted: settled failures and attempts in flight (what the limit admits)."""
        return int(getattr(row, self.field))

    def in_flight(self, row: Row) -> int:
        """Attempts counted and still being compared in parallel requests."""
        return in_flight_now(row, self.field)

    def failures(self, row: Row) -> int:
        """Settled failures: what the policy's consequence and the answers count."""
        return settled_failures(row, self.field)

    def attempts_left(self, row: Row) -> int:
        return max(self.limit - self.failures(row), 0)
