"""Lambda entry point of the failure-alert function (``lambdas.constants.PIPELINE_FAILURE_HANDLER``).

Thin like the registry functions: parse the event, read the settings, drop events that are not
a failed or stopped run of the configured pipeline, then call
:func:`pipeline_failure.logic.alert_operators`. No idempotency record: a duplicate delivery sends
a second, identical message, which is cheaper than a table and never hides a failure.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.constants import PIPELINE_ALERT_STATUSES
from lambdas.pipeline_failure.adapters import Boto3PipelineExecutions, PipelineExecutions
from lambdas.pipeline_failure.logic import alert_operators
from lambdas.pipeline_failure.models import (
    ExecutionStatusChangeEvent,
    PipelineFailureSettings,
    parse_execution_event,
)
from lambdas.shared.dispatch import ignored_with, parse_or_raise
from lambdas.shared.notify import Notifier, SnsNotifier
from lambdas.shared.observability import logger
from lambdas.shared.registry import client_environment
from lambdas.shared.settings import load_settings
from lambdas.shared.text import printable


@dataclass(frozen=True)
class PipelineFailureDependencies:
    """The AWS-facing objects the function needs; tests pass their own."""

    executions: PipelineExecutions
    notifier: Notifier


@functools.cache
def build_dependencies(environment: tuple[str | None, ...]) -> PipelineFailureDependencies:
    """Build the boto3-backed dependencies once per client environment (see the approval handler)."""
    return PipelineFailureDependencies(
        executions=Boto3PipelineExecutions.from_environment(), notifier=SnsNotifier.from_environment()
    )


def ignore_reason(event: ExecutionStatusChangeEvent, settings: PipelineFailureSettings) -> str | None:
    """Why the event is not a failed or stopped run of this function's pipeline, or ``None``.

    SageMaker writes pipeline names in ARNs in lower case, so ARNs are compared case-insensitively.
    """
    detail = event.detail
    if detail.pipeline_arn.lower() != settings.pipeline_arn.lower():
        return f"pipeline {detail.pipeline_arn} is not the configured {settings.pipeline_arn}"
    if not detail.execution_arn.lower().startswith(f"{settings.pipeline_arn.lower()}/execution/"):
        return f"execution {detail.execution_arn} is not an execution of {settings.pipeline_arn}"
    if detail.status not in PIPELINE_ALERT_STATUSES:
        return f"status {printable(detail.status, 64)!r} is not one of {', '.join(PIPELINE_ALERT_STATUSES)}"
    return None


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Tell the operators about a failed or stopped run of the configured pipeline.

    Raises
    ------
    MalformedEventError
        The event is not a Pipeline Execution Status Change event; nothing was sent.
    ConfigurationError
        An environment variable is missing or invalid; nothing was sent.
    """
    request = parse_or_raise(event, parse_execution_event)
    logger.append_keys(pipeline_execution_arn=request.detail.execution_arn)
    settings = load_settings(PipelineFailureSettings)
    reason = ignore_reason(request, settings)
    if reason is not None:
        return ignored_with(reason, pipeline_execution_arn=request.detail.execution_arn)
    dependencies = build_dependencies(client_environment())
    return alert_operators(
        event=request, settings=settings, executions=dependencies.executions, notifier=dependencies.notifier
    )
