"""An S3 bucket with the controls every bucket in this project must have."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_s3 as s3
from constructs import Construct

from infra.compliance import acknowledge


class SecureBucket(Construct):
    """SSL-only, versioned, private, KMS-encrypted, with server access logs.

    The name is passed in (``EnvironmentConfig.bucket_name``) rather than generated, so IAM
    policies in other stacks can name the bucket's prefixes literally.

    The log bucket cannot use SSE-KMS (S3 server access logging does not support it), so it is
    built separately with :func:`access_log_bucket`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        key: kms.IKey,
        log_bucket: s3.IBucket,
        log_prefix: str,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix=log_prefix,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOldVersions",
                    noncurrent_version_expiration=cdk.Duration.days(90),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
        )
        self._rule_count = 1

    def expire(
        self,
        rule_id: str,
        *,
        prefix: str,
        days: int,
        noncurrent_days: int,
        larger_than_bytes: int | None = None,
    ) -> None:
        """Expire objects under ``prefix`` (those larger than ``larger_than_bytes``, if given) after ``days``.

        CloudFormation types ``ObjectSizeGreaterThan`` as a string of digits, while CDK renders a
        number (which CloudFormation coerces, with a validation warning at synth): the rule's
        value is overridden with the string. The bucket renders its rules in the order added,
        so this rule's index is the number of rules before it.
        """
        self.bucket.add_lifecycle_rule(
            id=rule_id,
            prefix=prefix,
            object_size_greater_than=larger_than_bytes,
            expiration=cdk.Duration.days(days),
            noncurrent_version_expiration=cdk.Duration.days(noncurrent_days),
        )
        if larger_than_bytes is not None:
            self._resource.add_property_override(
                f"LifecycleConfiguration.Rules.{self._rule_count}.ObjectSizeGreaterThan",
                str(larger_than_bytes),
            )
        self._rule_count += 1

    def send_events_to_eventbridge(self) -> None:
        """S3 sends every object event of this bucket to the default event bus.

        Set on the bucket resource itself: the bucket's ``event_bridge_enabled`` goes through
        CDK's notifications custom resource (a Lambda with a managed policy) for no gain here.
        """
        self._resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )

    @property
    def _resource(self) -> s3.CfnBucket:
        return cast(s3.CfnBucket, self.bucket.node.default_child)


def access_log_bucket(
    scope: Construct, construct_id: str, *, bucket_name: str, removal_policy: cdk.RemovalPolicy
) -> s3.Bucket:
    """The destination of server access logs: SSE-S3 (the only encryption S3 logging accepts)."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=removal_policy,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireAccessLogs",
                expiration=cdk.Duration.days(365),
                noncurrent_version_expiration=cdk.Duration.days(30),
            )
        ],
    )
    acknowledge(
        bucket,
        "AwsSolutions-S1",
        "This bucket is the server-access-log destination of the other buckets; logging it into itself "
        "would log its own log deliveries without end.",
    )
    return bucket
