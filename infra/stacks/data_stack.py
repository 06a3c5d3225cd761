"""The stateful stack: keys, buckets, Glue database, Athena workgroup and feature groups.

Everything here holds data that outlives a deployment, so it is kept apart from the stateless
stacks (which can be destroyed and recreated freely), retained on delete where the environment
says ``removalPolicy: retain``, and termination-protected there.

Two customer-managed keys: the project key (``alias/<prefix>``) encrypts the data, the buckets'
default, queues, topics, tables and logs; the artifact key (``alias/<prefix>-artifacts``)
encrypts only what may leave the account when packages are promoted (the tuning jobs' model
artifacts and each run's drift baseline). Other accounts are granted the artifact key, never the
project key, so a promotion cannot open the feature data to them.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_athena as athena
import aws_cdk.aws_glue as glue
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
from constructs import Construct

from infra.constructs.feature_group import FeatureGroup, FeatureStoreRole
from infra.constructs.secure_bucket import SecureBucket, access_log_bucket
from infra.constructs.seed_objects import SEED_TEXT
from infra.policies import alarms_arn, s3_arn
from pipeline_def.config import DATA_CAPTURE_PREFIX, MODEL_ARTIFACTS_PREFIX, EnvironmentConfig
from pipeline_def.names import INCOMING_FOLDER, INGESTION_FOLDER, PREFIX
from pipeline_def.schema import FEATURE_GROUPS

#: Athena writes query results here (artifact bucket), encrypted with the environment key.
ATHENA_RESULTS_PREFIX = "athena-results/"
#: Guard against a runaway query: 10 GiB scanned per query.
ATHENA_BYTES_SCANNED_CUTOFF = 10 * 1024**3
#: What CloudWatch Logs does with the key for an encrypted log group (no wildcards).
LOGS_KEY_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
#: Each run's drift baseline (``FraudDriftBaseline``), which the deploy function copies when it
#: deploys the run's package: encrypted with the artifact key, readable by promotion accounts.
DRIFT_BASELINE_KEYS = f"{PREFIX}/runs/*/drift-baseline/*"
#: A lifecycle rule expires noncurrent capture versions this long after they stop being current.
CAPTURE_NONCURRENT_DAYS = 1
#: Landed files deleted by the quarantine (moved to rejected/) or expired leave a noncurrent
#: version: gone a day later, since the rejected copy or the feature groups hold the data.
LANDED_NONCURRENT_DAYS = 1


def artifact_key_alias(prefix: str) -> str:
    """The alias of an environment's artifact key (this stack's and a promotion peer's alike)."""
    return f"alias/{prefix}-artifacts"


def promoted_artifact_keys() -> tuple[str, ...]:
    """Object keys (patterns) a promotion account reads: model artifacts and drift baselines."""
    return (f"{MODEL_ARTIFACTS_PREFIX}*", DRIFT_BASELINE_KEYS)


def removal_policy_of(config: EnvironmentConfig) -> cdk.RemovalPolicy:
    return cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY


