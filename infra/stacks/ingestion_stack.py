"""Files landed in S3 into the feature groups: the ingestion pipeline, its package, role and rules.

::

    s3://<data bucket>/incoming/<group>/<file>.csv|.parquet   (S3 "Object Created" to EventBridge)
      │ <Group>LandedRule: InputBucket, InputKey, LandedAt from the event; FeatureGroup = <group>
      ▼
    <prefix>-fraud-ingestion (ingestion package, XGBoost image, own role)
      FraudIngestValidate ── valid ──▶ FraudIngestPut: PutRecord on instanceCount instances
                          └─ invalid ─▶ FraudIngestQuarantine: file + report to rejected/<group>/<run>/,
                                        landed file deleted ─▶ FraudIngestRejected (Fail)
      │ Failed or Stopped
      ▼
    RunFailureAlert ─▶ operators' topic (which run; a rejected file's report is in rejected/)

Why a stack of its own: the path has its own role, pipeline and rules, none of which the training
pipeline needs, and an environment that loads its feature groups another way sets
``ingestion.enabled: false`` and deploys none of it (the data stack then sends no bucket events
and keeps no landing lifecycle rule). It needs only the data stack's key and the operators'
topic, and the buckets and feature groups by their configured names.
"""

from __future__ import annotations

from typing import Any, cast

import aws_cdk as cdk
import aws_cdk.aws_events as events
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sns as sns
from constructs import Construct

from infra import policies
from infra.constructs.encrypted_queue import dead_letter_queue
from infra.constructs.job_scripts import JobScripts
from infra.constructs.processing_role import ObjectAccess, ProcessingPipelineRole
from infra.constructs.role_target import RoleTarget, events_role
from infra.constructs.run_failure_alert import RunFailureAlert
from infra.constructs.sagemaker_pipeline import SageMakerPipeline
from infra.retention import log_retention
from pipeline_def.config import EnvironmentConfig
from pipeline_def.definition.render import (
    ingestion_package,
    package_digest,
    package_key_prefix,
)
from pipeline_def.definition.render_worker import Definitions
from pipeline_def.names import (
    INCOMING_FOLDER,
    INGESTION_FOLDER,
    INGESTION_PACKAGE_FOLDER,
    PREFIX,
    REJECTED_FOLDER,
)
from pipeline_def.schema import FEATURE_GROUPS

#: A landed file's start is retried with backoff for a day (EventBridge's own maximum): a
#: throttled StartPipelineExecution must not lose the file. Access denied and a missing pipeline
#: are not retried; both land in the dead-letter queue at once, with its alarm.
START_MAX_EVENT_AGE = cdk.Duration.hours(24)
START_RETRY_ATTEMPTS = 185


