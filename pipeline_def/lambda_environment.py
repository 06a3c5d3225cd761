"""The approval and deploy functions' environment variables, built from one environment's settings.

The approval stack sets these on the deployed functions and the local run sets them around its
in-process invocations, so both see the same gates and names. Values that only exist after a
deployment (table, topic, role, key) are parameters: CDK tokens there, local stand-ins here.
"""

from __future__ import annotations

from lambdas import constants as c
from pipeline_def.settings import ApprovalSettings, EndpointSettings, PipelineSettings


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
) -> dict[str, str]:
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
    }
