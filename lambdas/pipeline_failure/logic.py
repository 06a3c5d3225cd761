"""Failure alerts: which step failed and why, whether it was the quality gate, and telling the operators.

:func:`classify` is pure. :func:`alert_operators` reads the execution's steps (the event itself
names neither the step nor the reason), builds the report and publishes it to the operators'
topic. A run stopped by the quality gate's Fail step is reported as such, apart from failures
that need repairing, so nobody debugs infrastructure because a model was merely not good enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lambdas.pipeline_failure.adapters import PipelineExecutions
from lambdas.pipeline_failure.models import (
    KIND_ADVICE,
    KIND_SUMMARY,
    ExecutionStatusChangeEvent,
    FailureKind,
    FailureReport,
    PipelineFailureSettings,
    StepFailure,
)
from lambdas.shared.documents import dig
from lambdas.shared.notify import Notifier
from lambdas.shared.observability import logger
from lambdas.shared.text import printable

#: Step statuses that mean the step did not complete.
UNFINISHED_STEP_STATUSES = ("Failed", "Stopped")
#: SageMaker's reasons are up to 3072 characters; a message lists each, cut to this.
MAX_REASON_CHARS = 1000
NO_REASON = "SageMaker gave no reason"


def _job_arn(metadata: Any) -> str | None:
    """The ARN of the job or resource a step ran (its Metadata holds one entry, by step type)."""
    if not isinstance(metadata, Mapping):
        return None
    for entry in metadata.values():
        arn = dig(entry, "Arn")
        if isinstance(arn, str):
            return printable(arn, 300)
    return None


def _step_failure(step: Mapping[str, Any]) -> StepFailure:
    """A step that did not complete; a Fail step's own ErrorMessage is the best reason it has."""
    reason = dig(step, "Metadata", "Fail", "ErrorMessage") or step.get("FailureReason") or NO_REASON
    return StepFailure(
        name=printable(str(step.get("StepName", "?")), 64),
        status=printable(str(step.get("StepStatus", "?")), 16),
        reason=printable(str(reason), MAX_REASON_CHARS),
        job_arn=_job_arn(step.get("Metadata")),
    )


def classify(
    status: str, steps: Iterable[Mapping[str, Any]], quality_gate_step: str
) -> tuple[FailureKind, tuple[StepFailure, ...]]:
    """The kind of failure and the steps that did not complete, in execution order.

    Examples
    --------
    >>> kind, _ = classify("Failed", [{"StepName": "Gate", "StepStatus": "Failed"}], "Gate")
    >>> kind.value
    'quality_gate'
    """
    failures = tuple(_step_failure(s) for s in steps if s.get("StepStatus") in UNFINISHED_STEP_STATUSES)
    if status == "Stopped":
        return FailureKind.STOPPED, failures
    # The gate's name alone decides: any other failed step, alongside it or not, needs repairing.
    others = [f for f in failures if f.name != quality_gate_step]
    if failures and not others:
        return FailureKind.QUALITY_GATE, failures
    return FailureKind.INFRASTRUCTURE, failures


def failure_report(
    event: ExecutionStatusChangeEvent, settings: PipelineFailureSettings, executions: PipelineExecutions
) -> FailureReport:
    """Read the steps of the event's execution and classify what happened."""
    detail = event.detail
    kind, steps = classify(detail.status, executions.steps(detail.execution_arn), settings.quality_gate_step)
    # Only when no step explains it (the definition or a parameter was refused, say).
    reason = None if steps else executions.failure_reason(detail.execution_arn)
    return FailureReport(
        pipeline_name=event.pipeline_name,
        execution_arn=detail.execution_arn,
        status=detail.status,
        kind=kind,
        steps=steps,
        execution_reason=printable(reason, MAX_REASON_CHARS) if reason else None,
    )


def alert_message(report: FailureReport, previous_status: str | None = None) -> tuple[str, str]:
    """Subject and body of the operators' notification."""
    subject = f"{report.pipeline_name}: run {report.status.lower()}, {KIND_SUMMARY[report.kind]}"
    was = f" (was {previous_status})" if previous_status else ""
    lines = [
        f"Pipeline:  {report.pipeline_name}",
        f"Execution: {report.execution_arn}",
        f"Status:    {report.status}{was}",
        f"Kind:      {KIND_SUMMARY[report.kind]}",
        "",
        KIND_ADVICE[report.kind],
        "",
    ]
    if report.steps:
        lines += ["Failing step(s):", *(f"  {step.describe()}" for step in report.steps)]
    else:
        lines.append(f"No step failed; the execution says: {report.execution_reason or NO_REASON}")
    if report.kind is FailureKind.INFRASTRUCTURE:
        lines += [
            "",
            "Once the cause is fixed:",
            f"  aws sagemaker retry-pipeline-execution --pipeline-execution-arn {report.execution_arn}",
        ]
    return printable(subject, 100), "\n".join(lines)


def alert_operators(
    *,
    event: ExecutionStatusChangeEvent,
    settings: PipelineFailureSettings,
    executions: PipelineExecutions,
    notifier: Notifier,
) -> dict[str, Any]:
    """Publish one message about a failed or stopped execution; the result is the function's output."""
    report = failure_report(event, settings, executions)
    subject, message = alert_message(report, event.detail.previous_status)
    notifier.publish(settings.operators_topic_arn, subject, message)
    result = {"outcome": "notified", **report.as_dict()}
    logger.info("operators notified", extra=result)
    return result
