"""Benchmark step 7 (``bias_shap.py``) at test-split sizes against its two baselines.

* the bare ``Booster.predict(pred_contribs=True)`` on the same model and rows: what the job
  costs beyond the SHAP arithmetic itself (reading the CSV, every bias metric, the out.csv);
* KernelSHAP at shap's default budget (2M+2048 coalitions per row, Clarify's algorithm): timed
  on a small slice and scaled to the same rows, because at these sizes it would run for hours.

Everything is timed in this one process (medians of ``--repeats``), after a warm-up of each
call, so the ratios compare like with like on a noisy machine. The job is timed with
``--max-shap-rows`` equal to the rows (SHAP on every row, like the bare call) and with the
default cap (what the pipeline runs).

Usage: ``python -m bench.bench_bias_job [--sizes 50000 500000] [--repeats 3]``, from the
repository root.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from pipeline_def.data import synthetic
from pipeline_def.schema import CLAIMS, LABEL, SENSITIVE_FACET, dataset_columns
from pipeline_def.scripts import bias_shap

TREES, DEPTH = 150, 5
KERNEL_SLICE = 20


def _dataset(rows: int, seed: int) -> pd.DataFrame:
    claims, customers = synthetic.generate(rows, seed=seed)
    joined = claims.merge(customers, on=CLAIMS.record_identifier, suffixes=("", "_c"))
    return joined[list(dataset_columns())]


def _model(frame: pd.DataFrame) -> xgb.Booster:
    features = frame.drop(columns=[LABEL]).to_numpy(dtype=np.float32)
    params = {"objective": "binary:logistic", "eta": 0.1, "max_depth": DEPTH, "seed": 0}
    params["nthread"] = os.cpu_count() or 1
    return xgb.train(params, xgb.DMatrix(features, label=frame[LABEL].to_numpy()), num_boost_round=TREES)


def _config(frame: pd.DataFrame) -> dict:
    """The analysis config FraudClarifyConfig writes, with the pipeline's facet and group."""
    baseline = frame.drop(columns=[LABEL]).median().tolist()
    return {
        "dataset_type": "text/csv",
        "label": LABEL,
        "label_values_or_threshold": [0],
        "facet": [{"name_or_index": SENSITIVE_FACET, "value_or_threshold": [1]}],
        "group_variable": "customer_education",
        "probability_threshold": 0.1,
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": "all"},
            "shap": {"baseline": [baseline], "num_samples": 100, "agg_method": "mean_abs", "use_logit": True},
        },
    }


def _write_case(root: Path, frame: pd.DataFrame, booster: xgb.Booster) -> bias_shap.Inputs:
    frame.to_csv(root / "test_with_header.csv", index=False)
    scores = booster.predict(xgb.DMatrix(frame.drop(columns=[LABEL]).to_numpy(dtype=np.float32)))
    np.savetxt(root / "test.csv.out", scores, fmt="%.9g")
    (root / "analysis_config.json").write_text(json.dumps(_config(frame)), encoding="utf-8")
    booster.save_model(root / "xgboost-model")
    return bias_shap.Inputs(
        root / "analysis_config.json",
        root / "test_with_header.csv",
        root / "test.csv.out",
        root / "xgboost-model",
    )


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _kernel_seconds_per_row(booster: xgb.Booster, frame: pd.DataFrame) -> tuple[float, str]:
    import shap  # bench-only (bench/requirements.txt)

    features = frame.drop(columns=[LABEL]).to_numpy(dtype=np.float32)
    background = np.median(features, axis=0, keepdims=True)
    explainer = shap.KernelExplainer(
        lambda data: booster.predict(xgb.DMatrix(data.astype(np.float32)), output_margin=True), background
    )
    budget = 2 * features.shape[1] + 2048
    rows = features[:KERNEL_SLICE]
    started = time.perf_counter()
    explainer.shap_values(rows, nsamples=budget, silent=True)
    return (time.perf_counter() - started) / len(rows), shap.__version__


def measure(rows: int, repeats: int, root: Path) -> dict[str, float]:
    frame = _dataset(rows, seed=11)
    booster = _model(frame)
    inputs = _write_case(root, frame, booster)
    features = frame.drop(columns=[LABEL]).to_numpy(dtype=np.float32)
    booster.predict(xgb.DMatrix(features[:1000]), pred_contribs=True)  # warm-up: xgboost's thread pool
    bare = _median_seconds(lambda: booster.predict(xgb.DMatrix(features), pred_contribs=True), repeats)
    every_row = bias_shap.Sampling(max_rows=rows)
    job_all = _median_seconds(lambda: bias_shap.analyze(inputs, root / "all", every_row), repeats)
    job_capped = _median_seconds(lambda: bias_shap.analyze(inputs, root / "capped"), repeats)
    kernel_per_row, _ = _kernel_seconds_per_row(booster, frame)
    return {
        "rows": rows,
        "bare": bare,
        "job_all": job_all,
        "job_capped": job_capped,
        "kernel": kernel_per_row * rows,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 500_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = []
    for rows in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            results.append(measure(rows, args.repeats, Path(folder)))
    import shap

    cap = bias_shap.DEFAULT_MAX_SHAP_ROWS
    print("## Step 7 job (bias_shap.py) vs bare pred_contribs and KernelSHAP\n")
    sizes = " ".join(map(str, args.sizes))
    print(f"Command: `python -m bench.bench_bias_job --sizes {sizes} --repeats {args.repeats}`  ")
    print(
        f"Machine: `os.cpu_count()` = {os.cpu_count()}; xgboost {xgb.__version__}, shap {shap.__version__}  "
    )
    print(
        f"Model: {TREES} trees, depth {DEPTH}, {len(dataset_columns()) - 1} features, synthetic test split. "
        f"Medians of {args.repeats} runs in one process, after one warm-up call of xgboost. The job "
        f"computes every bias metric on every row and SHAP on every row (`--max-shap-rows` = rows) "
        f"or on its default cap ({cap:,} rows, "
        f"stratified). KernelSHAP at shap's default budget is timed on {KERNEL_SLICE} rows and scaled "
        "to all rows (an estimate: it would run for hours).\n"
    )
    print(
        "| test rows | bare pred_contribs | job, SHAP on every row | job / bare | job, default cap | "
        "KernelSHAP (scaled) | KernelSHAP / job | peak RSS |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['bare']:.2f} s | {r['job_all']:.2f} s | {r['job_all'] / r['bare']:.2f}x | "
            f"{r['job_capped']:.2f} s | {r['kernel'] / 3600:,.1f} h | {r['kernel'] / r['job_all']:,.0f}x | "
            f"{r['peak_mb']:,.0f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
