"""Files holding member data are readable by their owner only (R-X9): the SQLite database and
its WAL and shared-memory files are 0600 even under a permissive umask."""

import os
import stat

import pytest
from django.db import connection, connections


@pytest.fixture
def permissive_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.django_db
def test_r_x9_new_sqlite_database_and_wal_files_are_0600(tmp_path, permissive_umask):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its files itself")
    path = tmp_path / "member-data.sqlite3"
    default = connections["default"]
    wrapper = type(default)(dict(default.settings_dict, NAME=str(path)), alias="private")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("CREATE TABLE member (pesel TEXT)")
            cursor.execute("INSERT INTO member VALUES ('90010112345')")
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        assert set(files) >= {path.name, path.name + "-wal", path.name + "-shm"}
        assert files == dict.fromkeys(files, 0o600)
    finally:
        wrapper.close()
