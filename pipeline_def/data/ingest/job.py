"""The deployed ingestion job: a file landed under ``incoming/<group>/`` into its feature group.

The ingestion pipeline (``<prefix>-fraud-ingestion``, started by the file's S3 "Object Created"
event) runs this file three ways, in SageMaker's XGBoost 3.0-5 image with ``pipeline_def``'s data
package beside it (``PYTHONPATH``), so the rules are exactly those of ``python -m
pipeline_def.ingest``:

``validate`` (one instance)
    Every row checked and raw files encoded (:func:`pipeline_def.data.validation.validate`). A
    valid file becomes ``--parts`` CSV part files in the features layout, one shard each for the
    ``put`` instances; an invalid one is copied with its report (every error as file:line:column)
    to the ``rejected`` output. Either way ``report.json`` says which (the pipeline's condition).
``quarantine`` (after a rejection, once the copy is in S3)
    Deletes the landed object, but only when its rejected copy exists: nothing is lost.
``put`` (``--instance-count`` instances, parts sharded by S3 key)
    PutRecord for every row of this instance's parts, with the ingest CLI's retries, stop rules
    and rejects; a record that is not ingested fails the step (the operators' alert names it).

Files without an ``event_time`` column are stamped with ``--landed-at`` (the S3 event's time).
Exit codes: 0 done; 1 records rejected or not sent (``put``) or the copy missing (``quarantine``);
2 bad arguments or a landed object that is not there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from pipeline_def.data.encoding import InputFormat
from pipeline_def.data.ingest.runner import Ingester, IngestStats, Progress, RejectsWriter
from pipeline_def.data.ingest.sinks import FeatureStoreSink, RecordSink
from pipeline_def.data.issues import MAX_REPORTED_ERRORS
from pipeline_def.data.sources import ValidationError
from pipeline_def.data.validation import ValidationReport, parse_event_time_option, validate
from pipeline_def.names import INCOMING_FOLDER, INGEST_REPORT_FILE, INGEST_STATUS_VALID
from pipeline_def.schema import CLAIMS, CUSTOMERS, ENCODING_VERSION, feature_group

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
REPORT_FILE = INGEST_REPORT_FILE
STATUS_VALID, STATUS_REJECTED = INGEST_STATUS_VALID, "rejected"
MAX_PARTS = 1000
GROUPS = (CLAIMS.name, CUSTOMERS.name)


class ObjectStore(Protocol):
    """The two S3 calls ``quarantine`` makes (boto3 in the cloud; folders in the local run)."""

    def exists(self, uri: str) -> bool: ...

    def delete(self, uri: str) -> None: ...


class S3ObjectStore:
    """:class:`ObjectStore` over boto3's S3 client."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import boto3  # the job image has it; imported here so `validate` needs no AWS SDK

            client = boto3.client("s3")
        self.client = client

    def exists(self, uri: str) -> bool:
        bucket, key = _split(uri)
        listed = self.client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return any(item["Key"] == key for item in listed.get("Contents", []))

    def delete(self, uri: str) -> None:
        bucket, key = _split(uri)
        self.client.delete_object(Bucket=bucket, Key=key)


def _split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def landed_group(source_uri: str) -> str:
    """The feature group a landed object belongs to: ``incoming/<group>/<file name>``.

    Examples
    --------
    >>> landed_group("s3://data/incoming/claims/2026-12-01.csv")
    'claims'
    """
    _bucket, key = _split(source_uri)
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != INCOMING_FOLDER or parts[1] not in GROUPS or not parts[2]:
        raise ValueError(f"{source_uri}: expected {INCOMING_FOLDER}/<{'|'.join(GROUPS)}>/<file name>")
    return parts[1]


# --- validate --------------------------------------------------------------------------------


def _report(report: ValidationReport, source_uri: str, group: str, parts: int) -> dict[str, Any]:
    return {
        "status": STATUS_VALID if report.ok else STATUS_REJECTED,
        "source": source_uri,
        "group": group,
        "rows": report.rows,
        "input_format": str(report.input_format),
        "encoding_version": ENCODING_VERSION,
        "error_count": report.error_count,
        "errors": [str(issue) for issue in report.errors],
        "errors_shown": min(report.error_count, MAX_REPORTED_ERRORS),
        "warning_count": report.warning_count,
        "warnings": [str(issue) for issue in report.warnings],
        "summary": report.summary(),
        "parts": parts if report.ok else 0,
    }


def write_parts(report: ValidationReport, parts: int, folder: Path) -> list[Path]:
    """The valid rows in the features layout, split into at most ``parts`` contiguous files."""
    frame = report.raise_if_invalid()
    schema = feature_group(report.schema_name)
    folder.mkdir(parents=True, exist_ok=True)
    count = max(1, min(parts, len(frame)))
    bounds = [round(i * len(frame) / count) for i in range(count + 1)]
    written = []
    for index in range(count):
        path = folder / f"part-{index:05d}.csv"
        chunk = frame.iloc[bounds[index] : bounds[index + 1]][list(schema.column_names)]
        chunk.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def run_validate(args: argparse.Namespace) -> int:
    group = landed_group(args.source_uri)
    if group != args.group:
        raise ValueError(f"{args.source_uri} landed under {group}/, but the run is for {args.group}")
    landed = args.input / Path(_split(args.source_uri)[1]).name
    if not landed.is_file():
        print(f"error: {args.source_uri} is not in {args.input} (deleted before the job started?)")
        return EXIT_INVALID
    now = time.time()
    stamp = parse_event_time_option(args.landed_at, now)
    try:
        report = validate(
            feature_group(group), landed, source_name=args.source_uri, now=now, event_time=stamp,
            input_format=InputFormat(args.input_format),
        )  # fmt: skip
    except ValidationError as err:  # unreadable file, wrong header: the whole file is rejected
        report = ValidationReport(args.source_uri, group, 0, 1, (), 0.0)
        document = {**_report(report, args.source_uri, group, 0), "errors": [str(err)]}
    else:
        document = _report(report, args.source_uri, group, args.parts)
    if document["status"] == STATUS_VALID:
        write_parts(report, args.parts, args.parts_out)
    else:
        args.rejected_out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(landed, args.rejected_out / landed.name)
        _write_json(args.rejected_out / f"{landed.name}.{REPORT_FILE}", document)
    _write_json(args.report_out / REPORT_FILE, document)
    print(document["summary"])
    for line in document["errors"][:20]:
        print(line)
    return EXIT_OK


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --- quarantine ------------------------------------------------------------------------------


