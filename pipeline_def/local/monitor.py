"""``python -m pipeline_def.local monitor``: watch the locally deployed model, offline.

After ``python -m pipeline_def.local run`` has trained, approved and deployed a model in a work
directory, this plays the model's life in production::

    synthetic traffic (--drift X) ─▶ endpoint stand-in (the deployed model.tar.gz, data capture in
    SageMaker's JSON Lines layout, labels under ground-truth/) ─▶ the monitoring definition
    (FraudMonitor: drift.py check, metrics to CloudWatch on a moto server) ─▶ the CloudWatch
    alarms of cdk.json's rules ─▶ "CloudWatch Alarm State Change" events ─▶ the retrain
    function's logic (cool-down) ─▶ a retraining local run on the new traffic

What runs is what deploys: the monitoring definition CloudFormation gets, drift.py as the job
runs it, the alarm rules the stack turns into CloudWatch alarms, and the retrain function's own
logic. The stand-ins are the endpoint (the model is scored in-process) and the pipeline start
(a local run instead of StartPipelineExecution).

``--drift X`` (0 to 3) moves live traffic away from the training data by a documented amount:
``customer_age`` and ``policy_annual_premium`` each shift by X of their training standard
deviations (the baseline's), and the fraud rate becomes (1 + X) times the baseline's (at most
50 %), by drawing frauds and non-frauds from a larger synthetic pool. X = 0 is traffic drawn
like the training data: no alarm is expected.

Outputs: ``W/monitor.json`` (the job's figures, alarm states, events, notifications and what was
triggered) and ``W/monitor.html`` (the same with a drift chart). Capture and labels written by an
earlier ``monitor`` in the same work directory are replaced; nothing else is deleted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline_def import names
from pipeline_def.config import AlarmRule, EnvironmentConfig, load_environment, read_context
from pipeline_def.data.synthetic import generate, write_frames
from pipeline_def.definition.render import fill, render_monitoring
from pipeline_def.local.executor import ExecutionResult, Executor
from pipeline_def.local.expressions import ExecutionError
from pipeline_def.local.jobs import SCORE_FORMAT, LocalSageMaker, run_processing
from pipeline_def.local.model_artifact import load_booster, predict
from pipeline_def.local.registry import LocalCloud, environment
from pipeline_def.local.report import render_monitor_html
from pipeline_def.local.run import workdir_lock
from pipeline_def.local.storage import LocalS3
from pipeline_def.schema import LABEL
from pipeline_def.scripts.drift import format_capture_record

ARTIFACT_BUCKET = "local-artifacts"
ROLE_ARN = "arn:aws:iam::123456789012:role/local-monitoring"
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/local"
MAX_DRIFT = 3.0
MAX_REQUESTS = 1_000_000
DRIFTED_FEATURES = ("customer_age", "policy_annual_premium")
#: Valid ranges of the drifted features (encoding.toml), so drifted traffic stays valid input.
_FEATURE_LIMITS = {"customer_age": (16, 120), "policy_annual_premium": (0, None)}
_MANIFEST = "monitor-traffic.json"
#: The endpoint's production variant, as the deploy function names it.
VARIANT = "AllTraffic"


class MonitorError(ValueError):
    """The work directory or an argument does not allow a monitor run; nothing was written."""


@dataclass(frozen=True, kw_only=True)
class MonitorOptions:
    workdir: Path
    env: str = "dev"
    drift: float = 0.0
    seed: int = 11
    requests: int = 5000
    labelled: float = 1.0
    retrain: bool = True


@dataclass(frozen=True)
class Deployed:
    """What the local run left deployed: the model the endpoint serves and its published baseline."""

    model: Path
    baseline: dict[str, Any]
    package_arn: str


@dataclass
class Traffic:
    """Live requests (feature rows in the baseline's column order), their labels and raw records."""

    features: pd.DataFrame
    labels: np.ndarray
    claims: pd.DataFrame
    customers: pd.DataFrame


def check_options(options: MonitorOptions) -> None:
    """Every argument before anything is written (the local run's rule)."""
    if not 0.0 <= options.drift <= MAX_DRIFT:
        raise MonitorError(f"--drift must be in [0, {MAX_DRIFT}], got {options.drift}")
    if options.seed < 0:
        raise MonitorError(f"--seed must be 0 or more, got {options.seed}")
    if not 1 <= options.requests <= MAX_REQUESTS:
        raise MonitorError(f"--requests must be in [1, {MAX_REQUESTS:,}], got {options.requests}")
    if not 0.0 <= options.labelled <= 1.0:
        raise MonitorError(f"--labelled must be in [0, 1], got {options.labelled}")
    if not (options.workdir / "run.json").is_file():
        raise MonitorError(
            f"{options.workdir}: no run.json; run `python -m pipeline_def.local run --workdir "
            f"{options.workdir}` first (it trains and deploys the model this command watches)"
        )


def baseline_uri(config: EnvironmentConfig) -> str:
    return f"{config.monitoring_baseline_uri(ARTIFACT_BUCKET)}/{names.DRIFT_BASELINE_FILE}"


def deployed(workdir: Path, config: EnvironmentConfig) -> Deployed:
    """The deployed model and baseline, or a MonitorError saying what the run left undeployed."""
    try:
        summary = json.loads((workdir / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise MonitorError(f"{workdir / 'run.json'}: cannot read ({err})") from err
    endpoint = (summary.get("approval") or {}).get("endpoint")
    if summary.get("status") != "Succeeded" or not endpoint:
        raise MonitorError(
            f"{workdir}: the last run deployed no model (status {summary.get('status')!r}, "
            f"approval {(summary.get('approval') or {}).get('status')!r}); nothing to monitor"
        )
    baseline_path = LocalS3(workdir / "s3").path(baseline_uri(config))
    if not baseline_path.is_file():
        raise MonitorError(f"{baseline_path}: the deploy function published no baseline for the endpoint")
    model = Path(summary["artifacts"]["model"])
    return Deployed(
        model, json.loads(baseline_path.read_text(encoding="utf-8")), summary["model_package_arn"]
    )


# --- traffic -------------------------------------------------------------------------------------


def _pool(requests: int, seed: int, fraud_rate: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``requests`` policies whose fraud share is ``fraud_rate``, drawn from a larger synthetic pool."""
    size = max(4 * requests, 1000)
    claims, customers = generate(size, seed=seed)
    rng = np.random.default_rng(seed + 1)
    frauds = np.flatnonzero(claims[LABEL].to_numpy() == 1)
    others = np.flatnonzero(claims[LABEL].to_numpy() == 0)
    wanted = min(round(requests * fraud_rate), len(frauds), requests)
    chosen = np.sort(
        np.concatenate(
            [rng.choice(frauds, wanted, replace=False), rng.choice(others, requests - wanted, replace=False)]
        )
    )
    claims, customers = (
        claims.iloc[chosen].reset_index(drop=True),
        customers.iloc[chosen].reset_index(drop=True),
    )
    ids = np.arange(1, requests + 1, dtype=np.int64)
    return claims.assign(policy_id=ids), customers.assign(policy_id=ids)


def _shift(frame: pd.DataFrame, column: str, amount: float) -> pd.DataFrame:
    low, high = _FEATURE_LIMITS[column]
    shifted = np.rint(frame[column].to_numpy(dtype=float) + amount)
    return frame.assign(**{column: np.clip(shifted, low, high).astype(frame[column].dtype)})


def make_traffic(baseline: Mapping[str, Any], drift: float, seed: int, requests: int) -> Traffic:
    """Live traffic as documented in the module docstring (``--drift``)."""
    rate = min(0.5, float(baseline["label_rate"]) * (1.0 + drift))
    claims, customers = _pool(requests, seed, rate)
    for column in DRIFTED_FEATURES if drift else ():
        amount = drift * float(baseline["features"][column]["std"])
        if column in customers:
            customers = _shift(customers, column, amount)
        else:
            claims = _shift(claims, column, amount)
    joined = claims.merge(customers, on="policy_id", suffixes=("", "_customer"))
    features = joined[list(baseline["columns"])]
    return Traffic(features, joined[LABEL].to_numpy(dtype=np.int64), claims, customers)


@dataclass
class CaptureWriter:
    """The endpoint's data capture and the labels that arrive later, in the deployed layouts."""

    s3: LocalS3
    capture_uri: str
    ground_truth_uri: str
    written: list[Path] = field(default_factory=list)

    def _hour(self, root: str, when: datetime) -> Path:
        return self.s3.path(f"{root}/{when:%Y/%m/%d/%H}")

    def write(self, traffic: Traffic, scores: np.ndarray, labelled: float, when: datetime) -> None:
        event_ids = [f"local-{when:%Y%m%d%H%M%S}-{i:07d}" for i in range(len(scores))]
        rows = traffic.features.to_csv(header=False, index=False, lineterminator="\n").splitlines()
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        records = [
            format_capture_record(row, SCORE_FORMAT % score, event_id, stamp)
            for row, score, event_id in zip(rows, scores, event_ids, strict=True)
        ]
        capture = self._hour(f"{self.capture_uri}/{VARIANT}", when) / "capture.jsonl"
        self._lines(capture, records)
        count = round(len(scores) * labelled)
        truth = [
            json.dumps({"eventId": event_id, "label": int(label)})
            for event_id, label in zip(event_ids[:count], traffic.labels[:count], strict=True)
        ]
        if truth:
            self._lines(self._hour(self.ground_truth_uri, when) / "labels.jsonl", truth)

    def _lines(self, path: Path, lines: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.written.append(path)


def seed_monitoring_prefixes(s3: LocalS3, config: EnvironmentConfig) -> None:
    """What the stack's seed deployment does: an object in each input prefix of FraudMonitor
    (a processing input on an empty prefix fails the job)."""
    for uri in (
        config.monitoring_baseline_uri(ARTIFACT_BUCKET),
        config.endpoint_capture_uri(ARTIFACT_BUCKET),
        config.ground_truth_uri(ARTIFACT_BUCKET),
    ):
        readme = s3.path(f"{uri}/README.txt")
        if not readme.exists():
            s3.write_text(f"{uri}/README.txt", "Seeded so that the monitoring job's input is never empty.\n")


def replace_previous_traffic(workdir: Path) -> None:
    """Delete the capture and label files an earlier ``monitor`` wrote here, and nothing else."""
    manifest = workdir / _MANIFEST
    if not manifest.is_file():
        return
    root = (workdir / "s3").resolve()
    for name in json.loads(manifest.read_text(encoding="utf-8")):
        path = Path(name).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
    manifest.unlink()


# --- the monitoring pipeline, the alarms and the events ----------------------------------------


def monitoring_definition(config: EnvironmentConfig) -> dict:
    values = {"PipelineRoleArn": ROLE_ARN, "ArtifactBucket": ARTIFACT_BUCKET, "KmsKeyArn": KMS_KEY_ARN}
    return json.loads(fill(render_monitoring(config.pipeline, config.monitoring), values))


def run_monitoring(
    workdir: Path, config: EnvironmentConfig, progress: Callable[[str], None]
) -> ExecutionResult:
    """FraudMonitor exactly as deployed; the job's publisher reaches the moto server's CloudWatch."""
    s3 = LocalS3(workdir / "s3")
    sm = LocalSageMaker(s3=s3, jobs_dir=workdir / "monitor-jobs")
    execution_id = "local-monitor-" + str(time.time_ns())[-12:]
    executor = Executor(
        monitoring_definition(config),
        {"Processing": lambda step, request, eid: run_processing(sm, step, request, eid)},
        execution_id=execution_id,
        read_s3_text=s3.read_text,
        overrides={},
        progress=progress,
    )
    return executor.run()


@dataclass(frozen=True)
class AlarmState:
    rule: AlarmRule
    alarm_name: str
    value: float | None
    state: str
    reason: str


def _metric_value(cloudwatch: Any, namespace: str, rule: AlarmRule, since: datetime) -> float | None:
    dimensions = [{"Name": rule.dimension[0], "Value": rule.dimension[1]}] if rule.dimension else []
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=rule.metric,
        Dimensions=dimensions,
        StartTime=since,
        EndTime=since + timedelta(hours=2),
        Period=3600,
        Statistics=[rule.statistic],
    )["Datapoints"]
    values = [point[rule.statistic] for point in points]
    if not values:
        return None
    return min(values) if rule.statistic == "Minimum" else max(values)


def evaluate_alarms(cloudwatch: Any, config: EnvironmentConfig, since: datetime) -> list[AlarmState]:
    """Create the stack's alarms in moto and set each one's state from the published figure.

    moto stores alarms but does not evaluate them, so the evaluation CloudWatch would make (one
    hourly datapoint, missing data not breaching) is made here and written back with SetAlarmState.
    """
    monitoring = config.monitoring
    namespace = monitoring.metrics_namespace(config.name)
    states = []
    for rule in monitoring.alarm_rules:
        name = monitoring.alarm_name(config.prefix, rule)
        dimensions = [{"Name": rule.dimension[0], "Value": rule.dimension[1]}] if rule.dimension else []
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=rule.description,
            Namespace=namespace,
            MetricName=rule.metric,
            Dimensions=dimensions,
            Statistic=rule.statistic,
            Period=monitoring.ALARM_PERIOD_SECONDS,
            EvaluationPeriods=1,
            DatapointsToAlarm=1,
            Threshold=rule.threshold,
            ComparisonOperator=rule.comparison,
            TreatMissingData="notBreaching",
        )
        value = _metric_value(cloudwatch, namespace, rule, since)
        breached = value is not None and rule.breached(value)
        state = "ALARM" if breached else "OK"
        reason = (
            f"Threshold Crossed: 1 datapoint [{value}] was {rule.comparison} the threshold ({rule.threshold})"
            if breached
            else ("no datapoint (treated as not breaching)" if value is None else f"{value} within bounds")
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason[:1023])
        states.append(AlarmState(rule, name, value, state, reason))
    return states


def alarm_event(config: EnvironmentConfig, alarm: AlarmState, when: datetime) -> dict[str, Any]:
    """What EventBridge delivers for the alarm's change to ALARM (CloudWatch's event layout)."""
    account, region = "123456789012", config.region
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {
        "version": "0",
        "id": f"local-{alarm.alarm_name}-{when:%Y%m%d%H%M%S}",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm.alarm_name}"],
        "detail": {
            "alarmName": alarm.alarm_name,
            "state": {"value": alarm.state, "reason": alarm.reason, "timestamp": stamp},
            "previousState": {"value": "OK", "reason": "", "timestamp": stamp},
            "configuration": {"description": alarm.rule.description},
        },
    }


# --- the command ---------------------------------------------------------------------------------


def monitor(
    options: MonitorOptions,
    progress: Callable[[str], None],
    retrain: Callable[[EnvironmentConfig, list[dict], Traffic], list[dict]] | None = None,
) -> dict[str, Any]:
    """One monitoring cycle; returns (and writes) W/monitor.json's content."""
    check_options(options)
    config = load_environment(read_context(), options.env)
    current = deployed(options.workdir, config)
    with workdir_lock(options.workdir):  # a local run on the same folder would wipe it mid-cycle
        return _cycle(options, config, current, progress, retrain)


def _cycle(
    options: MonitorOptions,
    config: EnvironmentConfig,
    current: Deployed,
    progress: Callable[[str], None],
    retrain: Callable[[EnvironmentConfig, list[dict], Traffic], list[dict]] | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    traffic = make_traffic(current.baseline, options.drift, options.seed, options.requests)
    scores = predict(load_booster(current.model), traffic.features.to_numpy(dtype=np.float64))
    when = datetime.now(UTC).replace(microsecond=0)
    s3 = LocalS3(options.workdir / "s3")
    replace_previous_traffic(options.workdir)
    seed_monitoring_prefixes(s3, config)
    writer = CaptureWriter(
        s3, config.endpoint_capture_uri(ARTIFACT_BUCKET), config.ground_truth_uri(ARTIFACT_BUCKET)
    )
    writer.write(traffic, scores, options.labelled, when)
    (options.workdir / _MANIFEST).write_text(json.dumps([str(p) for p in writer.written]), encoding="utf-8")
    progress(f"{len(scores):,} requests captured (drift {options.drift}); running {names.STEP_MONITOR}")
    with LocalCloud(config.region) as cloud, environment(cloud.environment):
        result = run_monitoring(options.workdir, config, progress)
        if result.status != "Succeeded":
            raise ExecutionError(f"{result.status}: {result.failure_reason}")
        figures = json.loads(s3.read_text(f"{_report_uri(result)}/monitor.json"))
        alarms = evaluate_alarms(cloud.client("cloudwatch"), config, when - timedelta(minutes=5))
    events = [alarm_event(config, a, when) for a in alarms if a.state == "ALARM"]
    triggered = retrain(config, events, traffic) if (retrain and options.retrain and events) else []
    summary = _summary(options, current, figures, alarms, events, triggered, time.perf_counter() - started)
    (options.workdir / "monitor.json").write_text(
        json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8"
    )
    (options.workdir / "monitor.html").write_text(render_monitor_html(summary), encoding="utf-8")
    return summary


def monitor_lines(summary: Mapping[str, Any]) -> str:
    """The console summary: status, the alarms that fired and what they started."""
    quality = summary.get("live_quality") or {}
    drift = summary.get("feature_drift") or {}
    judged = [e["psi"] for e in drift.values() if e.get("psi") is not None]
    lines = [
        f"\nmonitoring: {summary['status']} ({summary['requests']:,} requests, drift {summary['drift']})",
        f"  largest feature PSI: {max(judged):.3f}" if judged else "  feature drift: not judged",
        f"  live AUC {quality.get('auc')}, recall {quality.get('recall')}",
        f"  violations: {len(summary.get('violations') or [])}",
    ]
    lines += [f"  alarm {a['alarm']}: {a['state']} ({a['metric']} = {a['value']})" for a in summary["alarms"]]
    lines += [f"  {_triggered_line(t)}" for t in summary.get("triggered") or []]
    lines.append("  monitor.json and monitor.html written")
    return "\n".join(lines)


def _triggered_line(entry: Mapping[str, Any]) -> str:
    """What one alarm event led to: a retraining run (and how it ended), a cool-down, a notice."""
    outcome, alarm = entry.get("outcome"), entry.get("alarm")
    run = entry.get("run") or {}
    if run:
        return f"{alarm} -> {outcome}: {run.get('outcome') or run.get('status')} (in {run.get('workdir')})"
    if outcome == "cool_down":
        held_by = entry.get("pipeline_execution_arn")
        return f"{alarm} -> cool_down until {entry.get('cool_down_ends')} (held by {held_by})"
    return f"{alarm} -> {outcome}" + (f" ({entry['reason']})" if entry.get("reason") else "")


def _summary(
    options: MonitorOptions,
    current: Deployed,
    figures: dict[str, Any],
    alarms: list[AlarmState],
    events: list[dict],
    triggered: list[dict],
    seconds: float,
) -> dict[str, Any]:
    return {
        "drift": options.drift,
        "seed": options.seed,
        "requests": options.requests,
        "model_package_arn": current.package_arn,
        "status": figures["status"],
        "feature_drift": figures.get("feature_drift", {}),
        "prediction_drift": figures.get("prediction_drift", {}),
        "bias_drift": figures.get("bias_drift", {}),
        "live_quality": figures.get("live_quality", {}),
        "data_quality": figures.get("data_quality", {}),
        "violations": figures.get("violations", []),
        "published": figures.get("published", {}),
        "alarms": [
            {
                "alarm": a.alarm_name,
                "metric": a.rule.metric,
                "value": a.value,
                "threshold": a.rule.threshold,
                "comparison": a.rule.comparison,
                "state": a.state,
                "retrain": a.rule.retrain,
            }
            for a in alarms
        ],
        "events": [e["detail"]["alarmName"] for e in events],
        "triggered": triggered,
        "seconds": round(seconds, 1),
        "thresholds": figures.get("thresholds", {}),
    }


def _report_uri(result: ExecutionResult) -> str:
    outputs = result.properties[names.STEP_MONITOR]["ProcessingOutputConfig"]["Outputs"]
    return next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == "report")


def write_traffic_inputs(folder: Path, traffic: Traffic) -> tuple[Path, Path]:
    """The live traffic as input files: what a retraining run trains on (the newest data)."""
    return write_frames(traffic.claims, traffic.customers, folder)


__all__ = [
    "MonitorError",
    "MonitorOptions",
    "make_traffic",
    "monitor",
    "write_traffic_inputs",
]
