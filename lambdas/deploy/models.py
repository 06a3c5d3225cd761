"""Types and request builders of the deploy function. Pure: no AWS calls here."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from lambdas.constants import (
    CANARY_SIZE_PERCENT_RANGE,
    DEFAULT_CANARY_SIZE_PERCENT,
    DEFAULT_TRAFFIC_ROUTING,
    DEFAULT_TRAFFIC_WAIT_SECONDS,
    DEPLOYED_PACKAGE_FILE,
    ENV_CANARY_SIZE_PERCENT,
    ENV_COST_TAGS,
    ENV_DATA_CAPTURE_S3_URI,
    ENV_DATA_CAPTURE_SAMPLING_PERCENTAGE,
    ENV_ENDPOINT_INSTANCE_COUNT,
    ENV_ENDPOINT_INSTANCE_TYPE,
    ENV_ENDPOINT_NAME,
    ENV_IDEMPOTENCY_TABLE,
    ENV_KMS_KEY_ARN,
    ENV_MODEL_EXECUTION_ROLE_ARN,
    ENV_MODEL_PACKAGE_GROUP_NAME,
    ENV_MONITORING_BASELINE_URI,
    ENV_REGISTRY_ACCOUNT,
    ENV_ROLLBACK_ALARM_NAMES,
    ENV_TRAFFIC_ROUTING,
    ENV_TRAFFIC_WAIT_SECONDS,
    MAX_RESOURCE_TAGS,
    MONITORING_BASELINE_FILE,
    PACKAGE_TAG_KEYS,
    PRODUCTION_VARIANT_NAME,
    TAG_MODEL_PACKAGE_ARN,
    TAG_MODEL_PACKAGE_GROUP,
    TAG_MODEL_PACKAGE_VERSION,
    TERMINATION_WAIT_SECONDS,
    TRAFFIC_CANARY,
    TRAFFIC_WAIT_SECONDS_RANGE,
)
from lambdas.shared.events import GROUP_NAME_PATTERN, GroupName
from lambdas.shared.registry import EvidenceUnavailableError, parse_s3_uri
from lambdas.shared.settings import TableName, json_object, split_names

#: SageMaker names (model, endpoint config, endpoint): 63 characters, this pattern.
MAX_NAME_LENGTH = 63
MAX_TAG_VALUE_LENGTH = 256
#: UpdateEndpoint's AutoRollbackConfiguration accepts at most 10 alarms.
MAX_ROLLBACK_ALARMS = 10

#: Room left for cost tags next to the package tags, within SageMaker's per-resource limit.
MAX_COST_TAGS = MAX_RESOURCE_TAGS - len(PACKAGE_TAG_KEYS)

ResourceName = Annotated[str, Field(pattern=GROUP_NAME_PATTERN)]
AlarmName = Annotated[str, Field(min_length=1, max_length=255)]
#: SageMaker's Tag rules (Key 1-128, Value 0-256, letters, digits, spaces and _ . : / = + - @).
TagKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+\-@]+$")]
TagValue = Annotated[str, Field(max_length=256, pattern=r"^[\w .:/=+\-@]*$")]


def _baseline_object_uri(value: str) -> str:
    """Empty (not published), or ``s3://bucket/<folder>/baseline.json``.

    The monitoring job reads its baseline folder for a file of exactly that name, so a URI naming
    the folder itself would publish where nobody looks: refused here, before anything is deployed.
    """
    value = value.strip()
    if not value:
        return value
    try:
        _, key = parse_s3_uri(value)
    except EvidenceUnavailableError:
        raise ValueError("must be an s3://bucket/key URI") from None
    if key.rpartition("/")[2] != MONITORING_BASELINE_FILE:
        raise ValueError(
            f"must name the {MONITORING_BASELINE_FILE} object the monitoring job reads, not a folder"
        )
    return value


class DeploySettings(BaseModel):
    """The deploy function's environment; see lambdas/constants.py for the variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model_package_group_name: GroupName = Field(alias=ENV_MODEL_PACKAGE_GROUP_NAME)
    idempotency_table: TableName = Field(alias=ENV_IDEMPOTENCY_TABLE)
    endpoint_name: ResourceName = Field(alias=ENV_ENDPOINT_NAME)
    endpoint_instance_type: str = Field(
        alias=ENV_ENDPOINT_INSTANCE_TYPE, pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
    )
    endpoint_instance_count: int = Field(alias=ENV_ENDPOINT_INSTANCE_COUNT, ge=1, le=100)
    model_execution_role_arn: str = Field(
        alias=ENV_MODEL_EXECUTION_ROLE_ARN,
        pattern=r"^arn:aws[a-z\-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@\-/]{1,512}$",
    )
    data_capture_s3_uri: str = Field(
        alias=ENV_DATA_CAPTURE_S3_URI, pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/\S*)?$"
    )
    data_capture_sampling_percentage: int = Field(alias=ENV_DATA_CAPTURE_SAMPLING_PERCENTAGE, ge=0, le=100)
    kms_key_arn: str = Field(
        alias=ENV_KMS_KEY_ARN, pattern=r"^arn:aws[a-z\-]*:kms:[a-z0-9\-]+:[0-9]{12}:(key|alias)/[\w/\-]+$"
    )
    rollback_alarm_names: Annotated[
        tuple[AlarmName, ...], BeforeValidator(split_names), Field(max_length=MAX_ROLLBACK_ALARMS)
    ] = Field(default=(), alias=ENV_ROLLBACK_ALARM_NAMES)
    traffic_routing: Literal["ALL_AT_ONCE", "CANARY"] = Field(
        default=DEFAULT_TRAFFIC_ROUTING, alias=ENV_TRAFFIC_ROUTING
    )
    canary_size_percent: int = Field(
        default=DEFAULT_CANARY_SIZE_PERCENT,
        alias=ENV_CANARY_SIZE_PERCENT,
        ge=CANARY_SIZE_PERCENT_RANGE[0],
        le=CANARY_SIZE_PERCENT_RANGE[1],
    )
    traffic_wait_seconds: int = Field(
        default=DEFAULT_TRAFFIC_WAIT_SECONDS,
        alias=ENV_TRAFFIC_WAIT_SECONDS,
        ge=TRAFFIC_WAIT_SECONDS_RANGE[0],
        le=TRAFFIC_WAIT_SECONDS_RANGE[1],
    )
    cost_tags: Annotated[
        dict[TagKey, TagValue], BeforeValidator(json_object), Field(max_length=MAX_COST_TAGS)
    ] = Field(default_factory=dict, alias=ENV_COST_TAGS)
    #: Cross-account promotion: the registry's account, the only one whose packages are deployed
    #: (the function's own account's are then refused). Unset: the function's own account only.
    registry_account: str | None = Field(default=None, alias=ENV_REGISTRY_ACCOUNT, pattern=r"^[0-9]{12}$")
    #: Where the deployed package's drift baseline is copied for the monitoring job; empty: nowhere.
    monitoring_baseline_uri: Annotated[str, AfterValidator(_baseline_object_uri)] = Field(
        default="", alias=ENV_MONITORING_BASELINE_URI
    )

    @property
    def deployed_package_uri(self) -> str:
        """``deployed-package.json`` beside the published baseline (empty when nothing is published)."""
        if not self.monitoring_baseline_uri:
            return ""
        return f"{self.monitoring_baseline_uri.rpartition('/')[0]}/{DEPLOYED_PACKAGE_FILE}"

    @model_validator(mode="after")
    def _canary_needs_two_instances(self) -> Self:
        """A canary is at most half the new fleet, so one instance cannot host it."""
        if self.traffic_routing == TRAFFIC_CANARY and self.endpoint_instance_count < 2:
            raise ValueError(f"{ENV_TRAFFIC_ROUTING}=CANARY needs {ENV_ENDPOINT_INSTANCE_COUNT} >= 2")
        return self

    @model_validator(mode="after")
    def _cost_tags_leave_the_package_tags_alone(self) -> Self:
        """The package tags trace a resource to its version (and guard against rollbacks): not overridable."""
        reserved = sorted(
            key for key in self.cost_tags if key in PACKAGE_TAG_KEYS or key.lower().startswith("aws:")
        )
        if reserved:
            raise ValueError(
                f"{ENV_COST_TAGS} may not set {', '.join(reserved)} (reserved: "
                f"{', '.join(PACKAGE_TAG_KEYS)} and the aws: prefix)"
            )
        return self


