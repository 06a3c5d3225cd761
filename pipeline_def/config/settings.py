"""Per-environment pipeline settings, validated from the ``cdk.json`` context.

The CDK app and the ``python -m pipeline_def`` CLI read the same file, so a value changed in
``cdk.json`` reaches the deployed pipeline and the local run alike. This module validates only
what the pipeline needs (``pipeline`` block, account, region);
``pipeline_def.config.environment`` validates the rest of an environment and embeds a
:class:`PipelineSettings`. Errors name the exact key and what is allowed, because a typo here
otherwise surfaces as a failed job hours later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lambdas import constants as c
from pipeline_def.schema import CLAIMS, CUSTOMERS

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = REPO_ROOT / "cdk.json"

#: Status a new model package may be registered with. Not "Approved": approval happens only
#: through the approval function's gates or a human reviewer, and an approved package deploys.
REGISTRATION_STATUSES = ("PendingManualApproval",)
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,20}[a-z0-9]$")


class ConfigError(ValueError):
    """A configuration value is missing or not allowed; the message names the key."""


class Reader:
    """Typed access to one JSON object, remembering its dotted path for error messages."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected an object, got {type(data).__name__}")
        self.data = data
        self.path = path

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise ConfigError(f"{self.path}.{key}: missing (required)")
        return default

    def child(self, key: str) -> Reader:
        return Reader(self._get(key, _REQUIRED), f"{self.path}.{key}")

    def str(
        self,
        key: str,
        *,
        pattern: re.Pattern[str] | None = None,
        allowed: tuple[str, ...] = (),
        default: Any = None,
    ) -> str:
        value = self._get(key, _REQUIRED if default is None else default)
        where = f"{self.path}.{key}"
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        if allowed and value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not allowed; allowed: {', '.join(allowed)}")
        if pattern is not None and not pattern.match(value):
            raise ConfigError(f"{where}: {value!r} does not match {pattern.pattern}")
        return value

    def bool(self, key: str, default: Any = None) -> bool:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.path}.{key}: expected true or false, got {value!r}")
        return value

    def int(self, key: str, *, low: int, high: int, default: Any = None) -> int:
        value = self._get(key, _REQUIRED if default is None else default)
        where = f"{self.path}.{key}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer in [{low}, {high}], got {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"{where}: {value} is outside [{low}, {high}]")
        return value

    def float(self, key: str, *, low: float, high: float, default: Any = None) -> float:
        value = self._get(key, _REQUIRED if default is None else default)
        where = f"{self.path}.{key}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number in [{low}, {high}], got {value!r}")
        if not low <= float(value) <= high:
            raise ConfigError(f"{where}: {value} is outside [{low}, {high}]")
        return float(value)

    def str_list(self, key: str, *, pattern: re.Pattern[str]) -> tuple[str, ...]:
        value = self._get(key, [])
        where = f"{self.path}.{key}"
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        for item in value:
            if not pattern.match(item):
                raise ConfigError(f"{where}: {item!r} does not match {pattern.pattern}")
        return tuple(value)


