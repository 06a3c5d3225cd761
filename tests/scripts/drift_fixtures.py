"""Builders for the monitoring job's inputs: training splits, scores, capture and ground truth.

Two kinds of data:

* ``small_split``: three features of known shape (``amount`` ~ N(100, 20), ``count`` ~
  Poisson(2), ``customer_gender_female`` ~ Bernoulli(0.3)), a 10 % fraud label, and scores that
  depend only on the label (fraud ~ Beta(5, 2), legitimate ~ Beta(1, 8)), so that at the
  threshold 0.5 both facets are flagged alike (DI ~ 1).
* ``synthetic_split``: the project's synthetic generator (the real 45 features), scored by a
  fixed logistic "model" of the planted fraud score, for the false-alarm study.

Everything is written as the pipeline writes it: the split label-first without a header, scores
one per line, capture in SageMaker's JSON Lines layout (via the script's own
``format_capture_record``), ground truth as ``{"eventId": ..., "label": ...}`` lines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_def.data import synthetic
from pipeline_def.schema import CLAIMS, LABEL, dataset_columns
from pipeline_def.scripts import drift

FACET = "customer_gender_female"
THRESHOLD = 0.5
SMALL_COLUMNS = ["fraud", "amount", "count", FACET]
#: Intercept of the fixed model used on the synthetic data (about 15 % flagged at 0.1).
MODEL_INTERCEPT = -4.6
SYNTHETIC_THRESHOLD = 0.1
INFERENCE_TIME = "2026-01-05T10:00:00Z"


def small_split(rows: int, seed: int, fraud_rate: float = 0.1) -> tuple[pd.DataFrame, np.ndarray]:
    """(label-first frame, scores) of the small three-feature data set."""
    rng = np.random.RandomState(seed)
    fraud = (rng.rand(rows) < fraud_rate).astype(np.int64)
    frame = pd.DataFrame(
        {
            "fraud": fraud,
            "amount": np.round(rng.normal(100.0, 20.0, rows), 3),
            "count": np.minimum(rng.poisson(2.0, rows), 8).astype(np.int64),
            FACET: (rng.rand(rows) < 0.3).astype(np.int64),
        }
    )
    scores = np.where(fraud == 1, rng.beta(5, 2, rows), rng.beta(1, 8, rows))
    return frame, np.round(scores, 6)


def synthetic_split(rows: int, seed: int) -> pd.DataFrame:
    """Label-first frame of the project's synthetic data (the real dataset columns)."""
    claims, customers = synthetic.generate(rows, seed=seed)
    joined = claims.merge(customers, on=CLAIMS.record_identifier, suffixes=("", "_c"))
    return joined[list(dataset_columns())].reset_index(drop=True)


def model_scores(frame: pd.DataFrame) -> np.ndarray:
    """A fixed model: sigmoid(intercept + the planted fraud score), rounded like an endpoint's text."""
    z = synthetic.fraud_score(frame, frame).to_numpy(dtype=np.float64)
    return np.round(1.0 / (1.0 + np.exp(-(MODEL_INTERCEPT + z))), 6)


def write_training(root: Path, frame: pd.DataFrame, scores: np.ndarray | None) -> dict[str, Path]:
    """train/train.csv (label first, no header), headers.json and scores.csv under ``root``."""
    (root / "train").mkdir(parents=True, exist_ok=True)
    frame.to_csv(root / "train" / "train.csv", header=False, index=False)
    (root / "headers.json").write_text(json.dumps(list(frame.columns)), encoding="utf-8")
    paths = {"train": root / "train", "headers": root / "headers.json"}
    if scores is not None:
        (root / "scores.csv").write_text("\n".join(repr(float(s)) for s in scores) + "\n", encoding="utf-8")
        paths["scores"] = root / "scores.csv"
    return paths


def make_baseline(
    root: Path,
    frame: pd.DataFrame,
    scores: np.ndarray | None,
    threshold: float = THRESHOLD,
    facet: str | None = FACET,
) -> dict:
    """Run ``drift.py baseline`` on the split and return the parsed baseline.json."""
    paths = write_training(root, frame, scores)
    argv = [
        "baseline",
        "--train-dir", str(paths["train"]),
        "--headers-file", str(paths["headers"]),
        "--output-dir", str(root / "baseline"),
        "--threshold", str(threshold),
    ]  # fmt: skip
    if scores is not None:
        argv += ["--scores-file", str(paths["scores"])]
    if facet is not None:
        argv += ["--facet", facet, "--facet-value", "1", "--favourable-label", "0"]
    assert drift.main(argv) == 0
    return json.loads((root / "baseline" / drift.BASELINE_FILE).read_text(encoding="utf-8"))


def feature_rows(frame: pd.DataFrame) -> list[str]:
    """The endpoint's input: the feature columns as CSV text, one row per record."""
    return frame.drop(columns=[LABEL]).to_csv(header=False, index=False).splitlines()


def event_id(index: int) -> str:
    return f"event-{index:07d}"


def capture_lines(rows: Sequence[str], scores: Sequence[float], encoding: str = "CSV") -> list[str]:
    """One capture record per (row, score), event ids ``event-0000000``, ``event-0000001``, ..."""
    return [
        drift.format_capture_record(row, repr(float(score)), event_id(i), INFERENCE_TIME, encoding=encoding)
        for i, (row, score) in enumerate(zip(rows, scores, strict=True))
    ]


def write_capture(capture_dir: Path, lines: Sequence[str], name: str = "capture.jsonl") -> Path:
    """Lines under SageMaker's <endpoint>/<variant>/yyyy/mm/dd/hh/ folders."""
    folder = capture_dir / "fraud-endpoint" / "AllTraffic" / "2026" / "01" / "05" / "10"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_ground_truth(folder: Path, labels: dict[str, int], name: str = "labels.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    lines = [json.dumps({"eventId": key, "label": int(label)}) for key, label in labels.items()]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def run_check(
    baseline: Path, work: Path, *extra: str, publisher: object | None = None
) -> tuple[int, dict, dict]:
    """``drift.py check`` on work/capture (+ work/ground-truth if present); (exit, monitor, violations)."""
    out = work / "monitor"
    argv = [
        "check",
        "--baseline", str(baseline),
        "--capture-dir", str(work / "capture"),
        "--output-dir", str(out),
        *extra,
    ]  # fmt: skip
    if (work / "ground-truth").is_dir():
        argv += ["--ground-truth-dir", str(work / "ground-truth")]
    code = drift.main(argv, publisher=publisher)  # type: ignore[arg-type]
    if code != 0:
        return code, {}, {}
    monitor = json.loads((out / drift.MONITOR_FILE).read_text(encoding="utf-8"))
    violations = json.loads((out / drift.VIOLATIONS_FILE).read_text(encoding="utf-8"))
    return code, monitor, violations


class FakePublisher:
    """Records every PutMetricData call instead of sending it."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def put_metric_data(self, *, Namespace: str, MetricData: list[dict]) -> dict:
        self.calls.append({"Namespace": Namespace, "MetricData": MetricData})
        return {}
