"""What the functions do around their logic: parse, filter, key, run once, report ignored events.

The registry functions act on given approval statuses of one model package group. Everything
else is ignored with a logged reason, twice over: once on the event (cheap, before any AWS call
or idempotency record) and once on the registry's own view of the package, because an event can
be late, out of order, or name a group the package does not belong to. The retrain function uses
the generic parts (:func:`parse_or_raise`, :func:`ignored_with`, :func:`run_once`) with its own
event and key.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from lambdas.constants import IDEMPOTENCY_EXPIRY_SECONDS
from lambdas.shared.events import MalformedEventError, ModelPackageStateChangeEvent
from lambdas.shared.observability import logger
from lambdas.shared.registry import (
    ArnScope,
    ModelPackage,
    PackageNotFoundError,
    RegistryAdapter,
    dynamodb_client_from_environment,
)
from lambdas.shared.text import printable

IGNORED = "ignored"
EventT = TypeVar("EventT")


def parse_or_raise(event: Any, parse: Callable[[Any], EventT]) -> EventT:
    """Parse the event with ``parse``, logging a structured line before MalformedEventError escapes.

    Every function's parser raises MalformedEventError and only that, so this one place logs it.
    """
    try:
        return parse(event)
    except MalformedEventError as error:
        logger.warning("malformed event", extra={"error": str(error)})
        raise


def event_ignore_reason(
    event: ModelPackageStateChangeEvent, *, group_name: str, statuses: Collection[str]
) -> str | None:
    """Why the event is not for a function acting on ``statuses`` in ``group_name``, or ``None``.

    Filtering on status is what keeps the deploy function off pending and rejected packages;
    the approval function takes all three and tells its own decisions apart on the model card.
    """
    if event.group_name != group_name:
        return f"group {event.group_name!r} is not the configured group {group_name!r}"
    if event.approval_status not in statuses:
        return f"status {printable(event.approval_status, 64)!r} is not {' or '.join(statuses)}"
    return None


def package_ignore_reason(package: ModelPackage, *, group_name: str, status: str) -> str | None:
    """The same check on DescribeModelPackage's answer, which is what counts."""
    if package.group_name != group_name:
        return f"package belongs to group {package.group_name!r}, not {group_name!r}"
    if package.approval_status != status:
        return f"package is now {package.approval_status!r}, not {status}; the event was out of date"
    return None


def state_change_marker(event: ModelPackageStateChangeEvent) -> str:
    """What tells one state change of a package from another: its LastModifiedTime.

    Every UpdateModelPackage moves the package's LastModifiedTime, and every copy of one state
    change (EventBridge's at-least-once delivery, Lambda's retries, a second event SageMaker
    emits for the same change) carries the same value. So a package set back to
    PendingManualApproval after a rejection is a new state change, reviewed again, while
    duplicates still get the stored result. The event's own id would also split re-deliveries
    from new changes, but two events about one change would then both act (two notices to a
    reviewer). Without LastModifiedTime (optional in the event model), the event's time stands
    in for it, then its id.
    """
    for value in (event.detail.last_modified_time, event.time):
        if value is not None:
            return value.isoformat()
    return f"event:{event.event_id or ''}"


def idempotency_key(event: ModelPackageStateChangeEvent) -> dict[str, str]:
    """The payload Powertools hashes: one action per (package ARN, approval status, state change)."""
    return {
        "model_package_arn": event.package_arn,
        "model_approval_status": event.approval_status,
        "state_change": state_change_marker(event),
    }


def ignored(arn: str, reason: str) -> dict[str, Any]:
    """The result for a package event a function does not act on, logged with its reason."""
    return ignored_with(reason, model_package_arn=arn)


def ignored_with(reason: str, **identity: str) -> dict[str, Any]:
    """The result for any event a function does not act on: what it was about, and why not."""
    logger.info("event ignored", extra={"outcome": IGNORED, "reason": reason})
    return {**identity, "outcome": IGNORED, "reason": reason}


def package_to_act_on(
    arn: str,
    registry: RegistryAdapter,
    *,
    group_name: str,
    status: str,
    registry_account: str | None = None,
) -> tuple[ModelPackage | None, dict[str, Any] | None]:
    """Re-read the package (never trust the event) and say whether this function should act.

    Returns ``(package, None)`` to act, or ``(None, ignored_result)`` when the ARN is of another
    partition, region or account than the function's own (checked before any call on it), the
    package is gone, belongs to another group or is no longer in ``status`` (a late event).
    With ``registry_account`` (cross-account promotion), packages of that one account are
    accepted instead of the function's own; every other account is still refused.
    """
    differences = ArnScope.of_arn(arn).differences(expected_scope(registry.home(), registry_account))
    if differences:
        return None, ignored(arn, "package ARN is of another " + "; ".join(differences))
    try:
        package = registry.describe_model_package(arn)
    except PackageNotFoundError:
        return None, ignored(arn, "package no longer exists")
    reason = package_ignore_reason(package, group_name=group_name, status=status)
    if reason is not None:
        return None, ignored(arn, reason)
    return package, None


def expected_scope(home: ArnScope, registry_account: str | None) -> ArnScope:
    """Where the packages a function acts on live: its own scope, or the registry's account in it."""
    if registry_account is None:
        return home
    return ArnScope(partition=home.partition, region=home.region, account=registry_account)


IDEMPOTENCY_CONFIG = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS)


def idempotency_store(table_name: str) -> DynamoDBPersistenceLayer:
    """The functions' idempotency records, with a client that honours AWS_ENDPOINT_URL."""
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb_client_from_environment())


def run_once(
    logic: Callable[..., dict[str, Any]],
    *,
    key: Mapping[str, str],
    persistence_store: BasePersistenceLayer,
    context: Any,
    **arguments: Any,
) -> dict[str, Any]:
    """Run ``logic`` once per ``key`` (passed to it as ``request``): a duplicate gets the stored result.

    ``key`` names one state change: :func:`idempotency_key` for a package, the alarm name and state
    timestamp for the retrain function. Powertools hashes it together with ``logic``'s name, so two
    functions sharing the table never share a record. Wrapped per call, not with a decorator at
    import, because the persistence store only exists once the function's settings have been read.
    """
    IDEMPOTENCY_CONFIG.register_lambda_context(context)
    once = idempotent_function(
        logic, data_keyword_argument="request", persistence_store=persistence_store, config=IDEMPOTENCY_CONFIG
    )
    return once(request=dict(key), **arguments)
