"""The local run's heaviest steps against the bare library calls they cannot avoid.

Each round is one local run (``python -m pipeline_def.local run --quiet``, fresh process), whose
run.json gives each step's seconds, followed at once by the bare calls, each in a fresh process, on the
very files that run read and wrote; the ratio is taken round by round (paired, as the machine's
speed drifts by a quarter between minutes) and the median of the rounds is reported:

- FraudHyperParameterTuning against bare ``xgb.train``: the same trials (the definition's ranges,
  budget and seed, sampled by the emulator's own function), the same static hyperparameters and
  threads, one DMatrix per channel, nothing else: no CSV reading, no model artifacts.
- FraudDataProcess against DuckDB running the very SQL the step ran (its ``dataset.json`` keeps
  it) over views of the offline store, into pandas through Arrow, and the step's own writer
  (``preprocess.write_csv``) writing its three splits: the library calls the step makes. What
  the step adds is its glue: the column checks, the split, the headered test copy, the metadata,
  and the job's start in a fork. Two references, timed in the same round: plain reads of both
  tables instead of the point-in-time SQL (what that SQL costs: its window, join and sort), and
  ``DataFrame.to_csv`` instead of the step's writer.
- FraudEvalBestModel against the library route to the same numbers: pandas reads both splits,
  xgboost predicts them, and ``sklearn.metrics`` computes the test metrics and each of the 200
  stratified bootstrap resamples (the step's default), its AUC checked against the step's. A
  reference row times the reads and predictions alone: what the statistics add.

Prints a Markdown section; writes no file. Issue 15's goal: each step within 1.2x.

Usage::

    .venv/bin/python -m bench.bench_steps [--rows 500000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import xgboost as xgb

from pipeline_def.config import load_environment, read_context
from pipeline_def.local.athena import DuckDBEngine
from pipeline_def.local.distributed import read_csv_files
from pipeline_def.local.jobs import early_stopping, index_seed, sample_ranges, train_params
from pipeline_def.local.offline_store import CATALOG_FILE
from pipeline_def.scripts import evaluate, preprocess

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.2
TUNING, DATA, EVALUATION = "FraudHyperParameterTuning", "FraudDataProcess", "FraudEvalBestModel"
#: The evaluation step's bootstrap: its default resamples and seed (evaluate.py's options).
RESAMPLES, SEED = 200, 42


def local_run(rows: int, workdir: Path) -> dict:
    command = [sys.executable, "-m", "pipeline_def.local", "run", "--rows", str(rows)]
    command += ["--workdir", str(workdir), "--quiet"]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return json.loads((workdir / "run.json").read_text(encoding="utf-8"))


def tuning_step(workdir: Path) -> dict:
    definition = json.loads((workdir / "definition.json").read_text(encoding="utf-8"))
    (step,) = [s for s in definition["Steps"] if s["Name"] == TUNING]
    return step["Arguments"]


def bare_tuning(workdir: Path, budget: int) -> float:
    """xgb.train for every trial the step ran, on DMatrices built once (CSV reading untimed)."""
    arguments = tuning_step(workdir)
    static = arguments["TrainingJobDefinition"].get("StaticHyperParameters", {})
    ranges = arguments["HyperParameterTuningJobConfig"]["ParameterRanges"]
    outputs = workdir / "jobs" / DATA / "processing" / "output"
    channels = {
        name: read_csv_files(sorted((outputs / name).glob("*.csv"))) for name in ("train", "validation")
    }
    threads = os.cpu_count() or 1
    started = time.perf_counter()
    train, validation = xgb.DMatrix(*channels["train"]), xgb.DMatrix(*channels["validation"])
    for candidate in sample_ranges(ranges, budget, seed=index_seed(TUNING)):
        hyperparameters = {**static, **candidate}
        xgb.train(
            train_params(hyperparameters, threads),
            train,
            num_boost_round=int(hyperparameters.get("num_round", 100)),
            evals=[(validation, "validation")],
            early_stopping_rounds=early_stopping(hyperparameters),
            verbose_eval=False,
        )
    return time.perf_counter() - started


Reader = Callable[[DuckDBEngine, Path], object]
Writer = Callable[[pd.DataFrame, Path], None]


def bare_data(workdir: Path, read: Reader, write: Writer) -> float:
    """Athena's local stand-in over the offline store, ``read`` into pandas, ``write`` the three splits.

    The engine is what the step is handed: DuckDB views of the catalog, results through Arrow into
    pandas. It is the step's query route, not the step's own work.
    """
    catalog = workdir / "s3" / "local-offline-store" / CATALOG_FILE
    outputs = workdir / "jobs" / DATA / "processing" / "output"
    splits = {
        name: pd.concat([pd.read_csv(f, header=None) for f in _split_files(outputs, name)], ignore_index=True)
        for name in ("train", "validation", "test")
    }
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        read(DuckDBEngine.from_catalog_file(catalog), outputs)
        for name, frame in splits.items():
            write(frame, Path(tmp) / f"{name}.csv")
        return time.perf_counter() - started


def the_steps_query(engine: DuckDBEngine, outputs: Path) -> object:
    """The SQL the step ran, as it recorded it in dataset.json."""
    recorded = json.loads((outputs / "metadata" / "dataset.json").read_text(encoding="utf-8"))
    return engine.run(recorded["query"])


def plain_reads(engine: DuckDBEngine, outputs: Path) -> object:
    """Both tables as they are: no point-in-time window, join or sort."""
    tables = ['"{}"."{}"'.format(*qualified.split(".")) for qualified in engine.views]
    return [engine.run(f"SELECT * FROM {table}") for table in tables]  # noqa: S608 (the run's own catalog)


def _split_files(outputs: Path, name: str) -> list[Path]:
    """Every part file of a split, in name order (the split's row order); one unless it is sharded."""
    files = sorted((outputs / name).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files of the {name} split under {outputs / name}")
    return files


def with_the_steps_writer(frame: pd.DataFrame, path: Path) -> None:
    preprocess.write_csv(frame, path, header=False)


def with_to_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, header=False, index=False)


def _predicted_splits(job: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Labels and scores of both splits: the model read by the step's loader, each split from its CSVs."""
    booster = evaluate.load_booster(job / "model")
    splits = {}
    for name in ("validation", "test"):
        frame = pd.concat([pd.read_csv(f, header=None) for f in _split_files(job, name)], ignore_index=True)
        labels = frame.iloc[:, 0].to_numpy(dtype=np.int64)
        scores = booster.predict(xgb.DMatrix(frame.iloc[:, 1:].to_numpy(dtype=np.float64)))
        splits[name] = (labels, scores.astype(np.float64))  # as the step widens them
    return splits


def _stratified_resamples(labels: np.ndarray, count: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.RandomState(seed)
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    for _ in range(count):
        yield np.r_[rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))]


def bare_evaluation(workdir: Path, _budget: int, *, with_metrics: bool = True) -> float:
    """Reads and predictions, then (``with_metrics``) every metric through sklearn, resample by resample.

    sklearn is imported here: only this bare measurement needs it (from .bench-deps).
    """
    from sklearn.metrics import (
        average_precision_score,
        confusion_matrix,
        precision_recall_curve,
        roc_auc_score,
    )

    job = workdir / "jobs" / EVALUATION / "processing"
    started = time.perf_counter()
    splits = _predicted_splits(job)
    if not with_metrics:
        return time.perf_counter() - started
    # The step's rule: the F2-best cut between consecutive distinct validation scores, the highest
    # on a tie, at their midpoint. sklearn's cuts ascend and flag ``score >= cut``.
    precision, recall, cuts = precision_recall_curve(*splits["validation"])
    f2 = (5 * precision * recall / np.maximum(4 * precision + recall, np.finfo(float).tiny))[1 : len(cuts)]
    best = 1 + int(np.flatnonzero(f2 >= f2.max() - 1e-12)[-1])
    threshold = float((cuts[best - 1] + cuts[best]) / 2.0)
    labels, scores = splits["test"]
    for rows in [np.arange(len(labels)), *_stratified_resamples(labels, RESAMPLES, SEED)]:
        roc_auc_score(labels[rows], scores[rows])
        average_precision_score(labels[rows], scores[rows])
        confusion_matrix(labels[rows], scores[rows] > threshold, labels=[0, 1])
    seconds = time.perf_counter() - started
    flagged = scores > threshold
    _check_same_evaluation(job, threshold, roc_auc_score(labels, scores), confusion_matrix(labels, flagged))
    return seconds


def _check_same_evaluation(job: Path, threshold: float, auc: float, confusion: np.ndarray) -> None:
    """The library route must reach the step's numbers, or its time compares different work."""
    reported = json.loads((job / "evaluation" / "evaluation.json").read_text(encoding="utf-8"))
    metrics = reported["binary_classification_metrics"]
    matrix = metrics["confusion_matrix"]
    expected = [[matrix["0"]["0"], matrix["0"]["1"]], [matrix["1"]["0"], matrix["1"]["1"]]]
    checks = {
        "threshold": math.isclose(threshold, reported["decision_threshold"]["value"], abs_tol=1e-12),
        "AUC": math.isclose(auc, metrics["auc"]["value"], abs_tol=1e-9),
        "confusion matrix": confusion.tolist() == expected,
    }
    differing = [name for name, same in checks.items() if not same]
    if differing:
        raise RuntimeError(f"the sklearn route's {', '.join(differing)} differ from {job}'s evaluation.json")


@dataclass(frozen=True)
class Round:
    """One local run's step seconds and the bare calls timed right after it."""

    tuning: float
    bare_tuning: float
    data: float
    bare_data: float
    bare_data_plain_reads: float
    bare_data_to_csv: float
    evaluation: float
    bare_evaluation: float
    bare_evaluation_predictions: float


#: The bare calls, each timed in a fresh process by ``--bare KIND``.
BARE: dict[str, Callable[[Path, int], float]] = {
    "tuning": bare_tuning,
    "data": lambda workdir, _: bare_data(workdir, the_steps_query, with_the_steps_writer),
    "data-plain-reads": lambda workdir, _: bare_data(workdir, plain_reads, with_the_steps_writer),
    "data-to-csv": lambda workdir, _: bare_data(workdir, the_steps_query, with_to_csv),
    "evaluation": bare_evaluation,
    "evaluation-predictions": lambda workdir, budget: bare_evaluation(workdir, budget, with_metrics=False),
}


def fresh_process(kind: str, workdir: Path, budget: int) -> float:
    """Seconds of one bare measurement in a new interpreter, its imports done before the clock starts.

    Each step runs in a fresh process too (the job's fork, its libraries imported): the first
    DuckDB query and the first large allocations of a process are slower, by 0.4 s at 500k, so
    timing the bare calls in this long-lived process favoured them from the second round on.
    """
    command = [sys.executable, "-m", "bench.bench_steps", "--bare", kind, "--workdir", str(workdir)]
    command += ["--budget", str(budget)]
    finished = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"bare {kind} on {workdir} exited with {finished.returncode}:\n{finished.stderr}")
    return float(finished.stdout.strip().splitlines()[-1])


