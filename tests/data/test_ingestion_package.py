"""The ingestion job's package: exactly what the job imports, and runnable on the image's Python.

The stack ships ``ingestion_package()`` to S3 and the job runs with only that on ``PYTHONPATH``;
a module missing from the list would pass every in-repo test and fail in SageMaker. So the job
runs here from a copy of exactly those files, in a fresh interpreter that cannot see the repo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_def import schema
from pipeline_def.definition.render import (
    INGESTION_PACKAGE_FILES,
    ingestion_package,
    package_digest,
    package_key_prefix,
)
from pipeline_def.names import INGESTION_JOB, INGESTION_PACKAGE_FOLDER
from tests.data.data_fixtures import write_raw_csvs


def _unpack(folder: Path) -> Path:
    for relative, content in ingestion_package().items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return folder


def test_the_job_runs_from_a_copy_of_its_package_alone(tmp_path: Path) -> None:
    # Given the package unpacked as the processing input does, and a landed raw file
    package = _unpack(tmp_path / "package")
    landed = tmp_path / "landed"
    write_raw_csvs(landed)
    # When the entry file runs with only the package on PYTHONPATH, from another folder
    env = {**os.environ, "PYTHONPATH": str(package)}
    command = [sys.executable, str(package / INGESTION_JOB), "validate"]
    command += ["--source-uri", "s3://b/incoming/claims/claims.csv", "--group", "claims"]
    command += ["--input", str(landed), "--landed-at", "now", "--parts", "2"]
    for name in ("parts", "report", "rejected"):
        command += [f"--{name}-out", str(tmp_path / name)]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    # Then it validates and writes the parts: every module it imports was shipped
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "report" / "report.json").read_text())["status"] == "valid"
    assert len(list((tmp_path / "parts").glob("*.csv"))) == 2


def test_the_package_holds_the_listed_files_and_the_encoding_twin() -> None:
    files = ingestion_package()
    assert set(files) == {*INGESTION_PACKAGE_FILES, "pipeline_def/encoding.json"}
    assert INGESTION_JOB in files


def test_the_package_digest_is_stable_and_follows_any_byte() -> None:
    files = ingestion_package()
    assert package_digest(files) == package_digest(ingestion_package())
    changed = {**files, INGESTION_JOB: files[INGESTION_JOB] + b"\n"}
    assert package_digest(changed) != package_digest(files)
    assert package_key_prefix("abc") == f"fraud-detection/{INGESTION_PACKAGE_FOLDER}/abc"


# --- the encoding on Python 3.10 (no tomllib): the twin, only when it is of these bytes ----------


def test_without_tomllib_the_twin_gives_the_same_encoding(tmp_path: Path, monkeypatch) -> None:
    twin = tmp_path / "encoding.json"
    twin.write_text(schema.encoding_twin())
    monkeypatch.setattr(schema, "tomllib", None)
    monkeypatch.setattr(schema, "ENCODING_TWIN_FILE", twin)
    assert schema._load_encoding() == schema._ENCODING


def test_a_twin_of_another_encoding_is_refused(tmp_path: Path, monkeypatch) -> None:
    document = json.loads(schema.encoding_twin())
    document["sha256"] = "0" * 64
    twin = tmp_path / "encoding.json"
    twin.write_text(json.dumps(document))
    monkeypatch.setattr(schema, "tomllib", None)
    monkeypatch.setattr(schema, "ENCODING_TWIN_FILE", twin)
    with pytest.raises(ValueError, match=r"was not made from this encoding\.toml"):
        schema._load_encoding()


def test_the_3_10_str_enum_formats_members_as_3_11s_does() -> None:
    kind = schema.ValueStrEnum("Kind", {"RAW": "raw"})
    assert str(kind.RAW) == "raw"
    assert f"{kind.RAW}|{kind.RAW:>5}" == "raw|  raw"
    assert kind.RAW == "raw"
