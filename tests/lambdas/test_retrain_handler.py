"""Specification of the retrain function, run in-process against a moto server.

moto implements CreatePipeline, StartPipelineExecution and ListPipelineExecutions, stamping each
run with the real time (StartTime, to the millisecond) and listing them oldest first whatever
SortOrder and MaxResults say; the adapter takes the newest of what comes back. The handler's
clock is fixed (``retrain_clock``) and each alarm is placed relative to a run's StartTime.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from lambdas.retrain.handler import handler
from lambdas.retrain.models import LatestExecution, client_request_token
from lambdas.shared.settings import ConfigurationError
from tests.lambdas.lambda_support import (
    COOL_DOWN_SECONDS,
    DRIFT_ALARM,
    PREDICTION_ALARM,
    RUN_PARAMETERS,
    TRAINING_PIPELINE,
    ApiCallRecorder,
    Aws,
    FakeLambdaContext,
    FixedClock,
    ReviewerInbox,
    alarm_event,
)

pytestmark = pytest.mark.long_module(4)

COOL_DOWN = timedelta(seconds=COOL_DOWN_SECONDS)


def _alarm_after_run(aws: Aws, clock: FixedClock, after: timedelta, **event: Any) -> dict[str, Any]:
    """A scheduled run, then an ALARM event ``after`` its creation, delivered a minute later."""
    run = aws.start_scheduled_run()
    at = run.created_at + after
    clock.now = at + timedelta(minutes=1)
    return alarm_event(at=at, **event)


def _first_alarm(clock: FixedClock) -> dict[str, Any]:
    """An ALARM event for a pipeline that never ran, delivered a minute after the alarm."""
    at = clock.now - timedelta(minutes=1)
    return alarm_event(at=at)


# --- Starting a run ----------------------------------------------------------------------------
def test_an_alarm_on_a_pipeline_that_never_ran_starts_it(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given a training pipeline without any execution
    # When the drift alarm's ALARM event arrives
    result = handler(_first_alarm(retrain_clock), lambda_context)

    # Then one run of the training pipeline exists, the one the result names
    [run] = aws.pipeline_runs()
    assert result["outcome"] == "retraining_started"
    assert result["pipeline_execution_arn"] == run["PipelineExecutionArn"]


def test_the_run_is_named_after_the_alarm(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given the drift alarm / When it starts a run
    result = handler(_first_alarm(retrain_clock), lambda_context)

    # Then the run's display name says which alarm started it
    run = aws.sagemaker.describe_pipeline_execution(PipelineExecutionArn=result["pipeline_execution_arn"])
    assert run["PipelineExecutionDisplayName"] == f"retrain-{DRIFT_ALARM}"


def test_the_run_description_names_the_alarm_and_its_reason(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given the drift alarm with CloudWatch's reason / When it starts a run
    event = _first_alarm(retrain_clock)
    result = handler(event, lambda_context)

    # Then the run's description says which alarm, and why it fired
    run = aws.sagemaker.describe_pipeline_execution(PipelineExecutionArn=result["pipeline_execution_arn"])
    description = run["PipelineExecutionDescription"]
    assert description.startswith(f"Started by CloudWatch alarm {DRIFT_ALARM} (ALARM at ")
    assert description.endswith(event["detail"]["state"]["reason"])


def test_the_run_gets_the_configured_pipeline_parameters(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given PIPELINE_PARAMETERS set to the schedule's parameters / When an alarm starts a run
    result = handler(_first_alarm(retrain_clock), lambda_context)

    # Then the run was started with exactly those
    parameters = aws.sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=result["pipeline_execution_arn"]
    )["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == RUN_PARAMETERS


def test_the_request_token_comes_from_the_alarm_and_its_state_timestamp(
    retrain_calls: ApiCallRecorder, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm event / When it starts a run
    event = _first_alarm(retrain_clock)
    result = handler(event, lambda_context)

    # Then StartPipelineExecution carried the token of that alarm state change
    [request] = retrain_calls.named("StartPipelineExecution")
    key = {"alarm_name": DRIFT_ALARM, "state_timestamp": result["state_timestamp"]}
    assert request["ClientRequestToken"] == client_request_token(key)


def test_the_newest_run_is_asked_for_sorted_by_creation_time(
    retrain_calls: ApiCallRecorder, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm event / When it is handled
    handler(_first_alarm(retrain_clock), lambda_context)

    # Then one ListPipelineExecutions asked for the single newest execution
    assert retrain_calls.named("ListPipelineExecutions") == [
        {
            "PipelineName": TRAINING_PIPELINE,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        }
    ]


# --- The cool-down -----------------------------------------------------------------------------
@pytest.fixture
def held_back(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> tuple[LatestExecution, dict[str, Any]]:
    """A scheduled run, then the drift alarm one hour later (cool-down: six hours), handled."""
    event = _alarm_after_run(aws, retrain_clock, timedelta(hours=1))
    return aws.latest_run(), handler(event, lambda_context)


def test_an_alarm_within_the_cool_down_after_a_run_is_skipped(
    aws: Aws, held_back: tuple[LatestExecution, dict[str, Any]]
) -> None:
    # Given a run, and the drift alarm one hour later (fixture) / Then no second run is started
    _, result = held_back
    assert result["outcome"] == "cool_down"
    assert len(aws.pipeline_runs()) == 1


def test_a_skipped_alarm_names_the_run_and_when_the_cool_down_ends(
    held_back: tuple[LatestExecution, dict[str, Any]],
) -> None:
    # Given the alarm held back (fixture) / Then the result names the run and the cool-down's end
    run, result = held_back
    assert result["pipeline_execution_arn"] == run.arn
    assert datetime.fromisoformat(result["cool_down_ends"]) == run.created_at + COOL_DOWN


def test_an_alarm_after_the_cool_down_starts_a_run(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given a scheduled run, and the drift alarm seven hours later (cool-down: six hours)
    event = _alarm_after_run(aws, retrain_clock, timedelta(hours=7))

    # When the alarm is handled
    result = handler(event, lambda_context)

    # Then a second run is started
    assert result["outcome"] == "retraining_started"
    assert len(aws.pipeline_runs()) == 2


def test_an_alarm_exactly_at_the_end_of_the_cool_down_starts_a_run(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given a scheduled run, and the alarm exactly COOL_DOWN_SECONDS after its creation:
    # the cool-down is the half-open window [run, run + cool-down)
    event = _alarm_after_run(aws, retrain_clock, COOL_DOWN)

    # When the alarm is handled / Then the cool-down is over
    assert handler(event, lambda_context)["outcome"] == "retraining_started"


def test_an_alarm_a_millisecond_before_the_end_of_the_cool_down_is_skipped(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given the alarm one millisecond inside the cool-down
    event = _alarm_after_run(aws, retrain_clock, COOL_DOWN - timedelta(milliseconds=1))

    # When the alarm is handled / Then it is still held back
    assert handler(event, lambda_context)["outcome"] == "cool_down"


def test_a_late_alarm_event_is_held_back_by_a_run_created_after_the_alarm(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm that fired one minute before a scheduled run, delivered (re-driven) a day later
    event = _alarm_after_run(aws, retrain_clock, -timedelta(minutes=1))
    retrain_clock.advance(24 * 3600)

    # When it is handled / Then the run that started after the alarm has the drifted data: skipped
    assert handler(event, lambda_context)["outcome"] == "cool_down"


def test_a_state_timestamp_from_the_future_cannot_shorten_the_cool_down(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given a run one hour ago, and an event claiming the alarm fires in a day
    event = _alarm_after_run(aws, retrain_clock, timedelta(days=1))
    retrain_clock.now = aws.latest_run().created_at + timedelta(hours=1)

    # When it is handled / Then now, not the claim, is measured against the run: skipped
    assert handler(event, lambda_context)["outcome"] == "cool_down"


def test_a_run_started_by_an_alarm_holds_back_the_next_alarm(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given the drift alarm started a run
    handler(_first_alarm(retrain_clock), lambda_context)

    # When the prediction-drift alarm fires ten minutes later
    retrain_clock.advance(600)
    result = handler(alarm_event(name=PREDICTION_ALARM, at=retrain_clock.now), lambda_context)

    # Then it is held back by that run
    assert result["outcome"] == "cool_down"
    assert len(aws.pipeline_runs()) == 1


# --- Duplicates --------------------------------------------------------------------------------
def test_a_duplicate_event_starts_one_run(
    aws: Aws, retrain_calls: ApiCallRecorder, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm event delivered twice
    event = _first_alarm(retrain_clock)
    handler(event, lambda_context)

    # When the copy arrives
    handler(event, lambda_context)

    # Then only one run was started
    assert len(retrain_calls.named("StartPipelineExecution")) == 1
    assert len(aws.pipeline_runs()) == 1


def test_a_duplicate_event_returns_the_stored_result(
    retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm event already handled
    event = _first_alarm(retrain_clock)
    first = handler(event, lambda_context)

    # When the copy arrives / Then it gets the first result
    assert handler(event, lambda_context) == first


def test_a_duplicate_event_notifies_the_reviewers_once(
    retrain_env: ReviewerInbox, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm event delivered twice
    event = _first_alarm(retrain_clock)
    handler(event, lambda_context)
    handler(event, lambda_context)

    # Then one message reached the reviewers
    assert len(retrain_env.messages()) == 1


def test_the_idempotency_record_is_kept_in_dynamodb(
    aws: Aws, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm event / When it is handled
    handler(_first_alarm(retrain_clock), lambda_context)

    # Then one completed record of the retrain function exists
    [record] = aws.idempotency_records()
    assert record["status"]["S"] == "COMPLETED"
    assert ".retrain.handler.retrain_once#" in record["id"]["S"]


# --- What the reviewers hear -------------------------------------------------------------------
def test_reviewers_hear_that_retraining_started_with_the_run(
    retrain_env: ReviewerInbox, retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given the drift alarm / When it starts a run
    result = handler(_first_alarm(retrain_clock), lambda_context)

    # Then the reviewers' message names the alarm, its reason and the run
    [message] = retrain_env.messages()
    assert message["Subject"] == f"Retraining started: {DRIFT_ALARM}"
    assert "Threshold Crossed: 1 datapoint [0.31" in message["Message"]
    assert f"Retraining started: {result['pipeline_execution_arn']}" in message["Message"]


def test_reviewers_hear_about_the_cool_down_with_the_last_run_and_its_end(
    retrain_env: ReviewerInbox, held_back: tuple[LatestExecution, dict[str, Any]]
) -> None:
    # Given the alarm held back by a run (fixture)
    run, _ = held_back

    # Then the reviewers hear which run holds it back, and until when
    [message] = retrain_env.messages()
    assert message["Subject"] == f"Retraining skipped (cool-down): {DRIFT_ALARM}"
    assert run.arn in message["Message"]
    assert f"The cool-down ends at {(run.created_at + COOL_DOWN).isoformat()}" in message["Message"]


# --- Events that start nothing -----------------------------------------------------------------
@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_an_alarm_leaving_alarm_state_is_ignored(
    retrain_env: ReviewerInbox,
    retrain_calls: ApiCallRecorder,
    retrain_clock: FixedClock,
    lambda_context: FakeLambdaContext,
    state: str,
) -> None:
    # Given the drift alarm changing to another state than ALARM
    event = alarm_event(state=state, at=retrain_clock.now)

    # When it is handled
    result = handler(event, lambda_context)

    # Then nothing is asked of SageMaker, nobody is notified, and the result says why
    assert result["reason"] == f"state '{state}' is not ALARM"
    assert (retrain_calls.calls, retrain_env.messages()) == ([], [])


def test_an_alarm_that_is_not_configured_to_retrain_is_ignored(
    aws: Aws,
    retrain_env: ReviewerInbox,
    retrain_calls: ApiCallRecorder,
    retrain_clock: FixedClock,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given an ALARM event of the bias alarm (it only notifies: a person first)
    bias_alarm = "fraud-mlops-dev-monitor-bias-di-low"
    event = alarm_event(name=bias_alarm, at=retrain_clock.now)

    # When it is handled
    result = handler(event, lambda_context)

    # Then nothing happens, no idempotency record is kept, and the result says why
    assert (
        result["reason"]
        == "alarm 'fraud-mlops-dev-monitor-bias-di-low' is not one of the alarms that retrain"
    )
    assert (retrain_calls.calls, aws.idempotency_records()) == ([], [])


def test_a_configuration_error_is_raised_before_any_call(
    retrain_calls: ApiCallRecorder,
    retrain_clock: FixedClock,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a negative cool-down in the function's environment
    monkeypatch.setenv("COOL_DOWN_SECONDS", "-1")

    # When an alarm arrives / Then the error names the variable and nothing was called
    with pytest.raises(ConfigurationError, match="COOL_DOWN_SECONDS"):
        handler(_first_alarm(retrain_clock), lambda_context)
    assert retrain_calls.calls == []


def test_the_result_is_json_serialisable_for_the_idempotency_record(
    retrain_clock: FixedClock, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm that starts a run / When it is handled
    result = handler(_first_alarm(retrain_clock), lambda_context)

    # Then the result round-trips through JSON unchanged
    assert json.loads(json.dumps(result)) == result
