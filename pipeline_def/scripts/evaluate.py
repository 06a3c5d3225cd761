"""FraudEvalBestModel: pick the decision threshold on validation, measure the model on test.

Reads the tuning job's best ``model.tar.gz`` (member ``xgboost-model``) and the validation and
test CSVs (label first, no header), then writes ``<output-dir>/evaluation.json`` in Model
Monitor's binary-classification layout. The pipeline's condition step reads
``binary_classification_metrics.auc.value`` and ``binary_classification_metrics.recall.value``.

Why a threshold at all: fraud is ~3.5 % of claims, so at 0.5 the model flags almost nothing. The
threshold maximises F-beta (beta 2: a missed fraud costs more than a manual review) on the
VALIDATION split; the test split is only measured, so its metrics stay an unbiased estimate.

Every point metric carries a 95% interval, because on a few dozen test frauds a recall of 0.7
can be anything from 0.5 to 0.85: Wilson score intervals for the proportions (recall, precision,
rates, accuracy; right even at 0 or 1, where the normal approximation collapses to a point),
Hanley & McNeil (1982) for AUC (closed form from AUC and the class counts: deterministic and
cheap), and the percentile interval of the seeded, stratified bootstrap for the F-scores and
PR-AUC, which have no closed form. ``dataset.test_positives`` says how many frauds they rest on.

The file is shipped alone into the SageMaker XGBoost 3.0-5 image (Python 3.10, xgboost 3.0.5):
it imports nothing from this repository.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import pickle
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost

LOG = logging.getLogger("evaluate")

MODEL_ARCHIVE = "model.tar.gz"
MODEL_MEMBER = "xgboost-model"
EVALUATION_FILE = "evaluation.json"
MAX_CURVE_POINTS = 201
#: Point metrics reported with a bootstrap standard deviation, in Model Monitor's names.
POINT_METRICS = (
    "accuracy",
    "auc",
    "f0_5",
    "f1",
    "f2",
    "false_negative_rate",
    "false_positive_rate",
    "pr_auc",
    "precision",
    "recall",
    "true_negative_rate",
    "true_positive_rate",
)


class EvaluationError(ValueError):
    """The inputs cannot give a well-defined evaluation; the message says which input and why."""


# --------------------------------------------------------------------------- inputs


def _csvs_in(directory: Path, role: str) -> list[Path]:
    """Every CSV of a processing input folder, in name order (a split may be written in parts)."""
    files = sorted(p for p in directory.glob("*.csv") if p.is_file()) if directory.is_dir() else []
    if not files:
        raise EvaluationError(f"--{role}-dir {directory}: no .csv file found")
    return files


def read_split(directory: Path, role: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels (int 0/1) and features (float) of a header-less, label-first CSV (or its parts)."""
    files = _csvs_in(directory, role)
    path = files[0] if len(files) == 1 else directory
    try:
        frame = pd.concat([pd.read_csv(f, header=None) for f in files], ignore_index=True)
    except pd.errors.EmptyDataError as err:
        raise EvaluationError(f"{path}: the file is empty") from err
    if frame.shape[1] < 2 or frame.empty:
        raise EvaluationError(f"{path}: expected a label column and at least one feature column with rows")
    labels = frame.iloc[:, 0].to_numpy()
    values = set(np.unique(labels).tolist())
    if not values <= {0, 1}:
        raise EvaluationError(f"{path}: labels must be 0 or 1, found {sorted(values)[:10]}")
    values = {int(v) for v in values}  # a label written as 0.0 reads back as a float
    if len(values) < 2:
        raise EvaluationError(f"{path}: only label {values.pop()} present; AUC and recall need both classes")
    try:
        features = frame.iloc[:, 1:].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise EvaluationError(f"{path}: every feature must be numeric ({err})") from err
    return labels.astype(np.int64), features


