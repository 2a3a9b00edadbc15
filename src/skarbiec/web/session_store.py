"""The Django session (web and back-office) in the database, as Django keeps it, with fewer
round trips at each step of a login (R-W1 gives the session a new key at the password step):

- a new key is not looked up before it is inserted (the insert is refused on the unique key,
  and `create()` then draws another);
- each write is one statement, committed by itself; Django wraps it in a transaction of its
  own (BEGIN, write, COMMIT). Inside a caller's transaction a savepoint still guards it;
- a session that this request already wrote with the same data (the new key's INSERT, when
  the data did not change after it) is not written again at the end of the request;
- the live session is read by a prepared shape (core/prepared.py);
- a new key for a stored session (`cycle_key`) re-keys its row in one UPDATE, so the old key
  stops working in the same statement that writes the new one;
- the old session is deleted by one statement, without reading it first.

The table holds a keyed hash of each session's key, never the key the browser sends: a copy
of the database (a backup, a replica, read access to it) opens no member's or staff member's
session, as it opens no app session (R-X9).
"""

from contextlib import nullcontext
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import get_random_string

from skarbiec.core.keys import keyed_hash
from skarbiec.core.prepared import prepared_select


def stored_key(session_key: str) -> str:
    """What the table holds for a session key: its keyed hash, cut to the column's 40
    characters (160 bits)."""
    return keyed_hash("web-session", session_key)[:40]


@prepared_select
def _live_session(session_key: str, now: datetime) -> QuerySet[Session]:
    return Session.objects.filter(session_key=session_key, expire_date__gt=now)


class SessionStore(DatabaseSessionStore):
    #: The session data this store last wrote under its current key, serialized (not encoded:
    #: the encoding is signed with the second it was made in, so the same data written in
    #: another second would not compare equal).
    _written: bytes | None = None

    def _get_new_session_key(self) -> str:
        # 32 characters of 36 (165 bits): a clash is not expected, and `create()` retries on
        # the CreateError the unique key would raise.
        return get_random_string(32, VALID_KEY_CHARS)

    def _validate_session_key(self, key: str | None) -> bool:
        # Only keys this store could have made reach the database: a forged cookie (a NUL
        # escaped in a quoted value, 4 KB of text) is no session, not a query (R-X8).
        return key is not None and 8 <= len(key) <= 40 and all(c in VALID_KEY_CHARS for c in key)

    def _get_session_from_db(self) -> Session | None:
        assert self.session_key is not None
        session = _live_session.first(session_key=stored_key(self.session_key), now=timezone.now())
        if session is None:
            self._session_key = None
        return session

    def _write(self, sql: str, params: list[Any]) -> int:
        """One statement on the session table (`{table}` in `sql`); rows changed. Alone it
        commits by itself; in a caller's transaction a savepoint keeps a refused write from
        breaking it, as Django's own store does."""
        table = connection.ops.quote_name(self.model._meta.db_table)
        guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
        with guard, connection.cursor() as cursor:
            cursor.execute(sql.format(table=table), params)
            return int(cursor.rowcount)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        plain = self._plain(data)
        if not must_create and plain == self._written:
            return
        obj = self.create_model_instance(data)
        expire_date = connection.ops.adapt_datetimefield_value(obj.expire_date)
        if must_create:
            try:
                self._write(
                    "INSERT INTO {table} (session_key, session_data, expire_date)"
                    " VALUES (%s, %s, %s)",
                    [stored_key(obj.session_key), obj.session_data, expire_date],
                )
            except IntegrityError as e:
                raise CreateError from e
        else:
            # A database error is no lost session: it goes up as what it is (a locked or
            # unreachable database answers the 503 page, R-X8), not as Django's UpdateError,
            # which the session middleware turns into a 400 "invalid data" page.
            updated = self._write(
                "UPDATE {table} SET session_data = %s, expire_date = %s WHERE session_key = %s",
                [obj.session_data, expire_date, stored_key(obj.session_key)],
            )
            if updated != 1:
                raise UpdateError  # the session was deleted meanwhile (logged out elsewhere)
        self._written = plain

    def _plain(self, data: dict[str, Any]) -> bytes:
        return bytes(self.serializer().dumps(data))

    def cycle_key(self) -> None:
        """A new key for the same data. The stored row is re-keyed in place: one statement
        where Django inserts the new key and then deletes the old one. Without a stored row
        (or when the new key clashes with another) it falls back to Django's way. A row
        deleted since this request read it (logged out in another tab) is not written back
        under a new key: the session keeps its old key, and saving it at the end of the
        request is refused as `save()` refuses it (UpdateError, SessionInterrupted)."""
        data = self._session  # type: ignore[attr-defined]
        old_key = self.session_key
        if old_key is None:
            super().cycle_key()
            return
        outcome = self._rekey(old_key, data)
        if outcome == "clash":
            super().cycle_key()
        elif outcome == "gone":
            self.modified = True

    def _rekey(self, old_key: str, data: dict[str, object]) -> str:
        """ "rekeyed", "clash" (the new key is taken) or "gone" (no row under the old key)."""
        self._session_key = self._get_new_session_key()
        obj = self.create_model_instance(data)
        try:
            rekeyed = self._write(
                "UPDATE {table} SET session_key = %s, session_data = %s, expire_date = %s"
                " WHERE session_key = %s",
                [
                    stored_key(obj.session_key),
                    obj.session_data,
                    connection.ops.adapt_datetimefield_value(obj.expire_date),
                    stored_key(old_key),
                ],
            )
        except IntegrityError:
            self._session_key = old_key
            return "clash"  # Django's way draws another
        if rekeyed != 1:
            self._session_key = old_key
            return "gone"
        self._session_cache = data
        self._written = self._plain(data)
        self.modified = True
        return "rekeyed"

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        # One statement, committed by itself: QuerySet.delete() would open a transaction.
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE session_key = %s",  # noqa: S608
                [stored_key(session_key)],
            )

    def exists(self, session_key: str) -> bool:
        return Session.objects.filter(session_key=stored_key(session_key)).exists()

    # Django's async session methods read and write the key the browser sends, past the
    # methods above. Nothing async uses the session today; any that does goes through them.
    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def aexists(self, session_key: str) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def acreate(self) -> None:
        await sync_to_async(self.create)()

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)

    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key)()
