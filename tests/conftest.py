"""What every suite shares: one moto server for the session, and one definition cache per run.

The server is a real HTTP endpoint (moto on 127.0.0.1, a free port, as the local run serves it),
so the code under test talks to it through botocore exactly as it would talk to AWS.

The definition cache (``PIPELINE_DEF_CACHE``) is a folder of this run's, made before the xdist
workers start so they inherit it: a definition one worker rendered for a synth is read back by
the other, and no test reads or fills the project's own cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from pipeline_def.definition.cache import ENVIRONMENT_VARIABLE
from pipeline_def.local.registry import LocalCloud

_CACHE_OPTION = "_definition_cache_folder"


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller set the variable
        return
    folder = tempfile.mkdtemp(prefix="pipeline-def-cache-")
    setattr(config, _CACHE_OPTION, (folder, os.environ.get(ENVIRONMENT_VARIABLE)))
    os.environ[ENVIRONMENT_VARIABLE] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
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
