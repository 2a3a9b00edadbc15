"""Argon2id runs (skarbiec.core.password_hashing): on one thread per process (SPEC §11 P4)."""

import os
import subprocess
import sys
import threading

import argon2
import pytest
from argon2.exceptions import VerifyMismatchError

from skarbiec.core.password_hashing import argon2_hasher, hash_password


def test_every_argon2_run_of_a_process_happens_on_its_one_argon2_thread(monkeypatch):
    seen: set[str] = set()
    real = argon2.PasswordHasher.verify

    def recording(self, stored, password):
        seen.add(threading.current_thread().name)
        return real(self, stored, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", recording)
    stored = hash_password("Start#2024pl")
    results: list[bool] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(argon2_hasher().verify(stored, "Start#2024pl"))
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4
    with pytest.raises(VerifyMismatchError):
        argon2_hasher().verify(stored, "Start#2024pL")
    assert len(seen) == 1 and seen.pop().startswith("argon2")


# Eight request threads verify at once, three times each, in a fresh process (its own malloc
# arenas); prints how much the resident size grew, in MiB.
PARALLEL_VERIFIES = """
import threading
import django
django.setup()
from skarbiec.core.password_hashing import argon2_hasher, hash_password

def rss_mib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

stored = hash_password("Start#2024pl")
before = rss_mib()

def work():
    for _ in range(3):
        argon2_hasher().verify(stored, "Start#2024pl")

threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(round(rss_mib() - before))
"""


def test_p4_parallel_verifies_keep_one_argon2_block_per_process(tmp_path):
    """Run from each request thread, every thread's arena kept a 19 MiB block (a worker grew
    by 19 MiB per thread); on the one Argon2 thread a process keeps one."""
    env = {**os.environ, "SKARBIEC_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", PARALLEL_VERIFIES],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    growth_mib = int(done.stdout.split()[-1])
    assert growth_mib < 2 * 19, growth_mib


def test_a_forked_process_makes_its_own_argon2_thread(tmp_path):
    """The thread of the process that forked does not exist in the child (gunicorn forks its
    workers, the benchmark its clients): the child must not wait for it forever."""
    hash_password("warm the parent's Argon2 thread")
    pid = os.fork()
    if pid == 0:  # the child
        try:
            ok = argon2_hasher().verify(hash_password("x"), "x")
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    deadline_s = 20
    for _ in range(deadline_s * 10):
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        threading.Event().wait(0.1)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child never got its Argon2 run done")
