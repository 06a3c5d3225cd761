"""The pipeline definition: its shape, its offline build, and what SageMaker would accept."""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path

import pytest

from pipeline_def import names as p
from pipeline_def.config import load_settings
from pipeline_def.definition.checks import (
    DefinitionError,
    check_definition,
    check_references,
    check_requests,
    iter_steps,
)
from pipeline_def.definition.render import SENTINELS, TemplateError, fill, render, variables_in

GOLDEN = Path(__file__).parent / "golden"
LOCAL_VALUES = {
    "PipelineRoleArn": "arn:aws:iam::123456789012:role/pipeline",
    "ArtifactBucket": "artifacts",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc",
    "ArtifactKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/artifacts",
}


@pytest.fixture(scope="module")
def template() -> str:
    return render(load_settings("dev"))


@pytest.fixture(scope="module")
def definition(template: str) -> dict:
    return json.loads(fill(template, LOCAL_VALUES))


def _steps(definition: dict) -> dict[str, dict]:
    return {step["Name"]: step for step in iter_steps(definition)}


def _condition(definition: dict) -> dict:
    return _steps(definition)[p.STEP_CONDITION]


def _processing(definition: dict) -> list[dict]:
    return [s for s in iter_steps(definition) if s["Type"] == "Processing"]


# --- offline, deterministic build --------------------------------------------------------------


def test_build_makes_no_network_call_and_needs_no_credentials(monkeypatch, tmp_path):
    # Given no credentials, no AWS config and sockets that refuse to connect
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    # When the definition is rendered, Then it builds
    assert json.loads(render(load_settings("dev")))["Steps"]


def test_two_builds_are_byte_identical(template):
    assert render(load_settings("dev")) == template


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_definition_equals_the_checked_in_golden_file(env):
    golden = GOLDEN / f"definition-{env}.json"
    hint = (
        f"if the change is intended: .venv/bin/python -m pipeline_def definition --env {env} --out {golden}"
    )
    assert render(load_settings(env)) == golden.read_text(encoding="utf-8"), hint


def test_a_users_sagemaker_config_file_does_not_change_the_definition(monkeypatch, tmp_path, template):
    # Given a SageMaker SDK config that would add tags and network isolation to every job
    config = tmp_path / "config.yaml"
    config.write_text(
        "SchemaVersion: '1.0'\n"
        "SageMaker:\n"
        "  ProcessingJob:\n"
        "    NetworkConfig:\n"
        "      EnableNetworkIsolation: true\n"
        "    Tags:\n"
        "      - Key: from-user-config\n"
        "        Value: 'yes'\n"
    )
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    # When the definition is rendered, Then it is the same as without it
    assert render(load_settings("dev")) == template


def test_template_uses_exactly_the_documented_fn_sub_variables(template):
    assert variables_in(template) == set(SENTINELS)


def test_fill_unescapes_literal_placeholders_like_fn_sub():
    assert fill("${!Literal} ${ArtifactBucket}", {"ArtifactBucket": "b"}) == "${Literal} b"


def test_fill_names_a_missing_variable():
    with pytest.raises(TemplateError, match=r"no value for \$\{KmsKeyArn\}"):
        fill("${KmsKeyArn}", {"ArtifactBucket": "b"})


def test_definition_fits_cloudformations_body_limit(template):
    assert len(template) < 1_048_576


# --- shape: the nine steps of the design -------------------------------------------------------


def test_top_level_steps_run_process_tune_evaluate_then_the_gate(definition):
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        (p.STEP_PROCESS, "Processing"),
        (p.STEP_TUNING, "Tuning"),
        (p.STEP_EVAL, "Processing"),
        (p.STEP_CONDITION, "Condition"),
    ]


def test_gate_true_branch_creates_configures_transforms_explains_registers(definition):
    branch = _condition(definition)["Arguments"]["IfSteps"]
    assert [(s["Name"], s["Type"]) for s in branch] == [
        (f"{p.STEP_CREATE_MODEL}-CreateModel", "Model"),
        (p.STEP_CLARIFY_CONFIG, "Processing"),
        (p.STEP_TRANSFORM, "Transform"),
        (p.STEP_BIAS, "Processing"),
        (p.STEP_DRIFT_BASELINE, "Processing"),
        (f"{p.STEP_REGISTER}-RegisterModel", "RegisterModel"),
    ]


def test_gate_false_branch_fails_with_a_message_naming_auc_and_recall(definition):
    (fail,) = _condition(definition)["Arguments"]["ElseSteps"]
    message = json.dumps(fail["Arguments"]["ErrorMessage"])
    assert fail["Type"] == "Fail"
    assert p.AUC_PATH in message
    assert p.RECALL_PATH in message


