"""The installation's secret key (R-X9): made once, whole, the owner's only."""

import os
import stat
import subprocess
import sys
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured

from skarbiec.settings import checked_secret_key, installation_secret


def test_r_x9_processes_starting_together_share_one_whole_key(tmp_path):
    path = tmp_path / "secret_key"
    keys: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(16)

    def start_process() -> None:
        start.wait()
        try:
            keys.append(installation_secret(path))
        except BaseException as e:  # noqa: BLE001 - the test reports every failure
            failures.append(e)

    threads = [threading.Thread(target=start_process) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert len(set(keys)) == 1 and len(keys[0]) >= 50
    assert path.read_text().strip() == keys[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Nothing left beside it but the lock.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".secret_key.lock", "secret_key"]


def test_r_x9_an_empty_key_left_by_a_killed_start_is_replaced_and_then_kept(tmp_path):
    path = tmp_path / "secret_key"
    path.touch(mode=0o600)
    key = installation_secret(path)
    assert len(key) >= 50
    assert installation_secret(path) == key


def test_r_x9_a_key_file_restored_readable_by_others_is_made_the_owners_only(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("k" * 20 + "restored-by-cp-without-p" + "x" * 20)
    path.chmod(0o644)
    assert installation_secret(path).startswith("kkkk")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "key",
    [
        "CHANGE-openssl-rand-base64-48",  # deploy/skarbiec.env's placeholder
        "CHANGE-" + "q" * 60,
        "short-key",
        "a" * 64,
        "abababababababababababababababababababababab",
    ],
)
def test_r_x9_a_placeholder_or_weak_secret_key_is_refused(key):
    with pytest.raises(ImproperlyConfigured, match="openssl rand -base64 48"):
        checked_secret_key(key)


def test_r_x9_a_real_secret_key_is_taken_and_skarbiec_refuses_to_start_with_the_placeholder():
    good = "Zk3v9XqL0pR7sT2uW5yB8dF1hJ4mN6cA-_eGiKoQ"
    assert checked_secret_key(good) == good
    env = {**os.environ, "SKARBIEC_SECRET_KEY": "CHANGE-openssl-rand-base64-48"}
    started = subprocess.run(
        [sys.executable, "-m", "skarbiec", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "SKARBIEC_SECRET_KEY is a placeholder or too weak" in started.stderr
