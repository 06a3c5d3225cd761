"""The functions' environment variables as one typed contract, built by the stack and the local run.

The approval stack and the local run both fill these dataclasses (through
``pipeline_def.config.EnvironmentConfig``), and each function validates what arrives with its own
pydantic settings model, so the writer and the reader of every variable are tested against the
same names in :mod:`lambdas.constants`. Values that exist only once deployed (table, topic, role,
key, alarms) are plain strings here: CDK tokens in the stack, local stand-ins in the local run.
Standard library only, because the stack imports this module at synth time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from lambdas import constants as c


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _json_object(values: Mapping[str, str]) -> str:
    """Sorted and compact, so the rendered variable (and the synthesized template) is deterministic."""
    return json.dumps(dict(sorted(values.items())), separators=(",", ":"))


@dataclass(frozen=True, kw_only=True)
class ApprovalEnvironment:
    """What the approval function reads: the registry group, its state, and the gates' bounds."""

    model_package_group_name: str
    idempotency_table: str
    notify_topic_arn: str
    auto_approve: bool
    min_auc: float
    min_recall: float
    di_min: float
    di_max: float
    max_abs_dppl: float
    #: Encrypts the model cards; empty leaves them on SageMaker's own key (the local run).
    model_card_kms_key_arn: str = ""

    def variables(self) -> dict[str, str]:
        card_key = (
            {c.ENV_MODEL_CARD_KMS_KEY_ARN: self.model_card_kms_key_arn} if self.model_card_kms_key_arn else {}
        )
        return {
            "POWERTOOLS_SERVICE_NAME": c.APPROVAL_SERVICE_NAME,
            c.ENV_MODEL_PACKAGE_GROUP_NAME: self.model_package_group_name,
            c.ENV_IDEMPOTENCY_TABLE: self.idempotency_table,
            c.ENV_NOTIFY_TOPIC_ARN: self.notify_topic_arn,
            c.ENV_AUTO_APPROVE: _flag(self.auto_approve),
            c.ENV_MIN_AUC: str(self.min_auc),
            c.ENV_MIN_RECALL: str(self.min_recall),
            c.ENV_DI_MIN: str(self.di_min),
            c.ENV_DI_MAX: str(self.di_max),
            c.ENV_MAX_ABS_DPPL: str(self.max_abs_dppl),
            **card_key,
        }


@dataclass(frozen=True, kw_only=True)
class DeployEnvironment:
    """What the deploy function reads: the endpoint to create or update, and how to shift traffic.

    ``rollback_alarm_names`` are the alarms SageMaker watches during a blue/green update (empty:
    no automatic rollback); ``cost_tags`` go on the model, endpoint config and endpoint, sorted so
    the rendered JSON, and so the synthesized template, is deterministic.
    """

    model_package_group_name: str
    idempotency_table: str
    endpoint_name: str
    instance_type: str
    instance_count: int
    model_execution_role_arn: str
    data_capture_uri: str
    data_capture_sampling_percentage: int
    kms_key_arn: str
    traffic_routing: str = c.DEFAULT_TRAFFIC_ROUTING
    canary_size_percent: int = c.DEFAULT_CANARY_SIZE_PERCENT
    wait_seconds: int = c.DEFAULT_TRAFFIC_WAIT_SECONDS
    rollback_alarm_names: tuple[str, ...] = ()
    cost_tags: Mapping[str, str] = field(default_factory=dict)
    #: The registry's account when the packages come from another account's registry; empty: own.
    registry_account: str = ""
    #: ``s3://<bucket>/<folder>/baseline.json`` the deployed package's drift baseline is copied to;
    #: empty: not published (and the variable is left out, so older templates stay identical).
    monitoring_baseline_uri: str = ""

    def variables(self) -> dict[str, str]:
        registry = {c.ENV_REGISTRY_ACCOUNT: self.registry_account} if self.registry_account else {}
        baseline = (
            {c.ENV_MONITORING_BASELINE_URI: self.monitoring_baseline_uri}
            if self.monitoring_baseline_uri
            else {}
        )
        return {
            "POWERTOOLS_SERVICE_NAME": c.DEPLOY_SERVICE_NAME,
            c.ENV_MODEL_PACKAGE_GROUP_NAME: self.model_package_group_name,
            c.ENV_IDEMPOTENCY_TABLE: self.idempotency_table,
            c.ENV_ENDPOINT_NAME: self.endpoint_name,
            c.ENV_ENDPOINT_INSTANCE_TYPE: self.instance_type,
            c.ENV_ENDPOINT_INSTANCE_COUNT: str(self.instance_count),
            c.ENV_MODEL_EXECUTION_ROLE_ARN: self.model_execution_role_arn,
            c.ENV_DATA_CAPTURE_S3_URI: self.data_capture_uri,
            c.ENV_DATA_CAPTURE_SAMPLING_PERCENTAGE: str(self.data_capture_sampling_percentage),
            c.ENV_KMS_KEY_ARN: self.kms_key_arn,
            c.ENV_TRAFFIC_ROUTING: self.traffic_routing,
            c.ENV_CANARY_SIZE_PERCENT: str(self.canary_size_percent),
            c.ENV_TRAFFIC_WAIT_SECONDS: str(self.wait_seconds),
            c.ENV_ROLLBACK_ALARM_NAMES: ",".join(self.rollback_alarm_names),
            c.ENV_COST_TAGS: _json_object(self.cost_tags),
            **registry,
            **baseline,
        }


@dataclass(frozen=True, kw_only=True)
class PipelineFailureEnvironment:
    """What the failure-alert function reads: where to report, which pipeline, and its quality gate."""

    operators_topic_arn: str
    pipeline_arn: str
    quality_gate_step: str

    def variables(self) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": c.PIPELINE_FAILURE_SERVICE_NAME,
            c.ENV_OPERATORS_TOPIC_ARN: self.operators_topic_arn,
            c.ENV_PIPELINE_ARN: self.pipeline_arn,
            c.ENV_QUALITY_GATE_STEP: self.quality_gate_step,
        }


@dataclass(frozen=True, kw_only=True)
class RetrainEnvironment:
    """What the retrain function reads: which pipeline to start, on which alarms, how often at most.

    ``pipeline_parameters`` are passed to every run it starts (the schedule's own, so a retraining
    run holds the same bar as a scheduled one), rendered as sorted, compact JSON.
    """

    pipeline_name: str
    idempotency_table: str
    notify_topic_arn: str
    cool_down_seconds: int
    alarm_names: tuple[str, ...]
    pipeline_parameters: Mapping[str, str] = field(default_factory=dict)

    def variables(self) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": c.RETRAIN_SERVICE_NAME,
            c.ENV_PIPELINE_NAME: self.pipeline_name,
            c.ENV_IDEMPOTENCY_TABLE: self.idempotency_table,
            c.ENV_NOTIFY_TOPIC_ARN: self.notify_topic_arn,
            c.ENV_COOL_DOWN_SECONDS: str(self.cool_down_seconds),
            c.ENV_RETRAIN_ALARM_NAMES: ",".join(self.alarm_names),
            c.ENV_PIPELINE_PARAMETERS: _json_object(self.pipeline_parameters),
        }
