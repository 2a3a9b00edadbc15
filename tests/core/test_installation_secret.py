"""The installation's secret key (R-X9): made once, whole, the owner's only."""

import stat
import threading

from skarbiec.settings import installation_secret


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