class IngestionStack(cdk.Stack):
    """Composes the package upload, the execution role, the pipeline, a rule per group, the alert."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        definitions: Definitions,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._config = config
        self._key = key
        settings = config.pipeline
        files = ingestion_package()
        digest = package_digest(files)
        definition = definitions.ingestion(settings, config.ingestion, digest=digest)
        self.package = JobScripts(
            self,
            "Package",
            files=files,
            bucket_name=config.artifact_bucket_name,
            key=key,
            key_prefix=package_key_prefix(digest),
            log_retention=log_retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
            purpose="the ingestion job's package",
        )
        self.execution_role = self._execution_role(definition)
        pipeline = SageMakerPipeline(
            self,
            "Pipeline",
            pipeline_name=settings.ingestion_pipeline_name,
            description="Fraud detection ingestion: a landed file validated, encoded and put into its "
            "feature group, or moved to rejected/ with its report",
            definition=definition,
            role=self.execution_role,
            artifact_bucket_name=config.artifact_bucket_name,
            key=key,
        )
        pipeline.node.add_dependency(self.package)
        self.pipeline = pipeline.pipeline
        self.pipeline_arn = pipeline.pipeline_arn
        self.dead_letter_queue = dead_letter_queue(self, "FailedDeliveries", key=key, alarm_topic=alarm_topic)
        self.start_role = events_role(
            self,
            "StartRole",
            description=f"EventBridge starts {settings.ingestion_pipeline_name} for a landed file",
        )
        self.start_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:StartPipelineExecution"], resources=[self.pipeline_arn])
        )
        self.landing_rules = {group.name: self._landing_rule(group.name) for group in FEATURE_GROUPS}
        self.failure_alert = RunFailureAlert(
            self,
            "RunFailureAlert",
            pipeline_name=settings.ingestion_pipeline_name,
            pipeline_arn=self.pipeline_arn,
            key=key,
            topic=alarm_topic,
            dead_letter_queue=self.dead_letter_queue,
            advice="If its file was rejected, the file and its report (every error as file:line:column) are "
            f"under s3://{config.data_bucket_name}/{REJECTED_FOLDER}/ (by group, then execution id) and "
            "nothing of it was ingested; otherwise the failing step's reason is on the execution's steps.",
        )

    def _execution_role(self, definition: str) -> iam.IRole:
        """Exactly what the three jobs do: read the landed file, move a rejected one, put records.

        Data bucket: read and delete ``incoming/`` (validate reads, quarantine deletes), write
        ``rejected/`` and list it (quarantine checks the copy before deleting). Artifact bucket:
        read every version of the package, read and write the runs' parts and reports. Feature
        Store: PutRecord on the environment's two groups, whose online stores are encrypted with
        the project key (PutRecord needs ``kms:Decrypt`` on it, not through S3).
        """
        config, settings = self._config, self._config.pipeline
        groups = [
            policies.sagemaker_arn(self, "feature-group", name)
            for _, name in sorted(settings.feature_group_names.items())
        ]
        return ProcessingPipelineRole(
            self,
            "ExecutionRole",
            settings=settings,
            pipeline_name=settings.ingestion_pipeline_name,
            key=self._key,
            objects=[
                ObjectAccess(
                    bucket_name=config.data_bucket_name,
                    read=(f"{INCOMING_FOLDER}/",),
                    write=(f"{REJECTED_FOLDER}/",),
                    delete=(f"{INCOMING_FOLDER}/",),
                    list_only=(f"{REJECTED_FOLDER}/",),
                ),
                ObjectAccess(
                    bucket_name=config.artifact_bucket_name,
                    read=(f"{PREFIX}/{INGESTION_PACKAGE_FOLDER}/", f"{PREFIX}/{INGESTION_FOLDER}/"),
                    write=(f"{PREFIX}/{INGESTION_FOLDER}/",),
                ),
            ],
            objects_reason="Landed files have names only their senders know, rejected copies and each run's "
            "parts and reports are filed under the execution id, and the package under its digest; the "
            "wildcards are limited to incoming/ and rejected/ of the data bucket and to the ingestion "
            "prefixes of the artifact bucket.",
            image_uris=policies.image_uris_in(definition),
            extra=[
                iam.PolicyStatement(actions=["sagemaker:PutRecord"], resources=groups),
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self._key.key_arn]),
            ],
        ).role

    def _landing_rule(self, group: str) -> events.Rule:
        """A file landed for ``group`` starts a run with the event's bucket, key and time."""
        config = self._config
        pattern = config.ingestion.landing_pattern(config.data_bucket_name, group)
        rule = events.Rule(
            self,
            f"{group.capitalize()}LandedRule",
            description=f"Files landed under s3://{config.data_bucket_name}/{INCOMING_FOLDER}/{group}/ -> "
            f"{config.pipeline.ingestion_pipeline_name}",
            event_pattern=events.EventPattern(
                source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"]
            ),
        )
        rule.add_target(
            RoleTarget(
                self.pipeline_arn,
                role=self.start_role,
                dead_letter_queue=self.dead_letter_queue,
                max_event_age=START_MAX_EVENT_AGE,
                retry_attempts=START_RETRY_ATTEMPTS,
            )
        )
        # RuleTargetConfig has no field for a pipeline's parameters; each value is a JSON path
        # into the event (EventBridge's dynamic path parameters) or the group's literal name.
        parameters = config.ingestion.rule_parameters(group)
        cast(events.CfnRule, rule.node.default_child).add_property_override(
            "Targets.0.SageMakerPipelineParameters",
            {"PipelineParameterList": [{"Name": k, "Value": v} for k, v in sorted(parameters.items())]},
        )
        return rule
