"""The ingestion pipeline: a file landed under incoming/<group>/ into its feature group.

Validate on one instance, then either PutRecord sharded over IngestInstanceCount instances or
the rejected file's quarantine and a Fail step that says why; the job's package on PYTHONPATH.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_def import names as n
from pipeline_def.config import load_environment, read_context
from pipeline_def.definition.checks import check_definition
from pipeline_def.definition.render import (
    VARIABLES,
    fill,
    package_digest,
    package_key_prefix,
    render_ingestion,
    variables_in,
)
from tests.definition.definition_support import find_step, flag_value

LOCAL_VALUES = {
    "PipelineRoleArn": "arn:aws:iam::123456789012:role/ingestion",
    "ArtifactBucket": "artifacts",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc",
    "ArtifactKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/artifacts",
}
PACKAGE = "/opt/ml/processing/input/package"


@pytest.fixture(scope="module")
def config():
    return load_environment(read_context(), "staging")


@pytest.fixture(scope="module")
def template(config) -> str:
    return render_ingestion(config.pipeline, config.ingestion)


@pytest.fixture(scope="module")
def definition(template: str) -> dict:
    return json.loads(fill(template, LOCAL_VALUES))


def _inputs(step: dict) -> dict[str, dict]:
    return {i["InputName"]: i["S3Input"] for i in step["Arguments"]["ProcessingInputs"]}


def _parameter(definition: dict, name: str) -> dict:
    return next(p for p in definition["Parameters"] if p["Name"] == name)


def test_validate_then_put_or_quarantine_and_fail(definition: dict) -> None:
    assert [s["Name"] for s in definition["Steps"]] == [n.STEP_INGEST_VALIDATE, n.STEP_INGEST_CHECK]
    check = find_step(definition, n.STEP_INGEST_CHECK)["Arguments"]
    assert [s["Name"] for s in check["IfSteps"]] == [n.STEP_INGEST_PUT]
    assert [s["Name"] for s in check["ElseSteps"]] == [n.STEP_INGEST_QUARANTINE, n.STEP_INGEST_REJECTED]


def test_the_branch_is_taken_on_the_reports_status(definition: dict) -> None:
    (condition,) = find_step(definition, n.STEP_INGEST_CHECK)["Arguments"]["Conditions"]
    assert condition["Type"] == "Equals"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "status"
    assert condition["RightValue"] == n.INGEST_STATUS_VALID


def test_the_fail_step_runs_after_the_quarantine_and_names_the_file(definition: dict) -> None:
    fail = find_step(definition, n.STEP_INGEST_REJECTED)
    assert fail["DependsOn"] == [n.STEP_INGEST_QUARANTINE]
    message = json.dumps(fail["Arguments"]["ErrorMessage"])
    assert "Parameters.InputKey" in message
    assert "error_count" in message


def test_the_event_supplies_bucket_key_time_and_group(definition: dict) -> None:
    for name in ("InputBucket", "InputKey"):
        assert "DefaultValue" not in _parameter(definition, name)  # a run without them cannot start
    assert _parameter(definition, "FeatureGroup")["EnumValues"] == ["claims", "customers"]
    assert _parameter(definition, "LandedAt")["DefaultValue"] == "now"


def test_validate_reads_exactly_the_landed_object(definition: dict) -> None:
    landed = _inputs(find_step(definition, n.STEP_INGEST_VALIDATE))["landed"]
    assert landed["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": ["s3:/", {"Get": "Parameters.InputBucket"}, {"Get": "Parameters.InputKey"}],
        }
    }


def test_validate_runs_on_one_instance_and_parts_for_every_put_instance(definition: dict) -> None:
    validate = find_step(definition, n.STEP_INGEST_VALIDATE)
    assert validate["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert "Parameters.IngestInstanceCount" in json.dumps(flag_value(validate, "--parts"))


def test_put_shards_the_parts_over_its_instances(config, definition: dict) -> None:
    put = find_step(definition, n.STEP_INGEST_PUT)
    cluster = put["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceCount"] == {"Get": "Parameters.IngestInstanceCount"}
    assert _parameter(definition, "IngestInstanceCount")["DefaultValue"] == config.ingestion.instance_count
    parts = _inputs(put)["parts"]
    assert parts["S3DataDistributionType"] == "ShardedByS3Key"
    assert parts["S3Uri"]["Get"].startswith(f"Steps.{n.STEP_INGEST_VALIDATE}.ProcessingOutputConfig")


def test_put_writes_to_the_environments_group_of_the_run(config, definition: dict) -> None:
    put = find_step(definition, n.STEP_INGEST_PUT)
    assert flag_value(put, "--feature-group-name") == {
        "Std:Join": {"On": "-", "Values": [config.prefix, {"Get": "Parameters.FeatureGroup"}]}
    }
    assert flag_value(put, "--workers") == str(config.ingestion.workers)
    assert flag_value(put, "--host-config") == "/opt/ml/config/resourceconfig.json"


def test_a_rejected_file_goes_under_rejected_group_execution_of_its_bucket(definition: dict) -> None:
    outputs = find_step(definition, n.STEP_INGEST_VALIDATE)["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    rejected = next(o for o in outputs if o["OutputName"] == "rejected")["S3Output"]["S3Uri"]
    values = rejected["Std:Join"]["Values"]
    assert values[:4] == [
        "s3:/",
        {"Get": "Parameters.InputBucket"},
        n.REJECTED_FOLDER,
        {"Get": "Parameters.FeatureGroup"},
    ]
    assert values[4] == {"Get": "Execution.PipelineExecutionId"}
    quarantine = find_step(definition, n.STEP_INGEST_QUARANTINE)
    assert flag_value(quarantine, "--rejected-prefix") == rejected


@pytest.mark.parametrize("step", [n.STEP_INGEST_VALIDATE, n.STEP_INGEST_PUT, n.STEP_INGEST_QUARANTINE])
def test_every_job_runs_the_packaged_entry_file_with_the_package_on_pythonpath(
    definition: dict, step: str
) -> None:
    job = find_step(definition, step)
    prefix = f"s3://artifacts/{package_key_prefix(package_digest())}"
    inputs = _inputs(job)
    assert inputs["package"]["S3Uri"] == f"{prefix}/"
    assert inputs["package"]["LocalPath"] == PACKAGE
    assert inputs["code"]["S3Uri"] == f"{prefix}/{n.INGESTION_JOB}"
    assert job["Arguments"]["Environment"] == {"PYTHONPATH": PACKAGE}
    assert job["Arguments"]["AppSpecification"]["ImageUri"].endswith("sagemaker-xgboost:3.0-5")


@pytest.mark.parametrize("step", [n.STEP_INGEST_VALIDATE, n.STEP_INGEST_PUT, n.STEP_INGEST_QUARANTINE])
def test_every_job_encrypts_its_volume_and_outputs_with_the_projects_key(definition: dict, step: str) -> None:
    arguments = find_step(definition, step)["Arguments"]
    assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == LOCAL_VALUES["KmsKeyArn"]
    if "ProcessingOutputConfig" in arguments:
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == LOCAL_VALUES["KmsKeyArn"]


def test_the_definition_passes_the_same_static_checks(definition: dict) -> None:
    check_definition(definition)


def test_the_template_uses_only_the_known_variables(template: str) -> None:
    assert variables_in(template) <= set(VARIABLES)


def test_the_code_version_is_the_packages_digest(definition: dict) -> None:
    assert _parameter(definition, "CodeVersion")["DefaultValue"] == package_digest()


def test_ingestion_builds_byte_identical_twice(config, template: str) -> None:
    assert render_ingestion(config.pipeline, config.ingestion) == template


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_ingestion_definition_equals_the_checked_in_golden_file(env: str) -> None:
    config = load_environment(read_context(), env)
    golden = Path(__file__).parent / "golden" / f"definition-{env}-ingestion.json"
    hint = "if the change is intended: make golden"
    assert render_ingestion(config.pipeline, config.ingestion) == golden.read_text(encoding="utf-8"), hint
