"""Entry points stop with exit 2 and one line on a bad cdk.json, whichever reads it.

Each test copies the sources into a temporary directory next to a cdk.json with one value
changed, and runs the entry point there as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_def.config import SUPPORTED_REGIONS
from tests.config.config_support import KEY, project_copy

REGION_ERROR = f"error: {KEY}.region: 'xx-moon-1' is not allowed; allowed: {', '.join(SUPPORTED_REGIONS)}"


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "CDK_CONTEXT_JSON")
    }
    environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    environ["CDK_OUTDIR"] = str(root / "cdk.out")
    return subprocess.run(
        [sys.executable, *args],
        cwd=root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def moon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sources with dev in region xx-moon-1."""
    return project_copy(tmp_path_factory.mktemp("moon"), "dev", "region", "xx-moon-1")


@pytest.fixture(scope="module")
def definition_cli(moon: Path) -> subprocess.CompletedProcess[str]:
    return run(moon, "-m", "pipeline_def", "definition", "--env", "dev")


@pytest.fixture(scope="module")
def cdk_app(moon: Path) -> subprocess.CompletedProcess[str]:
    return run(moon, "app.py")


def test_definition_cli_exits_2_on_an_unsupported_region(
    definition_cli: subprocess.CompletedProcess[str],
) -> None:
    # Given dev in xx-moon-1, When `python -m pipeline_def definition --env dev` runs
    # Then it exits 2
    assert definition_cli.returncode == 2, definition_cli.stderr[-2000:]


def test_definition_cli_names_the_region_in_one_line(
    definition_cli: subprocess.CompletedProcess[str],
) -> None:
    # Given dev in xx-moon-1, When `python -m pipeline_def definition --env dev` runs
    # Then stderr is exactly one line naming the key and the allowed regions
    assert definition_cli.stderr.splitlines() == [REGION_ERROR]


def test_definition_cli_prints_no_definition_on_an_unsupported_region(
    definition_cli: subprocess.CompletedProcess[str],
) -> None:
    # Given dev in xx-moon-1, When `python -m pipeline_def definition --env dev` runs
    # Then nothing reaches stdout (no traceback, no partial definition)
    assert definition_cli.stdout == ""


def test_cdk_app_exits_2_on_an_unsupported_region(cdk_app: subprocess.CompletedProcess[str]) -> None:
    # Given dev in xx-moon-1, When `python app.py` runs (as `cdk synth` starts it)
    # Then it exits 2
    assert cdk_app.returncode == 2, cdk_app.stderr[-2000:]


def test_cdk_app_names_the_region_in_one_line(cdk_app: subprocess.CompletedProcess[str]) -> None:
    # Given dev in xx-moon-1, When `python app.py` runs
    # Then stderr is exactly one line naming the key and the allowed regions
    assert cdk_app.stderr.splitlines() == [REGION_ERROR]


def test_definition_cli_names_an_unknown_key_in_one_line(tmp_path: Path) -> None:
    # Given dev's network block with the typo "subnetIDs"
    root = project_copy(tmp_path, "dev", "network.subnetIDs", ["subnet-0123456789abcdef0"])
    # When `python -m pipeline_def definition --env dev` runs
    result = run(root, "-m", "pipeline_def", "definition", "--env", "dev")
    # Then stderr is one line with the key path and the suggestion
    assert result.stderr.splitlines() == [
        f"error: {KEY}.network.subnetIDs: unknown key; did you mean subnetIds? "
        "allowed: securityGroupIds, subnetIds"
    ]
