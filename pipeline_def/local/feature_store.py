"""PutRecord offline: each record as a JSON line in ``<records dir>/<feature group name>.jsonl``.

The ingestion job's ``put`` step runs in one process per instance; each appends whole lines under
a lock, so the file holds every record exactly as PutRecord would have received it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pipeline_def.data.ingest.sinks import Record


class RecordingSink:
    """A :class:`pipeline_def.data.ingest.sinks.RecordSink` that writes instead of calling AWS."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def put_record(self, feature_group_name: str, record: Record) -> None:
        line = json.dumps({item["FeatureName"]: item["ValueAsString"] for item in record}, sort_keys=True)
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with (self.folder / f"{feature_group_name}.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
