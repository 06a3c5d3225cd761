"""``python -m pipeline_def.local land``: the deployed ingestion path, offline.

A file put under the data bucket's ``incoming/<group>/`` starts the ingestion pipeline in the
cloud. Here the same happens to a work directory::

    --file F ─▶ W/s3/<data bucket>/incoming/<group>/<name>  (a copy; F itself is never touched)
      ─▶ the S3 "Object Created" event EventBridge delivers ─▶ the rule's parameters (the JSON
         paths cdk.json's ingestion block gives the stack, resolved against that event)
      ─▶ the ingestion definition CloudFormation gets, run by the local executor:
         FraudIngestValidate ─▶ FraudIngestCheck ─▶ FraudIngestPut on IngestInstanceCount
         containers (ShardedByS3Key) or FraudIngestQuarantine ─▶ FraudIngestRejected

What runs is what deploys: the job file, its package, the definition and the rule parameters.
The stand-ins are S3 (folders under ``W/s3``) and PutRecord (``W/feature-store/<group>.jsonl``,
one JSON line per record as the API receives it). Each landing adds to the work directory, as
files landing in a bucket do; ``W/landing.json`` describes the latest one.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline_def import names
from pipeline_def.config import EnvironmentConfig, load_environment, read_context
from pipeline_def.config.ingestion import LANDED_SUFFIXES
from pipeline_def.definition.render import (
    fill,
    ingestion_package,
    package_digest,
    package_key_prefix,
    render_ingestion,
)
from pipeline_def.local.executor import ExecutionResult, Executor
from pipeline_def.local.jobs import LocalSageMaker, run_processing
from pipeline_def.local.registry import ACCOUNT
from pipeline_def.local.run import MARKER, ArgumentError, check_workdir, workdir_lock
from pipeline_def.local.storage import LocalS3
from pipeline_def.schema import CLAIMS, CUSTOMERS

ARTIFACT_BUCKET = "local-artifacts"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/local-ingestion"
KMS_KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/local"
GROUPS = (CLAIMS.name, CUSTOMERS.name)
#: What the file name may hold: S3 events carry the key, and the job takes it as an argument.
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@dataclass(frozen=True, kw_only=True)
class LandingOptions:
    file: Path
    group: str
    workdir: Path = Path(".run/landing")
    env: str = "dev"


def check_options(options: LandingOptions) -> None:
    """Every argument before anything is written (the local run's rule)."""
    if options.group not in GROUPS:
        raise ArgumentError(f"--group must be one of {', '.join(GROUPS)}, got {options.group!r}")
    if not options.file.is_file():
        raise ArgumentError(f"--file {options.file}: no such file")
    name = options.file.name
    if not set(name) <= _NAME_CHARACTERS or not name.endswith(LANDED_SUFFIXES):
        raise ArgumentError(
            f"--file {name}: the rule starts a run only for names of letters, digits, '.', '_' and '-' "
            f"ending in {' or '.join(LANDED_SUFFIXES)}"
        )
    check_workdir(options.workdir)


def object_created_event(bucket: str, key: str, size: int, when: datetime, region: str) -> dict[str, Any]:
    """What EventBridge delivers for a PutObject into a bucket with EventBridge notifications on."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": f"local-{when:%Y%m%d%H%M%S}",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": stamp,
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size},
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }


def resolve_path(event: Mapping[str, Any], value: str) -> str:
    """An EventBridge dynamic path parameter: a whole-value ``$.a.b`` is looked up, text stays."""
    if not value.startswith("$."):
        return value
    found: Any = event
    for part in value[2:].split("."):
        if not isinstance(found, Mapping) or part not in found:
            raise ArgumentError(f"the event has no {value}; the rule's target would fail")
        found = found[part]
    return str(found)


def _stage_package(s3: LocalS3) -> str:
    """The job's package under its content-hashed prefix, as the stack deploys it."""
    files = ingestion_package()
    prefix = f"s3://{ARTIFACT_BUCKET}/{package_key_prefix(package_digest(files))}"
    for relative, content in files.items():
        target = s3.path(f"{prefix}/{relative}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return prefix


def ingestion_definition(config: EnvironmentConfig) -> dict:
    values = {
        "PipelineRoleArn": ROLE_ARN,
        "ArtifactBucket": ARTIFACT_BUCKET,
        "KmsKeyArn": KMS_KEY_ARN,
        "ArtifactKmsKeyArn": KMS_KEY_ARN,
    }
    return json.loads(fill(render_ingestion(config.pipeline, config.ingestion), values))


def _prepare(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    marker = workdir / MARKER
    if not marker.exists():
        marker.write_text("created by python -m pipeline_def.local land\n", encoding="utf-8")


def land(options: LandingOptions, progress: Callable[[str], None]) -> dict[str, Any]:
    """Land one file and run the ingestion pipeline on it; returns (and writes) W/landing.json."""
    check_options(options)
    config = load_environment(read_context(), options.env)
    with workdir_lock(options.workdir):
        _prepare(options.workdir)
        return _land(options, config, progress)


def _land(options: LandingOptions, config: EnvironmentConfig, progress: Callable[[str], None]) -> dict:
    started = time.perf_counter()
    s3 = LocalS3(options.workdir / "s3")
    _stage_package(s3)
    bucket = config.data_bucket_name
    key = f"{names.INCOMING_FOLDER}/{options.group}/{options.file.name}"
    landed = s3.path(f"s3://{bucket}/{key}")
    landed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(options.file, landed)
    event = object_created_event(bucket, key, landed.stat().st_size, datetime.now(UTC), config.region)
    parameters = {
        name: resolve_path(event, value)
        for name, value in config.ingestion.rule_parameters(options.group).items()
    }
    progress(f"s3://{bucket}/{key} landed; starting {config.pipeline.ingestion_pipeline_name}")
    execution_id = "local-ingest-" + str(time.time_ns())[-12:]
    sm = LocalSageMaker(
        s3=s3,
        jobs_dir=options.workdir / "jobs" / execution_id,
        records_dir=options.workdir / "feature-store",
    )
    result = Executor(
        ingestion_definition(config),
        {"Processing": lambda step, request, eid: run_processing(sm, step, request, eid)},
        execution_id=execution_id,
        read_s3_text=s3.read_text,
        overrides=parameters,
        progress=progress,
    ).run()
    summary = _summary(options, config, event, parameters, result, s3, time.perf_counter() - started)
    (options.workdir / "landing.json").write_text(
        json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8"
    )
    return summary


def _outputs(result: ExecutionResult, step: str) -> dict[str, str]:
    outputs = result.properties.get(step, {}).get("ProcessingOutputConfig", {}).get("Outputs", [])
    return {o["OutputName"]: o["S3Output"]["S3Uri"] for o in outputs}


def _summary(
    options: LandingOptions,
    config: EnvironmentConfig,
    event: dict,
    parameters: dict[str, str],
    result: ExecutionResult,
    s3: LocalS3,
    seconds: float,
) -> dict[str, Any]:
    validate = _outputs(result, names.STEP_INGEST_VALIDATE)
    report_uri = f"{validate['report']}/{names.INGEST_REPORT_FILE}" if "report" in validate else None
    put = _outputs(result, names.STEP_INGEST_PUT).get("put")
    summaries = [p for p in s3.files(put) if p.name.endswith("-summary.json")] if put else []
    instances = [json.loads(p.read_text(encoding="utf-8")) for p in summaries]
    return {
        "file": str(options.file),
        "group": options.group,
        "event": event,
        "parameters": parameters,
        "execution_id": result.execution_id,
        "status": result.status,
        "failure_reason": result.failure_reason,
        "steps": [{"name": s.name, "status": s.status} for s in result.steps],
        "report": json.loads(s3.read_text(report_uri)) if report_uri else None,
        "put": instances,
        "ingested": sum(i["ingested"] for i in instances),
        "rejected_prefix": validate.get("rejected") if result.status == "Failed" else None,
        "landed_object_kept": s3.path(f"s3://{parameters['InputBucket']}/{parameters['InputKey']}").is_file(),
        "feature_store": str(options.workdir / "feature-store" / f"{config.prefix}-{options.group}.jsonl"),
        "seconds": round(seconds, 1),
    }


def landing_lines(summary: Mapping[str, Any]) -> str:
    """The console summary: what happened to the file and where to look."""
    report = summary.get("report") or {}
    lines = [f"\ningestion: {summary['status']} ({summary['seconds']} s)", f"  {report.get('summary', '')}"]
    lines += [f"  {error}" for error in (report.get("errors") or [])[:10]]
    for instance in summary.get("put") or []:
        lines.append(
            f"  {instance['host']}: {len(instance['parts'])} part(s), ingested {instance['ingested']:,} "
            f"of {instance['total']:,} into {instance['feature_group']}"
        )
    if summary.get("rejected_prefix"):
        lines.append(f"  rejected: the file and its report are in {summary['rejected_prefix']}")
        lines.append(
            f"  landed object {'kept' if summary['landed_object_kept'] else 'removed from incoming/'}"
        )
    if summary.get("ingested"):
        lines.append(f"  records: {summary['feature_store']}")
    return "\n".join(lines)
