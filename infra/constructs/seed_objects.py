"""A small README in each input prefix of the monitoring job, written at deploy time.

A SageMaker processing input on an empty S3 prefix fails the job, and the monitoring job reads
three prefixes that stay empty until something else writes them: the deployed package's
baseline (the deploy function), the endpoint's data capture (the endpoint) and late labels
(whoever delivers them). With a README in each, the first runs end cleanly with "no model
deployed" or "no traffic" instead (drift.py reads only ``baseline.json`` and ``*.jsonl``).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_logs as logs
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_s3_deployment as s3_deployment
from constructs import Construct

from infra.constructs.bucket_deployment import encrypted_deployment

SEED_OBJECT_NAME = "README.txt"
#: The same text the local run seeds (pipeline_def.local.monitor); the data stack's capture
#: lifecycle rule keeps objects of at most this size, so the capture prefix's seed outlives it.
SEED_TEXT = "Seeded so that the monitoring job's input is never empty.\n"


class SeedObjects(Construct):
    """``<folder>/README.txt`` for each folder (relative to ``key_prefix``), never pruned or deleted.

    ``prune=False``: the prefixes hold what the deploy function, the endpoint and the label feed
    write, which a pruning deployment would delete; ``retain_on_delete``: removing the stack
    must not empty a prefix under a running schedule.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        key: kms.IKey,
        key_prefix: str,
        folders: Sequence[str],
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.keys = tuple(
            f"{key_prefix.rstrip('/')}/{folder.strip('/')}/{SEED_OBJECT_NAME}" for folder in folders
        )
        self.deployment = encrypted_deployment(
            self,
            "Deployment",
            sources=[
                s3_deployment.Source.data(f"{folder.strip('/')}/{SEED_OBJECT_NAME}", SEED_TEXT)
                for folder in folders
            ],
            bucket=bucket,
            key=key,
            key_prefix=key_prefix.rstrip("/") + "/",
            prune=False,
            log_retention=log_retention,
            removal_policy=removal_policy,
            purpose="a README into each input prefix of the monitoring job",
        )