def resource_name(group_name: str, version: int, package_arn: str, endpoint_name: str) -> str:
    """Name of the model and endpoint config for one package version on one endpoint.

    ``<group>-v<version>-<8 hex>``: readable back to the package version; the hash of the
    package ARN and the endpoint name keeps two endpoints serving the same package (or a
    recreated group reusing a version number) from colliding. The group part is cut so the whole
    stays within SageMaker's 63 characters and pattern.

    Examples
    --------
    >>> arn = "arn:aws:sagemaker:us-east-1:111111111111:model-package/fraud/3"
    >>> resource_name("fraud", 3, arn, "fraud-prod")  # doctest: +ELLIPSIS
    'fraud-v3-...'
    """
    digest = hashlib.sha256(f"{package_arn}|{endpoint_name}".encode()).hexdigest()[:8]
    suffix = f"-v{version}-{digest}"
    prefix = group_name[: MAX_NAME_LENGTH - len(suffix)].rstrip("-")
    return f"{prefix}{suffix}"


def package_tags(package_arn: str, group_name: str, version: int) -> dict[str, str]:
    """Tags that trace a model, endpoint config or endpoint back to its package version."""
    return {
        TAG_MODEL_PACKAGE_ARN: package_arn[:MAX_TAG_VALUE_LENGTH],
        TAG_MODEL_PACKAGE_GROUP: group_name,
        TAG_MODEL_PACKAGE_VERSION: str(version),
    }


