"""Tests of a data migration: the database is taken back to the state before it, the test
writes rows as the earlier version did, migrates forward, and the database always ends at the
latest state, whatever the test found (later tests on the worker read the whole schema)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

Node = tuple[str, str]


@contextmanager
def migrated_back_to(before: Node) -> Iterator[Apps]:
    """The models as they were at `before` (for writing old rows); the latest schema after."""
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([before])
        yield executor.loader.project_state([before]).apps
    finally:
        latest = MigrationExecutor(connection)
        latest.migrate(latest.loader.graph.leaf_nodes())


def migrate_to(node: Node) -> None:
    MigrationExecutor(connection).migrate([node])
