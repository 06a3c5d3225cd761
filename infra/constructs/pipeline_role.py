"""The SageMaker execution role of the pipeline and of every job it starts."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
from constructs import Construct

from infra import policies
from infra.compliance import acknowledge_unscoped_actions, acknowledge_wildcard_resources
from infra.constructs.feature_group import OFFLINE_STORE_PREFIX
from pipeline_def.pipeline import PREFIX
from pipeline_def.schema import FEATURE_GROUPS
from pipeline_def.settings import PipelineSettings

#: SageMaker Pipelines names the jobs and models it creates ``pipelines-<execution>-<step>-...``;
#: jobs started outside a pipeline run carry the environment prefix (their base job name) instead.
PIPELINE_JOB_PREFIX = "pipelines-"
#: Clarify's shadow endpoint (and its config) for SHAP, created and deleted by the Clarify job.
CLARIFY_SHADOW_PREFIX = "sm-clarify-"
_JOB_TYPES = ("processing-job", "training-job", "hyper-parameter-tuning-job", "transform-job")
_JOB_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateTransformJob",
    "sagemaker:DescribeHyperParameterTuningJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
    "sagemaker:StopHyperParameterTuningJob",
    "sagemaker:StopProcessingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:StopTransformJob",
)
_SHADOW_ENDPOINT_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:InvokeEndpoint",
)
_EXPERIMENT_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:AssociateTrialComponent",
    "sagemaker:CreateExperiment",
    "sagemaker:CreateTrial",
    "sagemaker:DescribeExperiment",
    "sagemaker:DescribeTrial",
)
_ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
_UNSCOPED = "ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited by cloudwatch:namespace)"


class PipelineExecutionRole(Construct):
    """Least-privilege role for the pipeline: this environment's buckets, key, tables and names only.

    Statements go to a separate policy resource because the role passes itself to its jobs
    (``iam:PassRole`` on its own ARN), which an inline policy of the role cannot reference. Each
    statement with a wildcard resource is added together with the reason it needs one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        key: kms.IKey,
        data_bucket_name: str,
        artifact_bucket_name: str,
        athena_results_prefix: str,
        image_uris: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._stack = cdk.Stack.of(self)
        self._settings = settings
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                policies.SAGEMAKER, conditions={"StringEquals": {"aws:SourceAccount": self._stack.account}}
            ),
            description=f"SageMaker pipeline {settings.pipeline_name} and its jobs",
        )
        self._add(
            policies.kms_use(key),
            policies.kms_create_grant(key),
            *self._feature_queries(),
            *policies.ecr_pull(image_uris),
            policies.sagemaker_metrics(),
            policies.pass_role_to_sagemaker(self.role.role_arn),
        )
        self._add_storage(data_bucket_name, artifact_bucket_name, athena_results_prefix)
        self._add_sagemaker()
        self._add_logs()
        unscoped = _UNSCOPED
        if settings.subnet_ids:
            self._add(iam.PolicyStatement(actions=list(_ENI_ACTIONS), resources=["*"]))
            unscoped += " and the EC2 network-interface actions of jobs in the configured VPC"
        acknowledge_unscoped_actions(self.role, unscoped)

    def _add(self, *statements: iam.PolicyStatement, wildcard_reason: str | None = None) -> None:
        for statement in statements:
            self.role.add_to_principal_policy(statement)
        if wildcard_reason:
            acknowledge_wildcard_resources(self.role, statements, wildcard_reason)

    def _add_storage(self, data: str, artifacts: str, athena_prefix: str) -> None:
        code = f"{PREFIX}/"
        self._add(
            policies.s3_objects(
                self, artifacts, [code], ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
            ),
            policies.s3_objects(self, artifacts, [f"{PREFIX}/checkpoints/"], ["s3:DeleteObject"]),
            *policies.s3_list(self, artifacts, [code, athena_prefix]),
            wildcard_reason="Job inputs and outputs live under keys generated per execution "
            "(fraud-detection/runs/<execution-id>/..., tuning job outputs, spot checkpoints); the wildcard "
            "is limited to the pipeline's prefix of this environment's artifact bucket.",
        )
        self._add(
            policies.s3_objects(
                self, artifacts, [athena_prefix], ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
            ),
            wildcard_reason="Athena writes each query's results to <query-id>.csv under the workgroup's "
            "result prefix, and the data-processing job reads them back; limited to that prefix.",
        )
        self._add(
            policies.s3_objects(self, data, [OFFLINE_STORE_PREFIX], ["s3:GetObject"]),
            *policies.s3_list(self, data, [OFFLINE_STORE_PREFIX]),
            wildcard_reason="Athena reads the offline store's Parquet files, whose keys Feature Store "
            "generates; read-only and limited to the offline-store prefix of the data bucket.",
        )

    def _add_sagemaker(self) -> None:
        stack, settings, arn = self._stack, self._settings, policies.sagemaker_arn
        names = (f"{PIPELINE_JOB_PREFIX}*", f"{settings.prefix}-*")
        group = settings.model_package_group_name
        self._add(
            iam.PolicyStatement(
                actions=list(_JOB_ACTIONS),
                resources=[arn(stack, job, name) for job in _JOB_TYPES for name in names],
            ),
            iam.PolicyStatement(
                actions=[
                    "sagemaker:AddTags",
                    "sagemaker:CreateModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:DescribeModel",
                ],
                resources=[arn(stack, "model", name) for name in names],
            ),
            wildcard_reason="SageMaker Pipelines names the jobs and models it creates at run time "
            "(pipelines-<execution-id>-<step>-...; jobs outside a run use the environment prefix); the "
            "wildcard is limited to those name prefixes in this account and region.",
        )
        self._add(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:AddTags",
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                ],
                resources=[
                    arn(stack, "model-package-group", group),
                    arn(stack, "model-package", f"{group}/*"),
                ],
            ),
            wildcard_reason="The registry numbers each new model package version "
            "(model-package/<group>/<version>); limited to this environment's model package group.",
        )
        self._add(
            iam.PolicyStatement(
                actions=list(_EXPERIMENT_ACTIONS),
                resources=[
                    arn(stack, "experiment", settings.pipeline_name),
                    arn(stack, "experiment-trial", "*"),
                    arn(stack, "experiment-trial-component", f"{PIPELINE_JOB_PREFIX}*"),
                ],
            ),
            wildcard_reason="Pipelines records each execution as a trial named after the execution id "
            "(unknown before the run) whose components are the generated pipelines-* jobs; the experiment "
            "itself is named exactly.",
        )
        self._add(
            iam.PolicyStatement(
                actions=list(_SHADOW_ENDPOINT_ACTIONS),
                resources=[
                    arn(stack, "endpoint", f"{CLARIFY_SHADOW_PREFIX}*"),
                    arn(stack, "endpoint-config", f"{CLARIFY_SHADOW_PREFIX}*"),
                ],
            ),
            wildcard_reason="The Clarify job computes SHAP values through a temporary shadow endpoint it "
            "names sm-clarify-<...> and deletes afterwards; limited to that name prefix.",
        )

    def _add_logs(self) -> None:
        kinds = ("ProcessingJobs", "TrainingJobs", "TransformJobs", f"Endpoints/{CLARIFY_SHADOW_PREFIX}")
        self._add(
            policies.sagemaker_logs(self._stack, *(f"/aws/sagemaker/{kind}" for kind in kinds)),
            wildcard_reason="SageMaker writes job logs to its fixed log groups (/aws/sagemaker/<kind>) with "
            "streams named after the generated jobs; the wildcard covers those groups only.",
        )

    def _feature_queries(self) -> list[iam.PolicyStatement]:
        """Athena over the offline-store Glue tables of this environment's feature groups."""
        settings, stack = self._settings, self._stack
        database = settings.glue_database
        tables = [settings.offline_table(group.name) for group in FEATURE_GROUPS]
        return [
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable"],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="database", resource_name=database),
                    *(
                        stack.format_arn(service="glue", resource="table", resource_name=f"{database}/{t}")
                        for t in tables
                    ),
                ],
            ),
            iam.PolicyStatement(
                actions=[
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:GetWorkGroup",
                    "athena:StartQueryExecution",
                    "athena:StopQueryExecution",
                ],
                resources=[
                    stack.format_arn(
                        service="athena", resource="workgroup", resource_name=settings.athena_workgroup
                    )
                ],
            ),
        ]
