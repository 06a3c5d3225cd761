"""How the command lines leave (``pipeline_def.exit.exit_promptly``): what a normal exit does for
Python code still happens, and the exit code is the one ``sys.exit`` would give."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

_PROGRAM = """
import atexit, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pipeline_def.exit import exit_promptly

atexit.register(lambda: print("atexit handler ran", flush=False))
late = threading.Thread(target=lambda: (time.sleep(0.2), print("thread finished", flush=False)))
late.start()
pool = ThreadPoolExecutor(max_workers=1)
pool.submit(lambda: print("pooled task ran", flush=False))
print("buffered line", end="", flush=False)
sys.stderr.write("buffered error")
exit_promptly(None if sys.argv[1] == "none" else int(sys.argv[1]))
"""


@pytest.mark.parametrize(("given", "code"), [("none", 0), ("0", 0), ("1", 1), ("2", 2), ("130", 130)])
def test_threads_pools_and_handlers_finish_and_every_buffered_line_is_written(given: str, code: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, given],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, done.stderr
    for line in ("buffered line", "thread finished", "pooled task ran", "atexit handler ran"):
        assert line in done.stdout
    assert done.stdout.index("thread finished") < done.stdout.index("atexit handler ran")
    assert done.stderr == "buffered error"
