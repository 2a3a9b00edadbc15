"""The rows that count attempts (core/attempts.py): what each counter row holds, and the
statements that write it. Next to its counted field a row keeps `<field>_in_flight` (counted,
not yet settled) and `<field>_counted_at` (the last count); failures are the counted
attempts that settled wrong. Nothing here compares a secret."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, models
from django.db.models.functions import Greatest

from skarbiec.core import clock
from skarbiec.core.prepared import PreparedUpdate, Update

if TYPE_CHECKING:
    from skarbiec.core.counters import Counter

#: How long a counted attempt may be still in comparison. Comparisons take milliseconds (an
#: Argon2id verify tens of them); older in-flight attempts were lost (their process died, the
#: database went away before the give-back) and are given back at the next count. Longer than
#: a wrong secret's settlement can take at worst (its tries, each waiting out SQLite's 30 s
#: busy timeout behind a long write): a secret proven wrong must settle as a failure before
#: its place could be given back as lost (R-X6).
IN_FLIGHT_SECONDS = 120


def in_flight_field(field: str) -> str:
    return f"{field}_in_flight"


def counted_at_field(field: str) -> str:
    return f"{field}_counted_at"


def give_back_one(counter: "Counter[Any]", row: models.Model) -> None:
    store_count(counter, row, max(counter.counted(row) - 1, 0))


def reset_count(counter: "Counter[Any]", row: models.Model) -> None:
    """Success resets the consecutive failures, and forgets the attempts in flight: one lost
    with its process must not turn into a failure after the success (R-M5). A wrong one still
    settling meanwhile then counts nothing, as the success came between."""
    if counter.counted(row) or getattr(row, in_flight_field(counter.field)):
        setattr(row, in_flight_field(counter.field), 0)
        store_count(counter, row, 0)


def cleared_counts(row: models.Model, *fields: str) -> list[str]:
    """A count started again outside a comparison (a login completed, an unblock, a new device):
    the failures and the attempts in flight both go to zero, so no attempt lost before it can
    hide a failure after it. Returns the columns to save."""
    columns = []
    for field in fields:
        setattr(row, field, 0)
        setattr(row, in_flight_field(field), 0)
        columns += [field, in_flight_field(field)]
    return columns


def cleared_values(*fields: str) -> dict[str, int]:
    """`cleared_counts` as the values of an `update()`."""
    return {column: 0 for field in fields for column in (field, in_flight_field(field))}


def settled_failures(row: models.Model, field: str) -> int:
    """The failures a row's count holds: attempts in flight (or lost) are none."""
    return max(int(getattr(row, field)) - int(getattr(row, in_flight_field(field))), 0)


def in_flight_now(row: models.Model, field: str) -> int:
    """Attempts still being compared, unless the last count is older than IN_FLIGHT_SECONDS
    (then they were lost, and the next count gives them back)."""
    counted_at = getattr(row, counted_at_field(field))
    if counted_at is None or counted_at <= clock.now() - timedelta(seconds=IN_FLIGHT_SECONDS):
        return 0
    return int(getattr(row, in_flight_field(field)))


def settle_own(counter: "Counter[Any]", row: models.Model) -> None:
    """This request's attempt is no longer in flight (written with the count)."""
    column = in_flight_field(counter.field)
    setattr(row, column, max(int(getattr(row, column)) - 1, 0))


def give_back_lost(counter: "Counter[Any]", row: models.Model) -> None:
    """Attempts in flight since before IN_FLIGHT_SECONDS will never settle: given back."""
    column = in_flight_field(counter.field)
    lost = int(getattr(row, column)) - counter.in_flight(row)
    if lost > 0:
        setattr(row, counter.field, max(counter.counted(row) - lost, 0))
        setattr(row, column, 0)


_count_writes: dict[tuple[type, str, bool], PreparedUpdate] = {}


def held_to_a_lowered_limit(counter: "Counter[Any]", row: models.Model) -> None:
    """Failures counted under a higher limit than the policy's now (an administrator lowered
    it) count as one fewer than the new limit while the row is open: the next wrong attempt
    has the consequence and a right one succeeds. Otherwise the row would refuse every
    attempt as if blocked while nothing is blocked, which no staff action ends (R-W2, R-M5,
    R-B4); never more attempts than the limit they were counted under."""
    if counter.closed(row):
        return  # its consequence ran (a blocked web channel is counted on, R-T3)
    excess = counter.failures(row) - (counter.limit - 1)
    if excess > 0:
        store_count(counter, row, counter.counted(row) - excess)


def store_count(
    counter: "Counter[Any]", row: models.Model, value: int, counted_at: datetime | None = None
) -> None:
    """Write the count and the attempts in flight of a locked row (and the time of a new
    count): `row.save(update_fields=[...])` as one statement compiled once per model and field
    (core/prepared.py)."""
    setattr(row, counter.field, value)
    model, field = type(row), counter.field
    in_flight = in_flight_field(field)
    stamped = counted_at is not None
    write = _count_writes.get((model, field, stamped))
    if write is None:
        if stamped:

            def write_count(pk: int, value: int, in_flight_count: int, now: datetime) -> Update:
                return model._default_manager.filter(pk=pk), {
                    field: value,
                    in_flight: in_flight_count,
                    counted_at_field(field): now,
                }

        else:

            def write_count(pk: int, value: int, in_flight_count: int) -> Update:  # type: ignore[misc]
                return model._default_manager.filter(pk=pk), {
                    field: value,
                    in_flight: in_flight_count,
                }

        write_count.__name__ = f"write_{model.__name__}_{field}{'_stamped' if stamped else ''}"
        write = _count_writes.setdefault((model, field, stamped), PreparedUpdate(write_count))
    values: dict[str, Any] = {
        "pk": row.pk,
        "value": value,
        "in_flight_count": getattr(row, in_flight),
    }
    if stamped:
        setattr(row, counted_at_field(field), counted_at)
        values["now"] = counted_at
    if write.run(**values) != 1:
        raise DatabaseError(f"the counted row {model.__name__} {row.pk} is gone")


_count_statements: dict[type, PreparedUpdate | None] = {}


def count_statement(kind: "type[Counter[Any]]") -> PreparedUpdate | None:
    """The one-statement count of a counter class, or None when it has no `open_rows`."""
    if kind not in _count_statements:
        if kind.open_rows(0) is None:
            _count_statements[kind] = None
        else:
            field = kind.field
            in_flight, counted_at = in_flight_field(field), counted_at_field(field)

            def count_one(
                subject_id: int, limit: int, now: datetime, fresh_after: datetime
            ) -> Update:
                rows = kind.open_rows(subject_id)
                assert rows is not None
                # In-flight attempts older than IN_FLIGHT_SECONDS were lost: given back here
                # (`give_back_lost` in one statement).
                fresh = models.Q(**{f"{counted_at}__gt": fresh_after})
                admitted = (fresh & models.Q(**{f"{field}__lt": limit})) | (
                    ~fresh & models.Q(**{f"{field}__lt": models.F(in_flight) + limit})
                )
                return rows.filter(admitted), {
                    field: models.Case(
                        models.When(fresh, then=models.F(field) + 1),
                        default=Greatest(models.F(field) - models.F(in_flight), 0) + 1,
                    ),
                    in_flight: models.Case(
                        models.When(fresh, then=models.F(in_flight) + 1),
                        default=models.Value(1),
                    ),
                    counted_at: now,
                }

            count_one.__name__ = f"count_one_{kind.__name__}"
            _count_statements[kind] = PreparedUpdate(count_one)
    return _count_statements[kind]
