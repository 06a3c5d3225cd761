"""The local executor follows SageMaker Pipelines' execution semantics on a definition's JSON."""

from __future__ import annotations

import json

import pytest

from pipeline_def.definition.checks import DefinitionError
from pipeline_def.local.executor import Executor, ParameterError, resolve_parameters
from pipeline_def.local.expressions import ExecutionError

ROLE = "arn:aws:iam::123456789012:role/pipeline"


def processing(
    name: str, *, outputs=("out",), inputs: dict | None = None, depends_on=None, files=None
) -> dict:
    """A minimal valid CreateProcessingJob step; ``inputs`` maps input names to S3 URIs or expressions."""
    step = {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": {"Get": "Parameters.InstanceType"},
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 30,
                },
            },
            "AppSpecification": {"ImageUri": "image"},
            "RoleArn": ROLE,
            "ProcessingInputs": [
                {
                    "InputName": key,
                    "S3Input": {
                        "S3Uri": uri,
                        "LocalPath": f"/opt/ml/processing/input/{key}",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
                for key, uri in (inputs or {}).items()
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": out,
                        "S3Output": {
                            "S3Uri": f"s3://bucket/{name}/{out}",
                            "LocalPath": f"/opt/ml/processing/{out}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for out in outputs
                ]
            },
        },
    }
    if depends_on:
        step["DependsOn"] = depends_on
    if files:
        step["PropertyFiles"] = files
    return step


def definition(*steps: dict, parameters=None) -> dict:
    return {
        "Version": "2020-12-01",
        "Parameters": parameters
        or [
            {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
            {"Name": "MinAuc", "Type": "Float", "DefaultValue": 0.7},
        ],
        "Steps": list(steps),
    }


def uri_of(step: str, output: str = "out") -> dict:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}


def gate(if_steps: list, else_steps: list, auc_path: str = "metrics.auc") -> dict:
    return {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                            "Path": auc_path,
                        }
                    },
                    "RightValue": {"Get": "Parameters.MinAuc"},
                }
            ],
            "IfSteps": if_steps,
            "ElseSteps": else_steps,
        },
    }


def fail_step() -> dict:
    return {
        "Name": "TooWeak",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {"Std:Join": {"On": " ", "Values": ["AUC below", {"Get": "Parameters.MinAuc"}]}}
        },
    }


EVAL_REPORT = [{"PropertyFileName": "Report", "OutputName": "out", "FilePath": "evaluation.json"}]


class Recorder:
    """Fake job runner: records the resolved requests and reports Describe-like properties."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.fail = fail

    def __call__(self, step: str, request: dict, execution_id: str) -> dict:
        self.calls.append((step, request))
        if step == self.fail:
            raise ExecutionError(f"step {step}: boom")
        return {"ProcessingOutputConfig": request["ProcessingOutputConfig"]}

    @property
    def order(self) -> list[str]:
        return [name for name, _ in self.calls]


def run(defn: dict, runner: Recorder, auc: float = 0.9, overrides=None):
    files = {"s3://bucket/Eval/out/evaluation.json": json.dumps({"metrics": {"auc": auc}})}

    def read(uri: str) -> str:
        if uri not in files:
            raise FileNotFoundError(uri)
        return files[uri]

    return Executor(
        defn, {"Processing": runner}, execution_id="exec-1", read_s3_text=read, overrides=overrides
    ).run()


def statuses(result) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}


def test_steps_run_after_the_steps_whose_properties_they_read():
    # Given Train listed before Prep but reading Prep's output
    runner = Recorder()
    defn = definition(processing("Train", inputs={"data": uri_of("Prep")}), processing("Prep"))
    # When executed
    run(defn, runner)
    # Then Prep ran first and Train received Prep's resolved output URI
    assert runner.order == ["Prep", "Train"]
    assert runner.calls[1][1]["ProcessingInputs"][0]["S3Input"]["S3Uri"] == "s3://bucket/Prep/out"


def test_depends_on_orders_steps_without_references():
    runner = Recorder()
    run(definition(processing("B", depends_on=["A"]), processing("A")), runner)
    assert runner.order == ["A", "B"]


def test_parameters_resolve_to_overrides_typed_by_their_declaration():
    runner = Recorder()
    run(definition(processing("A")), runner, overrides={"InstanceType": "ml.c5.2xlarge"})
    assert runner.calls[0][1]["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.c5.2xlarge"


def test_condition_met_runs_the_if_branch_and_skips_the_else_branch():
    runner = Recorder()
    defn = definition(processing("Eval", files=EVAL_REPORT), gate([processing("Register")], [fail_step()]))
    result = run(defn, runner, auc=0.9)
    assert result.status == "Succeeded"
    assert statuses(result) == {
        "Eval": "Succeeded",
        "Gate": "Succeeded",
        "Register": "Succeeded",
        "TooWeak": "NotRun",
    }


def test_condition_not_met_runs_the_fail_step_with_its_resolved_message():
    runner = Recorder()
    defn = definition(processing("Eval", files=EVAL_REPORT), gate([processing("Register")], [fail_step()]))
    result = run(defn, runner, auc=0.5)
    assert result.status == "Failed"
    assert result.failure_reason == "step TooWeak (Fail): AUC below 0.7"
    assert statuses(result)["Register"] == "NotRun"


def test_a_condition_path_missing_from_the_property_file_fails_naming_step_and_path():
    defn = definition(
        processing("Eval", files=EVAL_REPORT),
        gate([processing("Register")], [fail_step()], auc_path="metrics.roc_auc"),
    )
    result = run(defn, Recorder())
    assert result.status == "Failed"
    assert "step Gate" in result.failure_reason
    assert "'metrics.roc_auc'" in result.failure_reason


def run_with_a_failing_first_step():
    """A fails and B depends on it; returns the runner and the execution's result."""
    runner = Recorder(fail="A")
    return runner, run(definition(processing("A"), processing("B", depends_on=["A"])), runner)


