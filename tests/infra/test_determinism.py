"""Synth is deterministic: a second synth writes byte-identical files, asset hashes included."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline_def.config import Reader
from tests.infra.synth_support import Synthesized, synthesize_app


def tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``root`` (asset directories included)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def second_synth(
    tmp_path_factory: pytest.TempPathFactory, context: Reader, synthesized: dict[str, Synthesized]
) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.out.again")
    synthesize_app(outdir, context)
    return outdir


def test_two_synths_write_identical_files(cloud_assembly_dir: Path, second_synth: Path) -> None:
    first, second = tree(cloud_assembly_dir), tree(second_synth)
    assert sorted(first) == sorted(second)
    assert [path for path in first if first[path] != second[path]] == []
