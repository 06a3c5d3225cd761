"""Types of the failure-alert function: its settings, the execution status event, and the report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lambdas.constants import (
    ENV_OPERATORS_TOPIC_ARN,
    ENV_PIPELINE_ARN,
    ENV_QUALITY_GATE_STEP,
    PIPELINE_EVENT_DETAIL_TYPE,
)
from lambdas.shared.events import EventSource, EventTimestamp, equal_to, validate_event
from lambdas.shared.settings import TopicArn

#: SageMaker's own patterns (DescribePipeline / ListPipelineExecutionSteps API reference).
PIPELINE_ARN_PATTERN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{1,32}:[0-9]{12}:pipeline/[a-zA-Z0-9\-]{1,256}$"
EXECUTION_ARN_PATTERN = (
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{1,32}:[0-9]{12}:pipeline/[a-zA-Z0-9\-]{1,256}"
    r"/execution/[a-zA-Z0-9]{1,64}$"
)
STEP_NAME_PATTERN = r"^[A-Za-z0-9\-_]{1,64}$"
PipelineArn = Annotated[str, Field(pattern=PIPELINE_ARN_PATTERN)]
ExecutionArn = Annotated[str, Field(pattern=EXECUTION_ARN_PATTERN)]
StepName = Annotated[str, Field(pattern=STEP_NAME_PATTERN)]
ExecutionStatus = Annotated[str, Field(min_length=1, max_length=64)]


class PipelineFailureSettings(BaseModel):
    """The function's environment; see lambdas/constants.py for the variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    operators_topic_arn: TopicArn = Field(alias=ENV_OPERATORS_TOPIC_ARN)
    pipeline_arn: PipelineArn = Field(alias=ENV_PIPELINE_ARN)
    quality_gate_step: StepName = Field(alias=ENV_QUALITY_GATE_STEP)


class ExecutionStatusChangeDetail(BaseModel):
    """The ``detail`` of the event: which execution of which pipeline, and its new status."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    pipeline_arn: PipelineArn = Field(alias="pipelineArn")
    execution_arn: ExecutionArn = Field(alias="pipelineExecutionArn")
    status: ExecutionStatus = Field(alias="currentPipelineExecutionStatus")
    previous_status: ExecutionStatus | None = Field(default=None, alias="previousPipelineExecutionStatus")
    display_name: Annotated[str, Field(max_length=82)] | None = Field(
        default=None, alias="pipelineExecutionDisplayName"
    )
    start_time: EventTimestamp | None = Field(default=None, alias="executionStartTime")
    end_time: EventTimestamp | None = Field(default=None, alias="executionEndTime")


class ExecutionStatusChangeEvent(BaseModel):
    """An EventBridge envelope around :class:`ExecutionStatusChangeDetail`."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    detail_type: Annotated[str, AfterValidator(equal_to(PIPELINE_EVENT_DETAIL_TYPE, "detail-type"))] = Field(
        alias="detail-type"
    )
    source: EventSource
    detail: ExecutionStatusChangeDetail

    @property
    def pipeline_name(self) -> str:
        return self.detail.pipeline_arn.rpartition("/")[2]


def parse_execution_event(event: Any) -> ExecutionStatusChangeEvent:
    """Validate a raw Lambda event, raising :class:`MalformedEventError` if it does not fit.

    Examples
    --------
    >>> parse_execution_event({"detail-type": "Scheduled Event"})
    Traceback (most recent call last):
    MalformedEventError: ...
    """
    return validate_event(ExecutionStatusChangeEvent, event, "Pipeline Execution Status Change")


class FailureKind(StrEnum):
    """Why a run ended without a registered model, as far as the operators need to know."""

    #: The quality gate's Fail step stopped the run: the model missed the bar. Nothing is broken.
    QUALITY_GATE = "quality_gate"
    #: A job, a permission, a quota or the definition failed: something needs repairing.
    INFRASTRUCTURE = "infrastructure"
    #: Someone (or something) stopped the run.
    STOPPED = "stopped"


KIND_SUMMARY = {
    FailureKind.QUALITY_GATE: "model below the quality bar",
    FailureKind.INFRASTRUCTURE: "infrastructure failure",
    FailureKind.STOPPED: "stopped before it finished",
}
KIND_ADVICE = {
    FailureKind.QUALITY_GATE: (
        "Not an infrastructure failure: the quality gate stopped the run on purpose because the "
        "model's AUC or recall missed the bar, so no model was registered. Nothing needs repairing; "
        "look at the data or the bar."
    ),
    FailureKind.INFRASTRUCTURE: (
        "A step failed for a reason outside the model's quality. Inspect the job named below "
        "(its CloudWatch logs under /aws/sagemaker/), fix the cause, then retry the execution."
    ),
    FailureKind.STOPPED: "The run was stopped before it finished; no model was registered.",
}


@dataclass(frozen=True)
class StepFailure:
    """One step that did not succeed, with SageMaker's reason and the job it ran, if any."""

    name: str
    status: str
    reason: str
    job_arn: str | None = None

    def describe(self) -> str:
        job = f" (job: {self.job_arn})" if self.job_arn else ""
        return f"{self.name} {self.status.lower()}{job}: {self.reason}"


@dataclass(frozen=True)
class FailureReport:
    """What the operators are told about one execution."""

    pipeline_name: str
    execution_arn: str
    status: str
    kind: FailureKind
    steps: tuple[StepFailure, ...]
    execution_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pipeline_execution_arn": self.execution_arn,
            "status": self.status,
            "kind": self.kind.value,
            "failing_steps": [step.name for step in self.steps],
            "reasons": [step.reason for step in self.steps] or [self.execution_reason or ""],
        }
