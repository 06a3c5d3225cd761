"""Benchmark the monitoring job (``drift.py check``) on captured traffic against pandas alone.

The capture is SageMaker's JSON Lines layout (one record per line, CSV input of the 45 model
features, one score), written in files of at most 250,000 records under the
``<endpoint>/<variant>/yyyy/mm/dd/hh/`` folders; its rows are drawn from a pool of synthetic
policies. The job reads it all and computes every figure (data quality, PSI and KS of 45
features and of the scores, bias drift) against a baseline of 50,000 training rows. The
reference is what reading the same files costs with pandas alone: ``pd.read_json(lines=True)``
per file, concatenated (nested records stay Python dicts; nothing is computed).

Each measurement runs in a fresh subprocess (this module with ``--worker``), so its peak RSS
(``ru_maxrss``) is its own; the time covers the work only, not interpreter start-up or imports.
Medians of ``--repeats``.

Usage: ``python -m bench.bench_drift [--records 1000000] [--repeats 3]``, from the repository root.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_def.data import synthetic
from pipeline_def.schema import CLAIMS, LABEL, SENSITIVE_FACET, dataset_columns
from pipeline_def.scripts import drift

POOL_ROWS = 100_000
TRAIN_ROWS = 50_000
RECORDS_PER_FILE = 250_000
THRESHOLD = 0.1
INTERCEPT = -4.6
INFERENCE_TIME = "2026-01-05T10:00:00Z"
FEATURES = len(dataset_columns()) - 1


def _policies(rows: int, seed: int) -> pd.DataFrame:
    claims, customers = synthetic.generate(rows, seed=seed)
    joined = claims.merge(customers, on=CLAIMS.record_identifier, suffixes=("", "_c"))
    return joined[list(dataset_columns())]


def _scores(frame: pd.DataFrame) -> np.ndarray:
    """A fixed model of the planted fraud score, rounded as an endpoint's text would be."""
    z = synthetic.fraud_score(frame, frame).to_numpy(dtype=np.float64)
    return np.round(1.0 / (1.0 + np.exp(-(INTERCEPT + z))), 6)


def _write_baseline(root: Path) -> Path:
    train = _policies(TRAIN_ROWS, seed=0)
    (root / "train").mkdir(parents=True)
    train.to_csv(root / "train" / "train.csv", header=False, index=False)
    (root / "headers.json").write_text(json.dumps(list(train.columns)), encoding="utf-8")
    text = "\n".join(repr(float(s)) for s in _scores(train))
    (root / "scores.csv").write_text(text + "\n", encoding="utf-8")
    argv = [
        "baseline",
        "--train-dir", str(root / "train"),
        "--headers-file", str(root / "headers.json"),
        "--scores-file", str(root / "scores.csv"),
        "--output-dir", str(root / "baseline"),
        "--threshold", str(THRESHOLD),
        "--facet", SENSITIVE_FACET,
    ]  # fmt: skip
    if drift.main(argv) != 0:
        raise RuntimeError("drift.py baseline failed")
    return root / "baseline"


def _record(row: str, score: str, index: int) -> str:
    """SageMaker's serialisation of one capture record (checked against the script's own)."""
    return (
        '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"'
        + row
        + '","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv; charset=utf-8",'
        '"mode":"OUTPUT","data":"'
        + score
        + '","encoding":"CSV"}},"eventMetadata":{"eventId":"'
        + f"event-{index:09d}"
        + '","inferenceTime":"'
        + INFERENCE_TIME
        + '"},"eventVersion":"0"}\n'
    )


def _write_capture(root: Path, records: int) -> tuple[Path, int]:
    """``records`` capture lines drawn from a pool of synthetic policies; (folder, bytes)."""
    pool = _policies(POOL_ROWS, seed=1)
    rows = pool.drop(columns=[LABEL]).to_csv(header=False, index=False).splitlines()
    scores = [repr(float(s)) for s in _scores(pool)]
    expected = drift.format_capture_record(rows[0], scores[0], "event-000000000", INFERENCE_TIME)
    if _record(rows[0], scores[0], 0) != expected + "\n":
        raise RuntimeError("the benchmark's capture template differs from format_capture_record")
    capture = root / "capture"
    size = 0
    for number, start in enumerate(range(0, records, RECORDS_PER_FILE)):
        folder = capture / "fraud-endpoint" / "AllTraffic" / "2026" / "01" / "05" / f"{number:02d}"
        folder.mkdir(parents=True)
        text = "".join(
            _record(rows[i % POOL_ROWS], scores[i % POOL_ROWS], i)
            for i in range(start, min(start + RECORDS_PER_FILE, records))
        )
        size += (folder / "capture.jsonl").write_text(text, encoding="utf-8")
    return capture, size


