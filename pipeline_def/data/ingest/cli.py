"""``python -m pipeline_def.ingest``: validate both files fully, then PutRecord every row.

Usage::

    python -m pipeline_def.ingest --env dev --claims claims.csv --customers customers.csv \\
        [--dry-run] [--workers 8] [--endpoint-url URL] [--rejects rejects.jsonl]

Exit codes: 0 all records ingested (or ``--dry-run`` and both files valid); 1 some records
rejected or not sent (see the rejects file; re-running is safe); 2 invalid input, unreadable
file or bad configuration, in which case nothing was sent.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from pipeline_def.config import ConfigError, PipelineSettings, load_settings
from pipeline_def.data.ingest.runner import Ingester, IngestStats, Progress, RejectsWriter, RetryPolicy
from pipeline_def.data.ingest.sinks import FeatureStoreSink, RecordSink
from pipeline_def.data.validation import MAX_REPORTED_ERRORS, ValidationError, ValidationReport, validate
from pipeline_def.schema import CLAIMS, CUSTOMERS, FeatureGroupSchema, feature_group

EXIT_OK, EXIT_PARTIAL, EXIT_INVALID = 0, 1, 2
MAX_WORKERS = 64


def _workers(text: str) -> int:
    """argparse type for ``--workers``: 1..64 threads."""
    value = int(text)
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be in [1, {MAX_WORKERS}], got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments (see the module docstring for exit codes)."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline_def.ingest",
        description="Validate claims and customers files, then ingest them into the env's feature groups.",
    )
    parser.add_argument("--env", required=True, help="environment name from cdk.json (dev, staging, prod)")
    parser.add_argument("--claims", type=Path, required=True, help="claims .csv or .parquet")
    parser.add_argument("--customers", type=Path, required=True, help="customers .csv or .parquet")
    parser.add_argument("--dry-run", action="store_true", help="validate only; send nothing")
    parser.add_argument("--workers", type=_workers, default=8, help="concurrent PutRecord calls (default 8)")
    parser.add_argument("--endpoint-url", help="Feature Store runtime endpoint (default: the region's)")
    parser.add_argument(
        "--rejects", type=Path, help="JSONL file for refused records (default ingest-rejects-<env>.jsonl)"
    )
    parser.add_argument(
        "--max-attempts", type=int, default=RetryPolicy.max_attempts, help="attempts per record"
    )
    return parser


def _validate_all(
    files: Sequence[tuple[FeatureGroupSchema, Path]], err: IO[str]
) -> list[ValidationReport] | None:
    """Validate every file before sending anything; print errors and return None if any."""
    now = time.time()
    reports = [validate(schema, path, source_name=str(path), now=now) for schema, path in files]
    total = sum(r.error_count for r in reports)
    if total == 0:
        return reports
    for report in reports:
        for issue in report.errors:
            print(issue, file=err)
        if report.error_count > len(report.errors):
            print(
                f"... and {report.error_count - len(report.errors):,} more in {report.source_name}", file=err
            )
        print(report.summary(), file=err)
    print(f"{total:,} errors (at most {MAX_REPORTED_ERRORS} shown per file); nothing was ingested", file=err)
    return None


def _ingest_all(
    ingester: Ingester, settings: PipelineSettings, reports: Sequence[ValidationReport], out: IO[str]
) -> IngestStats:
    """Send each validated frame; stop before the next group once the run was stopped."""
    total = IngestStats()
    for report in reports:
        schema = feature_group(report.schema_name)
        frame = report.raise_if_invalid()
        if ingester.stopped:
            total += IngestStats(total=len(frame))
            continue
        first_line = 2 if report.source_name.lower().endswith(".csv") else None
        name = settings.feature_group_names[schema.name]
        stats = ingester.ingest(schema, name, frame, source=report.source_name, first_line=first_line)
        print(stats.summary(f"{schema.name} -> {name}"), file=out)
        total += stats
    return total


def main(
    argv: Sequence[str] | None = None,
    *,
    sink: RecordSink | None = None,
    sleep: Callable[[float], Any] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the CLI; ``sink``/``sleep``/streams are injectable so tests need no AWS and no waiting."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.env)
        policy = RetryPolicy(max_attempts=args.max_attempts)
        reports = _validate_all([(CLAIMS, args.claims), (CUSTOMERS, args.customers)], err)
    except (ConfigError, ValidationError, ValueError) as error:
        print(f"error: {error}", file=err)
        return EXIT_INVALID
    if reports is None:
        return EXIT_INVALID
    for report in reports:
        print(report.summary(), file=out)
    if args.dry_run:
        names = ", ".join(settings.feature_group_names.values())
        print(f"dry run: both files valid; would ingest into {names} in {settings.region}", file=out)
        return EXIT_OK
    rejects = RejectsWriter(args.rejects or Path(f"ingest-rejects-{settings.env_name}.jsonl"))
    if sink is None:
        sink = FeatureStoreSink.create(
            settings.region, endpoint_url=args.endpoint_url, max_connections=args.workers
        )
    ingester = Ingester(
        sink, rejects, workers=args.workers, policy=policy, sleep=sleep, progress=Progress(err)
    )
    try:
        total = _ingest_all(ingester, settings, reports, out)
    finally:
        rejects.close()
    print(total.summary("total"), file=out)
    if total.rejected:
        print(f"{total.rejected:,} rejected records written to {rejects.path}", file=err)
    if total.fatal:
        print(f"stopped: {total.fatal}; {total.not_sent:,} records not sent (re-running is safe)", file=err)
    return EXIT_OK if total.ingested == total.total else EXIT_PARTIAL
