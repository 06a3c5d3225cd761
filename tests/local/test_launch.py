"""A processing step runs the file its definition names, with the local engines passed in.

The job subprocess is started exactly as the local run starts it
(``pipeline_def.local.jobs.run_processing``), so these tests also cover the command line the
executor builds from a CreateProcessingJob request.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_def.local.expressions import ExecutionError
from pipeline_def.local.jobs import LocalSageMaker, run_processing
from pipeline_def.local.storage import LocalS3

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SCRIPT_URI = "s3://code/job/probe.py"
CODE_DIR = "/opt/ml/processing/input/code"
OUTPUT_DIR = "/opt/ml/processing/output"
OUTPUT_URI = "s3://out/probe"

#: Records what it was called with; takes an engine only when ``engine`` is in the signature.
PROBE = """
import json, sys
from pathlib import Path

def main(argv{engine_parameter}):
    out = Path(argv[argv.index("--out") + 1])
    out.mkdir(parents=True, exist_ok=True)
    record = {{"file": __file__, "argv": argv{engine_record}}}
    (out / "called.json").write_text(json.dumps(record))
    return int(argv[argv.index("--exit") + 1])
"""


def _probe(with_engine: bool) -> str:
    if not with_engine:
        return PROBE.format(engine_parameter="", engine_record="")
    return PROBE.format(
        engine_parameter=", engine=None",
        engine_record=', "engine": engine.name, "tables": list(engine.views)',
    )


def _request(exit_code: int = 0) -> dict:
    return {
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/probe.py"],
            "ContainerArguments": ["--out", "/opt/ml/processing/output", "--exit", str(exit_code)],
        },
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {"S3Uri": SCRIPT_URI, "LocalPath": "/opt/ml/processing/input/code"},
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {"S3Uri": OUTPUT_URI, "LocalPath": "/opt/ml/processing/output"},
                }
            ]
        },
    }


def _sagemaker(tmp_path: Path, script: str, catalog: Path | None = None) -> LocalSageMaker:
    s3 = LocalS3(tmp_path / "s3")
    target = s3.path(SCRIPT_URI)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(script, encoding="utf-8")
    return LocalSageMaker(s3=s3, jobs_dir=tmp_path / "jobs", glue_catalog=catalog)


def _called(sm: LocalSageMaker) -> dict:
    return json.loads(sm.s3.path(f"{OUTPUT_URI}/called.json").read_text(encoding="utf-8"))


def test_the_executor_runs_the_file_named_in_the_entrypoint(tmp_path: Path) -> None:
    # Given a script staged at the entrypoint's container path by the request's code input
    sm = _sagemaker(tmp_path, _probe(with_engine=False))

    # When the processing step runs
    run_processing(sm, "Probe", _request(), "exec-1")

    # Then that very file ran, with the container arguments mapped to the job's folders
    called = _called(sm)
    assert Path(called["file"]) == (tmp_path / "jobs/Probe/processing/input/code/probe.py").resolve()
    assert called["argv"][:2] == ["--out", str((tmp_path / "jobs/Probe/processing/output").resolve())]


def test_a_script_that_takes_an_engine_gets_duckdb_over_the_local_catalog(tmp_path: Path) -> None:
    # Given a catalog of one table and a script whose main takes an engine
    catalog = tmp_path / "glue_catalog.json"
    catalog.write_text(json.dumps({"db.claims": str(tmp_path / "none-yet" / "*.parquet")}))
    (tmp_path / "none-yet").mkdir()
    (tmp_path / "none-yet" / "empty.parquet").write_bytes(b"")
    sm = _sagemaker(tmp_path, _probe(with_engine=True), catalog)

    # When the step runs / Then an invalid table file surfaces as the job failing, naming the table
    with pytest.raises(ExecutionError, match=r"local table db\.claims over"):
        run_processing(sm, "Probe", _request(), "exec-1")


def test_a_script_without_an_engine_parameter_runs_without_one(tmp_path: Path) -> None:
    # Given a catalog the script does not ask for
    catalog = tmp_path / "glue_catalog.json"
    catalog.write_text("{}")
    sm = _sagemaker(tmp_path, _probe(with_engine=False), catalog)

    # When the step runs / Then the script's main was called with its arguments only
    run_processing(sm, "Probe", _request(), "exec-1")
    assert "engine" not in _called(sm)


def test_a_missing_catalog_fails_the_job_naming_the_file(tmp_path: Path) -> None:
    # Given a script that queries, and a catalog path that does not exist
    missing = tmp_path / "nowhere.json"
    sm = _sagemaker(tmp_path, _probe(with_engine=True), missing)

    # When the step runs / Then the job fails with the catalog's path in its last lines
    with pytest.raises(ExecutionError, match=r"nowhere\.json"):
        run_processing(sm, "Probe", _request(), "exec-1")


def test_the_scripts_exit_code_is_the_jobs_outcome(tmp_path: Path) -> None:
    # Given a script that returns 3
    sm = _sagemaker(tmp_path, _probe(with_engine=False))

    # When the step runs / Then the job fails with that code
    with pytest.raises(ExecutionError, match="exited with 3"):
        run_processing(sm, "Probe", _request(exit_code=3), "exec-1")


def test_a_script_with_dataclasses_loads_as_in_the_container(tmp_path: Path) -> None:
    # Given a script whose dataclasses need their module registered (postponed annotations)
    header = "from __future__ import annotations\nfrom dataclasses import dataclass\n\n\n"
    script = header + "@dataclass\nclass Box:\n    n: int\n" + _probe(with_engine=False)
    sm = _sagemaker(tmp_path, script)

    # When the step runs / Then the script ran
    run_processing(sm, "Probe", _request(), "exec-1")
    assert _called(sm)["argv"][0] == "--out"
