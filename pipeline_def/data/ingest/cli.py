"""``python -m pipeline_def.ingest``: validate both files fully, then PutRecord every row.

Usage::

    python -m pipeline_def.ingest --env dev --claims claims.csv --customers customers.csv \\
        [--input-format auto|raw|features] [--event-time now|<ISO-8601>] [--allow-unmatched] \\
        [--dry-run] [--workers 8] [--timeout 10] [--endpoint-url URL] [--rejects rejects.jsonl]

Order, so that nothing is sent unless everything is right: arguments and configuration; every
row of both files (raw files are encoded by ``pipeline_def/encoding.toml``); policies present in
only one file; the rejects file created (a folder, an existing file or an unwritable place is
refused); only then PutRecord.

Exit codes:

* 0: every record ingested (or ``--dry-run`` and both files valid);
* 1: some records rejected (see the rejects file) or not sent because the run stopped after
  sending began (access denied, feature group not found, the first records all refused with one
  error, an endpoint that does not answer within ``--timeout``); re-running is safe;
* 2: bad arguments, configuration or input (errors as ``file:line:column``), or the rejects
  path refused: nothing was sent.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from pipeline_def.config import ConfigError, PipelineSettings, load_settings
from pipeline_def.data.encoding import InputFormat
from pipeline_def.data.ingest.runner import (
    Ingester,
    IngestStats,
    Progress,
    RejectsPathError,
    RejectsWriter,
    RetryPolicy,
)
from pipeline_def.data.ingest.sinks import DEFAULT_TIMEOUT_SECONDS, FeatureStoreSink, RecordSink
from pipeline_def.data.integrity import RowCounts, count_rows
from pipeline_def.data.issues import Issue
from pipeline_def.data.validation import (
    MAX_REPORTED_ERRORS,
    ValidationError,
    ValidationReport,
    parse_event_time_option,
    validate,
)
from pipeline_def.schema import CLAIMS, CUSTOMERS, feature_group

EXIT_OK, EXIT_PARTIAL, EXIT_INVALID = 0, 1, 2
MAX_WORKERS = 64
MAX_TIMEOUT_SECONDS = 60.0


def _workers(text: str) -> int:
    """argparse type for ``--workers``: 1..64 threads."""
    value = int(text)
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be in [1, {MAX_WORKERS}], got {text}")
    return value


def _timeout(text: str) -> float:
    """argparse type for ``--timeout``: seconds per call, 0.1..60."""
    value = float(text)
    if not 0.1 <= value <= MAX_TIMEOUT_SECONDS:
        raise argparse.ArgumentTypeError(f"must be in [0.1, {MAX_TIMEOUT_SECONDS:g}] seconds, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments (see the module docstring for exit codes)."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline_def.ingest",
        description="Validate claims and customers files, then ingest them into the env's feature groups.",
        epilog="exit codes: 0 all ingested; 1 some rejected or not sent; 2 bad input, nothing sent",
    )
    parser.add_argument("--env", required=True, help="environment name from cdk.json (dev, staging, prod)")
    parser.add_argument("--claims", type=Path, required=True, help="claims .csv or .parquet")
    parser.add_argument("--customers", type=Path, required=True, help="customers .csv or .parquet")
    parser.add_argument(
        "--input-format",
        choices=[f.value for f in InputFormat],
        default=InputFormat.AUTO.value,
        help="raw (categories as text), features (encoded columns) or auto (by the header; default)",
    )
    parser.add_argument(
        "--event-time",
        metavar="now|ISO-8601",
        help="event time for files without an event_time column (ISO-8601 with a zone)",
    )
    parser.add_argument(
        "--allow-unmatched",
        action="store_true",
        help="ingest policies present in only one file (the training join drops them)",
    )
    parser.add_argument("--dry-run", action="store_true", help="validate only; send nothing")
    parser.add_argument("--workers", type=_workers, default=8, help="concurrent PutRecord calls (default 8)")
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds to connect and to wait for each answer (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument("--endpoint-url", help="Feature Store runtime endpoint (default: the region's)")
    parser.add_argument(
        "--rejects",
        type=Path,
        help="new JSONL file for refused records (default ingest-rejects-<env>.jsonl; never overwritten)",
    )
    parser.add_argument(
        "--max-attempts", type=int, default=RetryPolicy.max_attempts, help="attempts per record"
    )
    return parser


def _print_issues(issues: Sequence[Issue], total: int, what: str, source: str, err: IO[str]) -> None:
    """The kept issues, then how many more there are."""
    for issue in issues:
        print(issue, file=err)
    if total > len(issues):
        print(f"... and {total - len(issues):,} more{what} in {source}", file=err)


def _validate_all(
    args: argparse.Namespace, stamp: float | None, now: float, err: IO[str]
) -> list[ValidationReport] | None:
    """Validate every file before sending anything; print errors and return None if any."""
    files = [(CLAIMS, args.claims), (CUSTOMERS, args.customers)]
    reports = [
        validate(
            schema, path, source_name=str(path), now=now, input_format=args.input_format, event_time=stamp
        )
        for schema, path in files
    ]
    total = sum(r.error_count for r in reports)
    for report in reports:
        _print_issues(report.warnings, report.warning_count, " warnings", report.source_name, err)
    if total == 0:
        return reports
    for report in reports:
        _print_issues(report.errors, report.error_count, "", report.source_name, err)
        print(report.summary(), file=err)
    print(f"{total:,} errors (at most {MAX_REPORTED_ERRORS} shown per file); nothing was ingested", file=err)
    return None


def _check_pairs(
    reports: Sequence[ValidationReport], allow: bool, out: IO[str], err: IO[str]
) -> RowCounts | None:
    """Policies in only one file: an error (None) unless allowed; the row counts otherwise."""
    counts = count_rows(reports[0], reports[1])
    if not counts.matched:
        for issue in counts.examples:
            print(issue, file=err)
        if not allow:
            print(f"error: {counts.unmatched_message()}", file=err)
            return None
        print("warning: --allow-unmatched: these policies are ingested but not joined for training", file=err)
    print(counts.summary(), file=out)
    return counts


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


def _prepare(
    args: argparse.Namespace, now: float, out: IO[str], err: IO[str]
) -> tuple[PipelineSettings, list[ValidationReport]] | None:
    """Configuration, arguments and both files; None (after printing why) if anything is wrong."""
    settings = load_settings(args.env)
    stamp = parse_event_time_option(args.event_time, now) if args.event_time else None
    reports = _validate_all(args, stamp, now, err)
    if reports is None or _check_pairs(reports, args.allow_unmatched, out, err) is None:
        return None
    for report in reports:
        print(report.summary(), file=out)
    return settings, reports


def _send(
    args: argparse.Namespace,
    settings: PipelineSettings,
    reports: Sequence[ValidationReport],
    rejects: RejectsWriter,
    sink: RecordSink | None,
    sleep: Callable[[float], Any] | None,
    streams: tuple[IO[str], IO[str]],
) -> int:
    """PutRecord every row; the exit code from the counts."""
    out, err = streams
    if sink is None:
        sink = FeatureStoreSink.create(
            settings.region,
            endpoint_url=args.endpoint_url,
            max_connections=args.workers,
            timeout=args.timeout,
        )
    policy = RetryPolicy(max_attempts=args.max_attempts)
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
        RetryPolicy(max_attempts=args.max_attempts)
        prepared = _prepare(args, time.time(), out, err)
        if prepared is None:
            return EXIT_INVALID
        settings, reports = prepared
        if args.dry_run:
            names = ", ".join(settings.feature_group_names.values())
            print(f"dry run: both files valid; would ingest into {names} in {settings.region}", file=out)
            return EXIT_OK
        rejects = RejectsWriter(args.rejects or Path(f"ingest-rejects-{settings.env_name}.jsonl"))
        rejects.open()
    except (ConfigError, ValidationError, RejectsPathError, ValueError) as error:
        print(f"error: {error}", file=err)
        return EXIT_INVALID
    return _send(args, settings, reports, rejects, sink, sleep, (out, err))
