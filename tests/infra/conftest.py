"""Synthesize every environment once per session, exactly as ``app.py`` does, and share the result.

One synth of the three stages takes a few seconds on two cores (jsii start-up, CDK's
construction and cdk-nag; the definitions come from the run's definition cache); every test
reads the same cloud assembly. cdk-nag runs inside that synth, so the session fixture itself
fails if any finding is left unacknowledged.

Every test here runs on one xdist worker (``tests/conftest.py``'s scheduler): one worker
starts jsii, loads cfn-lint's rules and synthesizes, instead of both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_def.config import Reader, read_context
from tests.infra.synth_support import Synthesized, synthesize_app


@pytest.fixture(scope="session")
def context() -> Reader:
    return read_context()


@pytest.fixture(scope="session")
def cloud_assembly_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture(scope="session")
def synthesized(context: Reader, cloud_assembly_dir: Path) -> dict[str, Synthesized]:
    _, stages = synthesize_app(cloud_assembly_dir, context)
    return {
        name: Synthesized(config=stage.config, stage=stage, assembly=stage.synth(), outdir=cloud_assembly_dir)
        for name, stage in stages.items()
    }


@pytest.fixture(scope="session", params=["dev", "staging", "prod"])
def env(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    """Each environment in turn (tests using it run three times)."""
    return synthesized[request.param]


@pytest.fixture(scope="session")
def dev(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["prod"]
