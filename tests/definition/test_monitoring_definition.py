"""The drift baseline the training pipeline registers, and the monitoring pipeline that reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_def import names as p
from pipeline_def.config import load_environment, read_context
from pipeline_def.definition.checks import check_definition
from pipeline_def.definition.render import VARIABLES, fill, render, render_monitoring, variables_in
from tests.definition.definition_support import container_arguments, find_step, flag_value

LOCAL_VALUES = {
    "PipelineRoleArn": "arn:aws:iam::123456789012:role/pipeline",
    "ArtifactBucket": "artifacts",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc",
    "ArtifactKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/artifacts",
}


@pytest.fixture(scope="module")
def config():
    return load_environment(read_context(), "dev")


@pytest.fixture(scope="module")
def monitoring_template(config) -> str:
    return render_monitoring(config.pipeline, config.monitoring)


@pytest.fixture(scope="module")
def monitoring(monitoring_template: str) -> dict:
    return json.loads(fill(monitoring_template, LOCAL_VALUES))


@pytest.fixture(scope="module")
def training(config) -> dict:
    return json.loads(fill(render(config.pipeline), LOCAL_VALUES))


def _inputs(step: dict) -> dict[str, str]:
    return {i["InputName"]: i["S3Input"]["S3Uri"] for i in step["Arguments"]["ProcessingInputs"]}


# --- the baseline, made and registered with every model -----------------------------------------


def test_baseline_step_runs_drift_py_baseline(training: dict) -> None:
    step = find_step(training, p.STEP_DRIFT_BASELINE)
    entry = step["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
    assert entry == ["python3", "/opt/ml/processing/input/code/drift.py"]
    assert container_arguments(step)[0] == "baseline"


def test_baseline_summarises_the_held_out_split_with_the_transforms_scores(training: dict) -> None:
    inputs = _inputs(find_step(training, p.STEP_DRIFT_BASELINE))
    assert inputs["data"] == {
        "Get": f"Steps.{p.STEP_PROCESS}.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    }
    assert inputs["predictions"] == {"Get": f"Steps.{p.STEP_TRANSFORM}.TransformOutput.S3OutputPath"}


def test_baseline_uses_the_threshold_evaluation_chose(training: dict) -> None:
    threshold = flag_value(find_step(training, p.STEP_DRIFT_BASELINE), "--threshold")
    (get,) = threshold["Std:Join"]["Values"]
    assert get["Std:JsonGet"]["Path"] == p.THRESHOLD_PATH
    assert get["Std:JsonGet"]["PropertyFile"] == {
        "Get": f"Steps.{p.STEP_EVAL}.PropertyFiles.{p.EVALUATION_PROPERTY_FILE}"
    }


def test_baseline_records_the_bias_facet_of_step_seven(training: dict) -> None:
    step = find_step(training, p.STEP_DRIFT_BASELINE)
    assert (
        flag_value(step, "--facet"),
        flag_value(step, "--facet-value"),
        flag_value(step, "--favourable-label"),
    ) == (
        "customer_gender_female",
        "1",
        "0",
    )


def test_register_attaches_the_baseline_as_drift_check_baseline(training: dict) -> None:
    register = find_step(training, f"{p.STEP_REGISTER}-RegisterModel")["Arguments"]
    statistics = register["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"]["Std:Join"]["Values"] == [
        {"Get": f"Steps.{p.STEP_DRIFT_BASELINE}.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"},
        p.DRIFT_BASELINE_FILE,
    ]


# --- the monitoring pipeline -------------------------------------------------------------------


def test_monitoring_pipeline_is_one_monitorfind_step(monitoring: dict) -> None:
    assert [(s["Name"], s["Type"]) for s in monitoring["Steps"]] == [(p.STEP_MONITOR, "Processing")]


def test_monitoring_definition_passes_the_same_static_checks(monitoring: dict) -> None:
    check_definition(monitoring)


def test_monitoring_template_uses_the_role_bucket_and_project_key_only(monitoring_template: str) -> None:
    # No artifact key: the monitor reads and writes nothing that is shared with other accounts
    assert variables_in(monitoring_template) == set(VARIABLES) - {"ArtifactKmsKeyArn"}


def test_monitoring_builds_byte_identical_twice(config, monitoring_template: str) -> None:
    assert render_monitoring(config.pipeline, config.monitoring) == monitoring_template


def test_monitor_reads_baseline_capture_and_ground_truth_prefixes(monitoring: dict) -> None:
    # Trailing slashes: the prefix of one endpoint must not match another named like it
    assert _inputs(find_step(monitoring, p.STEP_MONITOR)) == {
        "baseline": "s3://artifacts/fraud-detection/monitoring/baseline/",
        "capture": "s3://artifacts/fraud-detection/data-capture/fraud-mlops-dev-fraud-detection/",
        "ground-truth": "s3://artifacts/fraud-detection/ground-truth/",
        "code": _inputs(find_step(monitoring, p.STEP_MONITOR))["code"],
    }


def test_monitor_passes_every_configured_threshold(config, monitoring: dict) -> None:
    step = find_step(monitoring, p.STEP_MONITOR)
    thresholds = config.monitoring.thresholds
    assert flag_value(step, "--psi-threshold") == str(thresholds.psi)
    assert flag_value(step, "--min-auc") == str(config.pipeline.min_auc)
    assert flag_value(step, "--di-min") == str(config.approval.di_min)
    assert flag_value(step, "--min-rows") == str(thresholds.min_rows)


def test_monitor_publishes_to_the_environments_namespace(monitoring: dict) -> None:
    step = find_step(monitoring, p.STEP_MONITOR)
    assert "--publish" in container_arguments(step)
    assert (flag_value(step, "--metrics-namespace"), flag_value(step, "--environment")) == (
        p.METRICS_NAMESPACE,
        "dev",
    )


def test_monitor_writes_its_report_under_the_execution_id(monitoring: dict) -> None:
    (output,) = find_step(monitoring, p.STEP_MONITOR)["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"] == [
        "s3://artifacts/fraud-detection/monitoring/reports",
        {"Get": "Execution.PipelineExecutionId"},
    ]


def test_monitor_encrypts_volume_and_output_with_the_projects_key(monitoring: dict) -> None:
    arguments = find_step(monitoring, p.STEP_MONITOR)["Arguments"]
    key = LOCAL_VALUES["KmsKeyArn"]
    assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == key


def test_monitor_instance_type_is_a_parameter_defaulting_to_the_config(config, monitoring: dict) -> None:
    cluster = find_step(monitoring, p.STEP_MONITOR)["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == {"Get": "Parameters.MonitoringInstanceType"}
    (parameter,) = [x for x in monitoring["Parameters"] if x["Name"] == "MonitoringInstanceType"]
    assert parameter["DefaultValue"] == config.monitoring.instance_type


def test_monitoring_pipeline_is_named_apart_from_training(config) -> None:
    assert config.pipeline.monitoring_pipeline_name == "fraud-mlops-dev-fraud-monitoring"
    assert config.pipeline.monitoring_pipeline_name != config.pipeline.pipeline_name


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_monitoring_definition_equals_the_checked_in_golden_file(env: str) -> None:
    config = load_environment(read_context(), env)
    golden = Path(__file__).parent / "golden" / f"definition-{env}-monitoring.json"
    hint = "if the change is intended: make golden"
    assert render_monitoring(config.pipeline, config.monitoring) == golden.read_text(encoding="utf-8"), hint
