"""Retraining on a drift alarm: which alarms count, the cool-down, starting the run, telling reviewers.

:func:`retrain` is what the handler runs once per alarm state change (alarm name and state
timestamp, under Powertools idempotency) and what the local emulator calls in-process with its
own :class:`retrain.adapters.PipelineStarter` (one that launches a local run) and Notifier.

Cool-down. Any execution of the training pipeline counts, scheduled or manual, whatever its
status: a run under way or just finished has already trained on the newest data, so a second one
would only cost money. The newest execution's creation time ``E`` is compared with a reference
time ``R``, the *earlier* of the alarm's state timestamp and now (the injected clock):

* the alarm's timestamp, because a run created after the drift was detected already trains on
  the drifted data, however late the event arrives (EventBridge retries for up to 2 h, Lambda's
  own retries follow, a dead-lettered event can be re-driven days later);
* now, so a state timestamp from the future (clock skew, a forged event) cannot make an
  execution look old enough.

The run is skipped while ``R - E < COOL_DOWN_SECONDS``: the window is half-open, so an alarm
exactly ``COOL_DOWN_SECONDS`` after the newest execution starts a run, and an execution created
after ``R`` always means "skip". The cool-down ends at ``E + COOL_DOWN_SECONDS``.

Concurrency. Reading the newest execution and starting one are two calls; two alarms at the same
second could both read "nothing recent" and both start. The stack gives this function a reserved
concurrency of 1, so invocations never overlap and the second one sees the first one's run.
Copies of one state change are stopped twice over: the idempotency record, and the
ClientRequestToken derived from the same key (:func:`retrain.models.client_request_token`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lambdas.constants import ALARM_TRIGGER_STATE
from lambdas.retrain.adapters import PipelineStarter
from lambdas.retrain.models import (
    AlarmStateChangeEvent,
    LatestExecution,
    RetrainOutcome,
    RetrainSettings,
    StartRequest,
    start_request,
)
from lambdas.shared.clock import Clock, utc_now
from lambdas.shared.dispatch import ignored_with
from lambdas.shared.notify import Notifier
from lambdas.shared.observability import logger
from lambdas.shared.text import printable

#: CloudWatch's StateReason is up to 1023 characters; the message shows at most this much.
MAX_REASON_CHARS = 1200
MAX_SUBJECT_CHARS = 100


@dataclass(frozen=True)
class CoolDown:
    """The execution that holds retraining back, and when it stops doing so."""

    execution: LatestExecution
    ends_at: datetime


def ignore_reason(alarm: AlarmStateChangeEvent, settings: RetrainSettings) -> str | None:
    """Why this alarm event starts nothing, or ``None``: only the configured alarms, into ALARM."""
    if alarm.alarm_name not in settings.alarm_names:
        return f"alarm {printable(alarm.alarm_name, 255)!r} is not one of the alarms that retrain"
    state = alarm.detail.state.value
    if state != ALARM_TRIGGER_STATE:
        return f"state {printable(state, 64)!r} is not {ALARM_TRIGGER_STATE}"
    return None


def reference_time(alarm: AlarmStateChangeEvent, now: datetime) -> datetime:
    """The earlier of the alarm's state timestamp and now (see the module docstring)."""
    return min(alarm.state_time, now)


def cool_down(latest: LatestExecution | None, reference: datetime, seconds: int) -> CoolDown | None:
    """The cool-down in force at ``reference``, or ``None`` if a run may start.

    Examples
    --------
    >>> from datetime import UTC
    >>> run = LatestExecution("arn:run", datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    >>> cool_down(run, datetime(2026, 11, 2, 16, 0, tzinfo=UTC), 6 * 3600) is None
    True
    """
    if latest is None:
        return None
    if (reference - latest.created_at).total_seconds() >= seconds:
        return None
    return CoolDown(execution=latest, ends_at=latest.created_at + timedelta(seconds=seconds))


