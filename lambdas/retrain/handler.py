"""Lambda entry point of the retrain function (``lambdas.constants.RETRAIN_HANDLER``).

Thin like the others: parse the "CloudWatch Alarm State Change" event, read the settings, drop
alarms that are not configured or not in ALARM (no AWS call, no idempotency record), then run
:func:`retrain.logic.retrain` once per alarm state change (alarm name and state timestamp, see
:func:`retrain.models.alarm_key`) under Powertools idempotency, so a re-delivered event returns
the stored result. The stack runs at most one invocation at a time (reserved concurrency 1): the
cool-down check and the start are two calls, and two alarms at the same second must not both
pass the check. Nothing is built or read at import time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.retrain.adapters import Boto3PipelineStarter, PipelineStarter
from lambdas.retrain.logic import ignore_reason, retrain
from lambdas.retrain.models import AlarmStateChangeEvent, RetrainSettings, alarm_key, parse_alarm_event
from lambdas.shared.clock import Clock, utc_now
from lambdas.shared.dispatch import idempotency_store, ignored_with, parse_or_raise, run_once
from lambdas.shared.notify import Notifier, SnsNotifier
from lambdas.shared.observability import logger
from lambdas.shared.registry import client_environment
from lambdas.shared.settings import load_settings
from lambdas.shared.text import printable


@dataclass(frozen=True)
class RetrainDependencies:
    """The AWS-facing objects and the clock the function needs; tests pass their own."""

    starter: PipelineStarter
    notifier: Notifier
    persistence_store: BasePersistenceLayer
    clock: Clock = utc_now


@functools.cache
def build_dependencies(idempotency_table: str, environment: tuple[str | None, ...]) -> RetrainDependencies:
    """Build the boto3-backed dependencies once per table and client environment, like the others."""
    return RetrainDependencies(
        starter=Boto3PipelineStarter.from_environment(),
        notifier=SnsNotifier.from_environment(),
        persistence_store=idempotency_store(idempotency_table),
    )


def retrain_once(
    *,
    request: Mapping[str, str],
    alarm: AlarmStateChangeEvent,
    settings: RetrainSettings,
    dependencies: RetrainDependencies,
) -> dict[str, Any]:
    """:func:`retrain.logic.retrain`, as the unit kept once per ``request`` (the alarm key)."""
    return retrain(
        alarm,
        settings=settings,
        starter=dependencies.starter,
        notifier=dependencies.notifier,
        clock=dependencies.clock,
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Start the training pipeline for a configured alarm that entered ALARM, outside the cool-down.

    Raises
    ------
    MalformedEventError
        The event is not a CloudWatch Alarm State Change event; nothing was started or sent.
    ConfigurationError
        An environment variable is missing or invalid; nothing was started or sent.
    """
    alarm = parse_or_raise(event, parse_alarm_event)
    logger.append_keys(alarm_name=printable(alarm.alarm_name, 255))
    settings = load_settings(RetrainSettings)
    reason = ignore_reason(alarm, settings)
    if reason is not None:
        return ignored_with(reason, **alarm_key(alarm))
    dependencies = build_dependencies(settings.idempotency_table, client_environment())
    return run_once(
        retrain_once,
        key=alarm_key(alarm),
        persistence_store=dependencies.persistence_store,
        context=context,
        alarm=alarm,
        settings=settings,
        dependencies=dependencies,
    )
