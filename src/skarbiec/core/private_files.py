"""Files holding member data are readable by their owner only (R-X9).

The SQLite database is created by SQLite with the process umask (usually world-readable); this
makes it and its WAL and shared-memory files 0600 whenever a connection opens. SQLite creates
later WAL and SHM files with the database file's mode, so they stay private too. Keys are
written 0600 where they are created (settings.py, core/tls.py).
"""

import os
import stat
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

PRIVATE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_private(path: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, PRIVATE)


def make_sqlite_files_private(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"] or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return  # in memory: no file
    for suffix in SQLITE_COMPANIONS:
        make_private(name + suffix)