def test_gate_requires_auc_and_recall_at_least_their_parameters(definition):
    conditions = _condition(definition)["Arguments"]["Conditions"]
    observed = [
        (c["Type"], c["LeftValue"]["Std:JsonGet"]["Path"], c["RightValue"]["Get"]) for c in conditions
    ]
    assert observed == [
        ("GreaterThanOrEqualTo", p.AUC_PATH, "Parameters.MinAuc"),
        ("GreaterThanOrEqualTo", p.RECALL_PATH, "Parameters.MinRecall"),
    ]


def test_parameters_default_to_the_environments_config(definition):
    defaults = {param["Name"]: param.get("DefaultValue") for param in definition["Parameters"]}
    settings = load_settings("dev")
    assert defaults["MinAuc"] == settings.min_auc
    assert defaults["MinRecall"] == settings.min_recall
    assert defaults["MaxTuningJobs"] == settings.max_tuning_jobs
    assert defaults["TrainingInstanceType"] == settings.training_instance_type
    assert defaults["ModelApprovalStatus"] == "PendingManualApproval"
    assert defaults["DataCutoffTime"] == "latest"


def test_tuning_searches_five_ranges_for_validation_auc_with_bayesian_strategy(definition):
    config = _steps(definition)[p.STEP_TUNING]["Arguments"]["HyperParameterTuningJobConfig"]
    ranges = config["ParameterRanges"]
    names = {r["Name"] for kind in ranges.values() for r in kind}
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:auc"}
    assert names == {"eta", "max_depth", "min_child_weight", "subsample", "alpha"}
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": {"Get": "Parameters.MaxTuningJobs"},
        "MaxParallelTrainingJobs": {"Get": "Parameters.MaxParallelTuningJobs"},
    }


def test_every_job_step_retries_throttling_and_capacity_errors(definition):
    for step in iter_steps(definition):
        if step["Type"] in ("Processing", "Tuning", "Transform"):
            retried = {e for policy in step.get("RetryPolicies", []) for e in policy["ExceptionType"]}
            assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR"} <= retried, step["Name"]


def test_every_job_encrypts_its_volumes_with_the_projects_key(definition):
    # Given the project's KMS key, When each processing job's request is read
    key = LOCAL_VALUES["KmsKeyArn"]
    for step in _processing(definition):
        args = step["Arguments"]
        # Then its volumes are encrypted with that key
        assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key, step["Name"]