# --------------------------------------------------------------------------- workers


def _peak_mb() -> float:
    """This process's peak RSS. ``ru_maxrss`` would not do: Linux carries it across exec, so a
    worker would report its parent's peak; ``VmHWM`` belongs to the new address space."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(kind: str, capture: Path, baseline: Path, out: Path) -> dict[str, float]:
    """One measurement in this (fresh) process: seconds of the work and peak RSS."""
    started = time.perf_counter()
    if kind == "check":
        code = drift.main(
            ["check", "--baseline", str(baseline), "--capture-dir", str(capture), "--output-dir", str(out)]
        )
        if code != 0:
            raise RuntimeError("drift.py check failed")
        rows = json.loads((out / drift.MONITOR_FILE).read_text(encoding="utf-8"))["capture"]["valid_rows"]
    elif kind == "read_json":
        frames = [pd.read_json(path, lines=True) for path in drift.jsonl_files(capture)]
        rows = len(pd.concat(frames, ignore_index=True))
    else:  # "idle": what the interpreter and the imports alone hold
        rows = 0
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(), "rows": rows}


def _measure(kind: str, capture: Path, baseline: Path, out: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.bench_drift", "--worker", kind]
    command += ["--capture", str(capture), "--baseline", str(baseline), "--out", str(out)]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent
    )
    if result.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=("check", "read_json", "idle"), help=argparse.SUPPRESS)
    parser.add_argument("--capture", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the job logs to stdout, which carries the result (JSON or Markdown)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.capture, args.baseline, args.out)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        baseline = _write_baseline(root)
        capture, size = _write_capture(root, args.records)
        idle = _measure("idle", capture, baseline, root / "out")
        check = _medians([_measure("check", capture, baseline, root / "out") for _ in range(args.repeats)])
        pandas_only = _medians(
            [_measure("read_json", capture, baseline, root / "out") for _ in range(args.repeats)]
        )
    if check["rows"] != args.records or pandas_only["rows"] != args.records:
        raise RuntimeError(
            f"expected {args.records} rows, the check read {check['rows']}, pandas {pandas_only['rows']}"
        )
    print("## Monitoring job (drift.py check) vs reading the capture with pandas alone\n")
    print(f"Command: `python -m bench.bench_drift --records {args.records} --repeats {args.repeats}`  ")
    print(
        f"Machine: `os.cpu_count()` = {os.cpu_count()}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}  "
    )
    print(
        f"Capture: {args.records:,} records in SageMaker's JSON Lines layout ({size / 1e6:,.0f} MB, "
        f"files of at most {RECORDS_PER_FILE:,} records), {FEATURES} features and a score each; "
        "no ground truth. The check computes every figure (data quality, PSI and KS of "
        f"{FEATURES} features and of the scores, "
        f"bias drift) against a baseline of {TRAIN_ROWS:,} training rows. pandas alone: "
        "`pd.read_json(path, lines=True)` per file, concatenated, nothing computed. Each run is a fresh "
        f"subprocess; medians of {args.repeats} runs; time excludes interpreter start-up and imports; "
        f"peak RSS includes the {idle['peak_mb']:,.0f} MB that the interpreter and imports hold alone.\n"
    )
    print(
        "| records | drift.py check | pd.read_json alone | check / read_json | check peak RSS "
        "| read_json peak RSS |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.records:,} | {check['seconds']:.2f} s | {pandas_only['seconds']:.2f} s | "
        f"{check['seconds'] / pandas_only['seconds']:.2f}x | {check['peak_mb']:,.0f} MB | "
        f"{pandas_only['peak_mb']:,.0f} MB |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
