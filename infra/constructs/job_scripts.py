"""The pipeline's job scripts, copied to S3 under a content-addressed prefix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_logs as logs
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_s3_deployment as s3_deployment
from constructs import Construct

from infra.compliance import acknowledge


class JobScripts(Construct):
    """Ships exactly ``file_names`` from ``source_dir`` to ``s3://<bucket>/<key_prefix>/``.

    The prefix contains the scripts' digest, so a script change lands under a new prefix and
    changes the pipeline definition that points at it; old prefixes are kept (``retain_on_delete``)
    because past executions and cached steps still refer to them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_dir: Path,
        file_names: Sequence[str],
        bucket: s3.IBucket,
        key: kms.IKey,
        key_prefix: str,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key_prefix = key_prefix.rstrip("/") + "/"
        self.deployment = s3_deployment.BucketDeployment(
            self,
            "Deployment",
            sources=[
                s3_deployment.Source.asset(
                    # "*" does not match dot entries (a local .ruff_cache, say), so ".*" is listed
                    # too: they would otherwise ship and change the asset hash from machine to machine.
                    str(source_dir),
                    exclude=["*", ".*", *(f"!{name}" for name in sorted(file_names))],
                )
            ],
            destination_bucket=bucket,
            destination_key_prefix=self.key_prefix,
            server_side_encryption=s3_deployment.ServerSideEncryption.AWS_KMS,
            server_side_encryption_aws_kms_key_id=key.key_id,
            retain_on_delete=True,
            prune=True,
            memory_limit=256,
            log_group=logs.LogGroup(
                self, "Logs", retention=log_retention, encryption_key=key, removal_policy=removal_policy
            ),
        )
        self._acknowledge_provider(bucket)

    def _acknowledge_provider(self, bucket: s3.IBucket) -> None:
        """Findings on the provider Lambda that aws-cdk-lib builds for every BucketDeployment.

        Its role, policy and runtime are fixed by the library (a singleton at stack level, shared
        by all deployments of the stack) and it only runs during deployments.
        """
        stack = cdk.Stack.of(self)
        provider = next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
        synthesizer = cdk.DefaultStackSynthesizer
        assets_bucket = (
            synthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace("${Qualifier}", synthesizer.DEFAULT_QUALIFIER)
            .replace("${AWS::AccountId}", stack.account)
            .replace("${AWS::Region}", stack.region)
        )
        basic_execution = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        findings = {
            f"AwsSolutions-IAM4[Policy::{basic_execution}]": "writes its logs through the AWS managed basic "
            "execution policy that the library attaches",
            "AwsSolutions-L1": "runs the Python runtime that aws-cdk-lib pins for its bundled AWS CLI layer",
            f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:s3:::{assets_bucket}/*]": (
                "reads the asset zip from the CDK bootstrap bucket, whose keys are content hashes"
            ),
            f"AwsSolutions-IAM5[Resource::{bucket.bucket_arn}/*]": (
                "syncs the scripts into the artifact bucket (library grant: read/write on the destination)"
            ),
        }
        library_actions = (
            "s3:GetBucket*",
            "s3:GetObject*",
            "s3:List*",
            "s3:Abort*",
            "s3:DeleteObject*",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        )
        for action in library_actions:
            findings[f"AwsSolutions-IAM5[Action::{action}]"] = (
                f"holds {action} from the library's S3/KMS grants"
            )
        why = "CDK BucketDeployment provider Lambda, which copies the job scripts at deploy time"
        for finding, detail in findings.items():
            acknowledge(provider, finding, f"{why}: {detail}.")