def test_every_job_but_the_baseline_encrypts_its_outputs_with_the_projects_key(definition):
    # Given the project's KMS key, When each processing job's request is read
    key = LOCAL_VALUES["KmsKeyArn"]
    for step in _processing(definition):
        if step["Name"] == p.STEP_DRIFT_BASELINE:
            continue
        # Then its outputs are encrypted with that key
        assert step["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == key, step["Name"]


def test_what_other_accounts_may_read_is_encrypted_with_the_artifact_key(definition):
    # Given the artifact key (the only key granted to promotion accounts)
    key = LOCAL_VALUES["ArtifactKmsKeyArn"]
    steps = _steps(definition)
    # Then the model artifacts and the drift baseline use it, and nothing else does
    tuning = steps[p.STEP_TUNING]["Arguments"]["TrainingJobDefinition"]["OutputDataConfig"]
    assert tuning["KmsKeyId"] == key
    assert steps[p.STEP_DRIFT_BASELINE]["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == key


def test_volumes_never_use_the_artifact_key(template):
    assert template.count("${ArtifactKmsKeyArn}") == 2


def _register(definition: dict) -> dict:
    return _steps(definition)[f"{p.STEP_REGISTER}-RegisterModel"]["Arguments"]


def test_register_attaches_quality_bias_and_explainability_reports(definition):
    # Given the register step, When its model metrics are read, Then all three reports are attached
    assert set(_register(definition)["ModelMetrics"]) == {"ModelQuality", "Bias", "Explainability"}


def test_register_takes_its_approval_status_from_the_parameter(definition):
    # Given the register step, When its approval status is read, Then it is the pipeline parameter
    assert _register(definition)["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}


def test_register_records_the_runs_provenance_as_customer_metadata(definition):
    # Given the register step, When its customer metadata is read, Then it names the run's provenance
    assert set(_register(definition)["CustomerMetadataProperties"]) == {
        "feature_groups",
        "data_cutoff_time",
        "pipeline_execution_id",
        "code_version",
        "xgboost_image_tag",
        "xgboost_version",
        "encoding_version",
    }


def test_scripts_run_from_the_content_addressed_code_prefix(definition):
    processing = [s for s in iter_steps(definition) if s["Type"] == "Processing"]
    for step in processing:
        code = [i for i in step["Arguments"]["ProcessingInputs"] if i["InputName"] == "code"]
        assert code[0]["S3Input"]["S3Uri"].startswith("s3://artifacts/fraud-detection/code/"), step["Name"]


# --- what SageMaker would reject -----------------------------------------------------------------


def test_every_job_step_request_validates_against_botocore_shapes(definition):
    check_requests(definition)


def test_every_reference_names_an_existing_step_and_property(definition):
    check_references(definition)


def test_a_wrong_type_in_a_request_is_reported_with_the_step(definition):
    broken = copy.deepcopy(definition)
    _steps(broken)[p.STEP_PROCESS]["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] = (
        "big"
    )
    with pytest.raises(DefinitionError, match=p.STEP_PROCESS):
        check_requests(broken)


@pytest.mark.parametrize(
    ("old", "new", "reported"),
    [
        (
            "Outputs['train']",
            "Outputs['training']",
            "no ProcessingOutputConfig.Outputs entry named 'training'",
        ),
        ("Steps.FraudDataProcess.", "Steps.FraudDataProces.", "no step named 'FraudDataProces'"),
        (
            "PropertyFiles.EvaluationReport",
            "PropertyFiles.Evaluation",
            "declares no property file 'Evaluation'",
        ),
        ("Parameters.MinAuc", "Parameters.MinimumAuc", "unknown parameter 'MinimumAuc'"),
        (".ModelName", ".ModelNam", "has no property 'ModelNam'"),
        (".S3Output.S3Uri", ".S3Output.S3Url", "has no member 'S3Url'"),
    ],
)
def test_a_broken_reference_is_reported_with_the_step_and_path(definition, old, new, reported):
    broken = json.loads(json.dumps(definition).replace(old, new))
    with pytest.raises(DefinitionError, match=reported.replace("[", r"\[").replace("(", r"\(")):
        check_definition(broken)


def test_clarify_analyses_the_transform_steps_predictions(definition):
    args = _steps(definition)[p.STEP_CLARIFY_CONFIG]["Arguments"]["AppSpecification"]["ContainerArguments"]
    position = args.index("--predicted-label-dataset-uri")
    assert args[position + 1] == {"Get": f"Steps.{p.STEP_TRANSFORM}.TransformOutput.S3OutputPath"}


def test_a_run_cannot_register_an_already_approved_model(definition):
    # Approval goes through the gates (or a human): "Approved" would deploy without them
    (status,) = [p for p in definition["Parameters"] if p["Name"] == "ModelApprovalStatus"]
    assert status["EnumValues"] == ["PendingManualApproval"]


# --- step 7 runs our own script, never SageMaker Clarify ----------------------------------------


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_no_definition_names_the_clarify_image(env):
    assert "sagemaker-clarify-processing" not in render(load_settings(env))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_processing_step_runs_the_xgboost_image_of_the_pinned_version(env):
    definition = json.loads(render(load_settings(env)))
    images = {s["Name"]: s["Arguments"]["AppSpecification"]["ImageUri"] for s in _processing(definition)}
    assert {image.rsplit("/", 1)[1] for image in images.values()} == {
        f"sagemaker-xgboost:{p.XGBOOST_VERSION}"
    }


def test_step_seven_runs_bias_shap_py_with_python3(definition):
    [step] = [s for s in _processing(definition) if s["Name"] == p.STEP_BIAS]
    entrypoint = step["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint == ["python3", "/opt/ml/processing/input/code/bias_shap.py"]


def _step_seven_inputs(definition: dict) -> dict[str, object]:
    [step] = [s for s in _processing(definition) if s["Name"] == p.STEP_BIAS]
    return {i["InputName"]: i["S3Input"]["S3Uri"] for i in step["Arguments"]["ProcessingInputs"]}


def test_step_seven_takes_exactly_five_inputs(definition):
    # Given step seven, When its processing inputs are listed, Then they are the config, the test split,
    # the transform's predictions, the best model and the code
    assert set(_step_seven_inputs(definition)) == {"config", "data", "predictions", "model", "code"}


def test_step_seven_reads_its_predictions_from_the_transform_output(definition):
    # Given step seven, When its predictions input is read, Then it is the transform step's output
    assert _step_seven_inputs(definition)["predictions"] == {
        "Get": f"Steps.{p.STEP_TRANSFORM}.TransformOutput.S3OutputPath"
    }


def test_step_seven_caps_shap_rows_with_a_pipeline_parameter(definition):
    [step] = [s for s in _processing(definition) if s["Name"] == p.STEP_BIAS]
    arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    cap = arguments[arguments.index("--max-shap-rows") + 1]
    assert cap == {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.ExplainabilityMaxRows"}]}}
    defaults = {q["Name"]: q.get("DefaultValue") for q in definition["Parameters"]}
    assert defaults["ExplainabilityMaxRows"] == load_settings("dev").explainability_max_rows


def test_step_seven_runs_on_the_configured_explainability_instance(definition):
    [step] = [s for s in _processing(definition) if s["Name"] == p.STEP_BIAS]
    cluster = step["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == {"Get": "Parameters.ExplainabilityInstanceType"}
    assert cluster["InstanceCount"] == 1
