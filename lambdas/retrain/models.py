"""Types of the retrain function: its settings, the alarm event, and the start request it makes."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, NamedTuple, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    model_validator,
)

from lambdas.constants import (
    ALARM_EVENT_DETAIL_TYPE,
    ALARM_EVENT_SOURCE,
    ENV_COOL_DOWN_SECONDS,
    ENV_IDEMPOTENCY_TABLE,
    ENV_NOTIFY_TOPIC_ARN,
    ENV_PIPELINE_NAME,
    ENV_PIPELINE_PARAMETERS,
    ENV_RETRAIN_ALARM_NAMES,
)
from lambdas.shared.events import equal_to, validate_event
from lambdas.shared.settings import TableName, TopicArn, json_object, split_names
from lambdas.shared.text import printable

# --- SageMaker's and CloudWatch's rules -------------------------------------------------------
#: StartPipelineExecution (API reference and botocore's model).
PIPELINE_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$"
DISPLAY_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")
MAX_DISPLAY_NAME = 82
MAX_DESCRIPTION = 3072
MAX_PIPELINE_PARAMETERS = 200
#: Starts the display name and the ClientRequestToken (32 to 128 characters: this and 64 hex digits).
RUN_PREFIX = "retrain-"
#: CloudWatch alarm names: 1 to 255 characters, no ASCII control characters.
MAX_ALARM_NAME = 255
#: A cool-down longer than a year is a typo (cdk.json allows up to 90 days).
MAX_COOL_DOWN_SECONDS = 366 * 24 * 3600
#: CloudWatch writes ``2026-11-02T10:30:00.000+0000``; EventBridge's ``time`` is ``...Z``.
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")
_NOT_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9]+")


def _no_control_characters(value: str) -> str:
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError("must not hold control characters")
    return value


def _iso_text(value: Any) -> Any:
    """Only ISO-8601 text with a time zone: numbers, dates and free text are not timestamps here."""
    if not isinstance(value, str) or not _ISO_TIMESTAMP.match(value):
        raise ValueError("must be ISO-8601 text with a time zone, like 2026-11-02T10:30:00.000+0000")
    return value


AlarmName = Annotated[
    str, Field(min_length=1, max_length=MAX_ALARM_NAME), AfterValidator(_no_control_characters)
]
StateValue = Annotated[str, Field(min_length=1, max_length=64)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
ParameterName = Annotated[str, Field(pattern=r"^[A-Za-z0-9\-_]{1,256}$")]
ParameterValue = Annotated[StrictStr, Field(max_length=1024)]


class RetrainSettings(BaseModel):
    """The retrain function's environment; see lambdas/constants.py for the variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pipeline_name: str = Field(alias=ENV_PIPELINE_NAME, pattern=PIPELINE_NAME_PATTERN)
    idempotency_table: TableName = Field(alias=ENV_IDEMPOTENCY_TABLE)
    notify_topic_arn: TopicArn = Field(alias=ENV_NOTIFY_TOPIC_ARN)
    cool_down_seconds: int = Field(alias=ENV_COOL_DOWN_SECONDS, ge=0, le=MAX_COOL_DOWN_SECONDS)
    #: At least one: a function that no alarm may trigger is a wiring mistake.
    alarm_names: Annotated[tuple[AlarmName, ...], BeforeValidator(split_names), Field(min_length=1)] = Field(
        alias=ENV_RETRAIN_ALARM_NAMES
    )
    pipeline_parameters: Annotated[
        dict[ParameterName, ParameterValue],
        BeforeValidator(json_object),
        Field(max_length=MAX_PIPELINE_PARAMETERS),
    ] = Field(default_factory=dict, alias=ENV_PIPELINE_PARAMETERS)


# --- The "CloudWatch Alarm State Change" event ------------------------------------------------
class AlarmState(BaseModel):
    """``detail.state``: the state the alarm entered, why, and when CloudWatch evaluated it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    value: StateValue
    reason: StrictStr
    timestamp: Timestamp


class PreviousAlarmState(BaseModel):
    """``detail.previousState``: only its value is shown (in the notification)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    value: StateValue


class AlarmStateChangeDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    alarm_name: AlarmName = Field(alias="alarmName")
    state: AlarmState
    previous_state: PreviousAlarmState = Field(alias="previousState")


