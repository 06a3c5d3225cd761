"""``python -m pipeline_def.ingest`` at its default per-call timeout, to an endpoint that never answers.

That run waits out the 10 s timeout on a socket, using no CPU. The session's controller starts it
as the session starts (``tests/conftest.py``), so those 10 s pass while the workers run other
tests instead of holding one of them; the test then reads its result from a file. A test process
that finds no such run (the test file run alone, without xdist's controller having started it)
starts one itself and waits.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline_def.config import REPO_ROOT

#: Where a started run writes its result; set by the controller for the workers it starts.
RESULT_VARIABLE = "FRAUD_TESTS_SILENT_INGESTION_RESULT"
ROWS = 60
#: Credentials that sign requests, and no configuration or metadata endpoint to find others.
_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts every connection and never answers; closed afterwards."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


class SilentIngestion:
    """One run in the background: its inputs, the silent endpoint and the result, in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.result_path = folder / "result.json"
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="silent-ingestion", daemon=True)

    def start(self) -> SilentIngestion:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the run if it is still waiting (it is this object's own child), then its endpoint."""
        self._stopping.set()
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.kill()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        from tests.data.data_fixtures import write_csvs  # pandas: off the starting thread

        claims, customers = write_csvs(self.folder / "input", rows=ROWS)
        command = [sys.executable, "-m", "pipeline_def.ingest", "--env", "dev"]
        command += ["--claims", str(claims), "--customers", str(customers)]
        command += ["--rejects", str(self.folder / "rejects.jsonl")]
        environment = {**os.environ, **_ENVIRONMENT}
        environment["AWS_CONFIG_FILE"] = str(self.folder / "no-config")
        environment["AWS_SHARED_CREDENTIALS_FILE"] = str(self.folder / "no-credentials")
        with silent_endpoint() as url:
            with self._lock:
                if self._stopping.is_set():
                    return
                started = time.monotonic()
                self._process = subprocess.Popen(
                    [*command, "--endpoint-url", url],
                    cwd=REPO_ROOT,
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            stdout, stderr = self._process.communicate()
        result = Result(self._process.returncode, stdout, stderr, time.monotonic() - started)
        partial = self.result_path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(result)), encoding="utf-8")
        partial.replace(self.result_path)


def result(folder: Path, wait_seconds: float = 60.0) -> Result:
    """The run the controller started, or one started here when there is none."""
    path = os.environ.get(RESULT_VARIABLE)
    if path is not None:
        return _await(Path(path), wait_seconds)
    ingestion = SilentIngestion(folder).start()
    try:
        return _await(ingestion.result_path, wait_seconds)
    finally:
        ingestion.stop()


def _await(path: Path, wait_seconds: float) -> Result:
    """The result file's content; a run that writes none in time (or died) fails the test here."""
    deadline = time.monotonic() + wait_seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the silent-endpoint run wrote no result to {path} in {wait_seconds} s")
        time.sleep(0.05)
    return Result(**json.loads(path.read_text(encoding="utf-8")))
