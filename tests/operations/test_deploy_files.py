"""The files in deploy/ and docs/deploy.md agree with the code (R-D1, R-D5), and the pages
nginx serves in the application's stead exist in every language (R-X5, R-X8)."""

import io
import json
import re
import shlex
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command, get_commands
from django.db import migrations
from django.db.migrations.loader import MigrationLoader

from tests.operations.deployment import DEPLOY, INSTALLED_SKARBIEC, REPO

DEPLOY_DOC = REPO / "docs" / "deploy.md"


def test_r_d1_nginx_body_limit_equals_the_application_limit():
    conf = (DEPLOY / "nginx" / "skarbiec.conf").read_text()
    [size, *api_sizes] = re.findall(r"^\s*client_max_body_size (\d+)k;", conf, re.M)
    assert int(size) * 1024 == settings.MAX_REQUEST_BYTES
    assert "SKARBIEC_MAX_REQUEST_BYTES" in conf  # named, so the two are changed together
    # Both API locations (the login URLs have one of their own) refuse what the API does.
    assert [int(s) * 1024 for s in api_sizes] == [settings.API_MAX_REQUEST_BYTES] * 2
    assert conf.count("API_MAX_REQUEST_BYTES") == 2


def test_r_d1_units_run_commands_that_exist():
    commands = get_commands()
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        [line] = [x for x in unit.read_text().splitlines() if x.startswith("ExecStart=")]
        argv = shlex.split(line.split("=", 1)[1])
        assert argv[0] == INSTALLED_SKARBIEC, unit.name
        assert argv[1] in commands, unit.name
        assert "EnvironmentFile=/etc/skarbiec/skarbiec.env" in unit.read_text(), unit.name


@pytest.mark.django_db
def test_r_d1_error_pages_for_nginx_in_both_languages_html_and_json(tmp_path: Path):
    call_command("errorpages", "--to", str(tmp_path), stdout=io.StringIO())
    conf = (DEPLOY / "nginx" / "skarbiec.conf").read_text()
    named = set(re.findall(r"/_edge/([a-z-]+)\.(?:html|json|\$skarbiec_edge_format);", conf))
    assert named == {"unavailable", "too-large", "rate-limited", "bad-request"}
    for name in named:
        for language in ("pl", "en"):
            page = (tmp_path / language / f"{name}.html").read_text()
            assert f'<html lang="{language}">' in page
            body = json.loads((tmp_path / language / f"{name}.json").read_text())
            assert set(body) == {"code", "message"}
    assert "chwilowo niedostępna" in (tmp_path / "pl" / "unavailable.html").read_text()
    assert json.loads((tmp_path / "en" / "too-large.json").read_text()) == {
        "code": "request_too_large",
        "message": "The data you sent is too large. Shorten it and try again.",
    }


# Data migrations read and found safe by a person: what they write the older version never reads.
REVIEWED_DATA_MIGRATIONS = {
    ("members", "0004_staff_roles"): "creates the staff groups and permissions (R-B1)",
    ("ledger", "0007_outgoing_batch_written"): "marks the batches already on disk written (R-L3)",
    ("core", "0003_rate_limit_keyed_names"): "renames rate-limit counters by a keyed hash (R-X9)",
    ("members", "0007_temporary_password_expiry"): "gives pending temporary passwords an expiry",
}


# Operations an older version keeps working through while the migration is applied: new tables
# and indexes, and new columns it may leave out of its INSERTs (nullable or with a database
# default). Anything else must be marked NOT safe in docs/deploy.md.
def _unsafe_operations(loader: MigrationLoader, key: tuple[str, str]) -> list[str]:
    migration = loader.graph.nodes[key]
    parents = [p for p in loader.graph.node_map[key].parents if p[0] == key[0]]
    state = loader.project_state(parents[0]) if parents else None
    problems = []
    created = {
        op.name_lower for op in migration.operations if isinstance(op, migrations.CreateModel)
    }
    for op in migration.operations:
        if isinstance(op, migrations.CreateModel | migrations.AddIndex):
            continue
        if isinstance(op, migrations.RunPython) and key in REVIEWED_DATA_MIGRATIONS:
            continue
        if isinstance(op, migrations.AddConstraint) and op.model_name_lower in created:
            continue  # a constraint on a table this migration creates
        if isinstance(op, migrations.AddField):
            if op.field.null or op.field.has_db_default():
                continue
            problems.append(f"AddField {op.name} NOT NULL without db_default")
        elif isinstance(op, migrations.AlterField) and state is not None:
            old = state.models[key[0], op.model_name_lower].fields[op.name].deconstruct()[3]
            new = op.field.deconstruct()[3]
            ignored = {"choices", "help_text", "verbose_name"}
            if {k: v for k, v in old.items() if k not in ignored} != {
                k: v for k, v in new.items() if k not in ignored
            }:
                problems.append(f"AlterField {op.name} changes the column")
        else:
            problems.append(type(op).__name__)
    return problems


