"""The training side: execution role, model registry group, job scripts, pipeline and schedule."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sagemaker as sagemaker
import aws_cdk.aws_sns as sns
from constructs import Construct

from infra import policies
from infra.constructs.job_scripts import JobScripts
from infra.constructs.model_execution_role import ModelExecutionRole
from infra.constructs.pipeline_role import PipelineExecutionRole
from infra.constructs.pipeline_schedule import PipelineSchedule
from infra.constructs.sagemaker_pipeline import SageMakerPipeline
from infra.retention import log_retention
from infra.stacks.data_stack import ATHENA_RESULTS_PREFIX, removal_policy_of
from pipeline_def.config import DATA_CAPTURE_PREFIX, EnvironmentConfig
from pipeline_def.definition.render import SCRIPTS_DIR, code_key_prefix, render, scripts_digest
from pipeline_def.names import PREFIX, SCRIPT_NAMES, TUNING_FOLDER

#: Where the tuning jobs write model artifacts and where endpoints write captured traffic.
MODEL_ARTIFACTS_PREFIX = f"{PREFIX}/{TUNING_FOLDER}/"


def schedule_parameters(config: EnvironmentConfig) -> dict[str, str]:
    """Pipeline parameters each scheduled run passes explicitly, so a run records its own bar."""
    settings = config.pipeline
    return {
        "MinAuc": str(settings.min_auc),
        "MinRecall": str(settings.min_recall),
        "ModelApprovalStatus": settings.model_approval_status,
    }


class PipelineStack(cdk.Stack):
    """Composes the pipeline's constructs.

    The key comes from :class:`DataStack` and the operators' topic (for the schedule's
    dead-letter alarm) from :class:`OperationsStack`; buckets are named by the config, so this
    stack refers to them by name (the stage orders the stacks).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.pipeline
        digest = scripts_digest()
        definition = render(settings, digest=digest)
        self.execution_role = PipelineExecutionRole(
            self,
            "ExecutionRole",
            settings=settings,
            key=key,
            data_bucket_name=config.data_bucket_name,
            artifact_bucket_name=config.artifact_bucket_name,
            athena_results_prefix=ATHENA_RESULTS_PREFIX,
            image_uris=policies.image_uris_in(definition),
        ).role
        self.model_package_group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=settings.model_package_group_name,
            model_package_group_description=f"Fraud detection models of {settings.prefix}",
        )
        self.model_package_group.apply_removal_policy(removal_policy_of(config))
        scripts = JobScripts(
            self,
            "JobScripts",
            source_dir=SCRIPTS_DIR,
            file_names=SCRIPT_NAMES,
            bucket=s3.Bucket.from_bucket_attributes(
                self, "ArtifactBucket", bucket_name=config.artifact_bucket_name, encryption_key=key
            ),
            key=key,
            key_prefix=code_key_prefix(digest),
            log_retention=log_retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        pipeline = SageMakerPipeline(
            self,
            "Pipeline",
            pipeline_name=settings.pipeline_name,
            definition=definition,
            role=self.execution_role,
            artifact_bucket_name=config.artifact_bucket_name,
            key=key,
        )
        pipeline.node.add_dependency(scripts, self.model_package_group)
        self.pipeline = pipeline.pipeline
        self.pipeline_arn = pipeline.pipeline_arn
        self.schedule = PipelineSchedule(
            self,
            "Schedule",
            schedule=config.schedule,
            pipeline_arn=self.pipeline_arn,
            parameters=schedule_parameters(config),
            key=key,
            alarm_topic=alarm_topic,
            description=f"Starts {settings.pipeline_name}",
        )
        self.model_execution_role = ModelExecutionRole(
            self,
            "ModelExecutionRole",
            artifact_bucket_name=config.artifact_bucket_name,
            model_prefix=MODEL_ARTIFACTS_PREFIX,
            data_capture_prefix=DATA_CAPTURE_PREFIX,
            endpoint_name_prefix=f"{config.prefix}-",
            key=key,
            image_uris=policies.model_image_uris_in(definition),
        ).role
