"""The approval and deploy functions' environment variables, built from one environment's settings.

The approval stack sets these on the deployed functions and the local run sets them around its
in-process invocations, so both see the same gates and names. Values that only exist after a
deployment (table, topic, role, key, rollback alarms) are parameters: CDK tokens there, local
stand-ins here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from lambdas import constants as c
from pipeline_def.settings import ApprovalSettings, EndpointSettings, PipelineSettings

#: No cost tags: the default for callers (the local run) that have no environment tags to pass.
NO_COST_TAGS: Mapping[str, str] = MappingProxyType({})


def approval_environment(
    pipeline: PipelineSettings, approval: ApprovalSettings, *, idempotency_table: str, topic_arn: str
) -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": c.APPROVAL_SERVICE_NAME,
        c.ENV_MODEL_PACKAGE_GROUP_NAME: pipeline.model_package_group_name,
        c.ENV_IDEMPOTENCY_TABLE: idempotency_table,
        c.ENV_NOTIFY_TOPIC_ARN: topic_arn,
        c.ENV_AUTO_APPROVE: "true" if approval.auto_approve else "false",
        c.ENV_MIN_AUC: str(pipeline.min_auc),
        c.ENV_MIN_RECALL: str(pipeline.min_recall),
        c.ENV_DI_MIN: str(approval.di_min),
        c.ENV_DI_MAX: str(approval.di_max),
        c.ENV_MAX_ABS_DPPL: str(approval.max_abs_dppl),
    }


def deploy_environment(
    pipeline: PipelineSettings,
    endpoint: EndpointSettings,
    *,
    idempotency_table: str,
    model_role_arn: str,
    data_capture_uri: str,
    kms_key_arn: str,
    rollback_alarm_names: Sequence[str] = (),
    cost_tags: Mapping[str, str] = NO_COST_TAGS,
) -> dict[str, str]:
    """The deploy function's variables.

    ``rollback_alarm_names`` are the alarms SageMaker watches during a blue/green update (empty:
    no automatic rollback); ``cost_tags`` are written on the model, endpoint config and endpoint
    (sorted, so the rendered JSON is deterministic).

    Examples
    --------
    >>> deploy_environment(settings, endpoint, idempotency_table="t", model_role_arn=role,
    ...     data_capture_uri="s3://b/p", kms_key_arn=key, cost_tags={"env": "dev"})  # doctest: +SKIP
    {..., 'COST_TAGS': '{"env":"dev"}'}
    """
    deployment = endpoint.deployment
    return {
        "POWERTOOLS_SERVICE_NAME": c.DEPLOY_SERVICE_NAME,
        c.ENV_MODEL_PACKAGE_GROUP_NAME: pipeline.model_package_group_name,
        c.ENV_IDEMPOTENCY_TABLE: idempotency_table,
        c.ENV_ENDPOINT_NAME: pipeline.endpoint_name,
        c.ENV_ENDPOINT_INSTANCE_TYPE: endpoint.instance_type,
        c.ENV_ENDPOINT_INSTANCE_COUNT: str(endpoint.instance_count),
        c.ENV_MODEL_EXECUTION_ROLE_ARN: model_role_arn,
        c.ENV_DATA_CAPTURE_S3_URI: data_capture_uri,
        c.ENV_DATA_CAPTURE_SAMPLING_PERCENTAGE: str(endpoint.data_capture_sampling_percentage),
        c.ENV_KMS_KEY_ARN: kms_key_arn,
        c.ENV_TRAFFIC_ROUTING: deployment.traffic_routing,
        c.ENV_CANARY_SIZE_PERCENT: str(deployment.canary_size_percent),
        c.ENV_TRAFFIC_WAIT_SECONDS: str(deployment.wait_seconds),
        c.ENV_ROLLBACK_ALARM_NAMES: ",".join(rollback_alarm_names),
        c.ENV_COST_TAGS: json.dumps(dict(sorted(cost_tags.items())), separators=(",", ":")),
    }
