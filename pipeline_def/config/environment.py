"""One environment of ``cdk.json``, validated into a frozen :class:`EnvironmentConfig`.

The CDK app, the definition CLI, ingestion and the local run all load their environment here,
so a value changed in ``cdk.json`` reaches the stacks, the deployed pipeline and the local run
alike, and a bad one fails every entry point with the same message (the dotted key and what is
allowed) before any construct exists. The blocks come from ``settings`` and ``schedule``; this
module owns the environment's own keys (removal policy, termination protection, log retention,
tags) and the variables it hands to the Lambda functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdas.environment import ApprovalEnvironment, DeployEnvironment, RetrainEnvironment
from pipeline_def.config.accounts import AccountsSettings, PeerEnvironment, bucket_name, check_no_reviewers
from pipeline_def.config.ingestion import IngestionSettings
from pipeline_def.config.monitoring import MonitoringSettings
from pipeline_def.config.operations import BudgetSettings, NotificationSettings
from pipeline_def.config.reader import (
    CDK_JSON,
    ConfigError,
    Reader,
    environment,
    environment_names,
    project_name,
    read_context,
)
from pipeline_def.config.schedule import ScheduleConfig
from pipeline_def.config.settings import ApprovalSettings, EndpointSettings, PipelineSettings
from pipeline_def.names import (
    DATA_CAPTURE_FOLDER,
    DRIFT_BASELINE_FILE,
    GROUND_TRUTH_FOLDER,
    MONITORING_BASELINE_FOLDER,
    PREFIX,
)

#: Under the artifact bucket: the endpoint's captured requests and responses (JSON Lines).
DATA_CAPTURE_PREFIX = f"{PREFIX}/{DATA_CAPTURE_FOLDER}/"
REMOVAL_POLICIES = ("destroy", "retain")
#: CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
#: Tag keys the stage sets itself; config tags may not override them.
RESERVED_TAG_KEYS = ("project", "env")

_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{0,256}$")


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Everything one environment's stage needs, checked and immutable."""

    pipeline: PipelineSettings
    removal_policy: str
    termination_protection: bool
    log_retention_days: int
    tags: tuple[tuple[str, str], ...]
    schedule: ScheduleConfig
    approval: ApprovalSettings
    endpoint: EndpointSettings
    notifications: NotificationSettings
    monitoring: MonitoringSettings
    ingestion: IngestionSettings
    budget: BudgetSettings | None = None
    #: Cross-account promotion (``accounts``); ``None``: single account, nothing of it synthesized.
    accounts: AccountsSettings | None = None

    @property
    def name(self) -> str:
        return self.pipeline.env_name

    @property
    def project(self) -> str:
        return self.pipeline.project

    @property
    def account(self) -> str:
        return self.pipeline.account

    @property
    def region(self) -> str:
        return self.pipeline.region

    @property
    def prefix(self) -> str:
        return self.pipeline.prefix

    @property
    def promote_to(self) -> tuple[PeerEnvironment, ...]:
        """The environments that deploy this one's approved packages (empty: none)."""
        return self.accounts.promote_to if self.accounts else ()

    @property
    def registry(self) -> PeerEnvironment | None:
        """The environment whose approved packages this one deploys (``None``: its own)."""
        return self.accounts.registry if self.accounts else None

    @property
    def retain_data(self) -> bool:
        return self.removal_policy == "retain"

    def bucket_name(self, purpose: str) -> str:
        """``<prefix>-<purpose>-<account>``: unique, at most 60 characters, and known before deploy."""
        return bucket_name(self.prefix, purpose, self.account)

    @property
    def data_bucket_name(self) -> str:
        return self.bucket_name("data")

    @property
    def artifact_bucket_name(self) -> str:
        return self.bucket_name("artifacts")

    @property
    def log_bucket_name(self) -> str:
        return self.bucket_name("access-logs")

    @property
    def fixed_tags(self) -> dict[str, str]:
        """The stage's own tags (``RESERVED_TAG_KEYS``): they never change for an environment."""
        return {"project": self.project, "env": self.name}

    @property
    def all_tags(self) -> dict[str, str]:
        """The stage's own tags first, then the configured ones (which cannot clash)."""
        return {**self.fixed_tags, **dict(self.tags)}

    def data_capture_uri(self, artifact_bucket: str) -> str:
        """Where the endpoint writes captured requests: one layout for the stack and the local run."""
        return f"s3://{artifact_bucket}/{DATA_CAPTURE_PREFIX.rstrip('/')}"

    def endpoint_capture_uri(self, artifact_bucket: str) -> str:
        """The one endpoint's capture: SageMaker writes ``<capture uri>/<endpoint>/<variant>/y/m/d/h/``."""
        return f"{self.data_capture_uri(artifact_bucket)}/{self.pipeline.endpoint_name}"

    def ground_truth_uri(self, artifact_bucket: str) -> str:
        return f"s3://{artifact_bucket}/{PREFIX}/{GROUND_TRUTH_FOLDER}"

    def monitoring_baseline_uri(self, artifact_bucket: str) -> str:
        """The folder holding the deployed package's baseline.json (written by the deploy function)."""
        return f"s3://{artifact_bucket}/{PREFIX}/{MONITORING_BASELINE_FOLDER}"

    def pipeline_run_parameters(self) -> dict[str, str]:
        """Training-pipeline parameters every automatic run passes explicitly (the schedule, retraining).

        So a run records its own bar, instead of depending on the definition's defaults.
        """
        settings = self.pipeline
        return {
            "MinAuc": str(settings.min_auc),
            "MinRecall": str(settings.min_recall),
            "ModelApprovalStatus": settings.model_approval_status,
        }

    def approval_environment(self, *, idempotency_table: str, topic_arn: str) -> ApprovalEnvironment:
        """The approval function's variables; the deployed-only values come from the caller."""
        pipeline, approval = self.pipeline, self.approval
        return ApprovalEnvironment(
            model_package_group_name=pipeline.model_package_group_name,
            idempotency_table=idempotency_table,
            notify_topic_arn=topic_arn,
            auto_approve=approval.auto_approve,
            min_auc=pipeline.min_auc,
            min_recall=pipeline.min_recall,
            di_min=approval.di_min,
            di_max=approval.di_max,
            max_abs_dppl=approval.max_abs_dppl,
        )

    def deploy_environment(
        self,
        *,
        artifact_bucket: str,
        idempotency_table: str,
        model_role_arn: str,
        kms_key_arn: str,
        rollback_alarm_names: tuple[str, ...] = (),
    ) -> DeployEnvironment:
        """The deploy function's variables; the deployed-only values come from the caller.

        The deployed package's drift baseline goes to the monitoring job's baseline folder of
        ``artifact_bucket`` (``monitoring_baseline_uri``/baseline.json), in every environment.
        """
        endpoint, deployment = self.endpoint, self.endpoint.deployment
        registry = self.registry
        return DeployEnvironment(
            model_package_group_name=(registry or self.pipeline).model_package_group_name,
            registry_account=registry.account if registry else "",
            idempotency_table=idempotency_table,
            endpoint_name=self.pipeline.endpoint_name,
            instance_type=endpoint.instance_type,
            instance_count=endpoint.instance_count,
            model_execution_role_arn=model_role_arn,
            data_capture_uri=self.data_capture_uri(artifact_bucket),
            data_capture_sampling_percentage=endpoint.data_capture_sampling_percentage,
            kms_key_arn=kms_key_arn,
            traffic_routing=deployment.traffic_routing,
            canary_size_percent=deployment.canary_size_percent,
            wait_seconds=deployment.wait_seconds,
            rollback_alarm_names=rollback_alarm_names,
            cost_tags=self.all_tags,
            monitoring_baseline_uri=f"{self.monitoring_baseline_uri(artifact_bucket)}/{DRIFT_BASELINE_FILE}",
        )

    def retrain_environment(
        self, *, idempotency_table: str, topic_arn: str, alarm_names: Sequence[str]
    ) -> RetrainEnvironment:
        """The retrain function's variables: the training pipeline, its cool-down and run parameters.

        ``alarm_names`` are the alarms whose rule retrains (the stack creates them); a run it
        starts passes :meth:`pipeline_run_parameters`, as a scheduled run does.
        """
        return RetrainEnvironment(
            pipeline_name=self.pipeline.pipeline_name,
            idempotency_table=idempotency_table,
            notify_topic_arn=topic_arn,
            cool_down_seconds=self.monitoring.cool_down_seconds,
            alarm_names=tuple(alarm_names),
            pipeline_parameters=self.pipeline_run_parameters(),
        )