class AlarmStateChangeEvent(BaseModel):
    """An EventBridge envelope around :class:`AlarmStateChangeDetail`.

    ``resources`` must hold the alarm's own ARN, in the envelope's account and region: an event
    whose parts disagree is forged or broken, and acting on it would start a run for nothing.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    detail_type: Annotated[str, AfterValidator(equal_to(ALARM_EVENT_DETAIL_TYPE, "detail-type"))] = Field(
        alias="detail-type"
    )
    source: Annotated[str, AfterValidator(equal_to(ALARM_EVENT_SOURCE, "source"))]
    account: Annotated[str, Field(pattern=r"^[0-9]{12}$")]
    region: Annotated[str, Field(pattern=r"^[a-z0-9\-]{1,32}$")]
    time: Timestamp
    resources: Annotated[list[Annotated[str, Field(max_length=2048)]], Field(min_length=1, max_length=10)]
    detail: AlarmStateChangeDetail

    @model_validator(mode="after")
    def _resources_name_the_alarm(self) -> Self:
        suffix = f":cloudwatch:{self.region}:{self.account}:alarm:{self.detail.alarm_name}"
        if not any(re.match(r"^arn:aws[a-z\-]*$", arn.removesuffix(suffix)) for arn in self.resources):
            raise ValueError(
                f"resources must hold the ARN of alarm {printable(self.detail.alarm_name, 80)!r}"
            )
        return self

    @property
    def alarm_name(self) -> str:
        return self.detail.alarm_name

    @property
    def state_time(self) -> datetime:
        return self.detail.state.timestamp

    @property
    def alarm_arn(self) -> str:
        suffix = f":alarm:{self.detail.alarm_name}"
        return next(arn for arn in self.resources if arn.endswith(suffix))


def parse_alarm_event(event: Any) -> AlarmStateChangeEvent:
    """Validate a raw Lambda event, raising :class:`MalformedEventError` if it does not fit.

    Examples
    --------
    >>> parse_alarm_event({"detail-type": "Scheduled Event"})
    Traceback (most recent call last):
    MalformedEventError: ...
    """
    return validate_event(AlarmStateChangeEvent, event, "CloudWatch Alarm State Change")


def alarm_key(alarm: AlarmStateChangeEvent) -> dict[str, str]:
    """One state change of one alarm: what the idempotency record and the request token are keyed on.

    A re-delivered event carries the same name and state timestamp; the alarm's next state
    change (after an OK) has a new timestamp, so it is a new request.
    """
    return {"alarm_name": alarm.alarm_name, "state_timestamp": alarm.state_time.isoformat()}


# --- What the function reads from and asks of SageMaker ------------------------------------
class LatestExecution(NamedTuple):
    """The pipeline's most recent execution: unpacks as ``(arn, created_at)``; status if known."""

    arn: str
    created_at: datetime
    status: str | None = None


@dataclass(frozen=True)
class StartRequest:
    """One StartPipelineExecution, built from the alarm (see :func:`start_request`)."""

    pipeline_name: str
    display_name: str
    description: str
    parameters: Mapping[str, str]
    client_request_token: str

    def api_parameters(self) -> dict[str, Any]:
        """The keyword arguments of boto3's ``start_pipeline_execution``."""
        return {
            "PipelineName": self.pipeline_name,
            "PipelineExecutionDisplayName": self.display_name,
            "PipelineExecutionDescription": self.description,
            "PipelineParameters": [{"Name": name, "Value": value} for name, value in self.parameters.items()],
            "ClientRequestToken": self.client_request_token,
        }


def display_name(alarm_name: str) -> str:
    """``retrain-<alarm name>`` within SageMaker's 82 characters and its name pattern.

    Every run of characters SageMaker refuses becomes one hyphen.

    Examples
    --------
    >>> display_name("fraud-mlops-dev feature drift (PSI)")
    'retrain-fraud-mlops-dev-feature-drift-PSI'
    """
    room = MAX_DISPLAY_NAME - len(RUN_PREFIX)
    cleaned = _NOT_NAME_CHARACTERS.sub("-", alarm_name).strip("-")[:room].rstrip("-")
    return f"{RUN_PREFIX}{cleaned}" if cleaned else RUN_PREFIX.rstrip("-")


def client_request_token(key: Mapping[str, str]) -> str:
    """StartPipelineExecution's ClientRequestToken: the same for every copy of one state change.

    So even a copy arriving after the idempotency record expired cannot start a second run
    while SageMaker still remembers the token. 72 characters of ``[a-z0-9-]``.
    """
    digest = hashlib.sha256(json.dumps(dict(key), sort_keys=True).encode()).hexdigest()
    return f"{RUN_PREFIX}{digest}"


def start_request(alarm: AlarmStateChangeEvent, settings: RetrainSettings) -> StartRequest:
    """The run an alarm starts: named after it, described by it, with the configured parameters."""
    when, reason = alarm.state_time.isoformat(), alarm.detail.state.reason
    description = f"Started by CloudWatch alarm {alarm.alarm_name} (ALARM at {when}): {reason}"
    return StartRequest(
        pipeline_name=settings.pipeline_name,
        display_name=display_name(alarm.alarm_name),
        description=printable(description, MAX_DESCRIPTION),
        parameters=dict(sorted(settings.pipeline_parameters.items())),
        client_request_token=client_request_token(alarm_key(alarm)),
    )


class RetrainOutcome(StrEnum):
    """What the retrain function did with an alarm."""

    STARTED = "retraining_started"
    COOL_DOWN = "cool_down"
    IGNORED = "ignored"