def _alarm_lines(alarm: AlarmStateChangeEvent, settings: RetrainSettings) -> list[str]:
    """Which alarm, since when, and why: the head of both notices."""
    since = alarm.state_time.isoformat()
    previous = printable(alarm.detail.previous_state.value, 64)
    return [
        f"Alarm:     {printable(alarm.alarm_name, 255)}",
        f"Alarm ARN: {printable(alarm.alarm_arn, 400)}",
        f"State:     {ALARM_TRIGGER_STATE} since {since} (was {previous})",
        f"Reason:    {printable(alarm.detail.state.reason, MAX_REASON_CHARS)}",
        f"Pipeline:  {settings.pipeline_name}",
        "",
    ]


def started_message(
    alarm: AlarmStateChangeEvent, settings: RetrainSettings, request: StartRequest, execution_arn: str
) -> tuple[str, str]:
    """Subject and body of the reviewers' notice that a retraining run started."""
    parameters = ", ".join(f"{name}={value}" for name, value in request.parameters.items())
    lines = [
        *_alarm_lines(alarm, settings),
        f"Retraining started: {execution_arn}",
        f"Parameters: {printable(parameters, 2000) or 'the definition defaults'}",
        "",
        "The new model is registered and goes through the approval gates like any other run.",
    ]
    return printable(f"Retraining started: {alarm.alarm_name}", MAX_SUBJECT_CHARS), "\n".join(lines)


def cool_down_message(
    alarm: AlarmStateChangeEvent, settings: RetrainSettings, held: CoolDown
) -> tuple[str, str]:
    """Subject and body of the reviewers' notice that an alarm was inside the cool-down."""
    execution = held.execution
    status = f", {printable(execution.status, 32)}" if execution.status else ""
    lines = [
        *_alarm_lines(alarm, settings),
        f"Retraining skipped: the pipeline's latest run {execution.arn} (created "
        f"{execution.created_at.isoformat()}{status}) is within the cool-down of "
        f"{settings.cool_down_seconds} s; it has trained, or is training, on the newest data.",
        f"The cool-down ends at {held.ends_at.isoformat()}; this alarm's next change into "
        f"{ALARM_TRIGGER_STATE} after that starts a run. To retrain now anyway:",
        f"  aws sagemaker start-pipeline-execution --pipeline-name {settings.pipeline_name}",
    ]
    subject = f"Retraining skipped (cool-down): {alarm.alarm_name}"
    return printable(subject, MAX_SUBJECT_CHARS), "\n".join(lines)


def _start(
    alarm: AlarmStateChangeEvent, settings: RetrainSettings, starter: PipelineStarter, notifier: Notifier
) -> dict[str, Any]:
    request = start_request(alarm, settings)
    execution_arn = starter.start(request)
    notifier.publish(settings.notify_topic_arn, *started_message(alarm, settings, request, execution_arn))
    return {"outcome": RetrainOutcome.STARTED.value, "pipeline_execution_arn": execution_arn}


def _hold(
    alarm: AlarmStateChangeEvent, settings: RetrainSettings, held: CoolDown, notifier: Notifier
) -> dict[str, Any]:
    notifier.publish(settings.notify_topic_arn, *cool_down_message(alarm, settings, held))
    return {
        "outcome": RetrainOutcome.COOL_DOWN.value,
        "pipeline_execution_arn": held.execution.arn,
        "cool_down_ends": held.ends_at.isoformat(),
    }


def retrain(
    alarm: AlarmStateChangeEvent,
    *,
    settings: RetrainSettings,
    starter: PipelineStarter,
    notifier: Notifier,
    clock: Clock = utc_now,
) -> dict[str, Any]:
    """Start the training pipeline for an alarm, unless it is not ours or a cool-down holds it back.

    Either way (started or cool-down) the reviewers hear which alarm, why, and what happened.
    """
    identity = {"alarm_name": alarm.alarm_name, "state_timestamp": alarm.state_time.isoformat()}
    reason = ignore_reason(alarm, settings)
    if reason is not None:
        return ignored_with(reason, **identity)
    reference = reference_time(alarm, clock())
    held = cool_down(starter.latest_execution(settings.pipeline_name), reference, settings.cool_down_seconds)
    acted = (
        _start(alarm, settings, starter, notifier) if held is None else _hold(alarm, settings, held, notifier)
    )
    result = {**identity, **acted}
    logger.info("drift alarm handled", extra=result)
    return result
