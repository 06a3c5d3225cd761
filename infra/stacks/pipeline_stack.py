"""The training side: execution role, model registry group, job scripts, pipeline and schedule."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sagemaker as sagemaker
import aws_cdk.aws_sns as sns
from constructs import Construct

from infra import policies
from infra.compliance import acknowledge_wildcard_resources
from infra.constructs.job_scripts import JobScripts
from infra.constructs.model_execution_role import ModelExecutionRole
from infra.constructs.pipeline_role import PipelineExecutionRole
from infra.constructs.pipeline_schedule import PipelineSchedule
from infra.constructs.sagemaker_pipeline import SageMakerPipeline
from infra.retention import log_retention
from infra.stacks.data_stack import ATHENA_RESULTS_PREFIX, artifact_key_alias, removal_policy_of
from pipeline_def.config import (
    DATA_CAPTURE_PREFIX,
    MODEL_ARTIFACTS_PREFIX,
    EnvironmentConfig,
    PeerEnvironment,
)
from pipeline_def.definition.render import SCRIPTS_DIR, code_key_prefix, scripts_digest
from pipeline_def.definition.render_worker import Definitions
from pipeline_def.names import SCRIPT_NAMES

_REGISTRY_ARTIFACTS_REASON = (
    "Cross-account promotion: endpoints serve packages of the registry environment, whose model artifacts "
    "live under keys the tuning jobs generate; read-only, limited to that bucket's tuning prefix."
)
_REGISTRY_KEY_REASON = (
    "Cross-account promotion: the registry environment's artifact key id is generated in its own account; "
    "the wildcard is limited to that account's keys carrying the artifact key's alias, and to decryption "
    "through S3."
)


class PipelineStack(cdk.Stack):
    """Composes the pipeline's constructs.

    The keys come from :class:`DataStack` (the project key, and the artifact key that encrypts
    model artifacts and drift baselines) and the operators' topic (for the schedule's dead-letter
    alarm) from :class:`OperationsStack`; buckets are named by the config, so this stack refers
    to them by name (the stage orders the stacks).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        artifact_key: kms.IKey,
        alarm_topic: sns.ITopic,
        definitions: Definitions,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.pipeline
        digest = scripts_digest()
        definition = definitions.training(settings, digest=digest)
        self.execution_role = PipelineExecutionRole(
            self,
            "ExecutionRole",
            settings=settings,
            key=key,
            artifact_key=artifact_key,
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
            model_package_group_policy=self._promotion_policy(config) if config.promote_to else None,
        )
        self.model_package_group.apply_removal_policy(removal_policy_of(config))
        scripts = JobScripts(
            self,
            "JobScripts",
            files={name: (SCRIPTS_DIR / name).read_bytes() for name in SCRIPT_NAMES},
            bucket_name=config.artifact_bucket_name,
            key=key,
            key_prefix=code_key_prefix(digest),
            log_retention=log_retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
            purpose="the job scripts",
        )
        pipeline = SageMakerPipeline(
            self,
            "Pipeline",
            pipeline_name=settings.pipeline_name,
            description="Fraud detection: features, tuning, evaluation, bias and registration",
            definition=definition,
            role=self.execution_role,
            artifact_bucket_name=config.artifact_bucket_name,
            key=key,
            artifact_key=artifact_key,
        )
        pipeline.node.add_dependency(scripts, self.model_package_group)
        self.pipeline = pipeline.pipeline
        self.pipeline_arn = pipeline.pipeline_arn
        self.schedule = PipelineSchedule(
            self,
            "Schedule",
            schedule=config.schedule,
            pipeline_arn=self.pipeline_arn,
            parameters=config.pipeline_run_parameters(),
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
            artifact_key=artifact_key,
            image_uris=policies.model_image_uris_in(definition),
        ).role
        if config.registry is not None:
            self._read_registry_artifacts(config.registry)

    def _promotion_policy(self, config: EnvironmentConfig) -> dict[str, object]:
        """The group's resource policy: the deploying accounts read it and deploy its packages.

        SageMaker checks CreateModel from a package of another account against the package too,
        so the policy allows it next to the reads; nothing here lets them change or approve one.
        """
        group = config.pipeline.model_package_group_name
        principal = {"AWS": [f"arn:{self.partition}:iam::{peer.account}:root" for peer in config.promote_to]}
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PromotionAccountsDescribeTheGroup",
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "sagemaker:DescribeModelPackageGroup",
                    "Resource": policies.sagemaker_arn(self, "model-package-group", group),
                },
                {
                    "Sid": "PromotionAccountsDeployItsPackages",
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": [
                        "sagemaker:CreateModel",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:ListModelPackages",
                    ],
                    "Resource": policies.sagemaker_arn(self, "model-package", f"{group}/*"),
                },
            ],
        }

    def _read_registry_artifacts(self, registry: PeerEnvironment) -> None:
        """Endpoints here serve the registry's packages: its model artifacts, decrypted through S3.

        The registry's bucket and artifact key policies allow this account the same, and no more.
        """
        artifacts = iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[policies.s3_arn(self, registry.artifact_bucket_name, f"{MODEL_ARTIFACTS_PREFIX}*")],
        )
        key = policies.peer_key_decrypt_through_s3(
            self, registry.account, artifact_key_alias(registry.prefix)
        )
        policy = iam.Policy(
            self,
            "RegistryModelArtifacts",
            roles=[self.model_execution_role],
            statements=[artifacts, key],
        )
        acknowledge_wildcard_resources(policy, [artifacts], _REGISTRY_ARTIFACTS_REASON)
        acknowledge_wildcard_resources(policy, [key], _REGISTRY_KEY_REASON)
