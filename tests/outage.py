"""The database becoming unreachable and coming back, for real: the connection is pointed at a
closed port (PostgreSQL) or an unreadable path (SQLite), as when the server is down. Needs a
transactional test: the test's own connection is closed."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def database_unreachable() -> Iterator[None]:
    saved = dict(connection.settings_dict)
    # A bound socket that never listens: connecting to it is refused at once, and no other
    # process can take the port while the outage lasts.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    try:
        connection.close()
        if connection.vendor == "postgresql":
            connection.settings_dict["HOST"] = "127.0.0.1"
            connection.settings_dict["PORT"] = str(closed.getsockname()[1])
        else:
            connection.settings_dict["NAME"] = "/nonexistent/skarbiec/database.sqlite3"
        yield
    finally:
        closed.close()
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