_REQUIRED = object()
#: Disparate impact is a ratio; bounds beyond this are typos, not policy.
_DI_CEILING = 1000.0
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """What the pipeline definition needs from one environment."""

    project: str
    env_name: str
    account: str
    region: str
    processing_instance_type: str
    training_instance_type: str
    transform_instance_type: str
    clarify_instance_type: str
    min_auc: float
    min_recall: float
    max_tuning_jobs: int
    max_parallel_tuning_jobs: int
    use_spot_training: bool
    model_approval_status: str
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.env_name}"

    @property
    def pipeline_name(self) -> str:
        return f"{self.prefix}-fraud-detection"

    @property
    def model_package_group_name(self) -> str:
        return f"{self.prefix}-fraud-detection"

    @property
    def endpoint_name(self) -> str:
        return f"{self.prefix}-fraud-detection"

    @property
    def claims_feature_group_name(self) -> str:
        return f"{self.prefix}-{CLAIMS.name}"

    @property
    def customers_feature_group_name(self) -> str:
        return f"{self.prefix}-{CUSTOMERS.name}"

    @property
    def feature_group_names(self) -> dict[str, str]:
        """Schema name -> deployed feature group name."""
        return {
            CLAIMS.name: self.claims_feature_group_name,
            CUSTOMERS.name: self.customers_feature_group_name,
        }

    @property
    def athena_workgroup(self) -> str:
        return f"{self.prefix}-features"

    @property
    def glue_database(self) -> str:
        return f"{self.project}_{self.env_name}_features".replace("-", "_")

    def offline_table(self, schema_name: str) -> str:
        """Glue table of a feature group's offline store (set explicitly, so SQL can name it)."""
        return f"{self.prefix}_{schema_name}".replace("-", "_")

    @classmethod
    def from_context(cls, project: str, env_name: str, env: Reader) -> PipelineSettings:
        pipe = env.child("pipeline")
        network = Reader(env.data.get("network", {}), f"{env.path}.network")
        settings = cls(
            project=project,
            env_name=env_name,
            account=env.str("account", pattern=_ACCOUNT),
            region=env.str("region", pattern=_REGION),
            processing_instance_type=pipe.str("processingInstanceType", pattern=_INSTANCE_TYPE),
            training_instance_type=pipe.str("trainingInstanceType", pattern=_INSTANCE_TYPE),
            transform_instance_type=pipe.str("transformInstanceType", pattern=_INSTANCE_TYPE),
            clarify_instance_type=pipe.str("clarifyInstanceType", pattern=_INSTANCE_TYPE),
            min_auc=pipe.float("minAuc", low=0.0, high=1.0),
            min_recall=pipe.float("minRecall", low=0.0, high=1.0),
            max_tuning_jobs=pipe.int("maxTuningJobs", low=1, high=500),
            max_parallel_tuning_jobs=pipe.int("maxParallelTuningJobs", low=1, high=100),
            use_spot_training=pipe.bool("useSpotTraining", default=False),
            model_approval_status=pipe.str(
                "modelApprovalStatus", allowed=REGISTRATION_STATUSES, default="PendingManualApproval"
            ),
            subnet_ids=network.str_list("subnetIds", pattern=_SUBNET),
            security_group_ids=network.str_list("securityGroupIds", pattern=_SECURITY_GROUP),
        )
        if settings.max_parallel_tuning_jobs > settings.max_tuning_jobs:
            raise ConfigError(
                f"{pipe.path}.maxParallelTuningJobs: {settings.max_parallel_tuning_jobs} exceeds "
                f"maxTuningJobs ({settings.max_tuning_jobs})"
            )
        if bool(settings.subnet_ids) != bool(settings.security_group_ids):
            raise ConfigError(f"{network.path}: subnetIds and securityGroupIds must be given together")
        return settings