class DataStack(cdk.Stack):
    """Owns the environment's data and its encryption key; exposes them to the other stacks."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, termination_protection=config.termination_protection, **kwargs)
        settings = config.pipeline
        removal_policy = removal_policy_of(config)
        self.key = self._key(config, removal_policy)
        self.artifact_key = kms.Key(
            self,
            "ArtifactKey",
            alias=artifact_key_alias(config.prefix),
            description=f"Encrypts the model artifacts and drift baselines of {config.prefix}, the only "
            "objects promotion accounts may read",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(30),
            removal_policy=removal_policy,
        )
        self.log_bucket = access_log_bucket(
            self, "AccessLogs", bucket_name=config.log_bucket_name, removal_policy=removal_policy
        )
        data = SecureBucket(
            self,
            "Data",
            bucket_name=config.data_bucket_name,
            key=self.key,
            log_bucket=self.log_bucket,
            log_prefix="data/",
            removal_policy=removal_policy,
        )
        self.data_bucket = data.bucket
        artifacts = SecureBucket(
            self,
            "Artifacts",
            bucket_name=config.artifact_bucket_name,
            key=self.key,
            log_bucket=self.log_bucket,
            log_prefix="artifacts/",
            removal_policy=removal_policy,
        )
        self.artifact_bucket = artifacts.bucket
        self._expire_data_capture(artifacts, config)
        if config.ingestion.enabled:
            self._open_landing(data, artifacts, config)
        if config.promote_to:
            self._open_model_artifacts(config)
        self.glue_database = glue.CfnDatabase(
            self,
            "FeatureDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=settings.glue_database,
                description=f"Feature Store offline-store tables of {settings.prefix}",
            ),
        )
        self.glue_database.apply_removal_policy(removal_policy)
        self.athena_workgroup = self._athena_workgroup(config, removal_policy)
        self.feature_store_role = FeatureStoreRole(
            self,
            "FeatureStoreRole",
            bucket_name=config.data_bucket_name,
            key=self.key,
            glue_database=settings.glue_database,
            table_names=tuple(settings.offline_table(group.name) for group in FEATURE_GROUPS),
        ).role
        self.feature_groups = {
            group.name: FeatureGroup(
                self,
                f"{group.name.capitalize()}FeatureGroup",
                schema=group,
                feature_group_name=settings.feature_group_names[group.name],
                bucket_name=config.data_bucket_name,
                key=self.key,
                role=self.feature_store_role,
                glue_database=settings.glue_database,
                table_name=settings.offline_table(group.name),
                tags=config.fixed_tags,
                removal_policy=removal_policy,
            ).feature_group
            for group in FEATURE_GROUPS
        }
        for feature_group in self.feature_groups.values():
            feature_group.node.add_dependency(self.glue_database)
            feature_group.node.add_dependency(self.data_bucket)

    def _key(self, config: EnvironmentConfig, removal_policy: cdk.RemovalPolicy) -> kms.Key:
        key = kms.Key(
            self,
            "Key",
            alias=f"alias/{config.prefix}",
            description=f"Encrypts the data, artifacts, queues, topic and table of {config.prefix}",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(30),
            removal_policy=removal_policy,
        )
        # EventBridge itself writes undeliverable events to the KMS-encrypted dead-letter queue,
        # so the key policy (not a role) must let it; only rules of this environment's stacks.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeRulesOfThisEnvironmentToUseDeadLetterQueues",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": self.format_arn(
                            service="events", resource="rule", resource_name=f"{config.prefix}-*"
                        )
                    },
                },
            )
        )
        key.add_to_resource_policy(self._logs_statement(config))
        for name, principal, source_arn in self._alert_publishers():
            key.add_to_resource_policy(self._publisher_statement(name, principal, source_arn))
        return key

    def _open_model_artifacts(self, config: EnvironmentConfig) -> None:
        """Cross-account promotion: the deploying accounts read model artifacts and drift baselines.

        The bucket policy lets them GetObject under the tuning jobs' output prefix and each run's
        drift-baseline folder only: the feature data (the data bucket's offline store, the runs'
        splits and Athena's results in this bucket) stays closed. Those objects are encrypted with
        the artifact key, which encrypts nothing else; its policy lets them decrypt only through S3
        (``kms:ViaService``) and only objects of this bucket (the encryption context S3 sends: the
        bucket's ARN with S3 Bucket Keys, else the object's, here limited to the same keys). The
        project key's policy names no other account.
        """
        accounts = [iam.AccountPrincipal(peer.account) for peer in config.promote_to]
        bucket_arn = s3_arn(self, config.artifact_bucket_name)
        keys = promoted_artifact_keys()
        self.artifact_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPromotionAccountsToReadModelArtifacts",
                principals=accounts,
                actions=["s3:GetObject"],
                resources=[s3_arn(self, config.artifact_bucket_name, pattern) for pattern in keys],
            )
        )
        self.artifact_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPromotionAccountsToDecryptModelArtifactsThroughS3",
                principals=accounts,
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"},
                    "StringLike": {
                        "kms:EncryptionContext:aws:s3:arn": [
                            bucket_arn,
                            *(f"{bucket_arn}/{pattern}" for pattern in keys),
                        ]
                    },
                },
            )
        )

    def _expire_data_capture(self, artifacts: SecureBucket, config: EnvironmentConfig) -> None:
        """The endpoint's captured requests are kept ``monitoring.captureRetentionDays`` days.

        A lifecycle filter cannot leave one key out, and the monitoring stack seeds a README in
        the capture prefix (a processing input on an empty prefix fails the job), which must
        outlive the captures. So the rule expires every object larger than that README: a capture
        file holds at least one JSON record (event id, times, the request's features and the
        score), far larger than it. Noncurrent versions go a day after they stop being current.
        """
        artifacts.expire(
            "ExpireDataCapture",
            prefix=DATA_CAPTURE_PREFIX,
            days=config.monitoring.capture_retention_days,
            noncurrent_days=CAPTURE_NONCURRENT_DAYS,
            larger_than_bytes=len(SEED_TEXT.encode()),
        )

    def _open_landing(self, data: SecureBucket, artifacts: SecureBucket, config: EnvironmentConfig) -> None:
        """Files landed under ``incoming/`` start the ingestion stack's pipeline, and expire.

        The data bucket sends its object events to EventBridge, where the ingestion stack's rules
        pick the landed files by key. A landed file is either ingested (the feature groups hold
        its records) or moved under ``rejected/`` (kept until someone deals with it), so what
        stays in ``incoming/`` is a copy, kept ``ingestion.incomingRetentionDays`` days for a
        re-run; so are each run's part files and reports in the artifact bucket.
        """
        data.send_events_to_eventbridge()
        days = config.ingestion.incoming_retention_days
        data.expire(
            "ExpireLandedFiles",
            prefix=f"{INCOMING_FOLDER}/",
            days=days,
            noncurrent_days=LANDED_NONCURRENT_DAYS,
        )
        artifacts.expire(
            "ExpireIngestionRuns",
            prefix=f"{PREFIX}/{INGESTION_FOLDER}/",
            days=days,
            noncurrent_days=LANDED_NONCURRENT_DAYS,
        )

    def _logs_statement(self, config: EnvironmentConfig) -> iam.PolicyStatement:
        """CloudWatch Logs encrypts this environment's log groups with the key, and no others.

        The log groups' names are generated by CloudFormation from the stack names, which all
        start with the environment prefix; CloudWatch Logs names the log group in the encryption
        context of every request (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
        """
        log_groups = self.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{config.prefix}-*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        return iam.PolicyStatement(
            sid="AllowCloudWatchLogsOfThisEnvironmentsLogGroups",
            principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
            actions=list(LOGS_KEY_ACTIONS),
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        )

    def _alert_publishers(self) -> tuple[tuple[str, str, str], ...]:
        """Services that publish to the KMS-encrypted operators' topic: alarms and budgets."""
        return (
            ("CloudWatchAlarms", "cloudwatch.amazonaws.com", alarms_arn(self)),
            ("Budgets", "budgets.amazonaws.com", f"arn:{self.partition}:budgets::{self.account}:*"),
        )

    def _publisher_statement(self, name: str, principal: str, source_arn: str) -> iam.PolicyStatement:
        """A service publishing to an encrypted topic needs a data key; only for this account's own."""
        return iam.PolicyStatement(
            sid=f"Allow{name}OfThisAccountToPublishToEncryptedTopics",
            principals=[iam.ServicePrincipal(principal)],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions={
                "StringEquals": {"aws:SourceAccount": self.account},
                "ArnLike": {"aws:SourceArn": source_arn},
            },
        )

    def _athena_workgroup(
        self, config: EnvironmentConfig, removal_policy: cdk.RemovalPolicy
    ) -> athena.CfnWorkGroup:
        workgroup = athena.CfnWorkGroup(
            self,
            "AthenaWorkGroup",
            name=config.pipeline.athena_workgroup,
            description=f"Point-in-time feature queries of {config.prefix}",
            state="ENABLED",
            recursive_delete_option=not config.retain_data,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=ATHENA_BYTES_SCANNED_CUTOFF,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{config.artifact_bucket_name}/{ATHENA_RESULTS_PREFIX}",
                    expected_bucket_owner=self.account,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                ),
            ),
        )
        workgroup.apply_removal_policy(removal_policy)
        workgroup.node.add_dependency(self.artifact_bucket)
        return workgroup
