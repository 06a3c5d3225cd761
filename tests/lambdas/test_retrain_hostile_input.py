"""Specification of the retrain function under malformed and hostile events.

A malformed event raises MalformedEventError before any AWS call, so it lands in the function's
dead-letter queue for a person to look at. A well-formed event with odd text (control characters
in the reason, a name SageMaker would refuse as a display name) still yields a valid request and
one printable message. The last part fuzzes the real handler with in-memory dependencies.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.retrain import handler as retrain_handler
from lambdas.retrain.handler import RetrainDependencies, handler
from lambdas.shared.events import MalformedEventError
from tests.lambdas.lambda_support import (
    ACCOUNT,
    ALARM_EVENT,
    DRIFT_ALARM,
    REGION,
    ApiCallRecorder,
    FakeLambdaContext,
    FixedClock,
    InMemoryPersistenceLayer,
    RecordingNotifier,
    RecordingStarter,
    ReviewerInbox,
    alarm_event,
    load_event,
)

DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")
NOW = datetime(2026, 11, 2, 10, 31, tzinfo=UTC)


def _without(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(event: dict[str, Any]) -> None:
        for key in path[:-1]:
            event = event[key]
        event.pop(path[-1])

    return edit


def _with(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def edit(event: dict[str, Any]) -> None:
        for key in path[:-1]:
            event = event[key]
        event[path[-1]] = value

    return edit


def _named(name: str) -> Callable[[dict[str, Any]], None]:
    """The alarm name changed everywhere it appears, so only the name itself can be at fault."""

    def edit(event: dict[str, Any]) -> None:
        event["detail"]["alarmName"] = name
        event["resources"] = [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"]

    return edit


MALFORMED = {
    "missing-detail": (_without("detail"), "detail: Field required"),
    "detail-not-an-object": (_with("ALARM", "detail"), "detail: Input should be a valid dictionary"),
    "wrong-detail-type": (
        _with("SageMaker Model Package State Change", "detail-type"),
        "detail-type: Value error, detail-type must be 'CloudWatch Alarm State Change'",
    ),
    "wrong-source": (
        _with("aws.sagemaker", "source"),
        "source: Value error, source must be 'aws.cloudwatch'",
    ),
    "missing-state": (_without("detail", "state"), "detail.state: Field required"),
    "missing-state-timestamp": (
        _without("detail", "state", "timestamp"),
        "detail.state.timestamp: Field required",
    ),
    "missing-reason": (_without("detail", "state", "reason"), "detail.state.reason: Field required"),
    "reason-not-text": (_with({"text": "x"}, "detail", "state", "reason"), "detail.state.reason"),
    "missing-previous-state": (_without("detail", "previousState"), "detail.previousState: Field required"),
    "timestamp-in-words": (_with("yesterday at noon", "detail", "state", "timestamp"), "ISO-8601"),
    "timestamp-as-epoch-ms": (_with(1793615400989, "detail", "state", "timestamp"), "ISO-8601"),
    "timestamp-as-digits": (_with("1793615400989", "detail", "state", "timestamp"), "ISO-8601"),
    "timestamp-date-only": (_with("2026-11-02", "detail", "state", "timestamp"), "ISO-8601"),
    "timestamp-without-zone": (_with("2026-11-02T10:30:00.989", "detail", "state", "timestamp"), "ISO-8601"),
    "timestamp-impossible-day": (_with("2026-02-31T10:30:00Z", "detail", "state", "timestamp"), "timestamp"),
    "event-time-not-iso": (_with("Mon, 02 Nov 2026 10:30:01 GMT", "time"), "time: Value error"),
    "empty-alarm-name": (_named(""), "detail.alarmName"),
    "newline-in-alarm-name": (_named("feature-drift\nALARM"), "must not hold control characters"),
    "nul-in-alarm-name": (_named("feature\x00drift"), "must not hold control characters"),
    "10kb-alarm-name": (_named("a" * 10_240), "detail.alarmName: String should have at most 255 characters"),
    "no-resources": (_with([], "resources"), "resources: List should have at least 1 item"),
    "resources-of-another-alarm": (
        _with([f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:someone-else"], "resources"),
        f"resources must hold the ARN of alarm '{DRIFT_ALARM}'",
    ),
    "alarm-arn-of-another-account": (
        _with([f"arn:aws:cloudwatch:{REGION}:999999999999:alarm:{DRIFT_ALARM}"], "resources"),
        "resources must hold the ARN of alarm",
    ),
    "account-not-digits": (_with("my-account", "account"), "account: String should match pattern"),
}


@pytest.mark.parametrize(("edit", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_event_raises_a_clear_error(
    retrain_variables: dict[str, str], edit: Callable[[dict[str, Any]], None], reason: str
) -> None:
    # Given the sample alarm event with one part broken
    event = load_event(ALARM_EVENT)
    edit(event)

    # When it is handled / Then MalformedEventError says what is wrong
    with pytest.raises(MalformedEventError, match=re.escape(reason)):
        handler(event, FakeLambdaContext())


@pytest.mark.parametrize(
    "event", [None, [], "ALARM", 42, {}], ids=["none", "list", "text", "number", "empty"]
)
def test_something_that_is_not_an_event_raises_a_clear_error(
    retrain_variables: dict[str, str], event: Any
) -> None:
    with pytest.raises(MalformedEventError, match="not a CloudWatch Alarm State Change event"):
        handler(event, FakeLambdaContext())


def test_a_malformed_event_reaches_no_aws_api(
    retrain_env: ReviewerInbox, retrain_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given an alarm event whose state timestamp is not a timestamp
    event = alarm_event()
    event["detail"]["state"]["timestamp"] = "soon"

    # When it is handled (and refused)
    with pytest.raises(MalformedEventError):
        handler(event, lambda_context)

    # Then SageMaker was not asked anything and nobody was notified
    assert (retrain_calls.calls, retrain_env.messages()) == ([], [])


def test_the_error_message_never_repeats_a_huge_input(retrain_variables: dict[str, str]) -> None:
    # Given an alarm name of a megabyte
    event = load_event(ALARM_EVENT)
    _named("x" * 1_000_000)(event)

    # When it is refused / Then the message stays short
    with pytest.raises(MalformedEventError) as raised:
        handler(event, FakeLambdaContext())
    assert len(str(raised.value)) < 1000


# --- Well-formed, but odd text ----------------------------------------------------------------
ODD_NAME = "fraud drift (PSI) é/ü ✓ " + "x" * 200


@pytest.fixture
def odd_alarm(
    retrain_env: ReviewerInbox, retrain_clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """An alarm whose name SageMaker would refuse as a display name, with a 10 KB reason full of control
    characters, configured to retrain."""
    monkeypatch.setenv("RETRAIN_ALARM_NAMES", ODD_NAME)
    reason = "PSI\r\n\x1b[31mhigh\x07 " + "é" * 10_240
    return alarm_event(name=ODD_NAME, at=retrain_clock.now, reason=reason)


def test_an_odd_alarm_name_still_gives_a_valid_display_name(
    odd_alarm: dict[str, Any], retrain_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # When the odd alarm is handled
    handler(odd_alarm, lambda_context)

    # Then the run's display name fits SageMaker's pattern and length
    [request] = retrain_calls.named("StartPipelineExecution")
    assert DISPLAY_NAME.match(request["PipelineExecutionDisplayName"])
    assert request["PipelineExecutionDisplayName"].startswith("retrain-fraud-drift-PSI-")


def test_a_hostile_reason_gives_a_one_line_description_within_the_limit(
    odd_alarm: dict[str, Any], retrain_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # When the alarm with a 10 KB reason full of control characters is handled
    handler(odd_alarm, lambda_context)

    # Then the description is one line of printable ASCII, cut to SageMaker's 3072 characters
    [request] = retrain_calls.named("StartPipelineExecution")
    description = request["PipelineExecutionDescription"]
    assert len(description) <= 3072
    assert description.isascii()
    assert description.isprintable()
    assert description.endswith("...[truncated]")


def test_a_hostile_reason_gives_the_reviewers_printable_text(
    odd_alarm: dict[str, Any], retrain_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # When the alarm with a hostile reason is handled
    handler(odd_alarm, lambda_context)

    # Then subject and message are printable ASCII (lines apart), the subject within SNS's 100
    [message] = retrain_env.messages()
    assert len(message["Subject"]) <= 100
    assert message["Subject"].isascii()
    assert message["Subject"].isprintable()
    assert all(line.isascii() and line.isprintable() for line in message["Message"].splitlines())


# --- Fuzzing the handler with in-memory dependencies ------------------------------------------
SAMPLE = load_event(ALARM_EVENT)
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40)),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
paths = st.sampled_from(
    [
        ("detail-type",),
        ("source",),
        ("account",),
        ("region",),
        ("time",),
        ("resources",),
        ("detail",),
        ("detail", "alarmName"),
        ("detail", "state"),
        ("detail", "state", "value"),
        ("detail", "state", "reason"),
        ("detail", "state", "timestamp"),
        ("detail", "previousState"),
    ]
)


@st.composite
def fuzzed_events(draw: st.DrawFn) -> Any:
    event: Any = copy.deepcopy(SAMPLE)
    for path, value, drop in draw(st.lists(st.tuples(paths, junk, st.booleans()), min_size=1, max_size=3)):
        parent = event
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            if drop:
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
    return event


def _is_genuine(event: Any) -> bool:
    """What every event that starts a run must be, checked without the parser under test."""
    detail = event.get("detail") if isinstance(event, dict) else None
    state = detail.get("state") if isinstance(detail, dict) else None
    return (
        isinstance(state, dict)
        and event.get("detail-type") == "CloudWatch Alarm State Change"
        and event.get("source") == "aws.cloudwatch"
        and detail.get("alarmName") == DRIFT_ALARM
        and state.get("value") == "ALARM"
    )


@pytest.fixture
def fake_starter(
    retrain_variables: dict[str, str], function_logs: Any, monkeypatch: pytest.MonkeyPatch
) -> list:
    """The handler's dependencies replaced by in-memory ones, fresh per example; returns the starters."""
    starters: list[RecordingStarter] = []

    def dependencies(_table: str, _environment: tuple[str | None, ...]) -> RetrainDependencies:
        starters.append(RecordingStarter())
        return RetrainDependencies(
            starter=starters[-1],
            notifier=RecordingNotifier(),
            persistence_store=InMemoryPersistenceLayer(),
            clock=FixedClock(NOW),
        )

    monkeypatch.setattr(retrain_handler, "build_dependencies", dependencies)
    return starters


def test_fuzzed_events_start_a_run_only_if_genuine_and_raise_only_the_documented_error(
    fake_starter: list[RecordingStarter],
) -> None:
    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(event=st.one_of(junk, fuzzed_events()))
    def check(event: Any) -> None:
        fake_starter.clear()
        # When a fuzzed event is handled
        try:
            outcome: Any = handler(event, FakeLambdaContext())
        except MalformedEventError as error:
            outcome = error
        # Then it returns a result or the documented error, and only a genuine event starts a run
        assert isinstance(outcome, dict | MalformedEventError)
        started = [request for starter in fake_starter for request in starter.started]
        assert _is_genuine(event) or not started

    check()
