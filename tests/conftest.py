"""What every suite shares: one moto server for the session, and one definition cache per run.

The server is a real HTTP endpoint (moto on 127.0.0.1, a free port, as the local run serves it),
so the code under test talks to it through botocore exactly as it would talk to AWS.

The definition cache (``PIPELINE_DEF_CACHE``) is a folder of this run's, made before the xdist
workers start so they inherit it: a definition one worker rendered for a synth is read back by
the other, and no test reads or fills the project's own cache.

Under xdist, the tests of ``tests/infra/`` go to one worker as one unit, and the tests of any
other module to one worker as a unit of their own; the long units are handed out first (see
:mod:`tests.scheduling`).

The tests' ``tmp_path`` folders go to RAM (``/dev/shm``) where the machine has room there (see
:func:`ram_backed_temporary_root`); ``PYTEST_DEBUG_TEMPROOT`` set by the user is left as it is.

The one run that waits on the wall clock, ingestion at the default 10 s timeout against a silent
endpoint, starts with the session in the controller (:mod:`tests.data.silent_ingestion`): its
wait passes while the workers run other tests.
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_def.definition.cache import ENVIRONMENT_VARIABLE
from pipeline_def.exit import leave_now
from pipeline_def.local.registry import LocalCloud
from tests.data.silent_ingestion import RESULT_VARIABLE, SilentIngestion

#: How xdist's workers share the tests (units, longest first, tests/infra/ on one worker).
pytest_plugins = ("tests.scheduling",)

_CACHE_OPTION = "_definition_cache_folder"
_SILENT_INGESTION_OPTION = "_silent_ingestion"
SILENT_INGESTION_TEST = Path(__file__).resolve().parent / "data" / "test_ingest_robustness.py"
_TEMPORARY_ROOT_OPTION = "_temporary_root"
_GC_THRESHOLDS = pytest.StashKey[tuple[int, ...]]()
#: pytest's own variable for the folder under which ``tmp_path`` folders are made.
TEMPORARY_ROOT_VARIABLE = "PYTEST_DEBUG_TEMPROOT"
#: A session writes about 430 MB in some 40,000 files (synths, local runs, offline stores);
#: pytest keeps the last session's (``tmp_path_retention_count``). Room asked for: 4 GiB.
RAM_ROOT_FREE_BYTES = 4 * 2**30


def ram_backed_temporary_root(candidate: Path = Path("/dev/shm")) -> Path | None:
    """The tmpfs folder when it is there, writable, not ``noexec`` and has room; else None.

    Why: on this project's two-core machines the suite ran 0.86x as long with its files in RAM
    (127.5 s -> 109 s, paired over two runs each); the disk's file system costs showed as system
    time. A machine without such a folder keeps pytest's default, the system's temporary folder.
    """
    try:
        stats = os.statvfs(candidate)
    except OSError:
        return None
    refused = os.ST_RDONLY | getattr(os, "ST_NOEXEC", 0)
    if stats.f_flag & refused or not os.access(candidate, os.W_OK | os.X_OK):
        return None
    return candidate if stats.f_bavail * stats.f_frsize >= RAM_ROOT_FREE_BYTES else None


def _leave_without_teardown() -> None:
    """Exit an xdist worker once every other exit handler has run, skipping the interpreter's teardown.

    Why: tearing down a worker's heap (CDK, the SDK, pandas, xgboost, moto) takes about 1 s, and
    the controller waits for both workers to exit before it reports. Nothing is lost: the
    worker has sent its results and its session is finished; its standard streams are flushed
    here. ``gc.freeze`` would skip the same work, but DuckDB's bindings then report leaks.
    """
    leave_now(0)


if os.environ.get("PYTEST_XDIST_WORKER"):
    # Registered while conftest loads, before the session's own exit handlers: it runs after them.
    atexit.register(_leave_without_teardown)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller set the variables
        return
    folder = tempfile.mkdtemp(prefix="pipeline-def-cache-")
    setattr(config, _CACHE_OPTION, (folder, os.environ.get(ENVIRONMENT_VARIABLE)))
    os.environ[ENVIRONMENT_VARIABLE] = folder
    root = ram_backed_temporary_root()
    if root is not None and TEMPORARY_ROOT_VARIABLE not in os.environ:  # a root of the user's stays
        setattr(config, _TEMPORARY_ROOT_OPTION, True)
        os.environ[TEMPORARY_ROOT_VARIABLE] = str(root)
    if config.getoption("numprocesses", default=None) and _selects(config, SILENT_INGESTION_TEST):
        # xdist's workers run the tests: the wait starts now, in this otherwise idle process
        silent = SilentIngestion(Path(tempfile.mkdtemp(prefix="silent-ingestion-"))).start()
        setattr(config, _SILENT_INGESTION_OPTION, silent)
        os.environ[RESULT_VARIABLE] = str(silent.result_path)


def _selects(config: pytest.Config, test_file: Path) -> bool:
    """Whether the session's paths (its arguments, else ``testpaths``) take in ``test_file``."""
    folder = config.invocation_params.dir
    arguments = config.args or [str(config.rootpath / path) for path in config.getini("testpaths")]
    paths = [(folder / argument.split("::", 1)[0]).resolve() for argument in arguments]
    return any(test_file == path or path in test_file.parents for path in paths)


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, _TEMPORARY_ROOT_OPTION, False):
        os.environ.pop(TEMPORARY_ROOT_VARIABLE, None)
    silent = getattr(config, _SILENT_INGESTION_OPTION, None)
    if silent is not None:
        silent.stop()
        shutil.rmtree(silent.folder, ignore_errors=True)
        os.environ.pop(RESULT_VARIABLE, None)
    made = getattr(config, _CACHE_OPTION, None)
    if made is None:
        return
    folder, previous = made
    shutil.rmtree(folder, ignore_errors=True)
    if previous is None:
        os.environ.pop(ENVIRONMENT_VARIABLE, None)
    else:
        os.environ[ENVIRONMENT_VARIABLE] = previous


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with LocalCloud("us-east-1") as cloud:
        yield cloud.endpoint


#: Allocations between two youngest-generation collections, instead of Python's 700 (see below).
GC_YOUNG_THRESHOLD = 10_000


def pytest_collection_finish(session: pytest.Session) -> None:
    """Leave what collection imported out of every later garbage collection, and collect less often.

    The test processes hold the SDK, CDK, pandas and moto: each full collection walked all of
    it, over and over during the run (about 13 % of the collection time measured in
    tests/lambdas and tests/local). Objects made by the tests themselves are still collected.

    What the tests load later (service models, moto's backends, pandas' caches) still made each
    full collection cost about 0.14 s, and the workers spent 17 s of the suite's CPU in the
    collector. With 10,000 allocations between young collections instead of 700, fewer
    short-lived objects survive into the older generations: in tests/lambdas and one e2e module,
    full collections went from 32 (4.4 s) to 4 (0.3 s), and all collections from 5.2 s to 2.0 s.
    Garbage is still collected, only in larger batches.
    """
    gc.freeze()
    session.config.stash[_GC_THRESHOLDS] = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Hand them back before exit: objects still frozen then are reported as leaks by DuckDB's bindings."""
    gc.unfreeze()
    thresholds = session.config.stash.get(_GC_THRESHOLDS, None)
    if thresholds is not None:
        gc.set_threshold(*thresholds)