def release_tags(settings: DeploySettings, package_arn: str, version: int) -> dict[str, str]:
    """The environment's cost tags plus the package tags: what every resource of a release carries.

    Examples
    --------
    >>> release_tags(settings, arn, 3)  # doctest: +SKIP
    {'cost-center': 'ml', 'env': 'prod', ..., 'model-package-version': '3'}
    """
    return {**settings.cost_tags, **package_tags(package_arn, settings.model_package_group_name, version)}


def production_variant(settings: DeploySettings, model_name: str) -> dict[str, Any]:
    """The single variant serving all traffic."""
    return {
        "VariantName": PRODUCTION_VARIANT_NAME,
        "ModelName": model_name,
        "InstanceType": settings.endpoint_instance_type,
        "InitialInstanceCount": settings.endpoint_instance_count,
        "InitialVariantWeight": 1.0,
    }


def data_capture_config(settings: DeploySettings) -> dict[str, Any]:
    """Capture requests and responses, KMS-encrypted, for Model Monitor.

    The content-type header lists make SageMaker store CSV/JSON payloads as text rather than
    base64, which is what the monitoring jobs read.
    """
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": settings.data_capture_sampling_percentage,
        "DestinationS3Uri": settings.data_capture_s3_uri,
        "KmsKeyId": settings.kms_key_arn,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }


def deployment_config(settings: DeploySettings) -> dict[str, Any]:
    """Blue/green update policy, with alarm-driven automatic rollback when alarms are configured."""
    routing: dict[str, Any] = {
        "Type": settings.traffic_routing,
        "WaitIntervalInSeconds": settings.traffic_wait_seconds,
    }
    if settings.traffic_routing == TRAFFIC_CANARY:
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": settings.canary_size_percent}
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": TERMINATION_WAIT_SECONDS,
        }
    }
    if settings.rollback_alarm_names:
        config["AutoRollbackConfiguration"] = {
            "Alarms": [{"AlarmName": name} for name in settings.rollback_alarm_names]
        }
    return config


class DeployOutcome(StrEnum):
    """What the deploy function did with an event."""

    ENDPOINT_CREATED = "endpoint_created"
    ENDPOINT_UPDATED = "endpoint_updated"
    ALREADY_DEPLOYED = "already_deployed"
    NEWER_VERSION_DEPLOYED = "newer_version_deployed"
    IGNORED = "ignored"


#: The outcomes after which the endpoint serves (or is moving to) the event's package.
SERVING_OUTCOMES = (
    DeployOutcome.ENDPOINT_CREATED,
    DeployOutcome.ENDPOINT_UPDATED,
    DeployOutcome.ALREADY_DEPLOYED,
)


class BaselineOutcome(StrEnum):
    """What became of the package's drift baseline (the result's ``monitoring_baseline``)."""

    PUBLISHED = "published"
    #: The package declares no baseline (registered before the pipeline made one), or it is gone.
    MISSING = "missing"
    #: MONITORING_BASELINE_URI is unset: this environment publishes none.
    NOT_CONFIGURED = "not_configured"
    #: The endpoint serves another (newer) version: its baseline stays.
    NOT_SERVING = "not_serving"
