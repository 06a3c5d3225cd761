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
from pipeline_def.config import PipelineSettings
from pipeline_def.names import PREFIX
from pipeline_def.schema import FEATURE_GROUPS

#: SageMaker Pipelines names the processing and transform jobs and the models it creates
#: ``pipelines-<execution-id>-<step>-<random>``; processing and transform jobs started outside a
#: pipeline run carry the environment prefix (their base job name) instead.
PIPELINE_JOB_PREFIX = "pipelines-"
#: Job types whose names Pipelines starts with ``pipelines-`` (or a base job name starts with the prefix).
NAMED_JOB_ACTIONS = {
    "processing-job": (
        "sagemaker:AddTags",
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
    ),
    "transform-job": (
        "sagemaker:AddTags",
        "sagemaker:CreateTransformJob",
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
    ),
}
#: A tuning step's job gets a generated name of at most 32 characters with no ``pipelines-``
#: prefix, and its training jobs are named after it (``<tuning-job>-<NNN>-<hash>``): no name
#: prefix is known before the run, so these two types are scoped by account and region only.
_TUNING_ACTIONS = {
    "hyper-parameter-tuning-job": (
        "sagemaker:AddTags",
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
    ),
    "training-job": (
        "sagemaker:AddTags",
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
    ),
}
#: The model step's CreateModel; Pipelines never deletes the model, and live models (the deploy
#: function's ``<prefix>-...``) stay out of reach.
_MODEL_ACTIONS = ("sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:DescribeModel")
EXPERIMENT_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:AssociateTrialComponent",
    "sagemaker:CreateExperiment",
    "sagemaker:CreateTrial",
    "sagemaker:DescribeExperiment",
    "sagemaker:DescribeTrial",
)
#: SageMaker creates the jobs' network interfaces in the configured subnets with this role.
#: CreateNetworkInterface is authorized on the new interface, the subnet and the security groups;
#: the others act on an existing interface and carry the ``ec2:Subnet`` condition key.
_ENI_CREATE = "ec2:CreateNetworkInterface"
_ENI_ACTIONS_ON_INTERFACES = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
)
#: No resource type (Describe*), or one that is optional so a request may carry none
#: (DeleteNetworkInterfacePermission): IAM only accepts Resource "*" for these.
_ENI_UNSCOPED_ACTIONS = (
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
_UNSCOPED = "ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited by cloudwatch:namespace)"
#: Added to the acknowledgment of ``Resource: "*"`` when jobs run in the configured VPC.
NETWORK_UNSCOPED = (
    " and the EC2 Describe* and DeleteNetworkInterfacePermission actions of jobs in the configured VPC"
)
NETWORK_WILDCARD_REASON = (
    "SageMaker creates the network interfaces of the jobs at run time, so their ids are unknown; creation "
    "is limited to the configured subnets and security groups, and changes to interfaces in the "
    "configured subnets (ec2:Subnet)."
)
#: The artifact key is used through S3 (object reads and writes) and SageMaker (which checks the
#: output key of the jobs it starts), never directly.
ARTIFACT_KEY_SERVICES = ("s3", "sagemaker")


def network_interface_statements(
    stack: cdk.Stack, settings: PipelineSettings
) -> tuple[list[iam.PolicyStatement], iam.PolicyStatement]:
    """Network interfaces of jobs in the configured VPC: only those subnets and security groups.

    Returns the scoped statements (whose wildcards :data:`NETWORK_WILDCARD_REASON` explains) and
    the statement of the actions IAM accepts only on ``Resource: "*"``.
    """
    subnets = [
        stack.format_arn(service="ec2", resource="subnet", resource_name=s) for s in settings.subnet_ids
    ]
    interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
    scoped = [
        iam.PolicyStatement(
            actions=[_ENI_CREATE],
            resources=[
                interfaces,
                *subnets,
                *(
                    stack.format_arn(service="ec2", resource="security-group", resource_name=g)
                    for g in settings.security_group_ids
                ),
            ],
        ),
        iam.PolicyStatement(
            actions=list(_ENI_ACTIONS_ON_INTERFACES),
            resources=[interfaces],
            conditions={"ArnEquals": {"ec2:Subnet": subnets}},
        ),
    ]
    return scoped, iam.PolicyStatement(actions=list(_ENI_UNSCOPED_ACTIONS), resources=["*"])


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
        artifact_key: kms.IKey,
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
            # Tuning jobs write model artifacts, and the baseline step the drift baseline, with the
            # artifact key; evaluation, the model step and the transform read the artifacts back.
            policies.kms_via(self, artifact_key.key_arn, policies.KMS_USE_ACTIONS, ARTIFACT_KEY_SERVICES),
            *self._feature_queries(),
            *policies.ecr_pull(self, image_uris),
            policies.sagemaker_metrics(),
            policies.pass_role_to_sagemaker(self.role.role_arn),
        )
        self._add_storage(data_bucket_name, artifact_bucket_name, athena_results_prefix)
        self._add_sagemaker()
        self._add_logs()
        unscoped = _UNSCOPED
        if settings.subnet_ids:
            scoped, unscoped_network = network_interface_statements(self._stack, settings)
            self._add(*scoped, wildcard_reason=NETWORK_WILDCARD_REASON)
            self._add(unscoped_network)
            unscoped += NETWORK_UNSCOPED
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
            *policies.s3_list(self, artifacts, [code, athena_prefix]),
            wildcard_reason="Job inputs and outputs live under keys generated per execution "
            "(fraud-detection/runs/<execution-id>/..., tuning job outputs, job scripts); the wildcard "
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
            *(
                iam.PolicyStatement(
                    actions=list(actions), resources=[arn(stack, job, name) for name in names]
                )
                for job, actions in NAMED_JOB_ACTIONS.items()
            ),
            wildcard_reason="SageMaker Pipelines names the processing and transform jobs it starts at run "
            "time (pipelines-<execution-id>-<step>-...; jobs outside a run use the environment prefix); the "
            "wildcard is limited to those name prefixes in this account and region.",
        )
        self._add(
            iam.PolicyStatement(
                actions=list(_MODEL_ACTIONS), resources=[arn(stack, "model", f"{PIPELINE_JOB_PREFIX}*")]
            ),
            wildcard_reason="SageMaker Pipelines names the model of the model step at run time "
            "(pipelines-<execution-id>-<step>-...); limited to that prefix, so the deploy function's live "
            "models (environment prefix) are out of reach.",
        )
        self._add(
            *(
                iam.PolicyStatement(actions=list(actions), resources=[arn(stack, job, "*")])
                for job, actions in _TUNING_ACTIONS.items()
            ),
            wildcard_reason="SageMaker Pipelines gives the tuning job a generated name of at most 32 "
            "characters without the pipelines- prefix, and the tuning job names its training jobs after "
            "it; no name prefix is known before the run, so these two job types are limited to this "
            "account and region.",
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
                actions=list(EXPERIMENT_ACTIONS),
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

    def _add_logs(self) -> None:
        kinds = ("ProcessingJobs", "TrainingJobs", "TransformJobs")
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
