"""Benchmark the local run: wall time per data size and the share of each step.

The baseline is the smallest size, measured in the same run: the table shows how time grows
against rows (about linear is the goal), so the ratios survive a slower or busier machine.
Each size runs in a fresh subprocess (``python -m pipeline_def.local run --quiet``) so imports
and caches count as they do for a user: the definition comes from the definition cache (warm
after the first run, as while ``pipeline_def/`` is unchanged); the smallest size is also run
with ``PIPELINE_DEF_CACHE=off``, rendering the definition (the first run after an edit). Each
is set against its floor: the libraries that run imports (the SageMaker SDK only where the
definition is rendered) and one model trained, in a fresh process. Prints a Markdown section.

Usage: ``python -m bench.bench_local_run [--sizes 5000 50000 500000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(rows: int, workdir: Path, env: dict[str, str] | None = None) -> tuple[float, dict]:
    command = [
        sys.executable,
        "-m",
        "pipeline_def.local",
        "run",
        "--rows",
        str(rows),
        "--workdir",
        str(workdir),
        "--quiet",
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    return seconds, json.loads((workdir / "run.json").read_text())


def measure(rows: int, repeats: int, env: dict[str, str] | None = None) -> tuple[float, dict]:
    """Median wall time of ``repeats`` runs, and the run.json of the median run."""
    results = []
    for attempt in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, summary = one_run(rows, Path(tmp) / "run", env)
        print(f"  {rows:,} rows, run {attempt + 1}/{repeats}: {seconds:.1f}s", file=sys.stderr, flush=True)
        results.append((seconds, summary))
    results.sort(key=lambda item: item[0])
    return results[len(results) // 2]


#: The floor of a local run (issue 15): a fresh process that imports what the run needs and
#: trains one model with the definition's static hyperparameters on the run's train split size.
FLOOR_CODE = """
import sys
import numpy as np, pandas, duckdb, boto3, moto, xgboost as xgb
if sys.argv[2] == "with-sdk":
    import sagemaker
rows = int(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.normal(size=(rows, 45)).astype(np.float32)
y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=rows) > 2.0).astype(np.float32)
cut = int(rows * 0.7 / 0.85)
params = {"objective": "binary:logistic", "eval_metric": "auc", "tree_method": "hist", "seed": 0}
xgb.train(params, xgb.DMatrix(x[:cut], y[:cut]), num_boost_round=300,
          evals=[(xgb.DMatrix(x[cut:], y[cut:]), "validation")], early_stopping_rounds=20, verbose_eval=False)
"""


def floor(rows: int, repeats: int, sdk: bool) -> float:
    """Median wall time of the floor at ``rows`` policies (train + validation: 85 % of them)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        command = [sys.executable, "-c", FLOOR_CODE, str(int(rows * 0.85)), "with-sdk" if sdk else "-"]
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def step_shares(summary: dict) -> dict[str, float]:
    total = sum(s["seconds"] for s in summary["steps"]) or 1.0
    return {s["name"]: s["seconds"] / total for s in summary["steps"] if s["status"] != "NotRun"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000, 500000])
    parser.add_argument("--repeats", type=int, default=3, help="runs at the smallest size (others: 1)")
    args = parser.parse_args(argv)
    measured = {rows: measure(rows, args.repeats if i == 0 else 1) for i, rows in enumerate(args.sizes)}
    base_rows = args.sizes[0]
    base_seconds = measured[base_rows][0]
    rendering = {**os.environ, "PIPELINE_DEF_CACHE": "off"}
    rendered_seconds = measure(base_rows, args.repeats, rendering)[0]
    floor_seconds = floor(base_rows, args.repeats, sdk=False)
    floor_sdk_seconds = floor(base_rows, args.repeats, sdk=True)
    print("## Local run (the embedded default)\n")
    print(
        f"Command: `python -m bench.bench_local_run --sizes {' '.join(map(str, args.sizes))} "
        f"--repeats {args.repeats}`  "
    )
    print(f"Machine: `os.cpu_count()` = {os.cpu_count()}  ")
    print(
        f"Median of {args.repeats} runs at {base_rows:,} policies, 1 run at each larger size; baseline = the "
        f"{base_rows:,}-policy run. Goals: 5k ≤ 30 s, 500k ≤ 5 min, growth about linear.\n"
    )
    print("| policies | wall time | vs baseline | rows ratio | decision |")
    print("| ---: | ---: | ---: | ---: | --- |")
    for rows, (seconds, summary) in measured.items():
        decision = (summary.get("approval") or {}).get("status", summary["status"])
        growth = seconds / base_seconds
        print(f"| {rows:,} | {seconds:.1f} s | {growth:.2f}x | {rows / base_rows:.0f}x | {decision} |")
    print(
        f"\nFloor at {base_rows:,} policies (median of {args.repeats}, fresh process): import pandas, numpy, "
        "xgboost, duckdb, boto3 and moto, then train one model with the definition's static "
        f"hyperparameters on 85 % of the rows: {floor_seconds:.1f} s; with the SageMaker SDK imported "
        f"too: {floor_sdk_seconds:.1f} s. Goal: the run within 2x its floor.\n"
    )
    print(f"| run at {base_rows:,} policies | wall time | its floor | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| definition from the cache (no SDK import) | {base_seconds:.1f} s | {floor_seconds:.1f} s "
        f"| **{base_seconds / floor_seconds:.1f}x** |"
    )
    print(
        f"| definition rendered (`PIPELINE_DEF_CACHE=off`) | {rendered_seconds:.1f} s "
        f"| {floor_sdk_seconds:.1f} s (with the SDK) | **{rendered_seconds / floor_sdk_seconds:.1f}x** |"
    )
    names = list(step_shares(measured[args.sizes[-1]][1]))
    print("\nShare of step time per size (sum of step seconds = 100 %):\n")
    print("| step | " + " | ".join(f"{r:,}" for r in args.sizes) + " |")
    print("| --- |" + " ---: |" * len(args.sizes))
    for name in names:
        cells = [f"{step_shares(measured[r][1]).get(name, 0.0):.0%}" for r in args.sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
