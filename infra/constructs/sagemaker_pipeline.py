"""``AWS::SageMaker::Pipeline`` from a definition template rendered by ``pipeline_def``."""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sagemaker as sagemaker
from constructs import Construct

from infra import policies
from pipeline_def.definition.render import variables_in


class SageMakerPipeline(Construct):
    """The pipeline, with its ``${Variable}`` placeholders filled in by CloudFormation's ``Fn::Sub``.

    ``definition`` is :func:`pipeline_def.definition.render` (or ``render_monitoring``) output:
    its literal ``${`` are already escaped. ``Fn::Sub`` gets exactly the variables the template
    uses (cfn-lint warns on unused ones): the role, the artifact bucket, the project key and,
    for a template that names it, the artifact key; a variable nobody supplies fails synth.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        description: str,
        definition: str,
        role: iam.IRole,
        artifact_bucket_name: str,
        key: kms.IKey,
        artifact_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        supplied = {
            "PipelineRoleArn": role.role_arn,
            "ArtifactBucket": artifact_bucket_name,
            "KmsKeyArn": key.key_arn,
            **({"ArtifactKmsKeyArn": artifact_key.key_arn} if artifact_key is not None else {}),
        }
        used = variables_in(definition)
        missing = sorted(used - set(supplied))
        if missing:
            raise ValueError(f"{pipeline_name}: no value for {', '.join(missing)} in the definition")
        body = cdk.Fn.sub(definition, {name: supplied[name] for name in sorted(used)})
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description=description,
            pipeline_definition={"PipelineDefinitionBody": body},
            role_arn=role.role_arn,
        )
        self.pipeline.node.add_dependency(role)
        # Ref of AWS::SageMaker::Pipeline is its name; building the ARN from it keeps the dependency.
        self.pipeline_arn = policies.sagemaker_arn(cdk.Stack.of(self), "pipeline", self.pipeline.ref)
