"""Query shapes built and compiled once, run many times with new values.

Django builds and compiles a queryset on every call: a `select_related` lookup of a session
with its member, credit union and device costs about 1 ms of Python, against 0.1 ms for the
round trip itself. The request paths every member takes (an authenticated API call, a PIN
login) run the same few shapes thousands of times an hour, so those are declared once here:

    @prepared_select
    def session_by_token_hash(token_hash: str) -> QuerySet[MobileSession]:
        return MobileSession.objects.select_related("member").filter(token_hash=token_hash)

    session = session_by_token_hash.first(token_hash=digest)

The function is called once per thread and database with stand-in values; the SQL it
compiles to is kept with the place of each value among its parameters, and each call only
binds the new values and runs the statement through Django's cursor (so transactions, query
logging and error mapping stay Django's). Rows become model instances exactly as Django's
own iterator makes them (`select_related` included). A shape whose values Django transforms
(`__contains`, a list for `__in`) is refused when it is first compiled; so is a SQL text that
would depend on the values.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, get_type_hints

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import signals
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql import InsertQuery, UpdateQuery
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=models.Model)

Update = tuple[models.QuerySet[Any], dict[str, Any]]


def _stand_in(kind: type, index: int, generation: int) -> Any:
    """A value of `kind` that no constant of a query shape will equal."""
    if kind is str:
        return f"\x00prepared:{generation}:{index}\x00"
    if kind is int:
        # Within a smallint's range: Django drops a comparison with a value out of the
        # column's range from the SQL (the second compile would catch it, as a refusal).
        return 30_000 + 1000 * generation + index
    if kind is datetime:
        return datetime(1901, 2, 3, 4, 5, 6, 1000 * generation + index, tzinfo=UTC)
    raise TypeError(f"a prepared query takes str, int or datetime values, not {kind!r}")


@dataclass(frozen=True)
class _Slot:
    """Where a value goes among the compiled parameters, and how it is adapted."""

    position: int
    name: str
    adapt: Callable[[Any], Any] | None


@dataclass
class _Compiled:
    sql: str
    params: list[Any]
    slots: list[_Slot]
    compiler: Any
    for_update: bool = False
    converters: Any = None
    init_list: list[str] | None = None
    fields: tuple[int, int] = (0, 0)
    populators: Any = None

    def bind(self, values: dict[str, Any]) -> list[Any]:
        params = list(self.params)
        for slot in self.slots:
            value = values[slot.name]
            params[slot.position] = slot.adapt(value) if slot.adapt else value
        return params


class _Prepared:
    def __init__(self, build: Callable[..., Any]) -> None:
        self._build = build
        hints = get_type_hints(build)
        self._kinds = {name: kind for name, kind in hints.items() if name != "return"}
        for kind in self._kinds.values():
            _stand_in(kind, 0, 0)  # refuses a kind it cannot stand in for, when declared
        self._local = threading.local()
        self.__name__ = getattr(build, "__name__", "prepared")
        self.__doc__ = build.__doc__

    def _compile_once(self, alias: str, values: dict[str, Any]) -> tuple[str, list[Any], Any, Any]:
        """(sql, params, compiler, query) of the shape built with `values`."""
        raise NotImplementedError

    def _compiled(self, alias: str) -> _Compiled:
        cache: dict[str, _Compiled] | None = getattr(self._local, "by_alias", None)
        if cache is None:
            cache = self._local.by_alias = {}
        found = cache.get(alias)
        if found is None:
            found = cache[alias] = self._compile(alias)
        return found

    def _stand_ins(self, generation: int) -> dict[str, Any]:
        return {
            name: _stand_in(kind, index, generation)
            for index, (name, kind) in enumerate(self._kinds.items())
        }

    def _compile(self, alias: str) -> _Compiled:
        connection = connections[alias]
        first, second = self._stand_ins(1), self._stand_ins(2)
        sql, params, compiler, query = self._compile_once(alias, first)
        sql_again, params_again, _c, _q = self._compile_once(alias, second)
        if sql != sql_again or len(params) != len(params_again):
            raise TypeError(f"{self.__name__}: its SQL depends on the values")
        adapters: dict[str, Callable[[Any], Any] | None] = {}
        slots = []
        for position, (param, param_again) in enumerate(zip(params, params_again, strict=True)):
            found = self._slot_of(param, first, connection, adapters)
            again = self._slot_of(param_again, second, connection, adapters)
            if found != again:
                raise TypeError(f"{self.__name__}: parameter {position} is not a plain value")
            if found is not None:
                slots.append(_Slot(position, found, adapters[found]))
        missing = set(self._kinds) - {slot.name for slot in slots}
        if missing:
            raise TypeError(f"{self.__name__}: Django transforms {sorted(missing)}")
        return _Compiled(
            sql=sql,
            params=list(params),
            slots=slots,
            compiler=compiler,
            for_update=bool(getattr(query, "select_for_update", False)),
        )

    @staticmethod
    def _slot_of(
        param: Any,
        stand_ins: dict[str, Any],
        connection: Any,
        adapters: dict[str, Callable[[Any], Any] | None],
    ) -> str | None:
        for name, value in stand_ins.items():
            if isinstance(param, type(value)) and param == value:
                # The backend's own wrapper of the type (psycopg's Int8 for a bigint column).
                adapters.setdefault(name, None if type(param) is type(value) else type(param))
                return name
            if isinstance(value, datetime):
                adapt = connection.ops.adapt_datetimefield_value
                if param == adapt(value):
                    adapters.setdefault(name, adapt)
                    return name
        return None

    def _check_values(self, values: dict[str, Any]) -> None:
        """The ORM would coerce or refuse what a raw statement cannot take (a bool, a number
        beyond a bigint): such a value is a programming error here, the edges bound input."""
        if values.keys() != self._kinds.keys():
            raise TypeError(f"{self.__name__} takes {sorted(self._kinds)}, got {sorted(values)}")
        for name, kind in self._kinds.items():
            value = values[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise TypeError(f"{self.__name__}: {name} must be {kind.__name__}")
            if kind is int and not -(2**63) <= value < 2**63:
                raise TypeError(f"{self.__name__}: {name} is beyond a bigint")


class _PreparedQuerySet(_Prepared):
    """A shape built as a `QuerySet` whose rows come as `rows` makes them."""

    #: The QuerySet's iterable class the shape must have, and its name in a refusal.
    rows: type
    rows_named: str

    def _compile_once(self, alias: str, values: dict[str, Any]) -> tuple[str, list[Any], Any, Any]:
        queryset = self._build(**values)
        if queryset._iterable_class is not self.rows or queryset._prefetch_related_lookups:
            raise TypeError(f"{self.__name__}: only {self.rows_named} querysets are prepared")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        return sql, list(params), compiler, queryset.query

    @staticmethod
    def _converters(compiler: Any) -> Any:
        return compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])


class PreparedSelect(_PreparedQuerySet, Generic[M]):
    """A `QuerySet` shape of model instances (see the module docstring)."""

    rows = ModelIterable
    rows_named = "plain model"

    def _compile(self, alias: str) -> _Compiled:
        compiled = super()._compile(alias)
        compiler = compiled.compiler
        select, klass_info = compiler.select, compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        compiled.fields = (start, end)
        compiled.init_list = [f[0].target.attname for f in select[start:end]]
        # Django 5.2's signature (the stubs already describe 6.0's, which adds fetch_mode).
        compiled.populators = get_related_populators(klass_info, select, alias)  # type: ignore[call-arg]
        compiled.converters = self._converters(compiler)
        return compiled

    def all(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[M]:
        self._check_values(values)
        compiled = self._compiled(using)
        connection = connections[using]
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, compiled.bind(values))
            rows = cursor.fetchall()
        compiler = compiled.compiler
        if compiled.converters:
            rows = list(compiler.apply_converters(rows, compiled.converters))
        model = compiler.klass_info["model"]
        start, end = compiled.fields
        found = []
        for row in rows:
            obj = model.from_db(using, compiled.init_list, row[start:end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            found.append(obj)
        return found

    def get(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> M:
        """The one row of a unique lookup; the model's DoesNotExist without it, as `get()`."""
        found = self.first(using, **values)
        if found is None:
            model = self._compiled(using).compiler.klass_info["model"]
            raise model.DoesNotExist()
        return found

    def first(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> M | None:
        """The one row of a unique lookup, or None."""
        rows = self.all(using, **values)
        if len(rows) > 1:
            raise TypeError(f"{self.__name__} found {len(rows)} rows for a unique lookup")
        return rows[0] if rows else None


class PreparedRows(_PreparedQuerySet):
    """A `values_list()` shape (sums, counts, single columns): rows as tuples, converted as
    the ORM converts them."""

    rows = ValuesListIterable
    rows_named = "values_list() (tuples)"

    def _compile(self, alias: str) -> _Compiled:
        compiled = super()._compile(alias)
        compiled.converters = self._converters(compiled.compiler)
        return compiled

    def all(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        self._check_values(values)
        compiled = self._compiled(using)
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, compiled.bind(values))
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        return [tuple(row) for row in rows]


class PreparedUpdate(_Prepared):
    """An `UPDATE` shape: the function returns the queryset and the values to set."""

    def _compile_once(self, alias: str, values: dict[str, Any]) -> tuple[str, list[Any], Any, Any]:
        queryset, changes = self._build(**values)
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(changes)
        query.annotations = {}
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if query.related_updates:
            raise TypeError(f"{self.__name__}: an update of several tables is not prepared")
        return sql, list(params), compiler, query

    def run(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> int:
        """Rows changed."""
        self._check_values(values)
        compiled = self._compiled(using)
        with (
            transaction.mark_for_rollback_on_error(using=using),
            connections[using].cursor() as cursor,
        ):
            cursor.execute(compiled.sql, compiled.bind(values))
            return int(cursor.rowcount)


class _CompiledInsert:
    def __init__(self, model: type[models.Model], alias: str, sample: models.Model) -> None:
        meta = model._meta
        # A database default kept only for an older version's inserts (a Python default too)
        # is always sent, so the row needs nothing back from the database but its key.
        returned = [f for f in meta.db_returning_fields if f is not meta.pk]
        if meta.parents or meta.pk not in meta.db_returning_fields:
            raise TypeError(f"{model.__name__}: only single-table rows with a returned pk")
        if any(not f.has_default() for f in returned):
            raise TypeError(f"{model.__name__}: a value only the database knows")
        if signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model):
            raise TypeError(f"{model.__name__}: save signals would be skipped")
        if model.save is not models.Model.save and not getattr(
            model, "save_refuses_only_updates", False
        ):
            # A model's own save() may hold a rule (the ledger's balanced transactions).
            raise TypeError(f"{model.__name__}: its own save() would be skipped")
        connection = connections[alias]
        self.fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        if any(hasattr(f, "get_placeholder") for f in self.fields):
            raise TypeError(f"{model.__name__}: a field with its own placeholder")
        query = InsertQuery(model)
        query.insert_values(self.fields, [sample], raw=False)
        compiler = query.get_compiler(using=alias)
        self.returning = connection.features.can_return_columns_from_insert
        if self.returning:
            compiler.returning_fields = [meta.pk]
        [(self.sql, _params)] = compiler.as_sql()
        self.table, self.pk_column = meta.db_table, str(meta.pk.column)


_inserts = threading.local()


def insert_new(obj: M, using: str = DEFAULT_DB_ALIAS) -> M:
    """`obj.save()` of a new row with its INSERT compiled once per model, thread and database:
    each field still converts its value as in `save()` (`pre_save`, `get_db_prep_save`), but
    `save()` itself and its signals do not run: a model with save listeners is refused, and
    so is one with its own `save()` unless it declares `save_refuses_only_updates` (a new row
    passes its rule anyway)."""
    model = type(obj)
    cache: dict[tuple[type, str], _CompiledInsert] | None = getattr(_inserts, "cache", None)
    if cache is None:
        cache = _inserts.cache = {}
    compiled = cache.get((model, using))
    if compiled is None:
        compiled = cache[(model, using)] = _CompiledInsert(model, using, obj)
    connection = connections[using]
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in compiled.fields]
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        if compiled.returning:
            pk = cursor.fetchone()[0]
        else:
            pk = connection.ops.last_insert_id(cursor, compiled.table, compiled.pk_column)
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using
    return obj


def prepared_select(build: Callable[..., "models.QuerySet[M]"]) -> PreparedSelect[M]:
    return PreparedSelect(build)


def prepared_rows(build: Callable[..., "models.QuerySet[Any]"]) -> PreparedRows:
    return PreparedRows(build)


def prepared_update(build: Callable[..., Update]) -> PreparedUpdate:
    return PreparedUpdate(build)
