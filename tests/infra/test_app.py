"""app.py: `-c env=<name>` synthesizes that environment only; an unknown name stops with the allowed ones."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.synth_support import Synthesized

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_app(outdir: Path, context: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python app.py`` as the CDK CLI runs it: context in CDK_CONTEXT_JSON, output in CDK_OUTDIR."""
    environ = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def staging_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("staging-only")
    result = run_app(outdir, {"env": "staging"})
    assert result.returncode == 0, result.stderr[-2000:]
    return outdir


def test_named_environment_is_the_only_one_synthesized(staging_only: Path) -> None:
    assert sorted(p.name for p in staging_only.glob("assembly-*")) == ["assembly-staging"]


def test_another_process_synthesizes_the_same_stage_byte_for_byte(
    staging_only: Path, synthesized: dict[str, Synthesized]
) -> None:
    ours = digests(Path(synthesized["staging"].assembly.directory))
    theirs = digests(staging_only / "assembly-staging")
    assert ours == theirs


def test_unknown_environment_fails_with_the_allowed_names(tmp_path: Path) -> None:
    result = run_app(tmp_path, {"env": "qa"})
    assert result.returncode == 2
    assert "unknown environment 'qa'; allowed: dev, staging, prod" in result.stderr
