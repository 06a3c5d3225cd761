"""FraudMonitor: data drift, data quality, bias drift and live quality, without Model Monitor.

SageMaker Model Monitor is closed to new customers (and its bias monitor runs the closed
Clarify image), so this job script does its work in the SageMaker XGBoost 3.0-5 image like
every other step. Two subcommands:

``baseline``: summarise the training split once, when the model is trained, so a monitor
always compares live traffic with the data of the model actually deployed::

    drift.py baseline --train-dir D --headers-file H --threshold T --output-dir O
                      [--scores-file F] [--facet customer_gender_female --facet-value 1
                      --favourable-label 0] [--bins 10] [--max-categories 20]

reads the label-first, header-less CSV(s) of ``D`` (FraudDataProcess's ``train/``), names the
columns from ``H`` (a JSON list, ``dataset.json`` with its ``columns``, or a CSV whose first line
is the header such as ``clarify/test_with_header.csv``) and writes ``O/baseline.json``.

``check``: read the endpoint's data capture and compare it with a baseline::

    drift.py check --baseline B --capture-dir C [--ground-truth-dir G] --output-dir O
                   [thresholds] [--publish --environment E [--metrics-namespace N]]

writes ``O/monitor.json`` (every figure) and ``O/violations.json`` (what crossed a threshold)
and, with ``--publish``, puts the figures to CloudWatch in the namespace ``N/E`` (dimension
``Feature`` for per-feature figures, ``Facet`` for bias figures). The job exits 0 whether or not
there are violations (alarms act on the metrics) and 1 when it cannot do its work.

Layouts
-------
Capture (``C``, every ``*.jsonl`` below it, as SageMaker writes
``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``): one JSON record per line ::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "<csv row(s)>", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv; charset=utf-8",
                                        "mode": "OUTPUT", "data": "<score(s)>", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceId": "... (optional)", "inferenceTime": "..."},
     "eventVersion": "0"}

``encoding`` may be ``BASE64`` (the content type was not in the capture's CSV list). The input
is the model's CSV: the baseline's feature columns, no label, one row per line; the output is
one score per input row, separated by commas or newlines. A line that is not such a record
(bad JSON, missing field, other content type, rows and scores that do not pair up) is counted
and skipped, and reported as ``file:line: reason``; it never stops the job.

Ground truth (``G``, every ``*.jsonl`` below it): one JSON record per line, either ours ::

    {"eventId": "<capture eventId or inferenceId>", "label": 0}      (or "label": [0, 1, ...])

or Model Monitor's merge layout ::

    {"groundTruthData": {"data": "0", "encoding": "CSV"}, "eventMetadata": {"eventId": "..."},
     "eventVersion": "0"}

A key matches a capture record whose ``inferenceId`` or ``eventId`` equals it; a record with k
input rows needs k labels (1 = fraud). Labels that match no captured record are counted only.

Outputs
-------
JSON with sorted keys and derived figures to 12 significant digits: the same input gives the
same bytes. ``baseline.json``: ``format``, ``version``, ``label``, ``label_rate``, ``rows``, ``columns`` (the
capture's feature order), ``threshold``, ``settings``; ``features.<name>``: ``type`` (binary,
integer, continuous), ``count``, ``missing_rate``, ``min``, ``max``, ``mean``, ``std``, ``bins``
(``kind`` quantile with ``edges``, or categorical with ``values``; ``proportions``) and ``ecdf``
(``values``, ``cdf``, ``exact``); ``scores``: the same summary of the scores plus
``predicted_positive_rate`` (null without ``--scores-file``); ``bias``: ``facet``,
``facet_value``, ``favourable_label`` and, with scores, ``DPPL``, ``DI``, the favourable rates
and rows of facets a and d (null without ``--facet``).

``monitor.json``: ``status`` (ok, violations, insufficient traffic, no traffic, no model deployed:
``--baseline`` is a folder without baseline.json, before the first deployment), ``capture``
(files, lines, records, rows, valid_rows, malformed_lines, the first ``MAX_LISTED_ISSUES``
malformed lines as ``file:line: reason``, first/last inference time), ``data_quality``
(column counts, schema mismatch, invalid scores, malformed rate; per feature missing rate and
its increase, non-numeric rate, out-of-range rate), ``feature_drift.<name>`` (psi, ks, rows,
judged, live_proportions), ``prediction_drift``, ``bias_drift`` (live and baseline DPPL/DI),
``live_quality`` (labelled rows, auc, recall, label rate and its ratio to the baseline's,
ground-truth issues and unmatched labels), ``thresholds``, ``violations`` and, when published,
``published`` (namespace, metrics, calls).

``violations.json``: ``status``, ``count`` and ``violations``: a list of ``{"metric", "feature"
(the feature, the facet for bias, or null), "value", "threshold", "rule"}`` sorted by metric
and feature.

Statistics
----------
PSI = Σ (p_live - p_base) ln(p_live / p_base) over the baseline's bins, proportions floored at
``PSI_EPSILON`` so that an empty bin gives a large but finite value. Bins: deciles of the
training values (``--bins``), deduplicated, right-closed ((-inf, e1], (e1, e2], ..., (ek, inf));
binary and integer features with at most ``--max-categories`` distinct values use those values
instead, and a live value the training data never had goes to an extra "other" bin.
KS = sup_x |F_live(x) - F_base(x)|, the two-sample statistic between all live values and the
baseline's empirical CDF: exact when the feature has at most ``ECDF_POINTS`` distinct training
values, else the CDF is kept at ``ECDF_POINTS`` quantiles and KS is within 1/``ECDF_POINTS``.
Both are computed from histograms that add up chunk by chunk, so a million records never sit
in memory at once. A row with another column count, or whose score is not a probability, is
counted under data quality and left out of every distribution. Bias: the predicted label is
``score > threshold`` (as in bias_shap.py); DPPL = q̂_a - q̂_d and DI = q̂_d / q̂_a, where q̂
is a facet's share predicted favourable.
Drift, bias and live-quality figures need at least ``--min-rows`` rows behind them before they
can raise a violation (KS at 0.1 on 1,000 rows has a false-alarm probability near 2·e^-20 per
feature); data-quality figures (schema, missing, out of range, malformed) always can.

Imports: standard library, numpy, pandas (Python 3.10 in the image); boto3 only to publish.
Nothing from this repository: the file is shipped alone.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import csv
import dataclasses
import gc
import io
import itertools
import json
import logging
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

LOG = logging.getLogger("drift")

BASELINE_FILE = "baseline.json"
MONITOR_FILE = "monitor.json"
VIOLATIONS_FILE = "violations.json"
BASELINE_FORMAT = "fraud-drift-baseline"
BASELINE_VERSION = 1
#: Distinct training values up to which KS is exact; above, the CDF is kept at this many quantiles.
ECDF_POINTS = 1000
DEFAULT_BINS = 10
DEFAULT_MAX_CATEGORIES = 20
#: Floor of a bin proportion in PSI: an empty bin on either side contributes a large finite term.
PSI_EPSILON = 1e-4
#: Capture lines parsed at a time: bounds memory (about 50 MB of text) whatever the traffic.
CHUNK_LINES = 100_000
#: Malformed lines listed by file:line in monitor.json (all are counted).
MAX_LISTED_ISSUES = 20
#: PutMetricData accepts at most 1,000 metrics per call.
PUT_METRIC_DATA_LIMIT = 1000
DEFAULT_NAMESPACE = "FraudDetection/Monitoring"
STATUS_NO_TRAFFIC = "no traffic"
#: ``--baseline`` is a folder without baseline.json: nothing deployed yet to compare with.
STATUS_NO_MODEL = "no model deployed"
STATUS_INSUFFICIENT = "insufficient traffic"
STATUS_VIOLATIONS = "violations"
STATUS_OK = "ok"


class DriftError(ValueError):
    """An input cannot be used (baseline, dataset, arguments); the message says which and why."""


# =========================================================================== numbers


def _number(value: float | None) -> float | None:
    """A derived figure for JSON: 12 significant digits (byte-identical runs), None if undefined."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{float(value):.12g}")


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, nan for a zero denominator (an undefined rate)."""
    if denominator == 0:
        return math.nan
    return float(numerator) / float(denominator)


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray) -> float:
    """Population stability index of ``actual`` against ``expected`` proportions (same bins).

    Σ (a - e) ln(a / e), each proportion floored at ``PSI_EPSILON`` first. Rule of thumb:
    below 0.1 stable, 0.1-0.2 moderate shift, above 0.2 a significant shift.
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), PSI_EPSILON)
    a = np.maximum(np.asarray(actual, dtype=np.float64), PSI_EPSILON)
    if e.shape != a.shape:
        raise DriftError(f"PSI needs the same bins on both sides, got {e.shape} and {a.shape}")
    return float(np.sum((a - e) * np.log(a / e)))