def test_a_failed_step_fails_the_execution_with_its_reason():
    # Given A failing with "boom", When executed
    _, result = run_with_a_failing_first_step()
    # Then the execution failed and gives A's reason
    assert result.status == "Failed"
    assert result.failure_reason == "step A: boom"


def test_no_step_starts_after_a_step_failed():
    # Given A failing and B waiting for it, When executed
    runner, _ = run_with_a_failing_first_step()
    # Then B never started
    assert runner.order == ["A"]


def test_a_reference_to_a_missing_output_is_rejected_before_anything_runs():
    runner = Recorder()
    defn = definition(processing("Prep"), processing("Train", inputs={"data": uri_of("Prep", "missing")}))
    with pytest.raises(
        DefinitionError, match=r"Train: .*no ProcessingOutputConfig.Outputs entry named 'missing'"
    ):
        run(defn, runner)
    assert runner.calls == []


def test_a_resolved_request_sagemaker_would_reject_fails_the_step():
    # Given an instance count that only turns out wrong once the parameter resolves
    params = [
        {"Name": "InstanceType", "Type": "Integer", "DefaultValue": 5},
        {"Name": "MinAuc", "Type": "Float", "DefaultValue": 0.7},
    ]
    result = run(definition(processing("A"), parameters=params), Recorder())
    assert result.status == "Failed"
    assert "CreateProcessingJob would be rejected" in result.failure_reason


def the_only_step_of_a_one_step_run():
    (step,) = run(definition(processing("A")), Recorder()).steps
    return step


def test_every_steps_status_is_recorded():
    # Given a one-step definition, When executed
    step = the_only_step_of_a_one_step_run()
    # Then the step is recorded with its name, type and status
    assert (step.name, step.type, step.status) == ("A", "Processing", "Succeeded")


def test_every_steps_timing_is_recorded():
    # Given a one-step definition, When executed
    step = the_only_step_of_a_one_step_run()
    # Then the step's duration is recorded
    assert step.seconds >= 0


def test_unknown_parameter_override_lists_the_known_ones():
    with pytest.raises(ParameterError, match=r"unknown parameter.*Nope.*known: InstanceType, MinAuc"):
        resolve_parameters(definition(), {"Nope": "1"})


def test_parameter_override_of_the_wrong_type_names_parameter_and_type():
    with pytest.raises(ParameterError, match="MinAuc: 'high' is not a valid Float"):
        resolve_parameters(definition(), {"MinAuc": "high"})


def test_parameter_override_outside_its_enum_is_refused():
    params = [{"Name": "Status", "Type": "String", "DefaultValue": "A", "EnumValues": ["A", "B"]}]
    with pytest.raises(ParameterError, match="'C' is not one of A, B"):
        resolve_parameters(definition(parameters=params), {"Status": "C"})


def test_a_parameter_override_sagemaker_would_reject_fails_the_step_that_uses_it():
    # Given an instance type that is a valid string but not a SageMaker instance type
    result = run(definition(processing("A")), Recorder(), overrides={"InstanceType": "ml.bogus.huge"})
    # Then the step fails before any job starts, naming the field
    assert result.status == "Failed"
    assert "InstanceType: 'ml.bogus.huge' is not one of" in result.failure_reason


def test_a_parameter_without_a_default_must_be_passed() -> None:
    # SageMaker refuses StartPipelineExecution without it; the local executor says which one
    parameters = [{"Name": "InputKey", "Type": "String"}]
    definition = {"Version": "2020-12-01", "Parameters": parameters, "Steps": []}
    with pytest.raises(
        ParameterError, match=r"parameter InputKey has no default value; pass InputKey=<value>"
    ):
        resolve_parameters(definition, {})
    key = "incoming/claims/a.csv"
    assert resolve_parameters(definition, {"InputKey": key}) == {"InputKey": key}
