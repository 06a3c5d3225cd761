"""The typed, frozen settings blocks of one environment: pipeline, approval, endpoint, deployment.

Each block declares the keys it knows (``KEYS``) and is built by ``from_context`` from a
:class:`~pipeline_def.config.reader.Reader`, so an unknown key, a missing one or a value outside
what is allowed fails with the dotted key. ``pipeline_def.config.environment`` assembles the
blocks into an ``EnvironmentConfig``; the definition needs only :class:`PipelineSettings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from lambdas import constants as c
from pipeline_def.config.reader import ConfigError, Reader
from pipeline_def.config.regions import SUPPORTED_REGIONS
from pipeline_def.schema import CLAIMS, CUSTOMERS

#: Status a new model package may be registered with. Not "Approved": approval happens only
#: through the approval function's gates or a human reviewer, and an approved package deploys.
REGISTRATION_STATUSES = ("PendingManualApproval",)
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_ACCOUNT = re.compile(r"^\d{12}$")
#: Disparate impact is a ratio; bounds beyond this are typos, not policy.
_DI_CEILING = 1000.0
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """What the pipeline definition needs from one environment.

    Read from the environment block (``account``, ``region``), its ``pipeline`` block and its
    optional ``network`` block (subnets and security groups for every job, given together).
    """

    KEYS: ClassVar[tuple[str, ...]] = (
        "processingInstanceType",
        "trainingInstanceType",
        "trainingInstanceCount",
        "transformInstanceType",
        "transformInstanceCount",
        "minAuc",
        "minRecall",
        "maxTuningJobs",
        "maxParallelTuningJobs",
        "useSpotTraining",
        "modelApprovalStatus",
        "minTestPositives",
    )
    NETWORK_KEYS: ClassVar[tuple[str, ...]] = ("subnetIds", "securityGroupIds")
    EXPLAINABILITY_KEYS: ClassVar[tuple[str, ...]] = ("instanceType", "maxRows")
    #: Step 7 explains about 4k rows a second with 150 trees of depth 5 on 2 busy cores
    #: (bench/RESULTS.md), so 100k rows keep it within a minute whatever the test split's size.
    DEFAULT_EXPLAINABILITY_MAX_ROWS: ClassVar[int] = 100_000
    #: Fewest frauds the test split must hold before metrics are computed at all. With 10, one
    #: miss moves recall by 10 points and its 95% Wilson interval is about +-0.25 around 0.7;
    #: below that the quality gate decides on noise. cdk.json sets it per environment: dev 5
    #: (smoke runs on a few thousand policies), staging 30 (+-0.16), prod 100 (+-0.09).
    DEFAULT_MIN_TEST_POSITIVES: ClassVar[int] = 10
    #: Upper bounds of the instance counts (docs/scale.md: 50M policies need 4 training instances).
    MAX_TRAINING_INSTANCES: ClassVar[int] = 32
    MAX_TRANSFORM_INSTANCES: ClassVar[int] = 100

    project: str
    env_name: str
    account: str
    region: str
    processing_instance_type: str
    training_instance_type: str
    #: More than one: XGBoost's distributed training, each instance its shard of the train split
    #: (FraudDataProcess writes one part per instance; the channel is ShardedByS3Key).
    training_instance_count: int
    transform_instance_type: str
    #: The batch transform splits its input by line over this many instances.
    transform_instance_count: int
    explainability_instance_type: str
    explainability_max_rows: int
    min_auc: float
    min_recall: float
    max_tuning_jobs: int
    max_parallel_tuning_jobs: int
    use_spot_training: bool
    model_approval_status: str
    min_test_positives: int = DEFAULT_MIN_TEST_POSITIVES
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.env_name}"

    @property
    def pipeline_name(self) -> str:
        return f"{self.prefix}-fraud-detection"

    @property
    def monitoring_pipeline_name(self) -> str:
        return f"{self.prefix}-fraud-monitoring"

    @property
    def ingestion_pipeline_name(self) -> str:
        return f"{self.prefix}-fraud-ingestion"

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
        pipe = env.child("pipeline", keys=cls.KEYS)
        network = env.child("network", keys=cls.NETWORK_KEYS, default={})
        explainability = env.child("explainability", keys=cls.EXPLAINABILITY_KEYS, default={})
        settings = cls(
            project=project,
            env_name=env_name,
            account=env.str("account", pattern=_ACCOUNT),
            region=env.str("region", allowed=SUPPORTED_REGIONS),
            processing_instance_type=pipe.str("processingInstanceType", pattern=_INSTANCE_TYPE),
            training_instance_type=pipe.str("trainingInstanceType", pattern=_INSTANCE_TYPE),
            training_instance_count=pipe.int(
                "trainingInstanceCount", low=1, high=cls.MAX_TRAINING_INSTANCES, default=1
            ),
            transform_instance_type=pipe.str("transformInstanceType", pattern=_INSTANCE_TYPE),
            transform_instance_count=pipe.int(
                "transformInstanceCount", low=1, high=cls.MAX_TRANSFORM_INSTANCES, default=1
            ),
            explainability_instance_type=explainability.str(
                "instanceType", pattern=_INSTANCE_TYPE, default="ml.m5.xlarge"
            ),
            explainability_max_rows=explainability.int(
                "maxRows", low=100, high=10_000_000, default=cls.DEFAULT_EXPLAINABILITY_MAX_ROWS
            ),
            min_auc=pipe.float("minAuc", low=0.0, high=1.0),
            min_recall=pipe.float("minRecall", low=0.0, high=1.0),
            max_tuning_jobs=pipe.int("maxTuningJobs", low=1, high=500),
            max_parallel_tuning_jobs=pipe.int("maxParallelTuningJobs", low=1, high=100),
            use_spot_training=pipe.bool("useSpotTraining", default=False),
            model_approval_status=pipe.str(
                "modelApprovalStatus", allowed=REGISTRATION_STATUSES, default="PendingManualApproval"
            ),
            min_test_positives=pipe.int(
                "minTestPositives", low=1, high=1_000_000, default=cls.DEFAULT_MIN_TEST_POSITIVES
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

    KEYS: ClassVar[tuple[str, ...]] = ("autoApprove", "diMin", "diMax", "maxAbsDppl")

    auto_approve: bool
    di_min: float
    di_max: float
    max_abs_dppl: float

    @classmethod
    def from_context(cls, env: Reader) -> ApprovalSettings:
        block = env.child("approval", keys=cls.KEYS)
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

    KEYS: ClassVar[tuple[str, ...]] = (
        "trafficRouting",
        "canarySizePercent",
        "waitSeconds",
        "rollbackAlarms",
        "maxModelLatencyMs",
    )
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
        block = endpoint.child("deployment", keys=cls.KEYS, default={})
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

    KEYS: ClassVar[tuple[str, ...]] = (
        "instanceType",
        "instanceCount",
        "dataCaptureSamplingPercentage",
        "deployment",
    )

    instance_type: str
    instance_count: int
    data_capture_sampling_percentage: int
    deployment: DeploymentSettings = DeploymentSettings()

    @classmethod
    def from_context(cls, env: Reader) -> EndpointSettings:
        block = env.child("endpoint", keys=cls.KEYS)
        instance_count = block.int("instanceCount", low=1, high=100)
        return cls(
            instance_type=block.str("instanceType", pattern=_INSTANCE_TYPE),
            instance_count=instance_count,
            data_capture_sampling_percentage=block.int("dataCaptureSamplingPercentage", low=0, high=100),
            deployment=DeploymentSettings.from_context(block, instance_count),
        )
