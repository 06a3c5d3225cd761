"""One process that imports the job scripts' libraries once and forks a fresh child for each job.

Why: a job script needs numpy, pandas, xgboost, boto3 and DuckDB, about 1.1 s of imports on two
cores, and a local run starts five to seven jobs. Started when a run starts, the host imports
them while the run prepares its data; each job is then a fork of it, so it begins with those
modules loaded and nothing else of any earlier job. The child runs exactly what
``python -m pipeline_def.local.launch ARGS`` runs, with the job's environment, working folder
and log file, and exits with the status that command would.

``python -m pipeline_def.local.job_host``: one JSON request per line on stdin, one JSON reply
per line on stdout.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import IO

#: Started in the project root, as ``python -m pipeline_def.local.launch`` was.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class JobHostError(RuntimeError):
    """The host process died (a stopped run kills it with its jobs)."""


class JobHost:
    """The parent's handle: one request at a time, replies in order."""

    _shared: JobHost | None = None

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=PROJECT_ROOT,
            text=True,
        )
        if self._process.stdin is None or self._process.stdout is None:  # both are PIPE: never
            raise JobHostError("the job host was started without its pipes")
        self._requests: IO[str] = self._process.stdin
        self._replies: IO[str] = self._process.stdout
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> JobHost:
        """This process's host, started at the first call (the command line makes it first thing)."""
        if cls._shared is None or cls._shared._process.poll() is not None:
            cls._shared = cls()
            atexit.register(cls._shared.close)
        return cls._shared

    def run(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path) -> int:
        """``python -m pipeline_def.local.launch *argv`` in a fork: its exit status."""
        request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd), "log": str(log)}
        with self._lock:
            try:
                self._requests.write(json.dumps(request) + "\n")
                self._requests.flush()
                reply = self._replies.readline()
            except BrokenPipeError as err:
                raise JobHostError("the job host has stopped") from err
        if not reply:
            raise JobHostError(f"the job host has stopped (exit {self._process.wait()})")
        return int(json.loads(reply)["returncode"])

    def close(self) -> None:
        """Stop the host: it holds nothing between jobs, so it need not unwind its imports."""
        self._process.terminate()
        self._process.wait()
        with suppress(BrokenPipeError):
            self._requests.close()
        self._replies.close()


# --- the host process ---------------------------------------------------------------------------


def _preload() -> None:
    """What the job scripts and the launcher import (DuckDB for FraudDataProcess's queries)."""
    import boto3  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import xgboost  # noqa: F401

    import pipeline_def.local.athena
    import pipeline_def.local.feature_store
    import pipeline_def.local.launch  # noqa: F401


def _exit_status(argv: list[str]) -> int:
    """What ``sys.exit(launch.main(argv))`` would exit with, its message or traceback on stderr."""
    from pipeline_def.local import launch

    try:
        code = launch.main(argv)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 - reported like an uncaught exception, then the fork exits
        traceback.print_exc()
        return 1
    return int(code or 0)


def _child(request: dict) -> None:
    """In the fork: become the job (folder, environment, log, argv), run it, exit. Never returns."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.argv = ["python -m pipeline_def.local.launch", *request["argv"]]
        status = _exit_status(request["argv"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def serve(requests: IO[str], replies: IO[str]) -> None:
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


if __name__ == "__main__":
    # Ctrl-C reaches every process of the terminal's group: the run stops the host and its job
    # itself (terminate_children), so the host must not print a KeyboardInterrupt of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _preload()
    serve(sys.stdin, sys.stdout)
