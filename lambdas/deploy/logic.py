"""Deploying an Approved model package: model, endpoint config, then create or update the endpoint.

Every step checks before it creates, so a re-delivered event (after the idempotency record has
expired, or with idempotency disabled) converges on the same resources instead of duplicating
them: SageMaker would fail the second CreateModel with a name clash (and moto silently accepts
it), so re-delivery is made a no-op by checking first rather than by catching errors.

Ordering. Events can arrive late or out of order. The registry is re-read (a version rejected
since the event is not deployed), and an endpoint already serving a newer version of the same
group is left alone: deploying v2 after v3 would be a silent rollback. Rolling back on purpose is
an operator action (UpdateEndpoint to the older config), not something a late event should do.

Monitoring baseline. Once the endpoint serves (or is moving to) the package, its drift baseline
(``DriftCheckBaselines.ModelDataQuality.Statistics``) is copied to ``MONITORING_BASELINE_URI``,
the one place the monitoring job reads, with ``deployed-package.json`` beside it naming the
package. A package without a baseline (registered before the pipeline made one) is deployed all
the same: a warning, and the monitor keeps the previous baseline, which deployed-package.json
still names. ALREADY_DEPLOYED publishes again, so a re-driven event repairs a missed copy. A
blue/green update that SageMaker rolls back leaves the new package's baseline published until
the next deployment; the rollback alarm has already told the operators.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.constants import STATUS_APPROVED, TAG_MODEL_PACKAGE_GROUP, TAG_MODEL_PACKAGE_VERSION
from lambdas.deploy.models import (
    SERVING_OUTCOMES,
    BaselineOutcome,
    DeployOutcome,
    DeploySettings,
    data_capture_config,
    deployment_config,
    production_variant,
    release_tags,
    resource_name,
)
from lambdas.shared.clock import Clock, utc_now
from lambdas.shared.dispatch import ignored, package_to_act_on
from lambdas.shared.observability import logger
from lambdas.shared.registry import Endpoint, EvidenceUnavailableError, ModelPackage, RegistryAdapter
from lambdas.shared.text import printable

ENDPOINT_IN_SERVICE = "InService"


class EndpointNotUpdatableError(RuntimeError):
    """The endpoint exists but is not InService (Creating, Updating, RollingBack, Failed...).

    Raised, not swallowed: the invocation fails, Lambda retries it later, and once retries are
    exhausted the event reaches the failure destination, from which an operator re-drives it
    (after deleting a Failed endpoint, if that is the cause). The idempotency record is released
    on failure, so the retry really deploys.
    """


@dataclass(frozen=True)
class Release:
    """One package version's resources and the tags they all carry (cost tags + package tags)."""

    package: ModelPackage
    version: int
    resource_name: str
    tags: Mapping[str, str]

    @classmethod
    def of(cls, package: ModelPackage, version: int, settings: DeploySettings) -> Release:
        group = settings.model_package_group_name
        return cls(
            package=package,
            version=version,
            resource_name=resource_name(group, version, package.arn, settings.endpoint_name),
            tags=release_tags(settings, package.arn, version),
        )


def _ensure_model_and_config(release: Release, settings: DeploySettings, registry: RegistryAdapter) -> bool:
    """Create the model and endpoint config unless they exist; return whether anything was created."""
    name = release.resource_name
    created = False
    if not registry.model_exists(name):
        registry.create_model(
            name=name,
            package_arn=release.package.arn,
            execution_role_arn=settings.model_execution_role_arn,
            tags=release.tags,
        )
        created = True
    if not registry.endpoint_config_exists(name):
        registry.create_endpoint_config(
            name=name,
            production_variant=production_variant(settings, name),
            data_capture=data_capture_config(settings),
            tags=release.tags,
        )
        created = True
    return created


def _deployed_version(endpoint: Endpoint, group_name: str, registry: RegistryAdapter) -> int | None:
    """The group's package version the endpoint's current config was built from, if we built it."""
    tags = registry.endpoint_config_tags(endpoint.config_name)
    version = tags.get(TAG_MODEL_PACKAGE_VERSION, "")
    if tags.get(TAG_MODEL_PACKAGE_GROUP) != group_name or not version.isdigit():
        return None
    return int(version)


def _serves_newer_version(
    endpoint: Endpoint | None, release: Release, settings: DeploySettings, registry: RegistryAdapter
) -> bool:
    """Whether the endpoint already runs a later version of the group than ``release``."""
    if endpoint is None or endpoint.config_name == release.resource_name:
        return False
    deployed = _deployed_version(endpoint, settings.model_package_group_name, registry)
    return deployed is not None and deployed > release.version


