"""Behind PgBouncer's transaction pooling (docs/scaling.md, R-D1), with Debian's own PgBouncer
(1.18 in Debian 12): each transaction of a client may run on another server connection, so
nothing a client leaves on one may be needed by its next transaction. Two things would be:
psycopg's prepared statements (PgBouncer follows them only from 1.21, with
`max_prepared_statements`) and the server-side cursor of a long read outside a transaction (the
history CSV; `ledger check` and `audit verify` read in one). `SKARBIEC_PREPARED_STATEMENTS=0`
and `SKARBIEC_PGBOUNCER=1` leave them out; with them, PIN logins, transfers in parallel, both
checks and the CSV work through it.

The pool hands out its server connections in turn (`server_round_robin`), and several are open
before each step, as under load: a statement that needed the previous transaction's server
connection fails at once instead of by chance.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from skarbiec.ledger.models import Account, LedgerEntry
from skarbiec.operations.benchmark.population import prepare_members
from tests.core.test_run import free_port
from tests.operations.faults import Outcome, RunningServer, logged_in_tokens, server_env
from tests.operations.test_faults import (
    assert_booked_exactly_once,
    assert_ledger_and_audit_sound,
    command,
    orders_for,
    run_orders,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
PGBOUNCER = Path("/usr/sbin/pgbouncer")
SERVER_CONNECTIONS = 4


@pytest.fixture
def pgbouncer() -> Iterator[str]:
    """PgBouncer in transaction pooling in front of the test database; its address as a
    DATABASE_URL. Run as the postgres user: PgBouncer refuses root."""
    if connection.vendor != "postgresql":
        pytest.skip("PgBouncer pools PostgreSQL connections")
    if not PGBOUNCER.exists() or shutil.which("su") is None:
        pytest.skip("PgBouncer is not installed (make test installs Debian's)")
    if os.geteuid() != 0:
        pytest.skip("starting PgBouncer as the postgres user needs root (as in CI)")
    s = connection.settings_dict
    home = Path(tempfile.mkdtemp(prefix="skarbiec-pgbouncer-"))
    port = free_port()
    (home / "users.txt").write_text(f'"{s["USER"]}" ""\n')
    (home / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {home}/users.txt\n"
        "pool_mode = transaction\nserver_round_robin = 1\n"
        f"default_pool_size = {SERVER_CONNECTIONS}\nmax_client_conn = 200\n"
        f"logfile = {home}/pgbouncer.log\npidfile = {home}/pgbouncer.pid\n"
    )
    shutil.chown(home, "postgres")
    for path in home.iterdir():
        shutil.chown(path, "postgres")
    subprocess.run(
        ["su", "postgres", "-s", "/bin/sh", "-c", f"{PGBOUNCER} -d {home}/pgbouncer.ini"],
        check=True,
        timeout=30,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, (home / "pgbouncer.log").read_text()
            time.sleep(0.1)
    try:
        yield f"postgres://{s['USER']}@127.0.0.1:{port}/{s['NAME']}"
    finally:
        pid = (
            (home / "pgbouncer.pid").read_text().strip()
            if (home / "pgbouncer.pid").exists()
            else ""
        )
        if pid:
            os.kill(int(pid), signal.SIGINT)
        shutil.rmtree(home, ignore_errors=True)


def open_every_server_connection(url: str) -> None:
    """Transactions at once on every server connection of the pool, as under load: afterwards
    the pool holds them all and gives them out in turn."""
    url = url.replace("postgres://", "postgresql://")

    def hold() -> None:
        with psycopg.connect(url, autocommit=True) as held, held.transaction():
            held.execute("SELECT pg_sleep(0.3)")

    threads = [threading.Thread(target=hold) for _ in range(SERVER_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


POOLED = {"SKARBIEC_PGBOUNCER": "1", "SKARBIEC_PREPARED_STATEMENTS": "0"}


def test_r_d1_logins_transfers_and_checks_work_through_transaction_pooling(
    tmp_path: Path, pgbouncer: str
) -> None:
    members = prepare_members(3)
    env = {"DATABASE_URL": pgbouncer, **POOLED}
    server = RunningServer(tmp_path, env_overrides=env)
    open_every_server_connection(pgbouncer)
    server.start(workers=2)
    try:
        tokens = logged_in_tokens(server, members)
        orders = orders_for(tokens, members, 60)
        outcome = Outcome()
        run_orders(server, orders, outcome, seconds=90).join()
    finally:
        server.stop()
    assert outcome.statuses[500] == 0, outcome.statuses
    assert_booked_exactly_once(orders, outcome)
    checks_env = {**server_env(tmp_path, server.port), **env}
    open_every_server_connection(pgbouncer)
    assert_ledger_and_audit_sound(checks_env)
    # The history CSV reads its entries outside a transaction of its own (a view's
    # autocommit): the read a server-side cursor would split over transactions.
    account = Account.objects.filter(member__login=members[0].login, kind="current").get()
    entries = LedgerEntry.objects.filter(account=account).count()
    assert entries >= 10
    open_every_server_connection(pgbouncer)
    script = (
        "from skarbiec.ledger.history import history_csv\n"
        "from skarbiec.ledger.models import Account\n"
        f"account = Account.objects.select_related('member').get(pk={account.pk})\n"
        "print(len(history_csv(account.member, account.pk).splitlines()))"
    )
    exported = command(checks_env, "shell", "-c", script)
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert int(exported.stdout.split()[-1]) == entries + 1  # and the header
