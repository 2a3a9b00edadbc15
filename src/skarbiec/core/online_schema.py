"""Schema changes applied while the previous version serves (docs/deploy.md, R-D5).

A plain `CREATE INDEX` holds off every write to its table until the index is built: on the audit
log or the ledger of a credit union with years of history that is minutes without logins or
orders. On PostgreSQL an index is therefore built `CONCURRENTLY` (writes go on; the migration
must not run in a transaction: `atomic = False`); SQLite, a single-file trial database, builds it
the plain way.

If a concurrent build fails (the database restarted, say), PostgreSQL leaves the index INVALID:
drop it (`DROP INDEX CONCURRENTLY <name>`) and run `migrate` again.
"""

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexOnline(AddIndexConcurrently):
    """`AddIndex` that never holds off writes on PostgreSQL."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
