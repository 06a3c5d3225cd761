"""Names shared by the Lambda runtime code and the CDK stack that deploys it.

The stack imports this module (``from lambdas import constants``) to set environment variables,
handler entry points and event-rule patterns, so a renamed variable breaks at synth time instead
of at 3 a.m. in production. It must therefore import nothing beyond the standard library: no
boto3, no Powertools, no pydantic, and never ``aws_cdk`` (the dependency points infra -> lambdas).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

# --- Packaging -------------------------------------------------------------------------------
#: The folder every function's asset is built from: the one holding this package, which the
#: asset keeps as its only top-level folder (``lambdas/``), as Lambda's /var/task will. The
#: handlers are full names resolved from there, and every module imports its siblings as
#: ``lambdas.x``, exactly as the local run and the tests do.
ASSET_ROOT: Final = Path(__file__).resolve().parent.parent
APPROVAL_HANDLER: Final = "lambdas.approval.handler.handler"
DEPLOY_HANDLER: Final = "lambdas.deploy.handler.handler"
PIPELINE_FAILURE_HANDLER: Final = "lambdas.pipeline_failure.handler.handler"
RETRAIN_HANDLER: Final = "lambdas.retrain.handler.handler"
#: Powertools is not in the Lambda runtime: the stack adds AWS's public Powertools layer.
APPROVAL_SERVICE_NAME: Final = "model-approval"
DEPLOY_SERVICE_NAME: Final = "model-deploy"
PIPELINE_FAILURE_SERVICE_NAME: Final = "pipeline-failure-alerts"
RETRAIN_SERVICE_NAME: Final = "retrain-on-drift"

# --- Registry events -------------------------------------------------------------------------
EVENT_SOURCE: Final = "aws.sagemaker"
EVENT_DETAIL_TYPE: Final = "SageMaker Model Package State Change"
STATUS_PENDING: Final = "PendingManualApproval"
STATUS_APPROVED: Final = "Approved"
STATUS_REJECTED: Final = "Rejected"
#: What each function's rule filters on. The approval function gates a pending package and records
#: a later decision (a reviewer's) on the package's model card; its own Approved/Rejected update
#: comes back too, and is recognised on the card ("own decision") and ignored.
APPROVAL_TRIGGER_STATUSES: Final = (STATUS_PENDING, STATUS_APPROVED, STATUS_REJECTED)
DEPLOY_TRIGGER_STATUS: Final = STATUS_APPROVED

# --- Pipeline execution events (the failure-alert function) -----------------------------------
PIPELINE_EVENT_DETAIL_TYPE: Final = "SageMaker Model Building Pipeline Execution Status Change"
#: A run that ends in one of these is reported to the operators; Succeeded needs no one.
PIPELINE_ALERT_STATUSES: Final = ("Failed", "Stopped")

# --- CloudWatch alarm events (the retrain function) --------------------------------------------
ALARM_EVENT_SOURCE: Final = "aws.cloudwatch"
ALARM_EVENT_DETAIL_TYPE: Final = "CloudWatch Alarm State Change"
#: Only a change *into* this state retrains; the rule filters on it and the function checks it again.
ALARM_TRIGGER_STATE: Final = "ALARM"

# --- Environment variables: both functions ---------------------------------------------------
ENV_MODEL_PACKAGE_GROUP_NAME: Final = "MODEL_PACKAGE_GROUP_NAME"
ENV_IDEMPOTENCY_TABLE: Final = "IDEMPOTENCY_TABLE"

# --- Environment variables: approval function ------------------------------------------------
ENV_NOTIFY_TOPIC_ARN: Final = "NOTIFY_TOPIC_ARN"
ENV_AUTO_APPROVE: Final = "AUTO_APPROVE"
ENV_MIN_AUC: Final = "MIN_AUC"
ENV_MIN_RECALL: Final = "MIN_RECALL"
ENV_DI_MIN: Final = "DI_MIN"
ENV_DI_MAX: Final = "DI_MAX"
ENV_MAX_ABS_DPPL: Final = "MAX_ABS_DPPL"
#: The key of the model cards the approval function writes (unset: SageMaker's own key).
ENV_MODEL_CARD_KMS_KEY_ARN: Final = "MODEL_CARD_KMS_KEY_ARN"

# --- Environment variables: failure-alert function ---------------------------------------------
ENV_OPERATORS_TOPIC_ARN: Final = "OPERATORS_TOPIC_ARN"
ENV_PIPELINE_ARN: Final = "PIPELINE_ARN"
#: The Fail step that stops a run whose model is below the quality bar (pipeline_def.names.STEP_FAIL,
#: passed in by the stack because this package may not import pipeline_def).
ENV_QUALITY_GATE_STEP: Final = "QUALITY_GATE_STEP"

# --- Environment variables: deploy function --------------------------------------------------
ENV_ENDPOINT_NAME: Final = "ENDPOINT_NAME"
ENV_ENDPOINT_INSTANCE_TYPE: Final = "ENDPOINT_INSTANCE_TYPE"
ENV_ENDPOINT_INSTANCE_COUNT: Final = "ENDPOINT_INSTANCE_COUNT"
ENV_MODEL_EXECUTION_ROLE_ARN: Final = "MODEL_EXECUTION_ROLE_ARN"
ENV_DATA_CAPTURE_S3_URI: Final = "DATA_CAPTURE_S3_URI"
ENV_DATA_CAPTURE_SAMPLING_PERCENTAGE: Final = "DATA_CAPTURE_SAMPLING_PERCENTAGE"
ENV_KMS_KEY_ARN: Final = "KMS_KEY_ARN"
ENV_ROLLBACK_ALARM_NAMES: Final = "ROLLBACK_ALARM_NAMES"
ENV_TRAFFIC_ROUTING: Final = "TRAFFIC_ROUTING"
ENV_CANARY_SIZE_PERCENT: Final = "CANARY_SIZE_PERCENT"
ENV_TRAFFIC_WAIT_SECONDS: Final = "TRAFFIC_WAIT_SECONDS"
#: JSON object of the environment's cost-allocation tags (project, env, cost-center, owner...).
ENV_COST_TAGS: Final = "COST_TAGS"
#: The one other account whose model packages the function deploys (cross-account promotion:
#: the registry environment's account). Unset: packages of the function's own account only.
ENV_REGISTRY_ACCOUNT: Final = "REGISTRY_ACCOUNT"
#: Where the deploy function publishes the deployed package's drift baseline for the monitoring
#: job: ``s3://<bucket>/<folder>/baseline.json`` (the object, named MONITORING_BASELINE_FILE).
#: Empty or unset: nothing is published.
ENV_MONITORING_BASELINE_URI: Final = "MONITORING_BASELINE_URI"

# --- Environment variables: retrain function ----------------------------------------------------
#: The training pipeline's name (not its ARN); the function also reuses ENV_NOTIFY_TOPIC_ARN (the
#: reviewers' topic) and ENV_IDEMPOTENCY_TABLE.
ENV_PIPELINE_NAME: Final = "PIPELINE_NAME"
#: At most one run per this many seconds: a run created less than this before the alarm skips it.
ENV_COOL_DOWN_SECONDS: Final = "COOL_DOWN_SECONDS"
#: Comma-separated names of the alarms that may start a run; any other alarm is ignored.
ENV_RETRAIN_ALARM_NAMES: Final = "RETRAIN_ALARM_NAMES"
#: JSON object of pipeline parameter name to string value, passed to every run it starts.
ENV_PIPELINE_PARAMETERS: Final = "PIPELINE_PARAMETERS"

APPROVAL_REQUIRED_ENV: Final = (
    ENV_MODEL_PACKAGE_GROUP_NAME,
    ENV_IDEMPOTENCY_TABLE,
    ENV_NOTIFY_TOPIC_ARN,
    ENV_MIN_AUC,
    ENV_MIN_RECALL,
    ENV_MAX_ABS_DPPL,
)
APPROVAL_OPTIONAL_ENV: Final = (ENV_AUTO_APPROVE, ENV_DI_MIN, ENV_DI_MAX, ENV_MODEL_CARD_KMS_KEY_ARN)
DEPLOY_REQUIRED_ENV: Final = (
    ENV_MODEL_PACKAGE_GROUP_NAME,
    ENV_IDEMPOTENCY_TABLE,
    ENV_ENDPOINT_NAME,
    ENV_ENDPOINT_INSTANCE_TYPE,
    ENV_ENDPOINT_INSTANCE_COUNT,
    ENV_MODEL_EXECUTION_ROLE_ARN,
    ENV_DATA_CAPTURE_S3_URI,
    ENV_DATA_CAPTURE_SAMPLING_PERCENTAGE,
    ENV_KMS_KEY_ARN,
)
PIPELINE_FAILURE_REQUIRED_ENV: Final = (ENV_OPERATORS_TOPIC_ARN, ENV_PIPELINE_ARN, ENV_QUALITY_GATE_STEP)
DEPLOY_OPTIONAL_ENV: Final = (
    ENV_ROLLBACK_ALARM_NAMES,
    ENV_TRAFFIC_ROUTING,
    ENV_CANARY_SIZE_PERCENT,
    ENV_TRAFFIC_WAIT_SECONDS,
    ENV_COST_TAGS,
    ENV_REGISTRY_ACCOUNT,
    ENV_MONITORING_BASELINE_URI,
)
RETRAIN_REQUIRED_ENV: Final = (
    ENV_PIPELINE_NAME,
    ENV_IDEMPOTENCY_TABLE,
    ENV_NOTIFY_TOPIC_ARN,
    ENV_COOL_DOWN_SECONDS,
    ENV_RETRAIN_ALARM_NAMES,
)
RETRAIN_OPTIONAL_ENV: Final = (ENV_PIPELINE_PARAMETERS,)

# --- Defaults for the optional variables -----------------------------------------------------
#: Four-fifths rule: disparate impact between 0.8 and 1/0.8.
DEFAULT_DI_MIN: Final = 0.8
DEFAULT_DI_MAX: Final = 1.25
#: Off unless an environment opts in: a human reviews every model by default.
DEFAULT_AUTO_APPROVE: Final = False
TRAFFIC_ALL_AT_ONCE: Final = "ALL_AT_ONCE"
TRAFFIC_CANARY: Final = "CANARY"
DEFAULT_TRAFFIC_ROUTING: Final = TRAFFIC_ALL_AT_ONCE
TRAFFIC_ROUTINGS: Final = (TRAFFIC_ALL_AT_ONCE, TRAFFIC_CANARY)
DEFAULT_CANARY_SIZE_PERCENT: Final = 10
#: A canary is at most half of the new fleet (SageMaker's CanarySize rule).
CANARY_SIZE_PERCENT_RANGE: Final = (1, 50)
#: Baking time of each traffic shift, during which the rollback alarms are watched.
DEFAULT_TRAFFIC_WAIT_SECONDS: Final = 300
TRAFFIC_WAIT_SECONDS_RANGE: Final = (0, 3600)
#: Blue fleet is kept this long after the shift, so a late alarm can still roll back cheaply.
TERMINATION_WAIT_SECONDS: Final = 300
PRODUCTION_VARIANT_NAME: Final = "AllTraffic"

# --- Model cards (the approval function writes one per package version) ------------------------
#: Card names are ``<group, cut to this>-v<version>-<8 hex of the package ARN>``: at most 61 of
#: SageMaker's 63 characters. The stack scopes the function's model-card permissions to the prefix.
MODEL_CARD_GROUP_CHARS: Final = 40

# --- Monitoring baseline (the deploy function publishes it, the monitoring job reads it) --------
#: The file name the monitoring job reads in its baseline folder (drift.py's BASELINE_FILE).
MONITORING_BASELINE_FILE: Final = "baseline.json"
#: Written beside the baseline: which package (and which baseline) the monitor compares with.
DEPLOYED_PACKAGE_FILE: Final = "deployed-package.json"

# --- Idempotency table contract (the stack creates the table) ---------------------------------
IDEMPOTENCY_PARTITION_KEY: Final = "id"
IDEMPOTENCY_TTL_ATTRIBUTE: Final = "expiration"
#: EventBridge retries delivery for up to 24 h, so a record must outlive every possible duplicate.
IDEMPOTENCY_EXPIRY_SECONDS: Final = 24 * 60 * 60

# --- Tags written on the model, endpoint config and endpoint ---------------------------------
TAG_MODEL_PACKAGE_ARN: Final = "model-package-arn"
TAG_MODEL_PACKAGE_VERSION: Final = "model-package-version"
TAG_MODEL_PACKAGE_GROUP: Final = "model-package-group"
#: Keys the deploy function writes itself; cost tags may not reuse them.
PACKAGE_TAG_KEYS: Final = (TAG_MODEL_PACKAGE_ARN, TAG_MODEL_PACKAGE_VERSION, TAG_MODEL_PACKAGE_GROUP)
#: SageMaker allows 50 tags per resource; the package tags take three of them.
MAX_RESOURCE_TAGS: Final = 50