@dataclass(frozen=True, kw_only=True)
class ApprovalSettings:
    """Gates of the approval function beyond the pipeline's own AUC/recall thresholds."""

    auto_approve: bool
    di_min: float
    di_max: float
    max_abs_dppl: float

    @classmethod
    def from_context(cls, env: Reader) -> ApprovalSettings:
        block = env.child("approval")
        di_min = block.float("diMin", low=0.0, high=_DI_CEILING)
        di_max = block.float("diMax", low=0.0, high=_DI_CEILING)
        for key, value, valid in (("diMin", di_min, 0.0 < di_min <= 1.0), ("diMax", di_max, di_max >= 1.0)):
            if not valid:
                raise ConfigError(
                    f"{block.path}.{key}: {value} is not allowed; allowed: 0 < diMin <= 1 <= diMax"
                )
        return cls(
            auto_approve=block.bool("autoApprove"),
            di_min=di_min,
            di_max=di_max,
            max_abs_dppl=block.float("maxAbsDppl", low=0.0, high=1.0),
        )


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    """How the deploy function moves the endpoint to a new model (SageMaker blue/green update).

    ``ALL_AT_ONCE`` shifts all traffic to the new fleet and bakes for ``wait_seconds``;
    ``CANARY`` first shifts ``canary_size_percent`` of the new fleet's capacity, bakes, then the
    rest. With ``rollback_alarms`` the stack creates CloudWatch alarms on the endpoint (5xx error
    rate, p99 model latency above ``max_model_latency_ms``) and SageMaker rolls back if one trips.
    """

    #: p99 model latency (ms) above which a deployment rolls back, unless configured.
    DEFAULT_MAX_MODEL_LATENCY_MS: ClassVar[int] = 500
    #: SageMaker real-time invocations time out after 60 s, so a higher bound could never trip.
    MAX_MODEL_LATENCY_CEILING_MS: ClassVar[int] = 60_000

    traffic_routing: str = c.DEFAULT_TRAFFIC_ROUTING
    canary_size_percent: int = c.DEFAULT_CANARY_SIZE_PERCENT
    wait_seconds: int = c.DEFAULT_TRAFFIC_WAIT_SECONDS
    rollback_alarms: bool = False
    max_model_latency_ms: int = DEFAULT_MAX_MODEL_LATENCY_MS

    @classmethod
    def from_context(cls, endpoint: Reader, instance_count: int) -> DeploymentSettings:
        """The ``endpoint.deployment`` block; absent, an all-at-once update without alarms."""
        if "deployment" not in endpoint.data:
            return cls()
        block = endpoint.child("deployment")
        low, high = c.CANARY_SIZE_PERCENT_RANGE
        wait_low, wait_high = c.TRAFFIC_WAIT_SECONDS_RANGE
        settings = cls(
            traffic_routing=block.str(
                "trafficRouting", allowed=c.TRAFFIC_ROUTINGS, default=c.DEFAULT_TRAFFIC_ROUTING
            ),
            canary_size_percent=block.int(
                "canarySizePercent", low=low, high=high, default=c.DEFAULT_CANARY_SIZE_PERCENT
            ),
            wait_seconds=block.int(
                "waitSeconds", low=wait_low, high=wait_high, default=c.DEFAULT_TRAFFIC_WAIT_SECONDS
            ),
            rollback_alarms=block.bool("rollbackAlarms", default=False),
            max_model_latency_ms=block.int(
                "maxModelLatencyMs",
                low=1,
                high=cls.MAX_MODEL_LATENCY_CEILING_MS,
                default=cls.DEFAULT_MAX_MODEL_LATENCY_MS,
            ),
        )
        # A canary is at most half of the new fleet, so one instance cannot host it; the deploy
        # function would refuse the same setting at run time (deploy.models.DeploySettings).
        if settings.traffic_routing == c.TRAFFIC_CANARY and instance_count < 2:
            raise ConfigError(
                f"{block.path}.trafficRouting: {c.TRAFFIC_CANARY} needs "
                f"{endpoint.path}.instanceCount >= 2 (got {instance_count}); allowed: "
                f"{c.TRAFFIC_ALL_AT_ONCE}, or more instances"
            )
        return settings


@dataclass(frozen=True, kw_only=True)
class EndpointSettings:
    """The real-time endpoint the deploy function creates for an approved model."""

    instance_type: str
    instance_count: int
    data_capture_sampling_percentage: int
    deployment: DeploymentSettings = DeploymentSettings()

    @classmethod
    def from_context(cls, env: Reader) -> EndpointSettings:
        block = env.child("endpoint")
        instance_count = block.int("instanceCount", low=1, high=100)
        return cls(
            instance_type=block.str("instanceType", pattern=_INSTANCE_TYPE),
            instance_count=instance_count,
            data_capture_sampling_percentage=block.int("dataCaptureSamplingPercentage", low=0, high=100),
            deployment=DeploymentSettings.from_context(block, instance_count),
        )


def read_context(cdk_json: Path = CDK_JSON) -> Reader:
    """The ``context`` object of cdk.json."""
    try:
        data = json.loads(cdk_json.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{cdk_json}: cannot read ({err})") from err
    return Reader(data, "cdk.json").child("context")


def environment_names(context: Reader) -> tuple[str, ...]:
    return tuple(context.child("environments").data)


def environment(context: Reader, env_name: str) -> Reader:
    """One environment's block; an unknown name lists the known ones."""
    environments = context.child("environments")
    if env_name not in environments.data:
        raise ConfigError(
            f"{environments.path}: unknown environment {env_name!r}; allowed: {', '.join(environments.data)}"
        )
    return environments.child(env_name)


def project_name(context: Reader) -> str:
    return context.str("project", pattern=_PROJECT)


def load_settings(env_name: str, cdk_json: Path = CDK_JSON) -> PipelineSettings:
    context = read_context(cdk_json)
    return PipelineSettings.from_context(project_name(context), env_name, environment(context, env_name))
