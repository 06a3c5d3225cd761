"""Retraining on alarm, offline: the retrain function's own logic with a local run as the pipeline.

The deployed path is alarm → EventBridge rule → retrain function → StartPipelineExecution. Here
each alarm event goes to :func:`lambdas.retrain.logic.retrain` unchanged (the same settings, built
from cdk.json by ``EnvironmentConfig.retrain_environment``, the same cool-down and messages). Two
stand-ins take the AWS calls:

* :class:`LocalPipelineStarter`, the training pipeline: ``latest_execution`` reads
  ``W/monitor-retraining.json`` (every run this folder's monitor started), ``start`` writes the
  drifted traffic to ``W/monitor-data/`` and runs ``python -m pipeline_def.local run`` on it in
  ``W/retrain/`` with the parameters the function passes (the schedule's bar);
* :class:`CollectingNotifier`, the reviewers' topic: the messages are kept for monitor.json.

Only the alarms whose rule retrains reach the function (the stack's rule matches those alone);
the others are notifications only and are recorded as such.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lambdas.retrain.logic import retrain
from lambdas.retrain.models import LatestExecution, RetrainSettings, StartRequest, parse_alarm_event
from lambdas.shared.clock import Clock, utc_now
from lambdas.shared.notify import Notifier
from lambdas.shared.settings import load_settings
from pipeline_def.config import EnvironmentConfig
from pipeline_def.local.monitor import Traffic, write_traffic_inputs
from pipeline_def.local.registry import ACCOUNT
from pipeline_def.local.run import IDEMPOTENCY_TABLE, RunOptions, run

STATE_FILE = "monitor-retraining.json"
INPUTS_FOLDER = "monitor-data"
RUN_FOLDER = "retrain"


@dataclass
class CollectingNotifier(Notifier):
    """The reviewers' topic: what would be published, kept in order."""

    messages: list[dict[str, str]] = field(default_factory=list)

    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        self.messages.append({"topic": topic_arn, "subject": subject, "message": message})


@dataclass
class LocalPipelineStarter:
    """StartPipelineExecution and ListPipelineExecutions over local runs in the work directory."""

    workdir: Path
    config: EnvironmentConfig
    traffic: Traffic
    progress: Callable[[str], None]
    clock: Clock = utc_now
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state_path(self) -> Path:
        return self.workdir / STATE_FILE

    def history(self) -> list[dict[str, Any]]:
        if not self.state_path.is_file():
            return []
        return json.loads(self.state_path.read_text(encoding="utf-8"))

    def latest_execution(self, pipeline_name: str) -> LatestExecution | None:
        mine = [run for run in self.history() if run["pipeline_name"] == pipeline_name]
        if not mine:
            return None
        newest = max(mine, key=lambda run: run["created_at"])
        return LatestExecution(newest["arn"], datetime.fromisoformat(newest["created_at"]), newest["status"])

    def start(self, request: StartRequest) -> str:
        """Record the execution first (a crash mid-run still holds the cool-down), then run it."""
        created = self.clock()
        claims, customers = write_traffic_inputs(self.workdir / INPUTS_FOLDER, self.traffic)
        record: dict[str, Any] = {
            "pipeline_name": request.pipeline_name,
            "display_name": request.display_name,
            "description": request.description,
            "parameters": dict(request.parameters),
            "created_at": created.isoformat(),
            "arn": self._arn(request, created),
            "status": "Executing",
            "workdir": str(self.workdir / RUN_FOLDER),
        }
        self._save(record)
        self.progress(f"▶ retraining: {request.display_name} on {len(self.traffic.labels):,} new records")
        options = RunOptions(
            env=self.config.name,
            workdir=self.workdir / RUN_FOLDER,
            claims=claims,
            customers=customers,
            overrides=dict(request.parameters),
        )
        try:
            summary = run(options, lambda line: self.progress(f"  {line}"))
        except ValueError as err:  # the run refused its options or inputs: a failed execution
            record.update(status="Failed", outcome=f"Failed before any step: {err}")
        else:
            record.update(
                status=summary["status"],
                outcome=summary.get("outcome"),
                approval=(summary.get("approval") or {}).get("status"),
                model_package_arn=summary.get("model_package_arn"),
            )
        self._save(record)
        self.runs.append(record)
        return record["arn"]

    def _arn(self, request: StartRequest, created: datetime) -> str:
        pipeline = f"arn:aws:sagemaker:{self.config.region}:{ACCOUNT}:pipeline/{request.pipeline_name}"
        return f"{pipeline}/execution/local-retrain-{created:%Y%m%d%H%M%S%f}"

    def _save(self, record: dict[str, Any]) -> None:
        history = [run for run in self.history() if run["arn"] != record["arn"]] + [record]
        self.state_path.write_text(json.dumps(history, indent=2, sort_keys=True), encoding="utf-8")


def retraining_alarms(config: EnvironmentConfig) -> tuple[str, ...]:
    """The alarms the retrain function answers: those whose rule retrains (none when off)."""
    monitoring = config.monitoring
    rules = [rule for rule in monitoring.alarm_rules if rule.retrain]
    return tuple(monitoring.alarm_name(config.prefix, rule) for rule in rules)


def retrain_settings(config: EnvironmentConfig, alarm_names: tuple[str, ...]) -> RetrainSettings:
    """The function's settings exactly as the monitoring stack sets its environment."""
    topic = f"arn:aws:sns:{config.region}:{ACCOUNT}:local-reviewers"
    variables = config.retrain_environment(
        idempotency_table=IDEMPOTENCY_TABLE, topic_arn=topic, alarm_names=alarm_names
    ).variables()
    return load_settings(RetrainSettings, variables)


def retrain_locally(workdir: Path, progress: Callable[[str], None], clock: Clock = utc_now):
    """What ``monitor`` calls with the ALARM events: each retraining alarm through the function."""

    def act(config: EnvironmentConfig, events: list[dict], traffic: Traffic) -> list[dict]:
        alarm_names = retraining_alarms(config)
        starter = LocalPipelineStarter(workdir, config, traffic, progress, clock)
        triggered = []
        for event in events:
            name: str = event["detail"]["alarmName"]
            if name not in alarm_names:
                triggered.append({"alarm": name, "outcome": "notified", "reason": "its rule never retrains"})
                continue
            notifier = CollectingNotifier()
            result = retrain(
                parse_alarm_event(event),
                settings=retrain_settings(config, alarm_names),
                starter=starter,
                notifier=notifier,
                clock=clock,
            )
            execution = result.get("pipeline_execution_arn")
            run_record = next((r for r in starter.runs if r["arn"] == execution), None)
            triggered.append(
                {
                    "alarm": name,
                    **{key: value for key, value in result.items() if key != "alarm_name"},
                    "notifications": [message["subject"] for message in notifier.messages],
                    **({"run": run_record} if run_record else {}),
                }
            )
        return triggered

    return act