def one_round(rows: int, budget: int) -> Round:
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
        workdir = Path(tmp) / "run"
        seconds = {s["name"]: s["seconds"] for s in local_run(rows, workdir)["steps"]}
        return Round(
            tuning=seconds[TUNING],
            bare_tuning=fresh_process("tuning", workdir, budget),
            data=seconds[DATA],
            bare_data=fresh_process("data", workdir, budget),
            bare_data_plain_reads=fresh_process("data-plain-reads", workdir, budget),
            bare_data_to_csv=fresh_process("data-to-csv", workdir, budget),
            evaluation=seconds[EVALUATION],
            bare_evaluation=fresh_process("evaluation", workdir, budget),
            bare_evaluation_predictions=fresh_process("evaluation-predictions", workdir, budget),
        )


def _row(step: str, bare_calls: str, rounds: list[Round], step_of: str, bare_of: str) -> str:
    steps = [getattr(r, step_of) for r in rounds]
    bares = [getattr(r, bare_of) for r in rounds]
    ratios = [a / b for a, b in zip(steps, bares, strict=True)]
    each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    return (
        f"| {step} | {statistics.median(steps):.2f} | {bare_calls} | {statistics.median(bares):.2f} | "
        f"{each} | **{statistics.median(ratios):.2f}x** |"
    )


