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

from infra.constructs.bucket_deployment import encrypted_deployment


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
        self.deployment = encrypted_deployment(
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
            bucket=bucket,
            key=key,
            key_prefix=self.key_prefix,
            prune=True,
            log_retention=log_retention,
            removal_policy=removal_policy,
            purpose="the job scripts",
        )
