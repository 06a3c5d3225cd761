"""Shared helpers for the data tests (synthetic data, validation, ingest, offline store).

Plain functions rather than a conftest, so each test module says what it uses.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pandas as pd
from botocore.exceptions import ClientError

from pipeline_def.data.ingest.sinks import Record
from pipeline_def.data.synthetic import generate, write_frames
from pipeline_def.schema import CLAIMS, CUSTOMERS, FeatureGroupSchema

#: A fixed "now" after every synthetic event time (2027-01-15T08:00:00Z), so tests never depend on the clock.
NOW = 1_800_000_000.0


@lru_cache(maxsize=4)
def _frames(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate(rows, seed)


def frames(rows: int = 300, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fresh copies of cached synthetic ``(claims, customers)`` frames."""
    claims, customers = _frames(rows, seed)
    return claims.copy(), customers.copy()


def write_csvs(folder: Path, rows: int = 300, seed: int = 5) -> tuple[Path, Path]:
    """Valid ``claims.csv`` and ``customers.csv`` in ``folder``."""
    claims, customers = frames(rows, seed)
    return write_frames(claims, customers, folder)


def write_raw_csvs(folder: Path, rows: int = 300, seed: int = 5) -> tuple[Path, Path]:
    """The same policies as :func:`write_csvs`, as an insurer's raw export (categories as text)."""
    claims, customers = frames(rows, seed)
    return write_frames(claims, customers, folder, fmt="raw")


def schema_for(path: Path) -> FeatureGroupSchema:
    return CLAIMS if path.stem.startswith("claims") else CUSTOMERS


def edit_csv(path: Path, edits: dict[tuple[int, str], str]) -> Path:
    """Set cells by (editor line, column name); line 1 is the header. Returns ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    for (line, column), value in edits.items():
        cells = lines[line - 1].split(",")
        cells[header.index(column)] = value
        lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def replace_lines(path: Path, lines_by_number: dict[int, list[str]]) -> Path:
    """Replace editor line N with the given lines (empty list deletes, several insert)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        out.extend(lines_by_number.get(number, [line]))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PutRecord",
    )


class FakeSink:
    """A thread-safe in-memory Feature Store: same (group, id, event time) overwrites.

    ``plan(policy_id, attempt)`` returns the exception to raise on that attempt, or None.
    """

    def __init__(self, plan: Callable[[int, int], BaseException | None] = lambda _id, _n: None) -> None:
        self.plan = plan
        self.store: dict[tuple[str, str, str], dict[str, str]] = {}
        self.attempts: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def put_record(self, feature_group_name: str, record: Record) -> None:
        values = {item["FeatureName"]: item["ValueAsString"] for item in record}
        policy_id = int(values["policy_id"])
        with self._lock:
            self.attempts[(feature_group_name, policy_id)] += 1
            error = self.plan(policy_id, self.attempts[(feature_group_name, policy_id)])
            if error is None:
                self.store[(feature_group_name, values["policy_id"], values["event_time"])] = values
        if error is not None:
            raise error
