"""`skarbiec run` keeps its SMS worker and plain HTTP redirect running: one that ends is started
again, at once after a long life, after doubling pauses when it keeps ending (R-O5, R-D2)."""

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from skarbiec.operations import companions
from skarbiec.operations.companions import Companion, CompanionKeeper

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
QUITTER = [sys.executable, "-c", "pass"]


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("not within the time")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def keeper_of() -> Iterator[Callable[[list[Companion]], CompanionKeeper]]:
    kept: list[CompanionKeeper] = []

    def start(found: list[Companion]) -> CompanionKeeper:
        keeper = CompanionKeeper(found, check_every=0.05)
        keeper.start()
        kept.append(keeper)
        return keeper

    yield start
    for keeper in kept:
        keeper.stop()


def test_r_o5_a_killed_companion_is_started_again(keeper_of) -> None:
    worker = Companion("the SMS worker", SLEEPER)
    keeper_of([worker])
    _until(lambda: worker.process is not None)
    assert worker.process is not None
    first = worker.process.pid
    os.kill(first, signal.SIGKILL)
    _until(lambda: worker.process is not None and worker.process.pid != first)
    assert _alive(worker.process.pid)
    assert worker.pause == 0.0 or worker.pause == companions.FIRST_PAUSE_SECONDS


def test_r_o5_one_that_keeps_ending_is_started_after_doubling_pauses(
    keeper_of, monkeypatch
) -> None:
    monkeypatch.setattr(companions, "FIRST_PAUSE_SECONDS", 0.1)
    monkeypatch.setattr(companions, "LONGEST_PAUSE_SECONDS", 0.4)
    broken = Companion("the SMS worker", QUITTER)
    starts: list[float] = []
    original = broken.start

    def counted_start() -> None:
        starts.append(time.monotonic())
        original()

    broken.start = counted_start  # type: ignore[method-assign]
    keeper_of([broken])
    _until(lambda: len(starts) >= 5)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[0] >= 0.1
    assert gaps[1] >= 0.2
    assert all(gap >= 0.4 for gap in gaps[2:4])
    assert broken.pause == 0.4  # no longer than the longest pause


def test_r_o5_one_that_ran_a_while_is_started_again_at_once(monkeypatch) -> None:
    worker = Companion("the SMS worker", SLEEPER)
    worker.started_at = time.monotonic() - companions.QUICK_END_SECONDS - 1
    worker.pause = 8.0
    worker.schedule_restart(time.monotonic())
    assert worker.pause == 0.0


def test_r_d2_stopping_the_keeper_ends_its_companions(keeper_of) -> None:
    worker = Companion("the SMS worker", SLEEPER)
    keeper = keeper_of([worker])
    _until(lambda: worker.process is not None)
    assert worker.process is not None
    pid = worker.process.pid
    keeper.stop()
    assert not _alive(pid)
    time.sleep(0.2)
    assert worker.process.pid == pid  # not started again after the stop
