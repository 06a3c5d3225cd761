"""Ctrl-C and SIGTERM in the local commands: every child process ends, then :class:`RunStopped`.

Standard library only, so the command line can take the signals over before it imports the
libraries of a run (about 0.7 s) while the job host starts beside it: a stop at any moment
from then on ends the host and the jobs, and leaves without a traceback.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


class RunStopped(BaseException):
    """SIGINT or SIGTERM arrived; the children are stopped.

    ``run_json`` is the run.json that says "Stopped", or None when the stop came before the run
    replaced its folder (nothing was written then).
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        self.run_json: Path | None = None
        #: Stopped while the previous run's folder was being deleted: part of it may be gone.
        self.interrupted_reset = False
        super().__init__(f"stopped by {self.signal_name}")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc; none where /proc is missing)."""
    children: dict[int, list[int]] = {}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def terminate_children() -> None:
    """SIGTERM to every process this one started (job subprocesses and anything they started)."""
    for child in reversed(descendants(os.getpid())):
        with suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGTERM)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT/SIGTERM stop the children and raise RunStopped in the main thread (nestable)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    watched = (signal.SIGINT, signal.SIGTERM)

    def stop(signum: int, _frame: object) -> None:
        for watched_signal in watched:  # a second Ctrl-C must not interrupt the clean-up
            signal.signal(watched_signal, signal.SIG_IGN)
        terminate_children()
        raise RunStopped(signum)

    previous = {s: signal.signal(s, stop) for s in watched}
    try:
        yield
    finally:
        for watched_signal, handler in previous.items():
            signal.signal(watched_signal, handler)
