"""Lambda entry point of the deploy function (``lambdas.constants.DEPLOY_HANDLER``).

Parse the event, read the settings, drop events that are not Approved packages of the group,
then run :func:`deploy.logic.deploy_package` once per state change of the package (ARN, status
and :func:`shared.dispatch.state_change_marker`) under Powertools idempotency. Nothing is built or
read at import time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.constants import STATUS_APPROVED
from lambdas.deploy.logic import deploy_package
from lambdas.deploy.models import DeploySettings
from lambdas.shared.clock import Clock, utc_now
from lambdas.shared.dispatch import (
    event_ignore_reason,
    idempotency_key,
    idempotency_store,
    ignored,
    parse_or_raise,
    run_once,
)
from lambdas.shared.events import parse_event
from lambdas.shared.observability import logger
from lambdas.shared.registry import (
    Boto3RegistryAdapter,
    RegistryAdapter,
    client_environment,
)
from lambdas.shared.settings import load_settings


@dataclass(frozen=True)
class DeployDependencies:
    """The AWS-facing objects and the clock the function needs; tests pass their own."""

    registry: RegistryAdapter
    persistence_store: BasePersistenceLayer
    #: Stamps deployed-package.json's published_at.
    clock: Clock = utc_now


@functools.cache
def build_dependencies(idempotency_table: str, environment: tuple[str | None, ...]) -> DeployDependencies:
    """Build the boto3-backed dependencies on first use and keep them for warm invocations.

    Keyed like the approval function's: per table and per client environment.
    """
    return DeployDependencies(
        registry=Boto3RegistryAdapter.from_environment(),
        persistence_store=idempotency_store(idempotency_table),
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Deploy an Approved package of the configured group; ignore every other event.

    Raises
    ------
    MalformedEventError
        The event is not a Model Package State Change event; nothing was changed.
    ConfigurationError
        An environment variable is missing or invalid; nothing was changed.
    EndpointNotUpdatableError
        The endpoint is busy or failed; the invocation is retried later.
    """
    request = parse_or_raise(event, parse_event)
    logger.append_keys(model_package_arn=request.package_arn)
    settings = load_settings(DeploySettings)
    reason = event_ignore_reason(
        request, group_name=settings.model_package_group_name, statuses=(STATUS_APPROVED,)
    )
    if reason is not None:
        return ignored(request.package_arn, reason)
    dependencies = build_dependencies(settings.idempotency_table, client_environment())
    return run_once(
        deploy_package,
        key=idempotency_key(request),
        persistence_store=dependencies.persistence_store,
        context=context,
        settings=settings,
        registry=dependencies.registry,
        clock=dependencies.clock,
    )
