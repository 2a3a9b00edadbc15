"""The Django session (web and back-office) in the database, as Django keeps it, with two
statements less at each login: a new key is not looked up before it is inserted (the insert
is refused on the unique key, and `create()` then draws another), and the old session is
deleted by one statement, without reading it first or opening a transaction."""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    def _get_new_session_key(self) -> str:
        # 32 characters of 36 (165 bits): a clash is not expected, and `create()` retries on
        # the CreateError the unique key would raise.
        return get_random_string(32, VALID_KEY_CHARS)

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        # One statement, committed by itself: QuerySet.delete() would open a transaction.
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE session_key = %s", [session_key])  # noqa: S608
