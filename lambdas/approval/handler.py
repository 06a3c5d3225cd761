"""Lambda entry point of the approval function (``lambdas.constants.APPROVAL_HANDLER``).

Thin on purpose: parse the event, read the settings, drop events that are not ours, then run,
once per state change of the package (ARN, status and :func:`shared.dispatch.state_change_marker`)
under Powertools idempotency, :func:`approval.logic.review_package` for a PendingManualApproval
package, or :func:`approval.later_decision.record_decision` for an Approved or Rejected one (a
decision taken after the review, recorded on the model card; the function's own is recognised
there and ignored). Importing this module builds no client and reads no setting, so tests and
the local run can import it before the environment exists.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.approval.later_decision import record_decision
from lambdas.approval.logic import review_package
from lambdas.approval.models import ApprovalSettings
from lambdas.constants import APPROVAL_TRIGGER_STATUSES, STATUS_PENDING
from lambdas.shared.dispatch import (
    event_ignore_reason,
    idempotency_key,
    idempotency_store,
    ignored,
    parse_or_raise,
    run_once,
)
from lambdas.shared.events import parse_event
from lambdas.shared.notify import Notifier, SnsNotifier
from lambdas.shared.observability import logger
from lambdas.shared.registry import (
    Boto3RegistryAdapter,
    RegistryAdapter,
    client_environment,
)
from lambdas.shared.settings import load_settings


@dataclass(frozen=True)
class ApprovalDependencies:
    """The AWS-facing objects the function needs; tests and the fuzz suite pass fakes."""

    registry: RegistryAdapter
    notifier: Notifier
    persistence_store: BasePersistenceLayer


@functools.cache
def build_dependencies(idempotency_table: str, environment: tuple[str | None, ...]) -> ApprovalDependencies:
    """Build the boto3-backed dependencies on first use and keep them for warm invocations.

    boto3 picks the region, credentials and ``AWS_ENDPOINT_URL`` (moto in the local run) from
    the environment at this point, which is why it happens lazily rather than at import.
    ``environment`` (:func:`shared.registry.client_environment`) is only part of the cache key:
    a process that switches endpoint gets new clients instead of stale ones.
    """
    return ApprovalDependencies(
        registry=Boto3RegistryAdapter.from_environment(),
        notifier=SnsNotifier.from_environment(),
        persistence_store=idempotency_store(idempotency_table),
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Gate a pending package of the configured group, or record a later decision on its card.

    Raises
    ------
    MalformedEventError
        The event is not a Model Package State Change event; nothing was changed.
    ConfigurationError
        An environment variable is missing or invalid; nothing was changed.
    """
    request = parse_or_raise(event, parse_event)
    logger.append_keys(model_package_arn=request.package_arn)
    settings = load_settings(ApprovalSettings)
    reason = event_ignore_reason(
        request, group_name=settings.model_package_group_name, statuses=APPROVAL_TRIGGER_STATUSES
    )
    if reason is not None:
        return ignored(request.package_arn, reason)
    dependencies = build_dependencies(settings.idempotency_table, client_environment())
    once = {
        "key": idempotency_key(request),
        "persistence_store": dependencies.persistence_store,
        "context": context,
        "settings": settings,
        "registry": dependencies.registry,
    }
    if request.approval_status == STATUS_PENDING:
        return run_once(review_package, notifier=dependencies.notifier, **once)
    return run_once(record_decision, **once)
