"""Ingest claims/customers files into the environment's Feature Store groups.

Validation first (:mod:`pipeline_def.data.validation`), then concurrent PutRecord calls behind the
:class:`~pipeline_def.data.ingest.sinks.RecordSink` interface (:mod:`.runner`), driven by the CLI
in :mod:`.cli` (``python -m pipeline_def.ingest --help``).
"""

from pipeline_def.data.ingest.runner import Ingester, IngestStats, RejectsWriter, RetryPolicy
from pipeline_def.data.ingest.sinks import FeatureStoreSink, Record, RecordSink, render_value

__all__ = [
    "FeatureStoreSink",
    "IngestStats",
    "Ingester",
    "Record",
    "RecordSink",
    "RejectsWriter",
    "RetryPolicy",
    "render_value",
]
