"""Processes `skarbiec run` keeps beside gunicorn's workers: the SMS worker and the plain HTTP
redirect. Gunicorn starts a dead HTTP worker again; these are started again the same way, or
a killed SMS worker would leave every code in the outbox until someone noticed (R-O5, R-D2).

A process that ends soon after its start (a setting it cannot use, the database down) is
started again after a pause that doubles up to a minute, each time logged as an error, so a
broken one neither spins nor goes unnoticed.
"""

import ctypes
import logging
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

#: A process that lived shorter than this ended for a reason a restart will meet again.
QUICK_END_SECONDS = 10.0
FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 60.0


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


# Loaded here, not between fork and exec: the child of a process with threads must take no
# lock there (loading a library does).
_LIBC = _libc()


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM when the thread that started it ends, the process killed by
    # SIGKILL included. The keeper's thread lives as long as `skarbiec run`.
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pidfd(pid: int) -> int | None:
    """A descriptor of exactly this process, readable once it ended: gunicorn's master reaps
    every child of its process (`waitpid(-1)`), so the pid alone could name another one later."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


class Companion:
    """One process kept running beside the server."""

    def __init__(self, name: str, argv: Sequence[str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.pause = 0.0
        self.restart_at: float | None = None
        self._pidfd: int | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, preexec_fn=_die_with_parent)  # noqa: S603
        self.started_at = time.monotonic()
        self.restart_at = None
        self._pidfd = _pidfd(self.process.pid)

    def has_ended(self) -> bool:
        if self.process is None:
            return True
        if self._pidfd is not None:
            readable, _w, _x = select.select([self._pidfd], [], [], 0)
            return bool(readable)
        return self.process.poll() is not None

    def schedule_restart(self, now: float) -> None:
        """After an end: at once if it had run a while, else after a pause that doubles."""
        lived = now - self.started_at
        if lived < QUICK_END_SECONDS:
            self.pause = min(max(self.pause * 2, FIRST_PAUSE_SECONDS), LONGEST_PAUSE_SECONDS)
        else:
            self.pause = 0.0
        self.restart_at = now + self.pause
        code = self.process.poll() if self.process is not None else None
        log.error(
            "%s (pid %s) ended%s after %.0f s; starting it again in %.0f s",
            self.name,
            self.process.pid if self.process is not None else "-",
            f" with code {code}" if code else "",
            lived,
            self.pause,
        )
        self._close_pidfd()

    def stop(self, timeout: float = 5.0) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_pidfd()

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


class CompanionKeeper:
    """Starts the companions and, on a thread of its own, starts again each one that ended."""

    def __init__(self, companions: Sequence[Companion], check_every: float = 0.5) -> None:
        self.companions = list(companions)
        self.check_every = check_every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="companions", daemon=True)

    def start(self) -> None:
        # Started on the keeper's thread: a child dies with the thread that started it.
        self._thread.start()

    def _keep(self) -> None:
        for companion in self.companions:
            companion.start()
        while not self._stopping.wait(self.check_every):
            now = time.monotonic()
            for companion in self.companions:
                if companion.restart_at is None and companion.has_ended():
                    companion.schedule_restart(now)
                if companion.restart_at is not None and now >= companion.restart_at:
                    try:
                        companion.start()
                    except OSError:
                        log.exception("%s could not be started", companion.name)
                        companion.started_at = now
                        companion.schedule_restart(now)
        for companion in self.companions:
            companion.stop()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)
