"""The cdk.json context, read once for the config tests."""

from __future__ import annotations

import pytest

from pipeline_def.config import Reader, read_context


@pytest.fixture(scope="session")
def context() -> Reader:
    return read_context()
