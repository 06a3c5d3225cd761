"""``AWS::SageMaker::Pipeline`` from the definition template rendered by ``pipeline_def``."""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sagemaker as sagemaker
from constructs import Construct

from infra import policies


class SageMakerPipeline(Construct):
    """The pipeline, with its ``${Variable}`` placeholders filled in by CloudFormation's ``Fn::Sub``.

    ``definition`` is :func:`pipeline_def.definition.render` output: its literal ``${`` are already
    escaped, and its only variables are the role, the artifact bucket and the key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        definition: str,
        role: iam.IRole,
        artifact_bucket_name: str,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        body = cdk.Fn.sub(
            definition,
            {
                "PipelineRoleArn": role.role_arn,
                "ArtifactBucket": artifact_bucket_name,
                "KmsKeyArn": key.key_arn,
            },
        )
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description="Fraud detection: features, tuning, evaluation, bias and registration",
            pipeline_definition={"PipelineDefinitionBody": body},
            role_arn=role.role_arn,
        )
        self.pipeline.node.add_dependency(role)
        # Ref of AWS::SageMaker::Pipeline is its name; building the ARN from it keeps the dependency.
        self.pipeline_arn = policies.sagemaker_arn(cdk.Stack.of(self), "pipeline", self.pipeline.ref)
