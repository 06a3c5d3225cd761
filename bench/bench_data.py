"""Benchmark the data path: synthetic generation, validation, ingest overhead, offline store.

Every figure is the median of ``--repeats`` runs, next to a baseline measured in the same run
on the same data, so the ratios survive a slower or busier machine:

* generation + CSV: ``synthetic.write`` vs ``DataFrame.to_csv`` of the same frames;
* validation: ``validation.validate`` (read all-text, check every rule, convert) vs a plain
  ``pandas.read_csv`` of the same file (type inference only, no checks);
* raw validation + encoding: ``validate(..., input_format="raw")`` of an insurer's raw export
  (categories as text, cents, ISO-8601 times) vs ``pandas.read_csv`` of the same file, and the
  peak memory (RSS) of each, measured in a fresh process so one does not inherit the other's;
* ingest loop: records through ``Ingester`` into a no-op sink (8 workers) vs only rendering
  the records; this is our client-side overhead, PutRecord latency comes on top;
* offline store: ``write_offline_store`` (hourly partitions + system columns) vs one
  ``pyarrow.parquet.write_table`` of the same frame.

Prints a Markdown section on stdout; progress goes to stderr.

Usage: ``python -m bench.bench_data [--rows 1000000] [--repeats 3] [--ingest-rows 200000]``
(``make bench`` runs it at 1,000,000 rows).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline_def.config import load_settings
from pipeline_def.data import synthetic
from pipeline_def.data.ingest.runner import Ingester, RejectsWriter
from pipeline_def.data.ingest.sinks import Record, iter_records
from pipeline_def.data.validation import validate
from pipeline_def.local.offline_store import write_offline_store
from pipeline_def.schema import CLAIMS, CUSTOMERS, feature_group


class NullSink:
    """Accepts every record instantly: isolates the ingester's own cost."""

    def put_record(self, feature_group_name: str, record: Record) -> None:
        return None


def median_seconds(label: str, repeats: int, action: Callable[[], Any]) -> float:
    """Median wall time of ``repeats`` calls, with a progress line on stderr."""
    times = []
    for run in range(1, repeats + 1):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
        print(f"  {label}: run {run}/{repeats} {times[-1]:.2f}s", file=sys.stderr, flush=True)
    return statistics.median(times)


def _row(name: str, rows: int, ours: float, baseline_name: str = "", baseline: float | None = None) -> str:
    """One Markdown table row; the ratio is baseline / ours, so > 1 means we are faster."""
    compared = f"{baseline_name} | {baseline:.2f} s | {baseline / ours:.2f}x" if baseline else "— | — | —"
    return f"| {name} | {rows:,} | {ours:.2f} s | {rows / ours:,.0f} | {compared} |"


def bench_generation(rows: int, repeats: int, folder: Path) -> list[str]:
    """Generation alone, and generation + CSV writing vs pandas' CSV writer."""
    claims, customers = synthetic.generate(rows, seed=1)
    generate = median_seconds("generate", repeats, lambda: synthetic.generate(rows, seed=1))
    write = median_seconds("generate+write", repeats, lambda: synthetic.write(folder / "ours", rows, seed=1))

    def to_csv() -> None:
        claims.to_csv(folder / "claims_pandas.csv", index=False)
        customers.to_csv(folder / "customers_pandas.csv", index=False)

    baseline = median_seconds("pandas to_csv", repeats, to_csv)
    return [
        _row("synthetic.generate (both tables, in memory)", rows, generate),
        _row("synthetic.write (generate + both CSVs)", rows, write, "pandas to_csv (write only)", baseline),
    ]


def bench_validation(rows: int, repeats: int, folder: Path) -> list[str]:
    """Full validation of each table vs a plain read_csv of the same file."""
    claims_path, customers_path = synthetic.write(folder / "data", rows, seed=1)
    now = time.time()
    lines = []
    for schema, path in ((CLAIMS, claims_path), (CUSTOMERS, customers_path)):
        report = validate(schema, path, now=now)
        if not report.ok:
            raise SystemExit(f"benchmark data is invalid: {report.summary()}")
        ours = median_seconds(
            f"validate {schema.name}", repeats, lambda s=schema, p=path: validate(s, p, now=now)
        )
        baseline = median_seconds(f"read_csv {schema.name}", repeats, lambda p=path: pd.read_csv(p))
        lines.append(
            _row(
                f"validation.validate {schema.name}.csv", rows, ours, "pandas.read_csv (no checks)", baseline
            )
        )
    return lines


def bench_raw_validation(rows: int, repeats: int, folder: Path) -> list[str]:
    """Validation + encoding of raw files vs a plain read_csv of the same file."""
    paths = synthetic.write(folder / "raw", rows, seed=1, fmt=synthetic.RAW)
    now = time.time()
    lines = []
    for schema, path in zip((CLAIMS, CUSTOMERS), paths, strict=True):
        report = validate(schema, path, now=now, input_format="raw")
        if not report.ok:
            raise SystemExit(f"benchmark raw data is invalid: {report.summary()}")
        ours = median_seconds(
            f"validate+encode raw {schema.name}",
            repeats,
            lambda s=schema, p=path: validate(s, p, now=now, input_format="raw"),
        )
        baseline = median_seconds(f"read_csv raw {schema.name}", repeats, lambda p=path: pd.read_csv(p))
        lines.append(
            _row(
                f"validate + encode raw {schema.name}.csv",
                rows,
                ours,
                "pandas.read_csv (no checks)",
                baseline,
            )
        )
    return lines


