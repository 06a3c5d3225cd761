"""The one reader of ``cdk.json``: frozen, typed settings for every consumer.

The stacks, the definition, ingestion, the local run and the Lambda functions' variables all
come from here; nothing else opens ``cdk.json``. A value that is missing, not allowed or under
an unknown key fails with its dotted key and what is allowed.

- ``reader``: :class:`Reader`, :class:`ConfigError`, :func:`read_context` and the unknown-key check
- ``settings``: the typed blocks (pipeline, approval, endpoint, endpoint.deployment, network)
- ``schedule``: the ``schedule`` block, its expression checked field by field, and its time zone
- ``operations``: who is notified (``notifications``) and the monthly cost ``budget``
- ``ingestion``: the ``ingestion`` block: the deployed path from a landed file to the groups
- ``monitoring``: the ``monitoring`` block: schedule, drift thresholds and the alarm rules
- ``accounts``: the optional ``accounts`` block (cross-account promotion of approved packages)
- ``regions``: the regions where the pinned SageMaker SDK knows the pipeline's images
- ``environment``: :class:`EnvironmentConfig`, :func:`load_environment`, :func:`load_settings`
"""

from __future__ import annotations

from pipeline_def.config.accounts import MODEL_ARTIFACTS_PREFIX, AccountsSettings, PeerEnvironment
from pipeline_def.config.environment import (
    DATA_CAPTURE_PREFIX,
    ENVIRONMENT_KEYS,
    LOG_RETENTION_DAYS,
    REMOVAL_POLICIES,
    RESERVED_TAG_KEYS,
    EnvironmentConfig,
    load_environment,
    load_environments,
    load_settings,
)
from pipeline_def.config.ingestion import IngestionSettings
from pipeline_def.config.monitoring import AlarmRule, DriftThresholds, MonitoringSettings
from pipeline_def.config.operations import (
    ALLOWED_PROTOCOLS,
    BudgetSettings,
    NotificationSettings,
    Subscriber,
)
from pipeline_def.config.reader import (
    CDK_JSON,
    REPO_ROOT,
    ConfigError,
    Reader,
    environment,
    environment_names,
    project_name,
    read_context,
)
from pipeline_def.config.regions import SUPPORTED_REGIONS
from pipeline_def.config.schedule import ScheduleConfig
from pipeline_def.config.settings import (
    REGISTRATION_STATUSES,
    ApprovalSettings,
    DeploymentSettings,
    EndpointSettings,
    PipelineSettings,
)

__all__ = [
    "ALLOWED_PROTOCOLS",
    "CDK_JSON",
    "DATA_CAPTURE_PREFIX",
    "ENVIRONMENT_KEYS",
    "LOG_RETENTION_DAYS",
    "MODEL_ARTIFACTS_PREFIX",
    "REGISTRATION_STATUSES",
    "REMOVAL_POLICIES",
    "REPO_ROOT",
    "RESERVED_TAG_KEYS",
    "SUPPORTED_REGIONS",
    "AccountsSettings",
    "AlarmRule",
    "ApprovalSettings",
    "BudgetSettings",
    "ConfigError",
    "DeploymentSettings",
    "DriftThresholds",
    "EndpointSettings",
    "EnvironmentConfig",
    "IngestionSettings",
    "MonitoringSettings",
    "NotificationSettings",
    "PeerEnvironment",
    "PipelineSettings",
    "Reader",
    "ScheduleConfig",
    "Subscriber",
    "environment",
    "environment_names",
    "load_environment",
    "load_environments",
    "load_settings",
    "project_name",
    "read_context",
]
