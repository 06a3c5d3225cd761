"""The ``ingestion`` block: the deployed path from a file landed in S3 to the feature groups.

A file put under the data bucket's ``incoming/<group>/`` starts the ingestion pipeline (S3 event
through EventBridge). Its ``validate`` step runs on one instance, because a file's errors are
reported together and a rejected file must be all-or-nothing; ``put`` runs PutRecord on
``instanceCount`` instances, each taking its share of the part files (ShardedByS3Key), with
``workers`` concurrent calls per instance (PutRecord is a per-record API: throughput grows with
instances times workers, up to the feature groups' write capacity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pipeline_def.config.reader import Reader
from pipeline_def.names import INCOMING_FOLDER

_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
MAX_INSTANCES = 20
MAX_WORKERS = 64
#: The ingestion pipeline's parameters from the S3 "Object Created" event, as EventBridge dynamic
#: path parameters (each whole value a JSON path into the event); the rule of each group adds
#: ``FeatureGroup``. The stack writes these into the rule's target, the local run resolves them.
EVENT_PARAMETERS: dict[str, str] = {
    "InputBucket": "$.detail.bucket.name",
    "InputKey": "$.detail.object.key",
    "LandedAt": "$.time",
}
#: Landed files the rule starts a run for (by key suffix): what the validation reads.
LANDED_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True, kw_only=True)
class IngestionSettings:
    KEYS: ClassVar[tuple[str, ...]] = (
        "enabled",
        "instanceType",
        "instanceCount",
        "workers",
        "incomingRetentionDays",
    )

    enabled: bool
    instance_type: str
    instance_count: int
    workers: int
    #: Landed files (ingested or moved to rejected/) expire from ``incoming/`` after this many days.
    incoming_retention_days: int

    @classmethod
    def from_context(cls, env: Reader) -> IngestionSettings:
        block = env.child("ingestion", keys=cls.KEYS)
        return cls(
            enabled=block.bool("enabled"),
            instance_type=block.str("instanceType", pattern=_INSTANCE_TYPE, default="ml.m5.large"),
            instance_count=block.int("instanceCount", low=1, high=MAX_INSTANCES),
            workers=block.int("workers", low=1, high=MAX_WORKERS, default=8),
            incoming_retention_days=block.int("incomingRetentionDays", low=1, high=3653, default=7),
        )

    @staticmethod
    def landing_pattern(bucket_name: str, group: str) -> dict[str, Any]:
        """The rule's event pattern: S3 "Object Created" of a file landed for ``group``.

        EventBridge's ``*`` also matches ``/``, so a key one folder deeper matches too; the job
        refuses it (``incoming/<group>/<file name>`` only) and the run fails with that message.
        """
        keys = [{"wildcard": f"{INCOMING_FOLDER}/{group}/*{suffix}"} for suffix in LANDED_SUFFIXES]
        return {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket_name]}, "object": {"key": keys}},
        }

    @staticmethod
    def rule_parameters(group: str) -> dict[str, str]:
        """The pipeline parameters the ``incoming/<group>/`` rule passes (JSON paths and the group)."""
        return {**EVENT_PARAMETERS, "FeatureGroup": group}