def _status_bytes(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"/proc/self/status has no {field}: the memory figures need Linux")


def _measure_peak(kind: str, schema_name: str, path: str, queue: Any) -> None:
    """Child process: how far one reader raises the resident set above where it started (bytes).

    Writing 5 to ``/proc/self/clear_refs`` resets the peak (VmHWM) to the current size, so the
    imports' own high-water mark does not hide the reader's.
    """
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_bytes("VmRSS")
    if kind == "ours":
        validate(feature_group(schema_name), path, now=time.time(), input_format="raw").raise_if_invalid()
    else:
        pd.read_csv(path)
    queue.put(_status_bytes("VmHWM") - before)


def peak_rss(kind: str, schema_name: str, path: Path) -> int:
    """Peak memory one reader adds, in a fresh process so it inherits no other's high-water mark."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure_peak, args=(kind, schema_name, str(path), queue))
    process.start()
    added = queue.get(timeout=600)
    process.join()
    return max(int(added), 1)


def bench_raw_memory(rows: int, folder: Path) -> list[str]:
    """Peak memory of validate + encode vs read_csv, per raw file."""
    paths = synthetic.write(folder / "raw-memory", rows, seed=1, fmt=synthetic.RAW)
    lines = []
    for schema, path in zip((CLAIMS, CUSTOMERS), paths, strict=True):
        ours = peak_rss("ours", schema.name, path)
        baseline = peak_rss("pandas", schema.name, path)
        size = path.stat().st_size
        lines.append(
            f"| {schema.name}.csv (raw) | {rows:,} | {size / 2**20:,.0f} MiB | {ours / 2**20:,.0f} MiB | "
            f"{baseline / 2**20:,.0f} MiB | {ours / baseline:.2f}x |"
        )
    return lines


def bench_ingest(rows: int, repeats: int, folder: Path) -> list[str]:
    """The ingest loop's own overhead (no network) vs rendering the records alone."""
    claims = synthetic.generate(rows, seed=2)[0]

    def ours() -> None:
        ingester = Ingester(NullSink(), RejectsWriter(folder / "rejects.jsonl"), workers=8)
        stats = ingester.ingest(CLAIMS, "bench-claims", claims, source="bench")
        if stats.ingested != rows:
            raise SystemExit(f"ingest benchmark lost records: {stats.summary('bench')}")

    def render_only() -> None:
        for _ in iter_records(CLAIMS, claims):
            pass

    loop = median_seconds("ingest (no-op sink)", repeats, ours)
    baseline = median_seconds("render records only", repeats, render_only)
    return [_row("Ingester, no-op sink, 8 workers (claims)", rows, loop, "render records only", baseline)]


def bench_offline_store(rows: int, repeats: int, folder: Path) -> list[str]:
    """Partitioned offline-store writing vs a single Parquet file."""
    claims = synthetic.generate(rows, seed=3)[0]
    settings = load_settings("dev")
    counter = iter(range(1_000))

    def ours() -> None:
        write_offline_store(folder / f"store{next(counter)}", settings, {"claims": claims}, now=1.8e9)

    table = pa.Table.from_pandas(claims, preserve_index=False)
    baseline = median_seconds(
        "one write_table", repeats, lambda: pq.write_table(table, folder / "one.parquet")
    )
    store = median_seconds("write_offline_store", repeats, ours)
    return [
        _row("write_offline_store claims (hourly partitions)", rows, store, "one pq.write_table", baseline)
    ]


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ingest-rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    command = "python -m bench.bench_data " + " ".join(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="bench_data_") as temporary:
        folder = Path(temporary)
        lines = bench_generation(args.rows, args.repeats, folder)
        lines += bench_validation(args.rows, args.repeats, folder)
        lines += bench_raw_validation(args.rows, args.repeats, folder)
        lines += bench_ingest(args.ingest_rows, args.repeats, folder)
        lines += bench_offline_store(args.rows, args.repeats, folder)
        memory = bench_raw_memory(args.rows, folder)
    print("## Data path: synthetic data, validation, ingest, offline store\n")
    print(f"Command: `{command.strip()}`  ")
    python = f"Python {platform.python_version()}, {platform.machine()}"
    print(f"Machine: `os.cpu_count()` = {os.cpu_count()}, {python}  ")
    print(
        f"Each figure is the median of {args.repeats} runs; ratio = baseline / ours (>1: ours is faster).\n"
    )
    print("| step | rows | median | rows/s | baseline | baseline median | ratio |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for line in lines:
        print(line)
    print(
        "\nPeak memory added by reading one raw file (resident set size, fresh process, imports excluded):\n"
    )
    print("| raw file | rows | file size | validate + encode | pandas.read_csv | ratio (ours / pandas) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for line in memory:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