def test_r_d5_every_migration_is_listed_in_docs_deploy_as_safe_or_not_and_rightly_so():
    doc = DEPLOY_DOC.read_text()
    listed = dict(re.findall(r"^\| `(\w+\.\d{4}_\w+)` \| (safe|NOT safe) \|", doc, re.M))
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = sorted(
        k for k in loader.graph.nodes if apps.get_app_config(k[0]).name.startswith("skarbiec.")
    )
    names = [f"{app}.{name}" for app, name in ours]
    assert sorted(listed) == names, "docs/deploy.md must list every migration"
    for app, name in ours:
        verdict = listed[f"{app}.{name}"]
        problems = _unsafe_operations(loader, (app, name))
        if verdict == "safe":
            assert not problems, f"{app}.{name} is listed as safe but has {problems}"


# Indexes added before builds were made online (their tables were new or small then).
INDEXES_BUILT_BEFORE_ONLINE_BUILDS = {
    ("audit", "0002_seal_chains_after_commit"),
    ("channels", "0002_mobilechannel_pending_password_hash_and_more"),
    ("ledger", "0001_initial"),
    ("otp", "0003_confirmations"),
    ("otp", "0007_sms_created_at_index"),
}


def test_r_d5_new_indexes_are_built_without_holding_off_writes():
    """A plain CREATE INDEX stops every INSERT into its table until it is built (every login
    writes an audit event): a new index is AddIndexOnline, CONCURRENTLY on PostgreSQL."""
    from skarbiec.core.online_schema import AddIndexOnline

    loader = MigrationLoader(None, ignore_no_migrations=True)
    for key, migration in loader.disk_migrations.items():
        if not apps.get_app_config(key[0]).name.startswith("skarbiec."):
            continue
        plain = [
            op
            for op in migration.operations
            if isinstance(op, migrations.AddIndex) and not isinstance(op, AddIndexOnline)
        ]
        if key not in INDEXES_BUILT_BEFORE_ONLINE_BUILDS:
            assert not plain, f"{key}: build the index with AddIndexOnline"
        if any(isinstance(op, AddIndexOnline) for op in migration.operations):
            assert migration.atomic is False, f"{key}: an online build runs outside a transaction"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("2001:db8:1:2:a:b:c:d", "2001:db8:1:2"),  # the same /64 ...
        ("2001:db8:1:2::1", "2001:db8:1:2"),  # ... written short
        ("2001:db8:1:3:a:b:c:d", "2001:db8:1:3"),  # the next /64 is another client
        ("2001:db8:1::5:6:7", "2001:db8:1:0"),  # "::" inside the network part
        ("2001:db8::1:2:3:4", "2001:db8:0:0"),
        ("2001::1:2:3:4", "2001:0:0:0"),
        ("2001:db8:0:0:1::", "2001:db8:0:0"),  # zeros compressed in the host part only
        ("fe80::1", "fe80:0:0:0"),
    ],
)
def test_r_d1_nginx_flood_limit_counts_an_ipv6_client_by_its_64(tmp_path: Path, address, key):
    """The shipped map, run by Debian's nginx on an address given in a header: every form
    nginx writes an IPv6 address in gives its /64 network; an IPv4 address counts alone."""
    import shutil
    import subprocess
    import time

    import httpx

    from tests.core.test_run import free_port

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("Debian's nginx is not installed (make test installs it)")
    conf = (DEPLOY / "nginx" / "skarbiec.conf").read_text()
    [block] = re.findall(r"^map \$remote_addr \$skarbiec_flood_key \{.*?^\}", conf, re.M | re.S)
    assert re.search(r"^limit_req_zone \$skarbiec_flood_key ", conf, re.M)
    port = free_port()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        "http {\n    access_log off;\n"
        + block.replace("$remote_addr", "$http_x_client_address")
        + f"\n    server {{ listen 127.0.0.1:{port};\n"
        '        location / { return 200 "key=$skarbiec_flood_key"; } }\n}\n'
    )
    subprocess.run([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], check=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/", headers={"X-Client-Address": address}
                )
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert answer.text == f"key={key}"
        ipv4 = httpx.get(f"http://127.0.0.1:{port}/", headers={"X-Client-Address": "192.0.2.7"})
        assert ipv4.content == b"key=\x7f\x00\x00\x01"  # the binary address nginx saw
    finally:
        subprocess.run(
            [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-s", "stop"]
        )