def run_quarantine(args: argparse.Namespace, store: ObjectStore) -> int:
    """Delete the landed file once its copy and report are under the rejected prefix."""
    name = _split(args.source_uri)[1].rsplit("/", 1)[-1]
    prefix = args.rejected_prefix.rstrip("/")
    missing = [uri for uri in (f"{prefix}/{name}", f"{prefix}/{name}.{REPORT_FILE}") if not store.exists(uri)]
    if missing:
        print(f"error: {', '.join(missing)} not there; {args.source_uri} is kept")
        return EXIT_FAILED
    store.delete(args.source_uri)
    print(f"moved {args.source_uri} to {prefix}/ (with its report)")
    return EXIT_OK


# --- put -------------------------------------------------------------------------------------


def current_host(config: Path) -> str:
    """This instance's name (``algo-1``...), from SageMaker's resource configuration."""
    if not config.is_file():
        return "algo-1"
    return str(json.loads(config.read_text(encoding="utf-8"))["current_host"])


def run_put(args: argparse.Namespace, sink: RecordSink | None) -> int:
    schema = feature_group(args.group)
    host = current_host(args.host_config)
    parts = sorted(args.parts.rglob("*.csv"))
    if sink is None:
        sink = FeatureStoreSink.create(args.region, max_connections=args.workers)
    rejects = RejectsWriter(args.out / f"{host}-rejects.jsonl")
    rejects.open()
    ingester = Ingester(sink, rejects, workers=args.workers, progress=Progress(sys.stdout))
    total = IngestStats()
    try:
        for part in parts:
            report = validate(
                schema, part, source_name=part.name, now=time.time(), input_format=InputFormat.FEATURES
            )
            frame = report.raise_if_invalid()
            if ingester.stopped:  # a fatal error in an earlier part: the rest is counted, not sent
                total += IngestStats(total=len(frame))
                continue
            total += ingester.ingest(schema, args.feature_group_name, frame, source=part.name)
    finally:
        rejects.close()
    summary = {"host": host, "parts": [p.name for p in parts], "feature_group": args.feature_group_name}
    summary |= {"total": total.total, "ingested": total.ingested, "rejected": total.rejected}
    summary |= {"not_sent": total.not_sent, "fatal": total.fatal}
    _write_json(args.out / f"{host}-summary.json", summary)
    print(total.summary(f"{host}: {len(parts)} parts -> {args.feature_group_name}"))
    if total.ingested != total.total:
        why = total.fatal or f"see {rejects.path.name}"
        print(f"error: {total.rejected:,} rejected, {total.not_sent:,} not sent ({why})")
        return EXIT_FAILED
    return EXIT_OK


# --- command line ----------------------------------------------------------------------------


def _parts(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_PARTS:
        raise argparse.ArgumentTypeError(f"must be in [1, {MAX_PARTS}], got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="job.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate")
    check.add_argument("--source-uri", required=True)
    check.add_argument("--group", choices=GROUPS, required=True)
    check.add_argument("--input", type=Path, required=True)
    check.add_argument("--landed-at", required=True, help="ISO-8601: stamps files without event_time")
    check.add_argument("--input-format", choices=[f.value for f in InputFormat], default="auto")
    check.add_argument("--parts", type=_parts, required=True)
    for name in ("--parts-out", "--report-out", "--rejected-out"):
        check.add_argument(name, type=Path, required=True)
    move = commands.add_parser("quarantine")
    move.add_argument("--source-uri", required=True)
    move.add_argument("--rejected-prefix", required=True)
    put = commands.add_parser("put")
    put.add_argument("--group", choices=GROUPS, required=True)
    put.add_argument("--feature-group-name", required=True)
    put.add_argument("--region", required=True)
    put.add_argument("--workers", type=int, default=8)
    put.add_argument("--parts", type=Path, required=True)
    put.add_argument("--out", type=Path, required=True)
    put.add_argument("--host-config", type=Path, default=Path("/opt/ml/config/resourceconfig.json"))
    return parser


def main(
    argv: Sequence[str] | None = None, *, sink: RecordSink | None = None, store: ObjectStore | None = None
) -> int:
    """Run one command; ``sink`` and ``store`` default to AWS (the local run passes its own)."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "validate":
            return run_validate(args)
        if args.command == "quarantine":
            for uri in (args.source_uri, args.rejected_prefix):
                _split(uri)
            return run_quarantine(args, store or S3ObjectStore())
        return run_put(args, sink)
    except ValueError as err:
        print(f"error: {err}")
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
