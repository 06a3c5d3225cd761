"""Specification of the failure-alert function: a failed or stopped run reaches the operators.

SNS and SQS are a moto server (the operators' topic with an inbox subscribed); SageMaker's
ListPipelineExecutionSteps and DescribePipelineExecution, which moto does not implement, are
answered by a botocore Stubber on the function's own client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from lambdas.pipeline_failure.handler import handler
from lambdas.pipeline_failure.logic import classify
from lambdas.pipeline_failure.models import FailureKind
from lambdas.shared.events import MalformedEventError
from lambdas.shared.settings import ConfigurationError
from tests.lambdas.lambda_support import (
    ACCOUNT,
    EXECUTION_ARN,
    QUALITY_GATE_STEP,
    REGION,
    FakeLambdaContext,
    ReviewerInbox,
    execution_event,
    execution_step,
)

STEPS_REQUEST = {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"}
TUNING_JOB = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/pipelines-k4q2bd8c1m7z-tuning"
GATE_MESSAGE = "Model below the quality bar: AUC 0.61 < MinAuc 0.75 or recall 0.33 < MinRecall 0.5"
STARTED = datetime(2026, 11, 2, 3, 0, 2, tzinfo=UTC)
OTHER_EXECUTION = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn/execution/abc123"


def _answer_steps(stubber: Stubber, *steps: dict[str, Any]) -> None:
    stubber.add_response(
        "list_pipeline_execution_steps", {"PipelineExecutionSteps": list(steps)}, STEPS_REQUEST
    )


def _gate_failed() -> dict[str, Any]:
    return execution_step(
        QUALITY_GATE_STEP,
        "Failed",
        StartTime=STARTED,
        FailureReason=GATE_MESSAGE,
        Metadata={"Fail": {"ErrorMessage": GATE_MESSAGE}},
    )


def _tuning_failed() -> dict[str, Any]:
    return execution_step(
        "FraudHyperParameterTuning",
        "Failed",
        FailureReason="ClientError: ResourceLimitExceeded: ml.m5.xlarge for training job usage",
        Metadata={"TuningJob": {"Arn": TUNING_JOB}},
    )


def test_a_run_stopped_by_the_quality_gate_is_reported_as_a_model_below_the_bar(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given a run whose evaluation succeeded and whose Fail step then stopped it
    _answer_steps(pipeline_steps, execution_step("FraudEvalBestModel"), _gate_failed())

    # When its Failed status event reaches the function
    result = handler(execution_event("Failed"), lambda_context)

    # Then the operators read that the model missed the bar, with the gate's own message
    [message] = operators_inbox.messages()
    assert result["kind"] == "quality_gate"
    assert message["Subject"] == "fraud-mlops-dev-fraud-detection: run failed, model below the quality bar"
    assert f"{QUALITY_GATE_STEP} failed: {GATE_MESSAGE}" in message["Message"]


def _handle_a_failed_tuning_job(pipeline_steps: Stubber, lambda_context: FakeLambdaContext) -> dict[str, Any]:
    """A run whose tuning step failed on a service quota, its Failed event handled: the result."""
    _answer_steps(pipeline_steps, execution_step("FraudDataProcess"), _tuning_failed())
    return handler(execution_event("Failed"), lambda_context)


def test_a_failed_job_is_reported_as_an_infrastructure_failure_of_its_step(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given a run whose tuning step failed on a service quota
    # When its Failed status event is handled
    result = _handle_a_failed_tuning_job(pipeline_steps, lambda_context)

    # Then it is an infrastructure failure of the tuning step
    assert (result["kind"], result["failing_steps"]) == ("infrastructure", ["FraudHyperParameterTuning"])


def test_a_failed_job_is_reported_with_its_step_reason_job_and_the_retry_command(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given a run whose tuning step failed on a service quota
    # When its Failed status event is handled
    _handle_a_failed_tuning_job(pipeline_steps, lambda_context)

    # Then the message names the failing step, SageMaker's reason, the job and how to retry
    [message] = operators_inbox.messages()
    assert (
        f"FraudHyperParameterTuning failed (job: {TUNING_JOB}): ClientError: ResourceLimitExceeded"
        in message["Message"]
    )
    assert f"retry-pipeline-execution --pipeline-execution-arn {EXECUTION_ARN}" in message["Message"]


def test_the_message_names_the_pipeline_and_the_execution(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given any failed run
    _answer_steps(pipeline_steps, _tuning_failed())

    # When it is handled
    handler(execution_event("Failed"), lambda_context)

    # Then the operators can find it without opening the event
    [message] = operators_inbox.messages()
    assert "Pipeline:  fraud-mlops-dev-fraud-detection" in message["Message"]
    assert f"Execution: {EXECUTION_ARN}" in message["Message"]


def test_a_stopped_run_is_reported_as_stopped(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given a run someone stopped during tuning
    _answer_steps(
        pipeline_steps,
        execution_step("FraudDataProcess"),
        execution_step("FraudHyperParameterTuning", "Stopped"),
    )

    # When its Stopped status event is handled
    result = handler(execution_event("Stopped"), lambda_context)

    # Then it is reported as stopped, with the step that was running
    [message] = operators_inbox.messages()
    assert (result["kind"], result["failing_steps"]) == ("stopped", ["FraudHyperParameterTuning"])
    assert message["Subject"].endswith("run stopped, stopped before it finished")


def test_without_a_failed_step_the_executions_own_reason_is_reported(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given a run that failed before any step (a parameter SageMaker refused)
    _answer_steps(pipeline_steps)
    pipeline_steps.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION_ARN, "FailureReason": "Parameter MinAuc: not a float: 'high'"},
        {"PipelineExecutionArn": EXECUTION_ARN},
    )

    # When its Failed status event is handled
    result = handler(execution_event("Failed"), lambda_context)

    # Then the execution's FailureReason is what the operators read, as an infrastructure failure
    [message] = operators_inbox.messages()
    assert result["kind"] == "infrastructure"
    assert "No step failed; the execution says: Parameter MinAuc: not a float: 'high'" in message["Message"]


#: Events naming a pipeline or execution that is not this environment's, with the reason given.
ANOTHER_PIPELINES_EVENTS = pytest.mark.parametrize(
    ("detail", "reason"),
    [
        (
            {"pipelineArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn"},
            f"pipeline arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn is not the configured",
        ),
        (
            {"pipelineExecutionArn": OTHER_EXECUTION},
            f"execution {OTHER_EXECUTION} is not an execution",
        ),
    ],
    ids=["other-pipeline", "execution-of-another-pipeline"],
)


@ANOTHER_PIPELINES_EVENTS
def test_an_event_about_another_pipeline_is_ignored_with_the_reason(
    operators_inbox: ReviewerInbox,
    pipeline_steps: Stubber,
    lambda_context: FakeLambdaContext,
    detail: dict[str, str],
    reason: str,
) -> None:
    # Given an event naming a pipeline or execution that is not this environment's
    event = execution_event("Failed", **detail)

    # When it is handled (the Stubber has no answer queued: any SageMaker call would fail the test)
    result = handler(event, lambda_context)

    # Then it is ignored with the reason
    assert result["outcome"] == "ignored"
    assert result["reason"].startswith(reason)


@ANOTHER_PIPELINES_EVENTS
def test_an_event_about_another_pipeline_alerts_no_one(
    operators_inbox: ReviewerInbox,
    pipeline_steps: Stubber,
    lambda_context: FakeLambdaContext,
    detail: dict[str, str],
    reason: str,
) -> None:
    # Given an event naming a pipeline or execution that is not this environment's
    event = execution_event("Failed", **detail)

    # When it is handled (the Stubber has no answer queued: any SageMaker call would fail the test)
    handler(event, lambda_context)

    # Then nothing is sent
    assert operators_inbox.messages() == []


def test_a_succeeded_run_is_ignored(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given a Succeeded status event (the rule does not send these; the handler checks again)
    # When it is handled
    result = handler(execution_event("Succeeded"), lambda_context)

    # Then nothing is sent
    assert result["reason"] == "status 'Succeeded' is not one of Failed, Stopped"
    assert operators_inbox.messages() == []


def _handle_an_event_without_execution(
    lambda_context: FakeLambdaContext,
) -> pytest.ExceptionInfo[MalformedEventError]:
    """An execution event without its execution ARN handled: the documented error it raised."""
    event = execution_event("Failed")
    del event["detail"]["pipelineExecutionArn"]
    with pytest.raises(MalformedEventError) as raised:
        handler(event, lambda_context)
    return raised


def test_a_malformed_event_raises_the_documented_error(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given an execution event without its execution ARN
    # When it is handled
    raised = _handle_an_event_without_execution(lambda_context)

    # Then the failure destination receives it, with the missing field named
    assert raised.match("pipelineExecutionArn")


def test_a_malformed_event_sends_nothing(
    operators_inbox: ReviewerInbox, pipeline_steps: Stubber, lambda_context: FakeLambdaContext
) -> None:
    # Given an execution event without its execution ARN
    # When it is handled (and raises the documented error)
    _handle_an_event_without_execution(lambda_context)

    # Then no one is alerted
    assert operators_inbox.messages() == []


def test_a_missing_setting_raises_a_configuration_error_naming_it(
    operators_inbox: ReviewerInbox, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function deployed without the quality gate's step name
    monkeypatch.delenv("QUALITY_GATE_STEP")

    # When an event arrives / Then the error names the variable
    with pytest.raises(ConfigurationError, match="QUALITY_GATE_STEP"):
        handler(execution_event("Failed"), lambda_context)


def test_the_gate_failing_beside_another_step_is_an_infrastructure_failure() -> None:
    # Given a failed gate and, in the same run, a failed job (a parallel branch)
    steps = [
        execution_step(QUALITY_GATE_STEP, "Failed", FailureReason="below"),
        execution_step("FraudTransform", "Failed", FailureReason="x"),
    ]

    # When the run is classified
    kind, failures = classify("Failed", steps, QUALITY_GATE_STEP)

    # Then something still needs repairing, and both steps are listed
    assert kind is FailureKind.INFRASTRUCTURE
    assert [f.name for f in failures] == [QUALITY_GATE_STEP, "FraudTransform"]