def _roll_out(
    release: Release, endpoint: Endpoint | None, settings: DeploySettings, registry: RegistryAdapter
) -> DeployOutcome:
    """Create the endpoint, or move it to the release's config with a blue/green update."""
    if endpoint is None:
        registry.create_endpoint(
            name=settings.endpoint_name, config_name=release.resource_name, tags=release.tags
        )
        return DeployOutcome.ENDPOINT_CREATED
    if endpoint.config_name == release.resource_name:
        return DeployOutcome.ALREADY_DEPLOYED
    if endpoint.status != ENDPOINT_IN_SERVICE:
        raise EndpointNotUpdatableError(
            f"endpoint {endpoint.name} is {endpoint.status}; cannot move it to {release.resource_name} now"
        )
    registry.update_endpoint(
        name=endpoint.name, config_name=release.resource_name, deployment_config=deployment_config(settings)
    )
    registry.tag(endpoint.arn, release.tags)
    return DeployOutcome.ENDPOINT_UPDATED


def deployed_package_document(
    release: Release, settings: DeploySettings, source_uri: str, clock: Clock
) -> str:
    """deployed-package.json: which package (and which of its files) the monitor compares with."""
    return json.dumps(
        {
            "model_package_arn": release.package.arn,
            "model_package_version": release.version,
            "baseline_source_uri": source_uri,
            "endpoint_name": settings.endpoint_name,
            "published_at": clock().isoformat(),
        },
        sort_keys=True,
        indent=2,
    )


def _copy_baseline(source: str | None, settings: DeploySettings, registry: RegistryAdapter) -> str | None:
    """Copy the baseline to MONITORING_BASELINE_URI; why it could not be, or ``None`` once copied."""
    if source is None:
        return "the package has no DriftCheckBaselines.ModelDataQuality.Statistics"
    try:
        registry.copy_object(
            source_uri=source, target_uri=settings.monitoring_baseline_uri, kms_key_arn=settings.kms_key_arn
        )
    except EvidenceUnavailableError as error:
        return f"{printable(error.uri, 300)}: {error.reason}"
    return None


def publish_baseline(
    release: Release, settings: DeploySettings, registry: RegistryAdapter, clock: Clock
) -> BaselineOutcome:
    """Copy the package's drift baseline to the monitoring job's one place, and say whose it is.

    A missing baseline never fails the deployment: the model is already serving, and a retry
    would find the same package without one. Other S3 errors (throttling, AccessDenied) propagate:
    the retry finds the endpoint already deployed and publishes again.
    """
    if not settings.monitoring_baseline_uri:
        return BaselineOutcome.NOT_CONFIGURED
    source = release.package.drift_baseline_uri
    problem = _copy_baseline(source, settings, registry)
    if problem is not None:
        logger.warning(
            "no drift baseline published: the monitor keeps comparing with the previous one",
            extra={"problem": problem, "deployed_package": settings.deployed_package_uri},
        )
        return BaselineOutcome.MISSING
    document = deployed_package_document(release, settings, str(source), clock)
    registry.put_json(settings.deployed_package_uri, document, settings.kms_key_arn)
    return BaselineOutcome.PUBLISHED


def deploy_package(
    *,
    request: Mapping[str, str],
    settings: DeploySettings,
    registry: RegistryAdapter,
    clock: Clock = utc_now,
) -> dict[str, Any]:
    """Deploy one Approved package; the returned dict is stored for duplicate events."""
    arn = request["model_package_arn"]
    package, skipped = package_to_act_on(
        arn,
        registry,
        group_name=settings.model_package_group_name,
        status=STATUS_APPROVED,
        registry_account=settings.registry_account,
    )
    if package is None:
        return skipped
    if package.version is None:
        return ignored(arn, "package has no version; only versioned packages of the group are deployed")
    release = Release.of(package, package.version, settings)
    endpoint = registry.describe_endpoint(settings.endpoint_name)
    if _serves_newer_version(endpoint, release, settings, registry):
        # Checked before creating anything, so a late event leaves no unused model behind.
        outcome, created = DeployOutcome.NEWER_VERSION_DEPLOYED, False
    else:
        created = _ensure_model_and_config(release, settings, registry)
        outcome = _roll_out(release, endpoint, settings, registry)
    baseline = (
        publish_baseline(release, settings, registry, clock)
        if outcome in SERVING_OUTCOMES
        else BaselineOutcome.NOT_SERVING
    )
    result = {
        "model_package_arn": package.arn,
        "outcome": outcome.value,
        "endpoint_name": settings.endpoint_name,
        "model_name": release.resource_name,
        "endpoint_config_name": release.resource_name,
        "created_model_or_config": created,
        "monitoring_baseline": baseline.value,
    }
    logger.info("deployment", extra=result)
    return result