def report(rows: int, rounds: list[Round]) -> str:
    lines = [
        "## The heaviest steps vs their bare library calls",
        "",
        f"Command: `python -m bench.bench_steps --rows {rows} --repeats {len(rounds)}`  ",
        f"Machine: `os.cpu_count()` = {os.cpu_count()}; xgboost {xgb.__version__}, pandas {pd.__version__}, "
        f"duckdb {duckdb.__version__}, scikit-learn {_sklearn_version()}  ",
        f"{len(rounds)} rounds, each a local run (fresh process) for the step times and the bare calls "
        "right after it on the same files, each in a fresh process after its imports, as the step's "
        "job runs; the ratio is taken round by round, and the medians are "
        f"shown. Goal (issue 15): each step within {GOAL}x.",
        "",
        "| step | step (s) | bare library calls | bare (s) | step / bare by round | median |",
        "| --- | ---: | --- | ---: | --- | ---: |",
        _row(TUNING, "xgb.train per trial, one DMatrix per channel", rounds, "tuning", "bare_tuning"),
        _row(
            DATA,
            "DuckDB runs the step's SQL, the step's writer writes the splits",
            rounds,
            "data",
            "bare_data",
        ),
        _row(
            f"{DATA} (reference)",
            "DuckDB reads both tables (no point-in-time SQL), the step's writer",
            rounds,
            "data",
            "bare_data_plain_reads",
        ),
        _row(
            f"{DATA} (reference)",
            "DuckDB runs the step's SQL, to_csv writes the splits",
            rounds,
            "data",
            "bare_data_to_csv",
        ),
        _row(
            EVALUATION,
            f"pandas reads both splits, xgboost predicts, sklearn.metrics on test and {RESAMPLES} resamples",
            rounds,
            "evaluation",
            "bare_evaluation",
        ),
        _row(
            f"{EVALUATION} (reference)",
            "pandas reads both splits, xgboost predicts (no metrics)",
            rounds,
            "evaluation",
            "bare_evaluation_predictions",
        ),
    ]
    return "\n".join(lines)


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3, help="rounds (local run + bare calls)")
    parser.add_argument("--bare", choices=sorted(BARE), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:  # one measurement, in the fresh process fresh_process started
        if args.workdir is None or args.budget is None:
            parser.error("--bare needs --workdir and --budget")
        print(f"{BARE[args.bare](args.workdir, args.budget):.6f}")
        return 0
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    budget = load_environment(read_context(), "dev").pipeline.max_tuning_jobs
    rounds = []
    for number in range(1, args.repeats + 1):
        rounds.append(one_round(args.rows, budget))
        print(f"  round {number}/{args.repeats}: {rounds[-1]}", file=sys.stderr, flush=True)
    print(report(args.rows, rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