def _model_bytes(archive: Path) -> bytes:
    """The ``xgboost-model`` member's bytes, read without extracting anything to disk."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and Path(member.name).name == MODEL_MEMBER:
                handle = tar.extractfile(member)
                if handle is not None:
                    return handle.read()
    raise EvaluationError(f"{archive}: no regular file named {MODEL_MEMBER!r} in the archive")


#: The PROTO opcode that begins every pickle of protocol 2 or later, as old containers wrote them.
_PICKLE_START = b"\x80"
_UNPICKLE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    ImportError,
    ValueError,
    TypeError,
    IndexError,
)


def load_booster(model_dir: Path) -> xgboost.Booster:
    """Load the container's artifact: XGBoost's own format, or a pickle from older containers.

    XGBoost containers up to 0.90 pickled the Booster; later ones use ``save_model``. Bytes that
    begin as a pickle does are unpickled first: XGBoost reads a pickled Booster as its legacy
    binary format before refusing it, which took 0.8 s for a 10-tree model. Either way, the
    other format is still tried when the first fails; the pickle comes from this pipeline's own
    training job.
    """
    archive = model_dir / MODEL_ARCHIVE
    if not archive.is_file():
        raise EvaluationError(f"--model-dir {model_dir}: no {MODEL_ARCHIVE}")
    data = _model_bytes(archive)
    loaders = {"native": _native_booster, "pickle": _unpickled_booster}
    order = ("pickle", "native") if data.startswith(_PICKLE_START) else ("native", "pickle")
    errors: dict[str, Exception] = {}
    for name in order:
        try:
            loaded = loaders[name](data)
        except (xgboost.core.XGBoostError, *_UNPICKLE_ERRORS) as err:
            LOG.info("%s load failed (%s)", name, str(err).splitlines()[0] if str(err) else err)
            errors[name] = err
            continue
        if not isinstance(loaded, xgboost.Booster):
            raise EvaluationError(
                f"{archive}: the pickled {MODEL_MEMBER} is a {type(loaded).__name__}, not a Booster"
            )
        return loaded
    raise EvaluationError(
        f"{archive}: {MODEL_MEMBER} is neither an XGBoost model nor a pickle ({errors['pickle']})"
    ) from errors[order[-1]]


def _native_booster(data: bytes) -> xgboost.Booster:
    booster = xgboost.Booster()
    # From memory: the buffer loader detects the format itself (no file-extension guessing).
    booster.load_model(bytearray(data))
    return booster


def _unpickled_booster(data: bytes) -> object:
    return pickle.loads(data)  # noqa: S301 (artifact of this pipeline's own training job)


def predict(booster: xgboost.Booster, features: np.ndarray, split: str = "the") -> np.ndarray:
    expected = booster.num_features()
    if features.shape[1] != expected:
        raise EvaluationError(f"the model expects {expected} features, the CSV has {features.shape[1]}")
    scores = np.asarray(booster.predict(xgboost.DMatrix(features)), dtype=np.float64)
    if not np.isfinite(scores).all():
        raise EvaluationError(
            f"the model predicted a NaN or infinite score for {split} split; nothing can be ranked by it"
        )
    return scores


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class ScoreCounts:
    """Distinct scores, highest first, with how many positives and negatives hold each.

    Every metric here (AUC, the precision-recall steps, the cut, the counts above a threshold)
    depends on the rows only through these counts. A bootstrap resample changes the counts, never
    the distinct scores it can hold, so it is counted into the test set's groups, sorted once,
    rather than sorted again for each of its 200 draws (3.3 of 3.6 s at 75,000 test rows).
    """

    scores: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray

    @classmethod
    def grouped(cls, labels: np.ndarray, scores: np.ndarray) -> tuple[ScoreCounts, np.ndarray]:
        """The counts, and each row's group (its index into ``scores``)."""
        order = np.argsort(-scores, kind="mergesort")
        sorted_scores = scores[order]
        # Compared, not subtracted: inf - inf is NaN, which would split equal infinities apart.
        first_of_group = np.r_[True, sorted_scores[1:] != sorted_scores[:-1]][: len(scores)]
        group = np.empty(len(scores), dtype=np.int64)
        group[order] = np.cumsum(first_of_group) - 1
        distinct = sorted_scores[first_of_group]
        counts = cls(
            distinct,
            np.bincount(group[labels == 1], minlength=len(distinct)),
            np.bincount(group[labels == 0], minlength=len(distinct)),
        )
        return counts, group

    @classmethod
    def of(cls, labels: np.ndarray, scores: np.ndarray) -> ScoreCounts:
        return cls.grouped(labels, scores)[0]

    def recounted(self, positives: np.ndarray, negatives: np.ndarray) -> ScoreCounts:
        """Other counts over these groups; groups left empty are dropped, as if never seen."""
        held = (positives + negatives) > 0
        return ScoreCounts(self.scores[held], positives[held], negatives[held])

    @property
    def total_positives(self) -> int:
        return int(self.positives.sum())

    @property
    def total_negatives(self) -> int:
        return int(self.negatives.sum())

    def cumulative(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct scores with the TP and FP counts when flagging every score >= each one."""
        return self.scores, np.cumsum(self.positives), np.cumsum(self.negatives)

    def above(self, threshold: float) -> dict[str, int]:
        """The confusion counts of ``score > threshold``."""
        flagged = self.scores > threshold
        tp, fp = int(self.positives[flagged].sum()), int(self.negatives[flagged].sum())
        return {"tn": self.total_negatives - fp, "fp": fp, "fn": self.total_positives - tp, "tp": tp}

    def auc(self) -> float:
        """ROC AUC by the Mann-Whitney rank formula; tied scores get their average rank (count 1/2).

        Ranks are half-integers and their sum stays far below 2**52, so the float sum is exact in
        any order: the same value as summing rank by rank over the rows.
        """
        positives, negatives = self.total_positives, self.total_negatives
        if positives == 0 or negatives == 0:
            raise EvaluationError("AUC needs at least one positive and one negative example")
        counts = (self.positives + self.negatives)[::-1]  # lowest score first: rank 1
        starts = np.cumsum(counts) - counts  # 0-based rank of each distinct score's first row
        average_rank = starts + (counts + 1) / 2.0  # 1-based average rank within the tie group
        rank_sum = float(np.sum(average_rank * self.positives[::-1]))
        return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)

    def average_precision(self) -> float:
        """Area under the step-wise precision-recall curve: sum of precision x recall increments."""
        _, true_positives, false_positives = self.cumulative()
        precision = true_positives / (true_positives + false_positives)
        recall = true_positives / max(self.total_positives, 1)
        return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def f_beta(true_positives: Any, false_positives: Any, false_negatives: Any, beta: float) -> Any:
    """F-beta from counts (scalars or arrays); 0 where nothing is predicted or present."""
    weight = 1.0 + beta * beta
    numerator = weight * np.asarray(true_positives, dtype=np.float64)
    denominator = numerator + beta * beta * np.asarray(false_negatives) + np.asarray(false_positives)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def choose_threshold(labels: np.ndarray, scores: np.ndarray, beta: float) -> float:
    """The cut between distinct validation scores that maximises F-beta.

    Rule: predict fraud when ``score > threshold``. Candidates are the midpoints between
    consecutive distinct scores, so the validation labels are the same whether a consumer applies
    ``>`` (Clarify) or ``>=``. Ties on F-beta go to the HIGHEST threshold: the same F-beta with
    fewer claims sent to review.
    """
    distinct, true_positives, false_positives = ScoreCounts.of(labels, scores).cumulative()
    if len(distinct) < 2:
        raise EvaluationError("every validation score is identical; no threshold separates anything")
    positives = int(np.sum(labels == 1))
    # Candidate k flags the top k+1 distinct scores: cut between distinct[k] and distinct[k+1].
    scores_f = f_beta(true_positives[:-1], false_positives[:-1], positives - true_positives[:-1], beta)
    # Equal counts give bit-identical F-beta; the tolerance only absorbs rounding between
    # mathematically equal values from different counts. First index = highest cut.
    best = int(np.flatnonzero(scores_f >= scores_f.max() - 1e-12)[0])
    return float((distinct[best] + distinct[best + 1]) / 2.0)


def _ratio(numerator: float, denominator: float) -> float:
    """A rate that is 0 when its denominator is empty (e.g. precision when nothing is flagged)."""
    return float(numerator) / float(denominator) if denominator else 0.0


def metrics_at(counts: ScoreCounts, threshold: float) -> dict[str, float]:
    """Every metric of :data:`POINT_METRICS` at ``score > threshold``."""
    c = counts.above(threshold)
    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
    return {
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "auc": counts.auc(),
        "f0_5": float(f_beta(tp, fp, fn, 0.5)),
        "f1": float(f_beta(tp, fp, fn, 1.0)),
        "f2": float(f_beta(tp, fp, fn, 2.0)),
        "false_negative_rate": _ratio(fn, tp + fn),
        "false_positive_rate": _ratio(fp, fp + tn),
        "pr_auc": counts.average_precision(),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "true_negative_rate": _ratio(tn, fp + tn),
        "true_positive_rate": _ratio(tp, tp + fn),
    }


def bootstrap_draws(
    labels: np.ndarray, scores: np.ndarray, threshold: float, resamples: int, seed: int
) -> dict[str, np.ndarray]:
    """Each point metric over stratified bootstrap resamples of the test set.

    Resampling within each class keeps both classes in every resample, so no resample has an
    undefined AUC; ``RandomState(seed)`` makes the result identical run to run. A resample is
    counted into the test set's score groups (:class:`ScoreCounts`): the same metrics as
    :func:`metrics_at` of the resampled rows' own counts, bit for bit.
    """
    rng = np.random.RandomState(seed)
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    counts, group = ScoreCounts.grouped(labels, scores)
    size = len(counts.scores)
    draws: dict[str, list[float]] = {name: [] for name in POINT_METRICS}
    for _ in range(resamples):
        drawn_positives = rng.choice(positives, len(positives))
        drawn_negatives = rng.choice(negatives, len(negatives))
        resample = counts.recounted(
            np.bincount(group[drawn_positives], minlength=size),
            np.bincount(group[drawn_negatives], minlength=size),
        )
        for name, value in metrics_at(resample, threshold).items():
            draws[name].append(value)
    return {name: np.asarray(values, dtype=np.float64) for name, values in draws.items()}


def bootstrap_std(
    labels: np.ndarray, scores: np.ndarray, threshold: float, resamples: int, seed: int
) -> dict[str, float]:
    """Standard deviation of each point metric over :func:`bootstrap_draws`."""
    draws = bootstrap_draws(labels, scores, threshold, resamples, seed)
    return {name: float(np.std(values, ddof=1)) for name, values in draws.items()}


#: The normal quantile of a two-sided 95% interval.
Z_95 = 1.959963984540054
#: Which counts each proportion is (successes, trials), from the confusion matrix.
PROPORTIONS = {
    "accuracy": (("tp", "tn"), ("tp", "tn", "fp", "fn")),
    "false_negative_rate": (("fn",), ("tp", "fn")),
    "false_positive_rate": (("fp",), ("fp", "tn")),
    "precision": (("tp",), ("tp", "fp")),
    "recall": (("tp",), ("tp", "fn")),
    "true_negative_rate": (("tn",), ("fp", "tn")),
    "true_positive_rate": (("tp",), ("tp", "fn")),
}


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``(0, 1)`` when there are no trials (no information).

    Examples
    --------
    >>> [round(x, 3) for x in wilson_interval(7, 10)]
    [0.397, 0.892]
    """
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1.0 + z * z / trials
    center = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def hanley_mcneil_interval(
    value: float, positives: int, negatives: int, z: float = Z_95
) -> tuple[float, float]:
    """95% interval of an AUC from its standard error by Hanley & McNeil (Radiology, 1982)."""
    q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
    variance = (
        value * (1 - value) + (positives - 1) * (q1 - value * value) + (negatives - 1) * (q2 - value * value)
    ) / (positives * negatives)
    half = z * math.sqrt(max(variance, 0.0))
    return max(0.0, value - half), min(1.0, value + half)


def intervals(
    counts: dict[str, int], values: dict[str, float], draws: dict[str, np.ndarray]
) -> dict[str, dict[str, Any]]:
    """A 95% interval per point metric, with the method that gave it."""
    out = {}
    for name in POINT_METRICS:
        if name in PROPORTIONS:
            hits, trials = PROPORTIONS[name]
            low, high = wilson_interval(sum(counts[k] for k in hits), sum(counts[k] for k in trials))
            method = "wilson"
        elif name == "auc":
            positives, negatives = counts["tp"] + counts["fn"], counts["tn"] + counts["fp"]
            low, high = hanley_mcneil_interval(values["auc"], positives, negatives)
            method = "hanley_mcneil"
        else:
            low, high = (float(np.percentile(draws[name], q)) for q in (2.5, 97.5))
            method = "bootstrap_percentile"
        out[name] = {"lower": low, "upper": high, "level": 0.95, "method": method}
    return out


def curve_points(count: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Evenly spaced indices into a curve of ``count`` points, both ends kept, at most ``limit``."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.round(np.linspace(0, count - 1, limit)).astype(np.int64))


def curves(counts: ScoreCounts) -> dict[str, dict[str, list[float]]]:
    """ROC from (0, 0) to (1, 1) and precision-recall from recall 0 (precision 1), downsampled."""
    _, true_positives, false_positives = counts.cumulative()
    positives, negatives = counts.total_positives, counts.total_negatives
    tpr = np.r_[0.0, true_positives / positives]
    fpr = np.r_[0.0, false_positives / negatives]
    precision = np.r_[1.0, true_positives / (true_positives + false_positives)]
    roc_rows, pr_rows = curve_points(len(tpr)), curve_points(len(precision))

    def rounded(values: np.ndarray) -> list[float]:
        return [round(float(v), 6) for v in values]

    return {
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": rounded(fpr[roc_rows]),
            "true_positive_rates": rounded(tpr[roc_rows]),
        },
        "precision_recall_curve": {
            "precisions": rounded(precision[pr_rows]),
            "recalls": rounded(tpr[pr_rows]),
        },
    }


def build_report(
    validation: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    *,
    beta: float,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """The ``evaluation.json`` document from (labels, scores) of the validation and test splits."""
    threshold = choose_threshold(validation[0], validation[1], beta)
    labels, scores = test
    counts = ScoreCounts.of(labels, scores)
    values = metrics_at(counts, threshold)
    draws = bootstrap_draws(labels, scores, threshold, resamples, seed)
    c = counts.above(threshold)
    bounds = intervals(c, values, draws)
    metrics: dict[str, Any] = {
        name: {
            "value": values[name],
            "standard_deviation": float(np.std(draws[name], ddof=1)),
            "confidence_interval": bounds[name],
        }
        for name in POINT_METRICS
    }
    metrics["confusion_matrix"] = {"0": {"0": c["tn"], "1": c["fp"]}, "1": {"0": c["fn"], "1": c["tp"]}}
    metrics.update(curves(counts))
    report = {
        "binary_classification_metrics": metrics,
        "decision_threshold": {
            "value": threshold,
            "selected_on": "validation",
            "rule": f"max F{beta:g} over cuts between distinct validation scores; fraud if score > value",
        },
        "dataset": {
            "test_rows": len(labels),
            "test_positives": int(np.sum(labels == 1)),
            "test_negatives": int(np.sum(labels == 0)),
            "test_positive_rate": float(np.mean(labels)),
            "validation_rows": len(validation[0]),
            "validation_positive_rate": float(np.mean(validation[0])),
        },
    }
    _check_finite(report, "evaluation")
    return report


def _check_finite(value: Any, path: str) -> None:
    """JSON has no NaN/Infinity; a non-finite number here is a bug, never something to write."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(item, f"{path}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise EvaluationError(f"{path} is {value}; refusing to write a non-finite metric")


# --------------------------------------------------------------------------- main


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _resamples(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text}: a standard deviation needs at least 2 resamples")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--validation-dir", type=Path, default=Path("/opt/ml/processing/validation"))
    parser.add_argument("--test-dir", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--beta", type=_positive_float, default=2.0, help="F-beta weight of recall")
    parser.add_argument("--bootstrap", type=_resamples, default=200, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def _with_interval(metric: dict[str, Any]) -> str:
    """``0.7037 [0.5173, 0.8415]`` for the log."""
    bounds = metric["confidence_interval"]
    return f"{metric['value']:.4f} [{bounds['lower']:.4f}, {bounds['upper']:.4f}]"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        booster = load_booster(args.model_dir)
        validation_labels, validation_features = read_split(args.validation_dir, "validation")
        test_labels, test_features = read_split(args.test_dir, "test")
        report = build_report(
            (validation_labels, predict(booster, validation_features, "the validation")),
            (test_labels, predict(booster, test_features, "the test")),
            beta=args.beta,
            resamples=args.bootstrap,
            seed=args.seed,
        )
    except EvaluationError as err:
        LOG.error("FraudEvalBestModel failed: %s", err)
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / EVALUATION_FILE
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    metrics = report["binary_classification_metrics"]
    LOG.info(
        "threshold %.4f (validation); on %d test frauds: AUC %s, recall %s, precision %s -> %s",
        report["decision_threshold"]["value"],
        report["dataset"]["test_positives"],
        *(_with_interval(metrics[name]) for name in ("auc", "recall", "precision")),
        path,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
