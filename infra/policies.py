"""IAM statement builders shared by the stacks, so every role is scoped the same way.

Statements are explicit action lists on explicit resources: no ``grant_*`` helpers (they add
wildcard actions such as ``kms:GenerateDataKey*``), no AWS managed policies. Bucket ARNs are
built from the buckets' configured names, so every policy is readable as literal text (and
each cdk-nag finding has a stable id) instead of carrying cross-stack import tokens.

``Resource: "*"`` appears only for actions that have no resource-level permissions:

- ``ecr:GetAuthorizationToken`` (:func:`ecr_pull`),
- ``cloudwatch:PutMetricData``, narrowed by a ``cloudwatch:namespace`` condition (:func:`sagemaker_metrics`,
  :func:`metrics_in_namespace`),
- ``xray:PutTraceSegments`` / ``xray:PutTelemetryRecords``, added by CDK for active tracing,
- EC2 ``Describe*`` and ``DeleteNetworkInterfacePermission`` (no or an optional resource type) for
  SageMaker jobs, only when the environment configures a VPC; the other network-interface actions
  are limited to the configured subnets and security groups, see ``PipelineExecutionRole``.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
from constructs import IConstruct

SAGEMAKER = "sagemaker.amazonaws.com"
#: Actions a service needs to encrypt and decrypt with the environment's key (no wildcards).
KMS_USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
_IMAGE_URI = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[a-z0-9._/-]+)"
)


def kms_use(key: kms.IKey) -> iam.PolicyStatement:
    """Encrypt and decrypt with the environment key."""
    return iam.PolicyStatement(actions=list(KMS_USE_ACTIONS), resources=[key.key_arn])


def kms_via(
    scope: IConstruct, key_arn: str, actions: Sequence[str], services: Sequence[str]
) -> iam.PolicyStatement:
    """Use a key only through the given AWS services of this region (``kms:ViaService``).

    For keys that protect S3 objects: S3 (or SageMaker, acting for the caller) asks KMS on the
    caller's behalf, so a direct ``kms:Decrypt`` with the same credentials is refused.
    """
    region = cdk.Stack.of(scope).region
    via = [f"{service}.{region}.amazonaws.com" for service in services]
    return iam.PolicyStatement(
        actions=list(actions),
        resources=[key_arn],
        conditions={"StringEquals": {"kms:ViaService": via[0] if len(via) == 1 else via}},
    )


def peer_key_decrypt_through_s3(scope: IConstruct, account: str, alias: str) -> iam.PolicyStatement:
    """Decrypt, through S3, objects encrypted with another account's key, named by its alias.

    The key's id is generated in that account, so the resource is any key of the account and the
    ``kms:ResourceAliases`` condition picks the one; its key policy must allow this account too.
    """
    stack = cdk.Stack.of(scope)
    return iam.PolicyStatement(
        actions=["kms:Decrypt"],
        resources=[stack.format_arn(service="kms", account=account, resource="key", resource_name="*")],
        conditions={
            "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": alias},
        },
    )


def kms_create_grant(key: kms.IKey) -> iam.PolicyStatement:
    """Grants for AWS services only: SageMaker attaches the key to job volumes and endpoints."""
    return iam.PolicyStatement(
        actions=["kms:CreateGrant"],
        resources=[key.key_arn],
        conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
    )


@dataclass(frozen=True)
class _ArnFields:
    """A stack's partition, region and account: the variable fields of the ARNs it names."""

    partition: str
    region: str
    account: str


#: Read once per scope: each ``Stack.format_arn`` or stack property is a round trip to jsii's
#: Node.js process, and the two functions below name about 300 ARNs in a synth of the app.
_ARN_FIELDS: weakref.WeakKeyDictionary[IConstruct, _ArnFields] = weakref.WeakKeyDictionary()


def _arn_fields(scope: IConstruct) -> _ArnFields:
    if scope not in _ARN_FIELDS:
        stack = scope if isinstance(scope, cdk.Stack) else cdk.Stack.of(scope)
        _ARN_FIELDS[scope] = _ArnFields(stack.partition, stack.region, stack.account)
    return _ARN_FIELDS[scope]


def s3_arn(scope: IConstruct, bucket_name: str, key_pattern: str | None = None) -> str:
    """ARN of a bucket, or of its objects matching ``key_pattern``, from the bucket's literal name.

    The text ``Stack.format_arn`` writes for S3 (no region, no account, ``/`` before the key).
    """
    bucket = f"arn:{_arn_fields(scope).partition}:s3:::{bucket_name}"
    return bucket if key_pattern is None else f"{bucket}/{key_pattern}"