#: The keys of an environment block; ``tags`` holds the user's own tag keys, so it is free-form.
ENVIRONMENT_KEYS = (
    "account",
    "region",
    "tags",
    "removalPolicy",
    "terminationProtection",
    "logRetentionDays",
    "pipeline",
    "schedule",
    "approval",
    "endpoint",
    "network",
    "explainability",
    "notifications",
    "monitoring",
    "ingestion",
    "budget",
    "accounts",
)


def load_environment(context: Reader, env_name: str) -> EnvironmentConfig:
    """Validate one environment of the ``cdk.json`` context.

    Raises
    ------
    ConfigError
        For an unknown environment, an unknown key at any depth, or any missing or disallowed
        value; the message names the key.

    Examples
    --------
    >>> from pipeline_def.config import load_environment, read_context
    >>> load_environment(read_context(), "dev").prefix  # doctest: +SKIP
    'fraud-mlops-dev'
    """
    env = environment(context, env_name)
    env.reject_unknown(ENVIRONMENT_KEYS)
    removal_policy = env.str("removalPolicy", allowed=REMOVAL_POLICIES)
    pipeline = PipelineSettings.from_context(project_name(context), env_name, env)
    approval = ApprovalSettings.from_context(env)
    return EnvironmentConfig(
        pipeline=pipeline,
        removal_policy=removal_policy,
        termination_protection=env.bool("terminationProtection", default=removal_policy == "retain"),
        log_retention_days=_log_retention(env),
        tags=_tags(env),
        schedule=ScheduleConfig.from_context(env),
        approval=approval,
        endpoint=EndpointSettings.from_context(env),
        notifications=NotificationSettings.from_context(env),
        monitoring=MonitoringSettings.from_context(
            env,
            min_auc=pipeline.min_auc,
            min_recall=pipeline.min_recall,
            di_min=approval.di_min,
            di_max=approval.di_max,
        ),
        ingestion=IngestionSettings.from_context(env),
        budget=BudgetSettings.from_context(env),
        accounts=_accounts(context, env, pipeline),
    )


