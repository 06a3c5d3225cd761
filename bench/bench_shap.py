"""Benchmark explainability: our exact TreeSHAP against KernelSHAP (the algorithm Clarify runs).

Same model, same rows, same output space (log-odds): ``shap.KernelExplainer`` with Clarify's
settings (one baseline row, ``num_samples`` coalitions per row) is the baseline. Reports the
time ratio, each method's additivity error (contributions + base value vs the model's margin)
and how far KernelSHAP's estimate lies from the exact values. ``shap`` is a bench-only
dependency (bench/requirements.txt). Prints a Markdown section on stdout.

Usage: ``python -m bench.bench_shap [--rows 200] [--samples 100] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import xgboost as xgb

from pipeline_def.data import synthetic
from pipeline_def.schema import CLAIMS, CUSTOMERS, LABEL, dataset_columns
from pipeline_def.scripts.bias_shap import tree_shap


def model_and_rows(rows: int) -> tuple[xgb.Booster, np.ndarray, np.ndarray]:
    claims, customers = synthetic.generate(20000, seed=11)
    joined = claims.merge(customers, on=CLAIMS.record_identifier, suffixes=("", "_c"))
    features = [c for c in dataset_columns() if c != LABEL]
    x = joined[features].to_numpy(dtype=np.float32)
    y = joined[LABEL].to_numpy()
    params = {
        "objective": "binary:logistic",
        "eta": 0.1,
        "max_depth": 5,
        "nthread": os.cpu_count(),
        "seed": 0,
    }
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=150)
    baseline = np.median(x, axis=0, keepdims=True)
    assert CUSTOMERS.name  # the joined frame holds both groups' features
    return booster, x[:rows], baseline


def timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    import shap  # bench-only

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument(
        "--samples", type=int, default=100, help="KernelSHAP coalitions per row (Clarify's num_samples)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    booster, rows, baseline = model_and_rows(args.rows)
    margin = booster.predict(xgb.DMatrix(rows), output_margin=True)

    def kernel(samples: int):
        explainer = shap.KernelExplainer(
            lambda data: booster.predict(xgb.DMatrix(data.astype(np.float32)), output_margin=True), baseline
        )
        return explainer.shap_values(rows, nsamples=samples, silent=True), explainer.expected_value

    tree_seconds, tree = timed(lambda: tree_shap(booster, rows), args.repeats)
    tree_error = np.abs(tree.contributions.sum(axis=1) + tree.bias - margin).max()
    budgets = {
        f"{args.samples} (the pipeline's Clarify config)": args.samples,
        f"{2 * rows.shape[1] + 2048} (shap's default, 2M+2048)": 2 * rows.shape[1] + 2048,
    }
    kernels = {label: timed(lambda n=n: kernel(n), args.repeats) for label, n in budgets.items()}
    print("## Explainability: exact TreeSHAP vs KernelSHAP (Clarify's algorithm)\n")
    print(
        f"Command: `python -m bench.bench_shap --rows {args.rows} --samples {args.samples} "
        f"--repeats {args.repeats}`  "
    )
    print(
        f"Machine: `os.cpu_count()` = {os.cpu_count()}; shap {shap.__version__}, xgboost {xgb.__version__}  "
    )
    print(
        f"Model: 150 trees, depth 5, 45 features; {args.rows} rows explained in log-odds space; medians of "
        f"{args.repeats} runs. KernelSHAP (the baseline) uses one median baseline row, as the pipeline's "
        "Clarify config does, at two coalition budgets.\n"
    )
    print(
        "| method | coalitions per row | median time | per row | TreeSHAP speed-up | max additivity error |"
        " mean abs gap to exact |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for label, (seconds, (values, base)) in kernels.items():
        values = np.asarray(values)
        additivity = np.abs(values.sum(axis=1) + base - margin).max()
        gap = np.abs(values - tree.contributions).mean()
        print(
            f"| KernelSHAP | {label} | {seconds:.2f} s | {seconds / args.rows * 1e3:.2f} ms | "
            f"{seconds / tree_seconds:,.0f}x | {additivity:.1e} | {gap:.4f} |"
        )
    print(
        f"| TreeSHAP (ours) | exact | {tree_seconds:.4f} s | {tree_seconds / args.rows * 1e3:.4f} ms | — | "
        f"{tree_error:.1e} | 0 |"
    )
    print(
        "\nThe gap column is KernelSHAP's distance from the exact values in log-odds per feature value "
        "(part of it is the question asked: a baseline row vs the trees' own path-dependent expectation)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