def ks_from_counts(cdf: np.ndarray, below: np.ndarray, at_or_below: np.ndarray, total: int) -> float:
    """Two-sample KS between a step CDF and live counts, from counts alone.

    The baseline CDF is ``cdf[j]`` on [v_j, v_{j+1}) (0 before v_0); ``below[j]`` and
    ``at_or_below[j]`` count live values < v_j and <= v_j. On each such interval the live CDF
    rises monotonically, so the supremum of the gap is at an end: the live CDF at v_j or just
    before v_{j+1}. Equal to ``scipy.stats.ks_2samp``'s statistic when the CDF is exact.
    """
    if total == 0 or cdf.size == 0:
        return math.nan
    at_start = at_or_below / total  # live CDF at v_j
    before_next = np.r_[below[1:] / total, 1.0]  # live CDF just before v_{j+1} (1 after the last)
    gaps = np.r_[below[0] / total, np.abs(cdf - at_start), np.abs(cdf - before_next)]
    return float(np.max(gaps))


def quantile_values(sorted_values: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Inverted-CDF quantiles: the smallest value whose CDF reaches each fraction.

    Every quantile is a training value (no interpolation), so bin edges are also CDF points
    and a live value equal to an edge falls in the same bin as the training values did.
    """
    n = sorted_values.size
    positions = np.clip(np.ceil(np.asarray(fractions) * n - 1e-9).astype(np.int64) - 1, 0, n - 1)
    return sorted_values[positions]


# =========================================================================== bias and quality


def _favourable_rate(mask: np.ndarray, predicted: np.ndarray) -> float:
    """q̂ = n̂^(1) / n: the share of the rows in ``mask`` predicted favourable."""
    return _ratio(np.count_nonzero(predicted & mask), np.count_nonzero(mask))


def difference_in_positive_proportions_in_predicted_labels(facet: np.ndarray, predicted: np.ndarray) -> float:
    """DPPL = q̂_a - q̂_d (``facet`` marks facet d, ``predicted`` the favourable predictions).

    The same definition as bias_shap.py, which this file may not import (it ships alone).
    """
    return _favourable_rate(~facet, predicted) - _favourable_rate(facet, predicted)


def disparate_impact(facet: np.ndarray, predicted: np.ndarray) -> float:
    """DI = q̂_d / q̂_a: 1 at demographic parity, below 1 when facet d is favoured less often."""
    return _ratio(_favourable_rate(facet, predicted), _favourable_rate(~facet, predicted))


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank formula, ties at their average rank; nan with one class."""
    positives = int(np.count_nonzero(labels == 1))
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return math.nan
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - counts + (counts + 1) / 2.0
    rank_sum = float(np.sum(average_rank[inverse.ravel()][labels == 1]))
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def recall(labels: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    """Share of fraud (label 1) that the model flags (score > threshold); nan without fraud."""
    fraud = labels == 1
    return _ratio(np.count_nonzero(fraud & (scores > threshold)), np.count_nonzero(fraud))


def bias_figures(
    facet_values: np.ndarray, scores: np.ndarray, facet_value: float, threshold: float, favourable: int
) -> dict[str, Any]:
    """DPPL, DI and the per-facet figures behind them; rows without a facet value are left out."""
    known = ~np.isnan(facet_values)
    facet = facet_values[known] == facet_value
    predicted_label = (scores[known] > threshold).astype(np.int64)
    predicted = predicted_label == favourable
    return {
        "DPPL": _number(difference_in_positive_proportions_in_predicted_labels(facet, predicted)),
        "DI": _number(disparate_impact(facet, predicted)),
        "favourable_rate_a": _number(_favourable_rate(~facet, predicted)),
        "favourable_rate_d": _number(_favourable_rate(facet, predicted)),
        "rows_a": int(np.count_nonzero(~facet)),
        "rows_d": int(np.count_nonzero(facet)),
    }


# =========================================================================== distributions


def feature_kind(values: np.ndarray) -> str:
    """binary (only 0 and 1), integer (whole numbers) or continuous."""
    if np.all((values == 0) | (values == 1)):
        return "binary"
    if np.all(np.isfinite(values)) and np.all(values == np.floor(values)):
        return "integer"
    return "continuous"


def summarise(values: np.ndarray, bins: int, max_categories: int) -> dict[str, Any]:
    """A baseline entry: type, missing rate, range, PSI bins with proportions, KS CDF points."""
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    if present.size == 0:
        raise DriftError("no values in the training data: drift cannot be measured against nothing")
    ordered = np.sort(present)
    distinct = ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
    kind = feature_kind(distinct)
    categorical = kind != "continuous" and distinct.size <= max_categories
    if categorical:
        marks = distinct
        binning: dict[str, Any] = {"kind": "categorical", "values": [float(v) for v in marks]}
    else:
        marks = np.unique(quantile_values(ordered, np.arange(1, bins) / bins))
        binning = {"kind": "quantile", "edges": [float(e) for e in marks]}
    exact = distinct.size <= ECDF_POINTS
    if exact:
        points = distinct
    else:  # min, the ECDF_POINTS quantiles (the last is the max), and every edge or category
        fractions = np.arange(1, ECDF_POINTS + 1) / ECDF_POINTS
        points = np.unique(np.r_[ordered[0], quantile_values(ordered, fractions), marks])
    cdf = np.searchsorted(ordered, points, side="right") / ordered.size
    entry = {
        "type": kind,
        "count": int(values.size),
        "missing_rate": _number(1.0 - present.size / values.size),
        "min": float(ordered[0]),
        "max": float(ordered[-1]),
        "mean": _number(float(np.mean(present))),
        "std": _number(float(np.std(present))),
        "bins": binning,
        "ecdf": {"values": [float(p) for p in points], "cdf": [_number(c) for c in cdf], "exact": exact},
    }
    counts = Distribution(entry)
    counts.add(values)
    binning["proportions"] = [_number(p) for p in counts.proportions()[: counts.bin_count]]
    return entry


class Distribution:
    """Live values counted against one baseline entry's CDF points; chunks add up exactly.

    Two histograms over the sorted CDF points v carry every figure: ``le[k]`` counts values
    with exactly k points below them (v_{k-1} < x <= v_k) and ``eq[j]`` those equal to v_j.
    From them: values <= v_j, values < v_j, the PSI bins (every edge is a point), the
    categories (every category is a point), values outside [min, max] and the KS statistic.
    """

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self.points = np.asarray(entry["ecdf"]["values"], dtype=np.float64)
        self.cdf = np.asarray(entry["ecdf"]["cdf"], dtype=np.float64)
        binning = entry["bins"]
        self.kind = binning["kind"]
        marks = binning["values"] if self.kind == "categorical" else binning["edges"]
        self.marks = np.searchsorted(self.points, np.asarray(marks, dtype=np.float64))
        if not np.array_equal(self.points[np.minimum(self.marks, self.points.size - 1)], marks):
            raise DriftError("every bin edge and category must be one of the baseline's CDF values")
        self.bin_count = len(marks) + 1 if self.kind == "quantile" else len(marks)
        self.minimum, self.maximum = float(entry["min"]), float(entry["max"])
        self.le = np.zeros(self.points.size + 1, dtype=np.int64)
        self.eq = np.zeros(self.points.size, dtype=np.int64)
        self.total = 0
        self.missing = 0

    def add(self, values: np.ndarray) -> None:
        present = values[~np.isnan(values)]
        self.missing += values.size - present.size
        self.total += present.size
        below = np.searchsorted(self.points, present, side="left")
        self.le += np.bincount(below, minlength=self.points.size + 1)
        equal = present == self.points[np.minimum(below, self.points.size - 1)]
        self.eq += np.bincount(below[equal], minlength=self.points.size)

    @property
    def at_or_below(self) -> np.ndarray:
        return np.cumsum(self.le)[:-1]

    def proportions(self) -> np.ndarray:
        """Bin proportions; categorical entries end with the "other" bin (unseen values)."""
        if self.total == 0:
            return np.full(self.bin_count + (self.kind == "categorical"), np.nan)
        if self.kind == "categorical":
            counts = self.eq[self.marks]
            return np.r_[counts, self.total - counts.sum()] / self.total
        cumulative = np.r_[0, self.at_or_below[self.marks], self.total]
        return np.diff(cumulative) / self.total

    def psi(self, baseline: Sequence[float]) -> float:
        if self.total == 0:
            return math.nan
        expected = list(baseline) + ([0.0] if self.kind == "categorical" else [])
        return psi(expected, self.proportions())

    def ks(self) -> float:
        at_or_below = self.at_or_below
        return ks_from_counts(self.cdf, at_or_below - self.eq, at_or_below, self.total)

    def out_of_range(self) -> int:
        """Values below the training minimum or above the training maximum."""
        at_or_below = self.at_or_below
        below_min = int(at_or_below[0] - self.eq[0]) if self.points[0] == self.minimum else 0
        above_max = int(self.total - at_or_below[-1]) if self.points[-1] == self.maximum else 0
        return below_min + above_max


def ks_statistic(baseline_values: np.ndarray, live_values: np.ndarray) -> float:
    """Two-sample KS of two samples through the job's own machinery (exact CDF of the first)."""
    entry = summarise(np.asarray(baseline_values, dtype=np.float64), DEFAULT_BINS, 0)
    if not entry["ecdf"]["exact"]:
        raise DriftError(f"ks_statistic is exact only up to {ECDF_POINTS} distinct baseline values")
    live = Distribution(entry)
    live.add(np.asarray(live_values, dtype=np.float64))
    return live.ks()


# =========================================================================== baseline


def read_headers(path: Path) -> list[str]:
    """Column names from a JSON list, ``dataset.json`` (its ``columns``) or a CSV header line."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        document = json.loads(text)
        names = document.get("columns") if isinstance(document, dict) else document
    else:
        names = next(csv.reader([text.partition("\n")[0].rstrip("\r")]), [])
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise DriftError(f"--headers-file {path}: expected a non-empty list of column names")
    if len(set(names)) != len(names):
        raise DriftError(f"--headers-file {path}: duplicate column names")
    return names


def csv_files(folder: Path, what: str) -> list[Path]:
    """A file, or every ``*.csv`` below a folder in name order (SageMaker may shard a prefix)."""
    if folder.is_file():
        return [folder]
    files = sorted(p for p in folder.rglob("*.csv") if p.is_file()) if folder.is_dir() else []
    if not files:
        raise DriftError(f"{what} {folder}: no .csv file found")
    return files


def read_training(folder: Path, headers: list[str]) -> pd.DataFrame:
    """The label-first, header-less split, every column numeric."""
    frames = []
    for path in csv_files(folder, "--train-dir"):
        try:
            frame = pd.read_csv(path, header=None, dtype=np.float64, quoting=csv.QUOTE_NONE)
        except pd.errors.EmptyDataError as err:
            raise DriftError(f"{path}: the file is empty") from err
        except ValueError as err:
            raise DriftError(f"{path}: every value must be numeric ({err})") from err
        if frame.shape[1] != len(headers):
            raise DriftError(
                f"{path}: {frame.shape[1]} columns but the headers file names {len(headers)} "
                "(label first, then the features, as FraudDataProcess writes them)"
            )
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    data.columns = headers
    return data


def read_score_file(path: Path, rows: int) -> np.ndarray:
    """One probability per line, in the order of the split's rows (batch-transform output).

    ``path`` may be the transform's output folder: its ``*.out`` files (one per input part) in
    name order, which is the split's row order.
    """
    files = sorted(p for p in path.rglob("*.out") if p.is_file()) if path.is_dir() else [path]
    if not files:
        raise DriftError(f"--scores-file {path}: no .out file found")
    try:
        frames = [pd.read_csv(f, header=None, dtype=np.float64) for f in files]
        scores = pd.concat(frames, ignore_index=True).iloc[:, 0].to_numpy()
    except (pd.errors.EmptyDataError, ValueError) as err:
        raise DriftError(f"--scores-file {path}: expected one number per line ({err})") from err
    if scores.size != rows:
        raise DriftError(f"--scores-file {path}: {scores.size} scores for {rows} rows; they must pair up")
    if not np.all((scores >= 0.0) & (scores <= 1.0)):
        raise DriftError(f"--scores-file {path}: scores must be probabilities in [0, 1]")
    return scores


@dataclass(frozen=True)
class BaselineSettings:
    """The choices a baseline is made with; the check reads them back from baseline.json."""

    threshold: float
    facet: str | None = None
    facet_value: float = 1.0
    favourable_label: int = 0
    bins: int = DEFAULT_BINS
    max_categories: int = DEFAULT_MAX_CATEGORIES


def build_baseline(data: pd.DataFrame, scores: np.ndarray | None, settings: BaselineSettings) -> dict:
    """The baseline document from the training split (label first) and optional scores."""
    label, features = str(data.columns[0]), [str(c) for c in data.columns[1:]]
    if settings.facet is not None and settings.facet not in features:
        raise DriftError(f"--facet {settings.facet!r} is not a feature column; features: {features}")
    statistics = {}
    for name in features:
        try:
            statistics[name] = summarise(data[name].to_numpy(), settings.bins, settings.max_categories)
        except DriftError as err:
            raise DriftError(f"feature {name!r}: {err}") from err
    labels = data[label].to_numpy()
    baseline: dict[str, Any] = {
        "format": BASELINE_FORMAT,
        "version": BASELINE_VERSION,
        "label": label,
        "label_rate": _number(float(np.mean(labels == 1))),
        "rows": len(data),
        "columns": features,
        "features": statistics,
        "threshold": float(settings.threshold),
        "settings": {
            "bins": settings.bins,
            "max_categories": settings.max_categories,
            "ecdf_points": ECDF_POINTS,
            "psi_epsilon": PSI_EPSILON,
        },
        "scores": None,
        "bias": None,
    }
    if settings.facet is not None:
        baseline["bias"] = {
            "facet": settings.facet,
            "facet_value": float(settings.facet_value),
            "favourable_label": int(settings.favourable_label),
        }
    if scores is not None:
        baseline["scores"] = summarise(scores, settings.bins, settings.max_categories)
        baseline["scores"]["predicted_positive_rate"] = _number(float(np.mean(scores > settings.threshold)))
        if settings.facet is not None:
            baseline["bias"].update(
                bias_figures(
                    data[settings.facet].to_numpy(),
                    scores,
                    settings.facet_value,
                    settings.threshold,
                    settings.favourable_label,
                )
            )
    return baseline


def write_json(path: Path, document: Any) -> None:
    """Sorted keys, fixed indentation, no NaN: the same inputs give the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def load_baseline(path: Path) -> dict[str, Any]:
    """baseline.json (a file, or the folder holding it), checked for what the check reads."""
    if path.is_dir():
        path = path / BASELINE_FILE
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DriftError(f"--baseline {path}: not JSON ({err})") from err
    if not isinstance(baseline, dict) or baseline.get("format") != BASELINE_FORMAT:
        raise DriftError(f"--baseline {path}: not a {BASELINE_FORMAT} document")
    if baseline.get("version") != BASELINE_VERSION:
        raise DriftError(
            f"--baseline {path}: version {baseline.get('version')!r}, expected {BASELINE_VERSION}"
        )
    missing = [c for c in baseline["columns"] if c not in baseline["features"]]
    if missing:
        raise DriftError(f"--baseline {path}: no statistics for {missing}")
    return baseline


# =========================================================================== capture parsing

_TEXT = r'"([^"\\]*)"'
#: The common capture record exactly as SageMaker serialises it (compact, this key order): CSV
#: both ways, no JSON escapes, one score. A match needs no decoding at all; every other line
#: (BASE64, several rows, escapes, another key order, garbage) goes through json.loads, so the
#: regex is a shortcut, never a different reading of the format.
CAPTURE_LINE = re.compile(
    r'\{"captureData":\{"endpointInput":\{"observedContentType":"text/csv[^"\\]*","mode":"INPUT",'
    r'"data":"([^"\\]*)","encoding":"CSV"\},"endpointOutput":\{"observedContentType":"text/csv[^"\\]*",'
    r'"mode":"OUTPUT","data":"([^"\\,]*)","encoding":"CSV"\}\},"eventMetadata":\{"eventId":' + _TEXT
    + r'(?:,"inferenceId":' + _TEXT + r')?,"inferenceTime":' + _TEXT + r'\},"eventVersion":"[^"\\]*"\}\s*'
)  # fmt: skip
_SCORE_SEPARATORS = re.compile(r"[,\s]+")


def format_capture_record(
    inputs: str,
    outputs: str,
    event_id: str,
    inference_time: str,
    *,
    encoding: str = "CSV",
    inference_id: str | None = None,
) -> str:
    """One capture line as SageMaker writes it (``encoding`` CSV or BASE64), without newline."""

    def payload(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii") if encoding == "BASE64" else text

    metadata = {"eventId": event_id}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    metadata["inferenceTime"] = inference_time
    record = {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": payload(inputs),
                "encoding": encoding,
            },
            "endpointOutput": {
                "observedContentType": "text/csv; charset=utf-8",
                "mode": "OUTPUT",
                "data": payload(outputs),
                "encoding": encoding,
            },
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }
    return json.dumps(record, separators=(",", ":"))


@dataclass(frozen=True)
class Issue:
    """A skipped line: where, and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


def _member(parent: Any, key: str, kind: type) -> Any:
    if not isinstance(parent, dict) or not isinstance(parent.get(key), kind):
        raise ValueError(f"no {kind.__name__} field {key!r}")
    return parent[key]


def _fields_of(record: Any) -> tuple[Any, ...]:
    """Input type, data, encoding, output type, data, encoding, eventId, inferenceId, time."""
    capture = _member(record, "captureData", dict)
    sides = []
    for side in ("endpointInput", "endpointOutput"):
        part = _member(capture, side, dict)
        sides += [_member(part, key, str) for key in ("observedContentType", "data", "encoding")]
    metadata = _member(record, "eventMetadata", dict)
    inference_id = metadata.get("inferenceId")
    return (
        *sides,
        _member(metadata, "eventId", str),
        inference_id if isinstance(inference_id, str) else None,
        str(metadata.get("inferenceTime", "")),
    )


def _decode(data: str, encoding: str, content_type: str, side: str) -> str:
    if "csv" not in content_type.lower():
        raise ValueError(f"{side} content type {content_type!r} is not CSV")
    if encoding == "CSV":
        return data
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise ValueError(f"{side} is not valid BASE64 UTF-8 text ({err})") from err
    raise ValueError(f"{side} encoding {encoding!r} is neither CSV nor BASE64")


def _rows_and_scores(fields: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split one record's input into CSV rows and its output into one score per row."""
    in_type, in_data, in_encoding, out_type, out_data, out_encoding = fields[:6]
    rows = _decode(in_data, in_encoding, in_type, "input").splitlines()
    while rows and not rows[-1].strip():
        rows.pop()
    output = _decode(out_data, out_encoding, out_type, "output").strip()
    scores = _SCORE_SEPARATORS.split(output) if output else []
    if not rows:
        raise ValueError("empty input")
    if len(scores) != len(rows):
        raise ValueError(f"{len(rows)} input rows but {len(scores)} scores")
    return rows, scores


@dataclass
class CaptureChunk:
    """The usable content of some capture lines: one entry per input row, plus the records."""

    rows: list[str] = field(default_factory=list)
    scores: list[str] = field(default_factory=list)
    row_record: list[int] = field(default_factory=list)
    row_position: list[int] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    inference_ids: list[str | None] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    lines: int = 0

    def add(self, rows: list[str], scores: list[str], fields: Sequence[str | None]) -> None:
        record = len(self.event_ids)
        self.rows += rows
        self.scores += scores
        self.row_record += [record] * len(rows)
        self.row_position += range(len(rows))
        self.event_ids.append(str(fields[6]))
        self.inference_ids.append(fields[7])
        self.times.append(str(fields[8] or ""))


def parse_capture_lines(lines: Sequence[str], source: str, first_line: int = 1) -> CaptureChunk:
    """Parse capture lines; anything unusable becomes an Issue with its line number.

    A line matching CAPTURE_LINE costs one regex match and is collected column-wise; the rest
    take the general path: json.loads, BASE64 decoding, several rows per request.
    """
    chunk = CaptureChunk()
    simple: list[tuple[str, ...]] = []
    general: list[tuple[list[str], list[str], Sequence[str | None]]] = []
    blank = 0
    for number, line in enumerate(lines, first_line):
        match = CAPTURE_LINE.fullmatch(line)
        if match is not None:
            simple.append(match.groups())
        elif not line.strip():
            blank += 1
        else:
            try:  # json.JSONDecodeError is a ValueError, like every complaint below
                fields = _fields_of(json.loads(line))
                general.append((*_rows_and_scores(fields), fields))
            except ValueError as err:
                chunk.issues.append(Issue(source, number, str(err)))
    chunk.lines = len(lines) - blank
    if simple:
        rows, scores, event_ids, inference_ids, times = (list(c) for c in zip(*simple, strict=True))
        chunk.rows, chunk.scores, chunk.event_ids, chunk.inference_ids, chunk.times = (
            rows,
            scores,
            event_ids,
            inference_ids,
            times,
        )
        chunk.row_record, chunk.row_position = list(range(len(simple))), [0] * len(simple)
    for rows, scores, fields in general:
        chunk.add(rows, scores, fields)
    return chunk


def jsonl_files(folder: Path | None) -> list[Path]:
    """Every ``*.jsonl`` below a folder, in path order (SageMaker's yyyy/mm/dd/hh sorts in time)."""
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.jsonl") if p.is_file())


def read_lines(path: Path, size: int = CHUNK_LINES) -> Iterator[tuple[int, list[str]]]:
    """(first line number, lines) chunks of a text file; undecodable bytes become U+FFFD."""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        first = 1
        while True:
            lines = list(itertools.islice(handle, size))
            if not lines:
                return
            yield first, lines
            first += len(lines)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Parsing makes millions of short-lived, acyclic objects; the cyclic collector would
    rescan them again and again (it more than doubles the parse time) and can find nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# =========================================================================== ground truth


def _labels_of(record: Any) -> tuple[str, tuple[int, ...]]:
    """(key, labels) of one ground-truth record, ours or Model Monitor's layout."""
    if isinstance(record, dict) and "groundTruthData" in record:
        key = _member(_member(record, "eventMetadata", dict), "eventId", str)
        truth = _member(record, "groundTruthData", dict)
        text = _decode(_member(truth, "data", str), str(truth.get("encoding", "CSV")), "text/csv", "label")
        raw: Any = [token for token in _SCORE_SEPARATORS.split(text.strip()) if token]
    else:
        key = None
        if isinstance(record, dict):
            key = record.get("eventId") or record.get("inferenceId")
        if not isinstance(key, str) or not key:
            raise ValueError("no string field 'eventId' or 'inferenceId'")
        raw = record.get("label")
        raw = raw if isinstance(raw, list) else [raw]
    labels = []
    for value in raw:
        if isinstance(value, bool) or str(value).strip() not in ("0", "1", "0.0", "1.0"):
            raise ValueError(f"label {value!r} is not 0 or 1")
        labels.append(int(float(value)))
    if not labels:
        raise ValueError("no label")
    return key, tuple(labels)


@dataclass
class GroundTruth:
    """Labels by eventId / inferenceId, and what could not be read."""

    labels: dict[str, tuple[int, ...]] = field(default_factory=dict)
    lines: int = 0
    duplicates: int = 0
    issues: list[Issue] = field(default_factory=list)
    matched: set[str] = field(default_factory=set)


#: Our own ground-truth line, compact or spaced; anything else goes through json.loads.
GROUND_TRUTH_LINE = re.compile(r'\s*\{\s*"eventId"\s*:\s*"([^"\\]+)"\s*,\s*"label"\s*:\s*([01])\s*\}\s*')


def read_ground_truth(folder: Path | None) -> GroundTruth:
    """Every label file below ``folder``; unreadable lines are listed, never fatal."""
    truth = GroundTruth()
    for path in jsonl_files(folder):
        for first, lines in read_lines(path):
            for number, line in enumerate(lines, first):
                match = GROUND_TRUTH_LINE.fullmatch(line)
                if match is not None:
                    key, labels = match.group(1), (int(match.group(2)),)
                elif not line.strip():
                    continue
                else:
                    try:
                        key, labels = _labels_of(json.loads(line))
                    except ValueError as err:
                        truth.lines += 1
                        truth.issues.append(Issue(str(path.relative_to(folder)), number, str(err)))
                        continue
                truth.lines += 1
                truth.duplicates += key in truth.labels
                truth.labels[key] = labels
    return truth


# =========================================================================== the check


@dataclass(frozen=True)
class Thresholds:
    """When a figure becomes a violation. Data quality first, then drift, bias and live quality."""

    psi: float = 0.2
    ks: float = 0.1
    dppl: float = 0.1
    di_min: float = 0.8
    di_max: float = 1.25
    min_auc: float | None = None
    min_recall: float | None = None
    max_label_rate_ratio: float = 2.0
    max_invalid_rate: float = 0.01
    max_missing_increase: float = 0.05
    max_out_of_range: float = 0.05
    min_rows: int = 1000


def _parse_numbers(rows: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, non-numeric counts per column) of CSV rows that all have ``width`` fields.

    Missing: an empty field or one of pandas' NA tokens (NA, NULL, NaN, None, n/a, ...);
    non-numeric: any other text. Both become nan; only the second is counted here.
    """
    text = io.BytesIO("\n".join(rows).encode("utf-8"))  # bytes: read_csv's fastest input
    options: dict[str, Any] = {"header": None, "names": list(range(width)), "quoting": csv.QUOTE_NONE}
    try:
        values = pd.read_csv(text, dtype=np.float64, **options).to_numpy()
        return values, np.zeros(width, dtype=np.int64)
    except ValueError:  # a non-numeric token somewhere: read as text, coerce, count the casualties
        text.seek(0)
        raw = pd.read_csv(text, dtype=object, **options)
        numeric = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        invalid = (raw.notna().to_numpy() & np.isnan(numeric)).sum(axis=0)
        return numeric, invalid.astype(np.int64)


def _parse_scores(texts: list[str]) -> np.ndarray:
    """Scores as floats; anything that is not a probability in [0, 1] becomes nan."""
    try:
        scores = np.asarray(texts, dtype=np.float64)
    except ValueError:
        numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
        scores = numbers.to_numpy(dtype=np.float64, copy=True)  # writable under copy-on-write
    scores[~((scores >= 0.0) & (scores <= 1.0))] = np.nan
    return scores


class LiveStatistics:
    """Everything the check learns from the capture, added chunk by chunk."""

    def __init__(self, baseline: Mapping[str, Any], truth: GroundTruth) -> None:
        self.baseline = baseline
        self.columns: list[str] = list(baseline["columns"])
        self.features = [Distribution(baseline["features"][c]) for c in self.columns]
        self.scores = Distribution(baseline["scores"]) if baseline.get("scores") else None
        bias = baseline.get("bias")
        self.facet_index = self.columns.index(bias["facet"]) if bias else None
        self.truth = truth
        self.non_numeric = np.zeros(len(self.columns), dtype=np.int64)
        self.width_counts: Counter[int] = Counter()
        self.invalid_scores = 0
        self.lines = 0
        self.records = 0
        self.issues: list[Issue] = []
        self.issue_count = 0
        self.files = 0
        self.first_time: str | None = None
        self.last_time: str | None = None
        self.kept_scores: list[np.ndarray] = []
        self.kept_facets: list[np.ndarray] = []
        self.kept_labels: list[np.ndarray] = []

    @property
    def valid_rows(self) -> int:
        return sum(a.size for a in self.kept_scores)

    def _note_issues(self, issues: list[Issue]) -> None:
        self.issue_count += len(issues)
        self.issues += issues[: max(0, MAX_LISTED_ISSUES - len(self.issues))]

    def _labels(self, chunk: CaptureChunk) -> np.ndarray:
        """Per-row labels from the ground truth (nan where none arrived or they do not pair up)."""
        if not self.truth.labels:
            return np.full(len(chunk.rows), np.nan)
        known = self.truth.labels
        per_record: list[tuple[int, ...] | None] = []
        for event_id, inference_id in zip(chunk.event_ids, chunk.inference_ids, strict=True):
            key = inference_id if inference_id in known else event_id
            per_record.append(known.get(key))
            if per_record[-1] is not None:
                self.truth.matched.add(key)
        if len(per_record) == len(chunk.rows):  # one row per record: the labels line up as they are
            return np.array([t[0] if t is not None and len(t) == 1 else np.nan for t in per_record])
        rows_of = Counter(chunk.row_record)

        def label(record: int, position: int) -> float:
            labels = per_record[record]
            return labels[position] if labels is not None and len(labels) == rows_of[record] else np.nan

        return np.array(
            [label(r, p) for r, p in zip(chunk.row_record, chunk.row_position, strict=True)], dtype=np.float64
        )

    def add(self, chunk: CaptureChunk) -> None:
        self.lines += chunk.lines
        self.records += len(chunk.event_ids)
        self._note_issues(chunk.issues)
        times = [t for t in chunk.times if t]
        if times:
            first, last = min(times), max(times)
            self.first_time = first if self.first_time is None else min(first, self.first_time)
            self.last_time = last if self.last_time is None else max(last, self.last_time)
        if not chunk.rows:
            return
        widths = np.fromiter((r.count(",") for r in chunk.rows), dtype=np.int64, count=len(chunk.rows)) + 1
        self.width_counts.update(
            {int(w): int(c) for w, c in zip(*np.unique(widths, return_counts=True), strict=True)}
        )
        scores = _parse_scores(chunk.scores)
        labels = self._labels(chunk)
        fits = widths == len(self.columns)
        self.invalid_scores += int(np.count_nonzero(fits & np.isnan(scores)))
        keep = fits & ~np.isnan(scores)
        if not keep.any():
            return
        values, invalid = _parse_numbers(
            [r for r, k in zip(chunk.rows, keep, strict=True) if k], len(self.columns)
        )
        self.non_numeric += invalid
        for column, distribution in enumerate(self.features):
            distribution.add(values[:, column])
        if self.scores is not None:
            self.scores.add(scores[keep])
        self.kept_scores.append(scores[keep])
        self.kept_labels.append(labels[keep])
        if self.facet_index is not None:
            # a copy: a column view would keep the whole chunk's matrix alive
            self.kept_facets.append(values[:, self.facet_index].copy())


def _all(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0)


@dataclass
class Report:
    """The figures of one check and the violations they raise."""

    monitor: dict[str, Any]
    violations: list[dict[str, Any]]


class _Rules:
    """Collects violations: metric, feature (or facet, or None), value, threshold, rule."""

    def __init__(self) -> None:
        self.found: list[dict[str, Any]] = []

    def above(self, metric: str, feature: str | None, value: float | None, limit: float | None) -> None:
        if value is not None and limit is not None and value > limit:
            self._add(metric, feature, value, limit, "value > threshold")

    def below(self, metric: str, feature: str | None, value: float | None, limit: float | None) -> None:
        if value is not None and limit is not None and value < limit:
            self._add(metric, feature, value, limit, "value < threshold")

    def _add(self, metric: str, feature: str | None, value: float, limit: float, rule: str) -> None:
        self.found.append(
            {"metric": metric, "feature": feature, "value": _number(value), "threshold": limit, "rule": rule}
        )


def _data_quality(live: LiveStatistics, rules: _Rules, limits: Thresholds) -> dict[str, Any]:
    rows = sum(live.width_counts.values())
    mismatched = rows - live.width_counts.get(len(live.columns), 0)
    figures = {
        "expected_columns": len(live.columns),
        "column_counts": {str(k): int(v) for k, v in sorted(live.width_counts.items())},
        "schema_mismatch_rows": int(mismatched),
        "schema_mismatch_rate": _number(_ratio(mismatched, rows)),
        "invalid_score_rows": live.invalid_scores,
        "invalid_score_rate": _number(_ratio(live.invalid_scores, rows)),
        "malformed_lines": live.issue_count,
        "malformed_line_rate": _number(_ratio(live.issue_count, live.lines)),
        "features": {},
    }
    for metric in ("malformed_line_rate", "schema_mismatch_rate", "invalid_score_rate"):
        rules.above(metric, None, figures[metric], limits.max_invalid_rate)
    for name, distribution, non_numeric in zip(live.columns, live.features, live.non_numeric, strict=True):
        seen = distribution.total + distribution.missing
        baseline_missing = live.baseline["features"][name]["missing_rate"] or 0.0
        missing_rate = _ratio(distribution.missing - non_numeric, seen)
        entry = {
            "missing_rate": _number(missing_rate),
            "baseline_missing_rate": baseline_missing,
            "missing_rate_increase": _number(missing_rate - baseline_missing),
            "non_numeric_rate": _number(_ratio(non_numeric, seen)),
            "out_of_range_rate": _number(_ratio(distribution.out_of_range(), distribution.total)),
        }
        figures["features"][name] = entry
        rules.above(
            "missing_rate_increase", name, entry["missing_rate_increase"], limits.max_missing_increase
        )
        rules.above("non_numeric_rate", name, entry["non_numeric_rate"], limits.max_invalid_rate)
        rules.above("out_of_range_rate", name, entry["out_of_range_rate"], limits.max_out_of_range)
    return figures


def _drift(live: LiveStatistics, rules: _Rules, limits: Thresholds) -> tuple[dict, dict]:
    features = {}
    for name, distribution in zip(live.columns, live.features, strict=True):
        baseline = live.baseline["features"][name]["bins"]
        judged = distribution.total >= limits.min_rows
        entry = {
            "psi": _number(distribution.psi(baseline["proportions"])),
            "ks": _number(distribution.ks()),
            "rows": distribution.total,
            "judged": judged,
            "live_proportions": [_number(p) for p in distribution.proportions()],
        }
        features[name] = entry
        if judged:
            rules.above("psi", name, entry["psi"], limits.psi)
            rules.above("ks", name, entry["ks"], limits.ks)
    prediction: dict[str, Any] = {"available": live.scores is not None}
    scores = _all(live.kept_scores)
    if live.scores is not None:
        judged = live.scores.total >= limits.min_rows
        prediction.update(
            psi=_number(live.scores.psi(live.baseline["scores"]["bins"]["proportions"])),
            ks=_number(live.scores.ks()),
            rows=live.scores.total,
            judged=judged,
            live_proportions=[_number(p) for p in live.scores.proportions()],
            baseline_predicted_positive_rate=live.baseline["scores"]["predicted_positive_rate"],
        )
        if judged:
            rules.above("prediction_psi", None, prediction["psi"], limits.psi)
            rules.above("prediction_ks", None, prediction["ks"], limits.ks)
    else:
        prediction["reason"] = "the baseline has no score distribution (made without --scores-file)"
    threshold = float(live.baseline["threshold"])
    prediction["predicted_positive_rate"] = _number(
        float(np.mean(scores > threshold)) if scores.size else None
    )
    return features, prediction


def _bias(live: LiveStatistics, rules: _Rules, limits: Thresholds) -> dict[str, Any]:
    baseline = live.baseline.get("bias")
    if not baseline:
        return {"available": False, "reason": "the baseline names no facet (made without --facet)"}
    threshold = float(live.baseline["threshold"])
    figures = bias_figures(
        _all(live.kept_facets),
        _all(live.kept_scores),
        float(baseline["facet_value"]),
        threshold,
        int(baseline["favourable_label"]),
    )
    judged = figures["rows_a"] + figures["rows_d"] >= limits.min_rows
    facet = baseline["facet"]
    if judged:
        rules.above("dppl", facet, None if figures["DPPL"] is None else abs(figures["DPPL"]), limits.dppl)
        rules.below("di", facet, figures["DI"], limits.di_min)
        rules.above("di", facet, figures["DI"], limits.di_max)
    return {
        "available": True,
        "facet": facet,
        "facet_value": baseline["facet_value"],
        "favourable_label": baseline["favourable_label"],
        "threshold": threshold,
        "judged": judged,
        "live": figures,
        "baseline": {k: baseline.get(k) for k in ("DPPL", "DI", "favourable_rate_a", "favourable_rate_d")},
    }


def _quality(live: LiveStatistics, rules: _Rules, limits: Thresholds) -> dict[str, Any]:
    labels, scores = _all(live.kept_labels), _all(live.kept_scores)
    labelled = ~np.isnan(labels)
    labels, scores = labels[labelled].astype(np.int64), scores[labelled]
    threshold = float(live.baseline["threshold"])
    label_rate = _ratio(np.count_nonzero(labels == 1), labels.size)
    baseline_rate = live.baseline.get("label_rate") or 0.0
    figures = {
        "ground_truth_lines": live.truth.lines,
        "ground_truth_issues": [str(i) for i in live.truth.issues[:MAX_LISTED_ISSUES]],
        "ground_truth_issue_count": len(live.truth.issues),
        "ground_truth_duplicates": live.truth.duplicates,
        "unmatched_ground_truth": len(live.truth.labels) - len(live.truth.matched),
        "labelled_rows": int(labels.size),
        "auc": _number(auc(labels, scores)),
        "recall": _number(recall(labels, scores, threshold)),
        "threshold": threshold,
        "label_rate": _number(label_rate),
        "baseline_label_rate": baseline_rate,
        "label_rate_ratio": _number(_ratio(label_rate, baseline_rate)),
        "judged": int(labels.size) >= limits.min_rows,
    }
    if figures["judged"]:
        rules.below("auc", None, figures["auc"], limits.min_auc)
        rules.below("recall", None, figures["recall"], limits.min_recall)
        ratio = figures["label_rate_ratio"]
        rules.above("label_rate_ratio", None, ratio, limits.max_label_rate_ratio)
        rules.below("label_rate_ratio", None, ratio, 1.0 / limits.max_label_rate_ratio)
    return figures


def _violation_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return (str(item["metric"]), str(item["feature"] or ""))


def check(
    baseline: Mapping[str, Any],
    capture_dir: Path | None,
    ground_truth_dir: Path | None = None,
    limits: Thresholds = Thresholds(),
) -> Report:
    """Compare the capture under ``capture_dir`` with ``baseline``; nothing is written here."""
    files = jsonl_files(capture_dir)
    with _no_cyclic_gc():
        truth = read_ground_truth(ground_truth_dir)
    live = LiveStatistics(baseline, truth)
    for path in files:
        name = str(path.relative_to(capture_dir)) if capture_dir else str(path)
        for first, lines in read_lines(path):
            with _no_cyclic_gc():  # only around parsing: pandas' own cycles must still be collected
                chunk = parse_capture_lines(lines, name, first)
            live.add(chunk)
    live.files = len(files)
    capture = {
        "files": live.files,
        "lines": live.lines,
        "records": live.records,
        "rows": sum(live.width_counts.values()),
        "valid_rows": live.valid_rows,
        "malformed_lines": live.issue_count,
        "malformed": [str(i) for i in live.issues],
        "first_inference_time": live.first_time,
        "last_inference_time": live.last_time,
    }
    limits_used = dataclasses.asdict(limits)
    if live.lines == 0:
        monitor = {
            "status": STATUS_NO_TRAFFIC,
            "capture": capture,
            "thresholds": limits_used,
            "violations": [],
        }
        return Report(monitor, [])
    rules = _Rules()
    quality_of_data = _data_quality(live, rules, limits)
    features, prediction = _drift(live, rules, limits)
    bias = _bias(live, rules, limits)
    quality = _quality(live, rules, limits)
    violations = sorted(rules.found, key=_violation_key)
    if violations:
        status = STATUS_VIOLATIONS
    elif live.valid_rows < limits.min_rows:
        status = STATUS_INSUFFICIENT
    else:
        status = STATUS_OK
    monitor = {
        "status": status,
        "capture": capture,
        "data_quality": quality_of_data,
        "feature_drift": features,
        "prediction_drift": prediction,
        "bias_drift": bias,
        "live_quality": quality,
        "thresholds": limits_used,
        "violations": violations,
    }
    return Report(monitor, violations)


# =========================================================================== CloudWatch


class MetricPublisher(Protocol):
    """The one AWS call the check makes; a boto3 CloudWatch client is one as it is."""

    def put_metric_data(self, *, Namespace: str, MetricData: list[dict[str, Any]]) -> Any: ...


def _datum(
    name: str, value: float | None, dimension: tuple[str, str] | None = None, unit: str = "None"
) -> list:
    if value is None:
        return []
    datum: dict[str, Any] = {"MetricName": name, "Value": float(value), "Unit": unit}
    if dimension is not None:
        datum["Dimensions"] = [{"Name": dimension[0], "Value": dimension[1]}]
    return [datum]


def metric_data(monitor: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The figures as CloudWatch data; drift and quality figures only once judged (enough rows).

    Per feature (dimension ``Feature``): psi, ks, missing_rate, out_of_range_rate. Bias figures
    carry dimension ``Facet``. Without dimension: rows, malformed_lines, schema_mismatch_rate,
    prediction_psi, prediction_ks, auc, recall, label_rate_ratio, max_feature_psi,
    max_feature_ks and violations (the count an alarm can watch alone).
    """
    capture = monitor["capture"]
    data = _datum("rows", capture["valid_rows"], unit="Count")
    data += _datum("malformed_lines", capture["malformed_lines"], unit="Count")
    data += _datum("violations", len(monitor["violations"]), unit="Count")
    if monitor["status"] == STATUS_NO_TRAFFIC:
        return data
    data += _datum("schema_mismatch_rate", monitor["data_quality"]["schema_mismatch_rate"])
    for name, entry in monitor["data_quality"]["features"].items():
        data += _datum("missing_rate", entry["missing_rate"], ("Feature", name))
        data += _datum("out_of_range_rate", entry["out_of_range_rate"], ("Feature", name))
    judged = {n: e for n, e in monitor["feature_drift"].items() if e["judged"]}
    for name, entry in judged.items():
        data += _datum("psi", entry["psi"], ("Feature", name))
        data += _datum("ks", entry["ks"], ("Feature", name))
    for metric in ("psi", "ks"):
        values = [e[metric] for e in judged.values() if e[metric] is not None]
        data += _datum(f"max_feature_{metric}", max(values) if values else None)
    prediction = monitor["prediction_drift"]
    if prediction.get("judged"):
        data += _datum("prediction_psi", prediction["psi"]) + _datum("prediction_ks", prediction["ks"])
    bias = monitor["bias_drift"]
    if bias.get("judged"):
        facet = ("Facet", bias["facet"])
        data += _datum("dppl", bias["live"]["DPPL"], facet) + _datum("di", bias["live"]["DI"], facet)
    quality = monitor["live_quality"]
    if quality["judged"]:
        for metric in ("auc", "recall", "label_rate_ratio"):
            data += _datum(metric, quality[metric])
    return data


def publish_metrics(publisher: MetricPublisher, namespace: str, data: Sequence[dict[str, Any]]) -> int:
    """PutMetricData in batches of at most ``PUT_METRIC_DATA_LIMIT``; returns the number of calls."""
    calls = 0
    for start in range(0, len(data), PUT_METRIC_DATA_LIMIT):
        publisher.put_metric_data(
            Namespace=namespace, MetricData=list(data[start : start + PUT_METRIC_DATA_LIMIT])
        )
        calls += 1
    return calls


def cloudwatch_publisher(region: str | None) -> MetricPublisher:
    """A boto3 CloudWatch client (imported here: only publishing needs boto3)."""
    import boto3

    return boto3.client("cloudwatch", region_name=region)


def _aws_errors() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is in the image and in the project
        return ()
    return (BotoCoreError, ClientError)


# =========================================================================== command line


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _bins(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"needs at least 2 bins, got {value}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text} is not a non-negative number")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in [0, 1]")
    return value


def _label(text: str) -> int:
    if text not in ("0", "1"):
        raise argparse.ArgumentTypeError(f"{text} is not 0 or 1")
    return int(text)


def _baseline_parser(commands: Any) -> None:
    parser = commands.add_parser("baseline", help="summarise the training split into baseline.json")
    parser.add_argument("--train-dir", type=Path, required=True, help="label-first, header-less CSV(s)")
    parser.add_argument(
        "--headers-file", type=Path, required=True, help="JSON list, dataset.json or CSV header"
    )
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument(
        "--scores-file", type=Path, default=None, help="one score per row: a file, or the transform's outputs"
    )
    parser.add_argument("--threshold", type=_probability, required=True, help="fraud if score > threshold")
    parser.add_argument("--facet", default=None, help="feature column of the sensitive facet")
    parser.add_argument("--facet-value", type=float, default=1.0, help="the facet's value of group d")
    parser.add_argument("--favourable-label", type=_label, default=0)
    parser.add_argument("--bins", type=_bins, default=DEFAULT_BINS)
    parser.add_argument("--max-categories", type=_positive_int, default=DEFAULT_MAX_CATEGORIES)


def _check_parser(commands: Any) -> None:
    parser = commands.add_parser("check", help="compare the endpoint's capture with a baseline")
    parser.add_argument("--baseline", type=Path, required=True, help="baseline.json or its folder")
    parser.add_argument("--capture-dir", type=Path, required=True)
    parser.add_argument("--ground-truth-dir", type=Path, default=None)
    parser.add_argument("--output-dir", type=Path, required=True)
    defaults = Thresholds()
    for name in ("psi", "ks", "dppl"):
        parser.add_argument(f"--{name}-threshold", type=_non_negative, default=getattr(defaults, name))
    parser.add_argument("--di-min", type=_non_negative, default=defaults.di_min)
    parser.add_argument("--di-max", type=_non_negative, default=defaults.di_max)
    parser.add_argument("--min-auc", type=_probability, default=None)
    parser.add_argument("--min-recall", type=_probability, default=None)
    parser.add_argument("--max-label-rate-ratio", type=_non_negative, default=defaults.max_label_rate_ratio)
    parser.add_argument("--max-invalid-rate", type=_probability, default=defaults.max_invalid_rate)
    parser.add_argument("--max-missing-increase", type=_probability, default=defaults.max_missing_increase)
    parser.add_argument("--max-out-of-range", type=_probability, default=defaults.max_out_of_range)
    parser.add_argument("--min-rows", type=_positive_int, default=defaults.min_rows)
    parser.add_argument("--publish", action="store_true", help="put the figures to CloudWatch")
    parser.add_argument("--metrics-namespace", default=DEFAULT_NAMESPACE)
    parser.add_argument("--environment", default=None, help="dev, staging, prod: the namespace's last part")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _baseline_parser(commands)
    _check_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "check":
        if args.publish and not args.environment:
            parser.error("--publish needs --environment (the namespace is <metrics-namespace>/<environment>)")
        if not args.di_min <= 1.0 <= args.di_max:
            parser.error("--di-min <= 1 <= --di-max is required")
        if args.max_label_rate_ratio <= 1.0:
            parser.error("--max-label-rate-ratio must be above 1")
    return args


def run_baseline(args: argparse.Namespace) -> dict[str, Any]:
    data = read_training(args.train_dir, read_headers(args.headers_file))
    scores = None if args.scores_file is None else read_score_file(args.scores_file, len(data))
    settings = BaselineSettings(
        threshold=args.threshold,
        facet=args.facet,
        facet_value=args.facet_value,
        favourable_label=args.favourable_label,
        bins=args.bins,
        max_categories=args.max_categories,
    )
    baseline = build_baseline(data, scores, settings)
    write_json(args.output_dir / BASELINE_FILE, baseline)
    LOG.info("Baseline of %d rows, %d features -> %s", len(data), len(baseline["columns"]), args.output_dir)
    return baseline


def _thresholds(args: argparse.Namespace) -> Thresholds:
    return Thresholds(
        psi=args.psi_threshold,
        ks=args.ks_threshold,
        dppl=args.dppl_threshold,
        di_min=args.di_min,
        di_max=args.di_max,
        min_auc=args.min_auc,
        min_recall=args.min_recall,
        max_label_rate_ratio=args.max_label_rate_ratio,
        max_invalid_rate=args.max_invalid_rate,
        max_missing_increase=args.max_missing_increase,
        max_out_of_range=args.max_out_of_range,
        min_rows=args.min_rows,
    )


def _no_model(args: argparse.Namespace) -> Report:
    """Before the first deployment the baseline folder holds no baseline.json: a clean, empty run."""
    LOG.warning(
        "--baseline %s holds no %s: no model deployed yet, nothing to compare", args.baseline, BASELINE_FILE
    )
    monitor = {
        "status": STATUS_NO_MODEL,
        "thresholds": dataclasses.asdict(_thresholds(args)),
        "violations": [],
    }
    write_json(args.output_dir / MONITOR_FILE, monitor)
    write_json(args.output_dir / VIOLATIONS_FILE, {"status": STATUS_NO_MODEL, "count": 0, "violations": []})
    return Report(monitor, [])


def run_check(args: argparse.Namespace, publisher: MetricPublisher | None) -> Report:
    if args.baseline.is_dir() and not (args.baseline / BASELINE_FILE).exists():
        return _no_model(args)
    baseline = load_baseline(args.baseline)
    capture_dir = args.capture_dir if args.capture_dir.is_dir() else None
    if capture_dir is None:
        LOG.warning("--capture-dir %s does not exist: no traffic captured yet", args.capture_dir)
    report = check(baseline, capture_dir, args.ground_truth_dir, _thresholds(args))
    if args.publish:
        namespace = f"{args.metrics_namespace}/{args.environment}"
        data = metric_data(report.monitor)
        calls = publish_metrics(publisher or cloudwatch_publisher(args.region), namespace, data)
        report.monitor["published"] = {"namespace": namespace, "metrics": len(data), "calls": calls}
    write_json(args.output_dir / MONITOR_FILE, report.monitor)
    write_json(
        args.output_dir / VIOLATIONS_FILE,
        {
            "status": report.monitor["status"],
            "count": len(report.violations),
            "violations": report.violations,
        },
    )
    capture = report.monitor["capture"]
    LOG.info(
        "%s: %d lines, %d valid rows, %d malformed, %d violation(s) -> %s",
        report.monitor["status"],
        capture["lines"],
        capture["valid_rows"],
        capture["malformed_lines"],
        len(report.violations),
        args.output_dir,
    )
    for violation in report.violations:
        LOG.info("violation: %s", violation)
    return report


def main(argv: Sequence[str] | None = None, publisher: MetricPublisher | None = None) -> int:
    """Entry point; ``publisher`` replaces the CloudWatch client (a fake, or the local run's)."""
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        if args.command == "baseline":
            run_baseline(args)
        else:
            run_check(args, publisher)
    except (DriftError, OSError, json.JSONDecodeError, *_aws_errors()) as err:
        LOG.error("FraudMonitor %s failed: %s", args.command, err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