def load_environments(context: Reader, selected: str | None = None) -> tuple[EnvironmentConfig, ...]:
    """The environment named by ``selected`` or, with none given, every environment."""
    names = (selected,) if selected else environment_names(context)
    return tuple(load_environment(context, name) for name in names)


def load_settings(env_name: str, cdk_json: Path = CDK_JSON) -> PipelineSettings:
    """The pipeline settings of one environment, after the whole environment is validated."""
    return load_environment(read_context(cdk_json), env_name).pipeline


def _accounts(context: Reader, env: Reader, pipeline: PipelineSettings) -> AccountsSettings | None:
    accounts = AccountsSettings.from_context(context, env, pipeline)
    check_no_reviewers(accounts, env.child("notifications", default={}))
    return accounts


def _log_retention(env: Reader) -> int:
    days = env.int("logRetentionDays", low=1, high=3653, default=90)
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ConfigError(f"{env.path}.logRetentionDays: {days} is not allowed; allowed: {allowed}")
    return days


def _tags(env: Reader) -> tuple[tuple[str, str], ...]:
    tags = env.child("tags")
    where = tags.path
    for key, value in tags.data.items():
        if not isinstance(key, str) or not _TAG_KEY.match(key) or key.lower().startswith("aws:"):
            raise ConfigError(
                f"{where}: tag key {key!r} is not allowed; allowed: 1-128 letters, digits, spaces and "
                "_ . : / = + - @, not starting with 'aws:'"
            )
        if key in RESERVED_TAG_KEYS:
            raise ConfigError(
                f"{where}.{key}: reserved (the stage sets it); "
                f"allowed: any key except {', '.join(RESERVED_TAG_KEYS)}"
            )
        if not isinstance(value, str) or not _TAG_VALUE.match(value):
            raise ConfigError(
                f"{where}.{key}: {value!r} is not allowed; allowed: a string of 0-256 letters, digits, "
                "spaces and _ . : / = + - @"
            )
    return tuple(sorted(tags.data.items()))
