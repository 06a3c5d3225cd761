"""A job's code, copied to S3 under a content-addressed prefix."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_logs as logs
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_s3_deployment as s3_deployment
from constructs import Construct

from infra.constructs.bucket_deployment import encrypted_deployment


class JobScripts(Construct):
    """Ships exactly ``files`` (relative path -> content) to ``s3://<bucket_name>/<key_prefix>/``.

    The files are written to a fresh folder that becomes the asset, so nothing else beside them
    can ship (a local ``__pycache__`` or ``.ruff_cache`` would change the asset's hash from
    machine to machine); CDK copies the asset into the cloud assembly when the deployment binds
    it, so the folder is gone once the construct exists.

    The prefix contains the files' digest, so a change lands under a new prefix and changes the
    pipeline definition that points at it; old prefixes are kept (``retain_on_delete``) because
    past executions and cached steps still refer to them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        files: Mapping[str, bytes],
        bucket_name: str,
        key: kms.IKey,
        key_prefix: str,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        purpose: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key_prefix = key_prefix.rstrip("/") + "/"
        bucket = s3.Bucket.from_bucket_attributes(self, "Bucket", bucket_name=bucket_name, encryption_key=key)
        with tempfile.TemporaryDirectory(prefix="job-code-") as staging:
            for name, content in sorted(files.items()):
                path = Path(staging) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            self.deployment = encrypted_deployment(
                self,
                "Deployment",
                sources=[s3_deployment.Source.asset(staging)],
                bucket=bucket,
                key=key,
                key_prefix=self.key_prefix,
                prune=True,
                log_retention=log_retention,
                removal_policy=removal_policy,
                purpose=purpose,
            )
