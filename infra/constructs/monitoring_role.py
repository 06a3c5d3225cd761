"""The execution role of the monitoring pipeline and of the one processing job it starts."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
from constructs import Construct

from infra import policies
from infra.compliance import acknowledge_unscoped_actions, acknowledge_wildcard_resources
from infra.constructs.pipeline_role import (
    EXPERIMENT_ACTIONS,
    NAMED_JOB_ACTIONS,
    NETWORK_UNSCOPED,
    NETWORK_WILDCARD_REASON,
    PIPELINE_JOB_PREFIX,
    network_interface_statements,
)
from pipeline_def.config import PipelineSettings


class MonitoringExecutionRole(Construct):
    """SageMaker Pipelines assumes it to start the monitoring job, and passes it to that job.

    What the job does with it: read the three input prefixes and the job scripts, write its
    report, decrypt and encrypt those objects with the project key through S3 (and let SageMaker
    attach the key to the job's volume), pull the XGBoost image, write its logs, and publish its
    figures to exactly one CloudWatch namespace. Nothing of Athena, Glue, Feature Store, the
    registry or the artifact key: it never reads features or model artifacts.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        pipeline_name: str,
        key: kms.IKey,
        artifact_bucket_name: str,
        read_prefixes: Sequence[str],
        write_prefixes: Sequence[str],
        metrics_namespace: str,
        image_uris: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                policies.SAGEMAKER, conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"SageMaker pipeline {pipeline_name} and its monitoring job",
        )
        arn = policies.sagemaker_arn
        bucket = artifact_bucket_name
        jobs = iam.PolicyStatement(
            actions=list(NAMED_JOB_ACTIONS["processing-job"]),
            resources=[
                arn(stack, "processing-job", f"{PIPELINE_JOB_PREFIX}*"),
                arn(stack, "processing-job", f"{settings.prefix}-monitor-*"),
            ],
        )
        # Pipelines records each execution in an experiment named after the pipeline (the
        # definition's PipelineExperimentConfig), with one trial per execution.
        experiments = iam.PolicyStatement(
            actions=list(EXPERIMENT_ACTIONS),
            resources=[
                arn(stack, "experiment", pipeline_name),
                arn(stack, "experiment-trial", "*"),
                arn(stack, "experiment-trial-component", f"{PIPELINE_JOB_PREFIX}*"),
            ],
        )
        reads = policies.s3_objects(self, bucket, read_prefixes, ["s3:GetObject"])
        writes = policies.s3_objects(
            self, bucket, write_prefixes, ["s3:AbortMultipartUpload", "s3:PutObject"]
        )
        listing = policies.s3_list(self, bucket, read_prefixes)
        logs = policies.sagemaker_logs(stack, "/aws/sagemaker/ProcessingJobs")
        statements = [
            jobs,
            experiments,
            policies.pass_role_to_sagemaker(self.role.role_arn),
            reads,
            writes,
            *listing,
            # Inputs, the report and the job scripts are SSE-KMS objects of the project key; the
            # job's volume is encrypted with it too (a grant SageMaker creates for the instance).
            policies.kms_via(self, key.key_arn, ["kms:Decrypt", "kms:GenerateDataKey"], ["s3"]),
            policies.kms_create_grant(key),
            *policies.ecr_pull(self, image_uris),
            logs,
            policies.metrics_in_namespace(metrics_namespace),
        ]
        unscoped = f"ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited to {metrics_namespace})"
        network: list[iam.PolicyStatement] = []
        if settings.subnet_ids:
            network, unscoped_network = network_interface_statements(stack, settings)
            statements += [*network, unscoped_network]
            unscoped += NETWORK_UNSCOPED
        # A separate policy resource: the role passes itself to its job (iam:PassRole on its own
        # ARN), which an inline policy of the role cannot reference.
        for statement in statements:
            self.role.add_to_principal_policy(statement)
        acknowledge_wildcard_resources(
            self.role,
            [jobs],
            "SageMaker Pipelines names the monitoring job it starts at run time (pipelines-<execution-id>-"
            "FraudMonitor-...; a run outside the pipeline uses <prefix>-monitor-); limited to those "
            "prefixes.",
        )
        acknowledge_wildcard_resources(
            self.role,
            [experiments],
            "Pipelines records each execution as a trial named after the execution id (unknown before the "
            "run) whose component is the generated pipelines-* job; the experiment itself is named exactly.",
        )
        acknowledge_wildcard_resources(
            self.role,
            [reads, writes],
            "The monitoring job reads what the deploy function, the endpoint's data capture and the label "
            "feed write under generated keys, and writes its report per execution; the wildcards are limited "
            "to those prefixes and the job scripts' prefix of this environment's artifact bucket.",
        )
        acknowledge_wildcard_resources(
            self.role,
            [logs],
            "SageMaker writes the processing job's logs to /aws/sagemaker/ProcessingJobs with a stream named "
            "after the generated job; the wildcard covers that log group only.",
        )
        if network:
            acknowledge_wildcard_resources(self.role, network, NETWORK_WILDCARD_REASON)
        acknowledge_unscoped_actions(self.role, unscoped)
