"""The retrain logic in-process, as the local emulator calls it: its own starter, notifier and clock.

Also the pure parts (cool-down, display name, request token) and the boto3 starter's reading of
ListPipelineExecutions, where SageMaker's own sorting is checked with a Stubber.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from lambdas.retrain.adapters import Boto3PipelineStarter
from lambdas.retrain.logic import cool_down, retrain
from lambdas.retrain.models import (
    LatestExecution,
    RetrainSettings,
    client_request_token,
    display_name,
    parse_alarm_event,
)
from lambdas.shared.settings import load_settings
from tests.lambdas.lambda_support import (
    DRIFT_ALARM,
    PIPELINE_ARN,
    RUN_PARAMETERS,
    TRAINING_PIPELINE,
    Aws,
    FixedClock,
    RecordingNotifier,
    RecordingStarter,
    alarm_event,
)

ALARM_AT = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
SIX_HOURS = 6 * 3600
DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")


def _run(created_at: datetime, status: str = "Succeeded") -> LatestExecution:
    return LatestExecution(f"{PIPELINE_ARN}/execution/earlier", created_at, status)


@pytest.fixture
def settings(retrain_variables: dict[str, str]) -> RetrainSettings:
    return load_settings(RetrainSettings)


def _retrain(settings: RetrainSettings, starter: RecordingStarter, **event: Any) -> dict[str, Any]:
    """The drift alarm at ALARM_AT, handled a minute later with in-memory adapters."""
    alarm = parse_alarm_event(alarm_event(at=ALARM_AT, **event))
    clock = FixedClock(ALARM_AT + timedelta(minutes=1))
    return retrain(alarm, settings=settings, starter=starter, notifier=RecordingNotifier(), clock=clock)


# --- In-process, with the emulator's kind of adapter ------------------------------------------
def test_the_emulator_starter_is_asked_to_start_a_run(settings: RetrainSettings) -> None:
    # Given a starter with no earlier run
    starter = RecordingStarter()

    # When the logic handles the drift alarm / Then it asks the starter for one run
    result = _retrain(settings, starter)
    assert (result["outcome"], len(starter.started)) == ("retraining_started", 1)


def test_the_start_request_carries_the_configured_parameters(settings: RetrainSettings) -> None:
    starter = RecordingStarter()
    _retrain(settings, starter)
    assert dict(starter.started[0].parameters) == RUN_PARAMETERS


def test_a_run_the_emulator_reports_within_the_cool_down_holds_the_alarm_back(
    settings: RetrainSettings,
) -> None:
    # Given the emulator's last run five hours before the alarm (cool-down: six hours)
    starter = RecordingStarter(executions=[_run(ALARM_AT - 5 * HOUR)])

    # When the alarm is handled / Then nothing is started
    assert (_retrain(settings, starter)["outcome"], starter.started) == ("cool_down", [])


def test_the_reviewers_are_notified_once_in_either_case(settings: RetrainSettings) -> None:
    # Given one starter free to start and one held back by a recent run
    notifier = RecordingNotifier()
    alarm = parse_alarm_event(alarm_event(at=ALARM_AT))
    for starter in (RecordingStarter(), RecordingStarter(executions=[_run(ALARM_AT - HOUR)])):
        retrain(alarm, settings=settings, starter=starter, notifier=notifier, clock=FixedClock(ALARM_AT))

    # Then each handled alarm sent one message to the reviewers' topic
    assert [topic for topic, _, _ in notifier.messages] == [settings.notify_topic_arn] * 2


def test_an_error_starting_the_run_propagates_and_notifies_nobody(settings: RetrainSettings) -> None:
    # Given a starter whose StartPipelineExecution is throttled
    class ThrottledStarter(RecordingStarter):
        def start(self, request: Any) -> str:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Start")

    notifier = RecordingNotifier()
    alarm = parse_alarm_event(alarm_event(at=ALARM_AT))

    # When the alarm is handled / Then the error escapes (Lambda retries) and nobody was told
    with pytest.raises(ClientError, match="ThrottlingException"):
        retrain(
            alarm,
            settings=settings,
            starter=ThrottledStarter(),
            notifier=notifier,
            clock=FixedClock(ALARM_AT),
        )
    assert notifier.messages == []


def test_the_logic_itself_ignores_an_alarm_that_is_not_configured(settings: RetrainSettings) -> None:
    # The emulator may call the logic without the handler's filter in front of it
    starter = RecordingStarter()
    result = _retrain(settings, starter, name="fraud-mlops-dev-monitor-violations")
    assert (result["outcome"], starter.started) == ("ignored", [])


def test_the_logic_itself_ignores_a_state_other_than_alarm(settings: RetrainSettings) -> None:
    starter = RecordingStarter()
    assert _retrain(settings, starter, state="OK")["outcome"] == "ignored"


# --- The cool-down, pure -----------------------------------------------------------------------
def test_no_earlier_run_means_no_cool_down() -> None:
    assert cool_down(None, ALARM_AT, SIX_HOURS) is None


def test_a_run_inside_the_window_holds_back_until_its_end() -> None:
    held = cool_down(_run(ALARM_AT - HOUR), ALARM_AT, SIX_HOURS)
    assert held is not None
    assert held.ends_at == ALARM_AT + 5 * HOUR


def test_the_window_is_half_open_so_its_end_is_free() -> None:
    assert cool_down(_run(ALARM_AT - 6 * HOUR), ALARM_AT, SIX_HOURS) is None


def test_a_microsecond_inside_the_window_still_holds_back() -> None:
    run = _run(ALARM_AT - 6 * HOUR + timedelta(microseconds=1))
    assert cool_down(run, ALARM_AT, SIX_HOURS) is not None


def test_a_run_created_after_the_reference_always_holds_back() -> None:
    assert cool_down(_run(ALARM_AT + HOUR), ALARM_AT, 0) is not None


def test_a_failed_run_counts_like_any_other() -> None:
    # Whatever its status: it read the newest data, and failing again would need a person anyway
    assert cool_down(_run(ALARM_AT - HOUR, status="Failed"), ALARM_AT, SIX_HOURS) is not None


# --- Names and tokens --------------------------------------------------------------------------
def test_the_display_name_is_the_alarm_name_after_retrain() -> None:
    assert display_name(DRIFT_ALARM) == f"retrain-{DRIFT_ALARM}"


def test_a_long_alarm_name_is_cut_to_sagemakers_82_characters() -> None:
    name = display_name("a" * 255)
    assert (len(name), name.startswith("retrain-aaa")) == (82, True)


def test_an_alarm_name_with_nothing_sagemaker_accepts_still_gives_a_display_name() -> None:
    assert display_name("✓ / ✓") == "retrain"


@given(st.text(min_size=1, max_size=300))
def test_any_alarm_name_gives_a_display_name_sagemaker_accepts(name: str) -> None:
    assert DISPLAY_NAME.match(display_name(name))


@given(st.text(min_size=1, max_size=255), st.datetimes(timezones=st.just(UTC)))
def test_any_alarm_state_gives_a_token_sagemaker_accepts(name: str, at: datetime) -> None:
    token = client_request_token({"alarm_name": name, "state_timestamp": at.isoformat()})
    assert 32 <= len(token) <= 128
    assert re.fullmatch(r"[a-z0-9-]+", token)


def test_the_token_is_the_same_for_every_copy_of_one_state_change() -> None:
    key = {"alarm_name": DRIFT_ALARM, "state_timestamp": ALARM_AT.isoformat()}
    assert client_request_token(dict(key)) == client_request_token(dict(reversed(key.items())))


def test_the_token_differs_for_the_next_state_change() -> None:
    first = client_request_token({"alarm_name": DRIFT_ALARM, "state_timestamp": ALARM_AT.isoformat()})
    later = client_request_token(
        {"alarm_name": DRIFT_ALARM, "state_timestamp": (ALARM_AT + HOUR).isoformat()}
    )
    assert first != later


def test_the_state_timestamp_is_read_in_cloudwatchs_offset_format() -> None:
    # CloudWatch writes +0000, not +00:00
    alarm = parse_alarm_event(alarm_event(at=ALARM_AT))
    assert alarm.state_time == ALARM_AT


# --- The boto3 starter -------------------------------------------------------------------------
def _stubbed() -> tuple[Boto3PipelineStarter, Stubber]:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return Boto3PipelineStarter(client), Stubber(client)


LIST_REQUEST = {
    "PipelineName": TRAINING_PIPELINE,
    "SortBy": "CreationTime",
    "SortOrder": "Descending",
    "MaxResults": 1,
}


def test_a_pipeline_without_executions_has_no_latest_one() -> None:
    starter, stubber = _stubbed()
    stubber.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": []}, LIST_REQUEST)
    with stubber:
        assert starter.latest_execution(TRAINING_PIPELINE) is None


def test_the_latest_execution_is_the_one_sagemaker_lists_first() -> None:
    # Given SageMaker's answer: the newest execution, with its status
    starter, stubber = _stubbed()
    summary = {
        "PipelineExecutionArn": f"{PIPELINE_ARN}/execution/newest",
        "StartTime": ALARM_AT,
        "PipelineExecutionStatus": "Executing",
    }
    stubber.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": [summary]}, LIST_REQUEST)

    # When it is read / Then the ARN, creation time and status come from that summary
    with stubber:
        latest = starter.latest_execution(TRAINING_PIPELINE)
    assert latest == LatestExecution(f"{PIPELINE_ARN}/execution/newest", ALARM_AT, "Executing")


def test_the_newest_execution_is_taken_when_the_answer_ignores_the_sort_order() -> None:
    # Given an answer listing every execution oldest first, as moto 5.2.5 gives it
    starter, stubber = _stubbed()
    summaries = [
        {"PipelineExecutionArn": f"{PIPELINE_ARN}/execution/older", "StartTime": ALARM_AT - HOUR},
        {"PipelineExecutionArn": f"{PIPELINE_ARN}/execution/newer", "StartTime": ALARM_AT},
    ]
    stubber.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": summaries}, LIST_REQUEST)

    # When it is read / Then the newest one counts
    with stubber:
        latest = starter.latest_execution(TRAINING_PIPELINE)
    assert latest is not None
    assert latest.arn.endswith("/newer")


def test_the_latest_execution_in_moto_is_the_run_it_holds(aws: Aws) -> None:
    # Given one scheduled run in moto
    aws.create_training_pipeline()
    run = aws.start_scheduled_run()

    # When the starter reads the latest execution / Then it is that run, with moto's status
    assert Boto3PipelineStarter(aws.sagemaker).latest_execution(TRAINING_PIPELINE) == (
        run.arn,
        run.created_at,
        "Succeeded",
    )
