"""The local run's two heaviest steps against the bare library calls they cannot avoid.

Each round is one local run (``python -m pipeline_def.local run --quiet``, fresh process), whose
run.json gives each step's seconds, followed at once, in this process, by the bare calls on the
very files that run read and wrote; the ratio is taken round by round (paired, as the machine's
speed drifts by a quarter between minutes) and the median of the rounds is reported:

- FraudHyperParameterTuning against bare ``xgb.train``: the same trials (the definition's ranges,
  budget and seed, sampled by the emulator's own function), the same static hyperparameters and
  threads, one DMatrix per channel, nothing else: no CSV reading, no model artifacts.
- FraudDataProcess against reading its two offline-store tables with DuckDB into pandas (through
  Arrow, the faster route the local engine takes too) and
  writing its three split CSVs with the step's own writer (``preprocess.write_csv``: numpy's text
  of each value, written by pyarrow): the query, de-duplication, join, split, checks and the
  headered test copy are what the step adds. The same reads with ``DataFrame.to_csv`` writes,
  the step's writer until this bench showed it, are timed too, for reference.

Prints a Markdown section; writes no file. Issue 15's goal: each step within 1.2x.

Usage::

    .venv/bin/python -m bench.bench_steps [--rows 500000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import xgboost as xgb

from pipeline_def.config import load_environment, read_context
from pipeline_def.local.distributed import read_csv_files
from pipeline_def.local.jobs import early_stopping, index_seed, sample_ranges, train_params
from pipeline_def.scripts import preprocess

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.2
TUNING, DATA = "FraudHyperParameterTuning", "FraudDataProcess"


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


def bare_data(workdir: Path, write: Callable[[pd.DataFrame, Path], None]) -> float:
    """DuckDB reads both offline-store tables into pandas; ``write`` writes the step's three splits."""
    tables = sorted((workdir / "s3" / "local-offline-store").glob("*/sagemaker/*/offline-store/*"))
    outputs = workdir / "jobs" / DATA / "processing" / "output"
    splits = {
        name: pd.read_csv(_split_file(outputs, name), header=None) for name in ("train", "validation", "test")
    }
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        for table in tables:  # DuckDB to pandas through Arrow, the local engine's own route
            duckdb.read_parquet(f"{table}/**/*.parquet").to_arrow_table().to_pandas()
        for name, frame in splits.items():
            write(frame, Path(tmp) / f"{name}.csv")
        return time.perf_counter() - started


def _split_file(outputs: Path, name: str) -> Path:
    return next((outputs / name).glob("*.csv"))


def with_the_steps_writer(frame: pd.DataFrame, path: Path) -> None:
    preprocess.write_csv(frame, path, header=False)


def with_to_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, header=False, index=False)


@dataclass(frozen=True)
class Round:
    """One local run's step seconds and the bare calls timed right after it."""

    tuning: float
    bare_tuning: float
    data: float
    bare_data: float
    bare_data_to_csv: float


def one_round(rows: int, budget: int) -> Round:
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
        workdir = Path(tmp) / "run"
        seconds = {s["name"]: s["seconds"] for s in local_run(rows, workdir)["steps"]}
        return Round(
            tuning=seconds[TUNING],
            bare_tuning=bare_tuning(workdir, budget),
            data=seconds[DATA],
            bare_data=bare_data(workdir, with_the_steps_writer),
            bare_data_to_csv=bare_data(workdir, with_to_csv),
        )


def _row(step: str, bare_calls: str, rounds: list[Round], step_of: str, bare_of: str) -> str:
    steps = [getattr(r, step_of) for r in rounds]
    bares = [getattr(r, bare_of) for r in rounds]
    ratios = [a / b for a, b in zip(steps, bares, strict=True)]
    each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    return (
        f"| {step} | {statistics.median(steps):.1f} | {bare_calls} | {statistics.median(bares):.1f} | "
        f"{each} | **{statistics.median(ratios):.2f}x** |"
    )


def report(rows: int, rounds: list[Round]) -> str:
    lines = [
        "## The heaviest steps vs their bare library calls",
        "",
        f"Command: `python -m bench.bench_steps --rows {rows} --repeats {len(rounds)}`  ",
        f"Machine: `os.cpu_count()` = {os.cpu_count()}; xgboost {xgb.__version__}, pandas {pd.__version__}, "
        f"duckdb {duckdb.__version__}  ",
        f"{len(rounds)} rounds, each a local run (fresh process) for the step times and the bare calls "
        "right after it on the same files; the ratio is taken round by round, and the medians are "
        f"shown. Goal (issue 15): each step within {GOAL}x.",
        "",
        "| step | step (s) | bare library calls | bare (s) | step / bare by round | median |",
        "| --- | ---: | --- | ---: | --- | ---: |",
        _row(TUNING, "xgb.train per trial, one DMatrix per channel", rounds, "tuning", "bare_tuning"),
        _row(
            DATA, "DuckDB reads both tables, the step's writer writes the splits", rounds, "data", "bare_data"
        ),
        _row(
            f"{DATA} (reference)",
            "DuckDB reads both tables, to_csv writes the splits",
            rounds,
            "data",
            "bare_data_to_csv",
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3, help="rounds (local run + bare calls)")
    args = parser.parse_args(argv)
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