def s3_objects(
    scope: IConstruct, bucket_name: str, prefixes: Sequence[str], actions: Sequence[str]
) -> iam.PolicyStatement:
    """Object actions under key prefixes (each prefix ends with ``/``)."""
    return iam.PolicyStatement(
        actions=list(actions), resources=[s3_arn(scope, bucket_name, f"{prefix}*") for prefix in prefixes]
    )


def s3_list(scope: IConstruct, bucket_name: str, prefixes: Sequence[str]) -> list[iam.PolicyStatement]:
    """Listing limited to key prefixes, and the bucket's location (SDKs ask for it first).

    Two statements: GetBucketLocation requests carry no ``s3:prefix``, so the prefix condition
    would deny them.
    """
    return [
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[s3_arn(scope, bucket_name)],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
        ),
        s3_bucket_location(scope, bucket_name),
    ]


def s3_bucket_location(scope: IConstruct, bucket_name: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[s3_arn(scope, bucket_name)])


def image_uris_in(text: str) -> tuple[str, ...]:
    """ECR image URIs mentioned in a document (the pipeline definition), sorted and unique."""
    return tuple(sorted({m.group(0) for m in _IMAGE_URI.finditer(text)}))


def model_image_uris_in(definition: str) -> tuple[str, ...]:
    """Images of the model containers (those next to a ``ModelDataUrl``) in a pipeline definition."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("Image"), str) and "ModelDataUrl" in node:
                found.add(node["Image"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(definition))
    return tuple(sorted(found))


def ecr_pull(scope: IConstruct, image_uris: Iterable[str]) -> list[iam.PolicyStatement]:
    """Pull exactly the repositories of the given images (AWS-owned SageMaker images included).

    The repositories belong to the images' registry accounts, in the stack's partition.
    """
    partition = cdk.Stack.of(scope).partition
    repositories = sorted(
        {
            f"arn:{partition}:ecr:{m['region']}:{m['account']}:repository/{m['repo']}"
            for m in (_IMAGE_URI.match(uri) for uri in image_uris)
            if m
        }
    )
    return [
        iam.PolicyStatement(
            actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resources=repositories,
        ),
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
    ]


def sagemaker_logs(stack: cdk.Stack, *log_group_prefixes: str) -> iam.PolicyStatement:
    """Job and endpoint logs, which SageMaker writes under ``/aws/sagemaker/<kind>``."""
    return iam.PolicyStatement(
        actions=[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
        ],
        resources=[
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"{prefix}*",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            for prefix in log_group_prefixes
        ],
    )


def sagemaker_metrics() -> iam.PolicyStatement:
    """Job and endpoint metrics: PutMetricData has no resource type, so narrow by namespace."""
    return iam.PolicyStatement(
        actions=["cloudwatch:PutMetricData"],
        resources=["*"],
        conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
    )


def metrics_in_namespace(namespace: str) -> iam.PolicyStatement:
    """PutMetricData into exactly one namespace (the action has no resource type)."""
    return iam.PolicyStatement(
        actions=["cloudwatch:PutMetricData"],
        resources=["*"],
        conditions={"StringEquals": {"cloudwatch:namespace": namespace}},
    )


def alarms_arn(stack: cdk.Stack) -> str:
    """Every CloudWatch alarm of the stack's account and region."""
    return stack.format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name="*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def service_may_publish(
    stack: cdk.Stack, topic_arn: str, *, sid: str, principal: str, source_arn: str
) -> iam.PolicyStatement:
    """A topic-policy statement: an AWS service publishes for this account's own resources only.

    A topic with an explicit policy (``enforce_ssl`` writes one) no longer has SNS's default
    policy, so services that publish to it (CloudWatch alarms, AWS Budgets) need this statement.
    """
    return iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal(principal)],
        actions=["sns:Publish"],
        resources=[topic_arn],
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": source_arn},
        },
    )


def idempotency_records(table_arn: str) -> iam.PolicyStatement:
    """What Powertools' idempotency utility does with its table's items, and nothing else."""
    return iam.PolicyStatement(
        actions=["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resources=[table_arn],
    )


def pass_role_to_sagemaker(role_arn: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["iam:PassRole"],
        resources=[role_arn],
        conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
    )


def sagemaker_arn(stack: cdk.Stack, resource: str, name: str) -> str:
    """ARN of a SageMaker resource of this stack's account and region (names may end in ``*``).

    The text ``Stack.format_arn`` writes for it (``resource/name``), without its round trip.
    """
    fields = _arn_fields(stack)
    return f"arn:{fields.partition}:sagemaker:{fields.region}:{fields.account}:{resource}/{name}"
