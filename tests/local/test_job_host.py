"""The job host: each job is a fresh fork that behaves as ``python -m pipeline_def.local.launch``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_def.local.job_host import PROJECT_ROOT, JobHost, JobHostError

#: Records its folder, a variable, its argv and whether an earlier job's module is still loaded.
SCRIPT = """
import json, os, sys
from pathlib import Path

def main(argv):
    mode = argv[0]
    record = {
        "cwd": os.getcwd(),
        "variable": os.environ.get("JOB_VARIABLE"),
        "argv": argv,
        "leftover": "leftover_module" in sys.modules,
        "pid": os.getpid(),
    }
    print(json.dumps(record))
    sys.modules["leftover_module"] = sys
    if mode == "exit":
        return int(argv[1])
    if mode == "message":
        raise SystemExit("error: the job refused its input")
    if mode == "raise":
        raise RuntimeError("a bug in the job")
    return 0
"""


@pytest.fixture(scope="module")
def host() -> Iterator[JobHost]:
    host = JobHost()
    yield host
    host.close()


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "job.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def run_job(host: JobHost, script: Path, log: Path, *argv: str) -> tuple[int, str]:
    env = {**os.environ, "JOB_VARIABLE": "from the request"}
    code = host.run([str(script), *argv], env, script.parent, log)
    return code, log.read_text(encoding="utf-8")


def launched(script: Path, *argv: str) -> tuple[int, str]:
    """The same job started as its own process, the way the local run started jobs before."""
    env = {**os.environ, "JOB_VARIABLE": "from the request", "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "pipeline_def.local.launch", str(script), *argv]
    result = subprocess.run(command, cwd=script.parent, env=env, capture_output=True, text=True, check=False)
    return result.returncode, result.stdout + result.stderr


def test_a_job_runs_in_its_folder_with_its_environment_and_arguments(
    host: JobHost, script: Path, tmp_path: Path
) -> None:
    code, log = run_job(host, script, tmp_path / "job.log", "exit", "0", "--flag")
    record = json.loads(log.splitlines()[0])
    assert code == 0
    assert record["cwd"] == str(script.parent)
    assert record["variable"] == "from the request"
    assert record["argv"] == ["exit", "0", "--flag"]
    assert record["pid"] != host._process.pid


def test_each_job_starts_without_what_an_earlier_job_loaded(
    host: JobHost, script: Path, tmp_path: Path
) -> None:
    run_job(host, script, tmp_path / "first.log", "exit", "0")
    _, log = run_job(host, script, tmp_path / "second.log", "exit", "0")
    assert json.loads(log.splitlines()[0])["leftover"] is False


@pytest.mark.parametrize(
    ("argv", "expected_code", "expected_text"),
    [
        (("exit", "3"), 3, None),
        (("message",), 1, "error: the job refused its input"),
        (("raise",), 1, "RuntimeError: a bug in the job"),
    ],
)
def test_exit_status_and_messages_are_those_of_the_job_as_its_own_process(
    host: JobHost,
    script: Path,
    tmp_path: Path,
    argv: tuple[str, ...],
    expected_code: int,
    expected_text: str | None,
) -> None:
    code, log = run_job(host, script, tmp_path / "job.log", *argv)
    alone_code, alone_output = launched(script, *argv)
    assert code == alone_code == expected_code
    if expected_text is not None:
        assert expected_text in log
        assert expected_text in alone_output
    if argv[0] == "raise":
        assert "Traceback (most recent call last)" in log


def test_a_killed_host_fails_the_job_and_the_shared_host_starts_again(script: Path, tmp_path: Path) -> None:
    host = JobHost.shared()
    os.kill(host._process.pid, signal.SIGKILL)
    host._process.wait()
    with pytest.raises(JobHostError, match="the job host has stopped"):
        run_job(host, script, tmp_path / "job.log", "exit", "0")
    again = JobHost.shared()
    assert again is not host
    assert run_job(again, script, tmp_path / "again.log", "exit", "0")[0] == 0
