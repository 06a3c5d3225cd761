"""``BucketDeployment`` as used here: SSE-KMS, encrypted logs, the provider's findings acknowledged."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_logs as logs
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_s3_deployment as s3_deployment
from constructs import Construct

from infra.compliance import acknowledge_all

#: Every deployment of a stack uses the same memory size, so they share one provider Lambda.
MEMORY_LIMIT_MB = 256


def encrypted_deployment(
    scope: Construct,
    construct_id: str,
    *,
    sources: Sequence[s3_deployment.ISource],
    bucket: s3.IBucket,
    key: kms.IKey,
    key_prefix: str,
    prune: bool,
    log_retention: logs.RetentionDays,
    removal_policy: cdk.RemovalPolicy,
    purpose: str,
) -> s3_deployment.BucketDeployment:
    """Copy ``sources`` to ``s3://<bucket>/<key_prefix>`` at deploy time, encrypted with ``key``.

    ``scope`` is the construct that owns this one deployment: its log group is ``<scope>/Logs``.

    Objects are kept when the deployment is deleted (``retain_on_delete``): the job scripts of
    past executions and the monitoring inputs' seeds must outlive a stack update. ``purpose``
    completes the reason of each acknowledged finding on the provider (what it copies).
    """
    deployment = s3_deployment.BucketDeployment(
        scope,
        construct_id,
        sources=list(sources),
        destination_bucket=bucket,
        destination_key_prefix=key_prefix,
        server_side_encryption=s3_deployment.ServerSideEncryption.AWS_KMS,
        server_side_encryption_aws_kms_key_id=key.key_id,
        retain_on_delete=True,
        prune=prune,
        memory_limit=MEMORY_LIMIT_MB,
        log_group=logs.LogGroup(
            scope, "Logs", retention=log_retention, encryption_key=key, removal_policy=removal_policy
        ),
    )
    _acknowledge_provider(cdk.Stack.of(scope), bucket, purpose)
    return deployment


def _acknowledge_provider(stack: cdk.Stack, bucket: s3.IBucket, purpose: str) -> None:
    """Findings on the provider Lambda that aws-cdk-lib builds for every BucketDeployment.

    Its role, policy and runtime are fixed by the library (a singleton at stack level, shared
    by all deployments of the stack) and it only runs during deployments.
    """
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
            "writes into the artifact bucket (library grant: read/write on the destination)"
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
        findings[f"AwsSolutions-IAM5[Action::{action}]"] = f"holds {action} from the library's S3/KMS grants"
    why = f"CDK BucketDeployment provider Lambda, which copies {purpose} at deploy time"
    acknowledge_all(provider, {finding: f"{why}: {detail}." for finding, detail in findings.items()})
