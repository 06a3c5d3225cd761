"""Retraining on alarm, offline: the retrain function's logic over a local-run pipeline stand-in.

The local run itself is replaced by a recorder here (tests/e2e/test_local_monitor.py runs the
real one); what is specified is what the stand-in records, what it tells the function, and which
alarms reach the function at all.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline_def.config import Reader, load_environment, read_context
from pipeline_def.local import monitor as m
from pipeline_def.local import retraining as r
from pipeline_def.local.run import ArgumentError

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def runs(monkeypatch) -> list:
    """Replace the local run with a recorder that succeeds with an approved package."""
    started: list = []

    def fake_run(options, progress):
        started.append(options)
        return {"status": "Succeeded", "outcome": "Succeeded (Approved)", "approval": {"status": "Approved"}}

    monkeypatch.setattr(r, "run", fake_run)
    return started


@pytest.fixture
def traffic(baseline: dict) -> m.Traffic:
    return m.make_traffic(baseline, 1.0, seed=5, requests=300)


def _event(config, rule_name: str, when: datetime) -> dict:
    rule = next(rule for rule in config.monitoring.alarm_rules if rule.name == rule_name)
    name = config.monitoring.alarm_name(config.prefix, rule)
    state = m.AlarmState(rule, name, 9.0, "ALARM", "Threshold Crossed: test")
    return m.alarm_event(config, state, when)


def _act(tmp_path: Path, config, traffic, events: list[dict], clock: Clock) -> list[dict]:
    return r.retrain_locally(tmp_path, lambda _line: None, clock)(config, events, traffic)


def test_a_retraining_alarm_starts_a_local_run_on_the_live_traffic(tmp_path, config, traffic, runs) -> None:
    # Given no earlier run and a feature-drift alarm
    (result,) = _act(tmp_path, config, traffic, [_event(config, "feature-drift", T0)], Clock(T0))
    # Then the function started one run, in W/retrain, on the traffic written to W/monitor-data
    assert result["outcome"] == "retraining_started"
    (options,) = runs
    assert options.workdir == tmp_path / r.RUN_FOLDER
    assert options.claims.parent == tmp_path / r.INPUTS_FOLDER
    assert len(options.claims.read_text().splitlines()) == len(traffic.labels) + 1
    # With the parameters a scheduled run passes, and the run's outcome recorded
    assert options.overrides == config.pipeline_run_parameters()
    assert result["run"]["status"] == "Succeeded"
    assert result["run"]["approval"] == "Approved"
    assert result["notifications"] == [f"Retraining started: {result['alarm']}"]


def test_two_retraining_alarms_in_one_cycle_start_one_run(tmp_path, config, traffic, runs) -> None:
    events = [_event(config, "feature-drift", T0), _event(config, "live-recall", T0)]
    results = _act(tmp_path, config, traffic, events, Clock(T0 + timedelta(seconds=5)))
    assert [x["outcome"] for x in results] == ["retraining_started", "cool_down"]
    assert len(runs) == 1
    assert results[1]["pipeline_execution_arn"] == results[0]["pipeline_execution_arn"]


def test_the_cool_down_ends_exactly_cool_down_hours_after_the_run(tmp_path, config, traffic, runs) -> None:
    cool_down = timedelta(seconds=config.monitoring.cool_down_seconds)
    _act(tmp_path, config, traffic, [_event(config, "feature-drift", T0)], Clock(T0))
    # Just inside the window: held back
    inside = T0 + cool_down - timedelta(seconds=1)
    (held,) = _act(tmp_path, config, traffic, [_event(config, "feature-drift", inside)], Clock(inside))
    assert held["outcome"] == "cool_down"
    assert datetime.fromisoformat(held["cool_down_ends"]) == T0 + cool_down
    # At its end: a second run
    (again,) = _act(
        tmp_path, config, traffic, [_event(config, "feature-drift", T0 + cool_down)], Clock(T0 + cool_down)
    )
    assert again["outcome"] == "retraining_started"
    assert len(runs) == 2
    assert len(json.loads((tmp_path / r.STATE_FILE).read_text())) == 2


def test_alarms_that_only_notify_never_reach_the_function(tmp_path, config, traffic, runs) -> None:
    events = [_event(config, "violations", T0), _event(config, "bias-di-low", T0)]
    results = _act(tmp_path, config, traffic, events, Clock(T0))
    assert {x["outcome"] for x in results} == {"notified"}
    assert runs == []
    assert not (tmp_path / r.STATE_FILE).exists()


def test_with_retrain_on_alarm_off_no_alarm_retrains(tmp_path, traffic, runs) -> None:
    data = copy.deepcopy(dict(read_context().data))
    data["environments"]["dev"]["monitoring"]["retrainOnAlarm"] = False
    config = load_environment(Reader(data, "cdk.json.context"), "dev")
    assert r.retraining_alarms(config) == ()
    (result,) = _act(tmp_path, config, traffic, [_event(config, "feature-drift", T0)], Clock(T0))
    assert result["outcome"] == "notified"
    assert runs == []


def test_a_run_that_refuses_its_options_is_a_failed_execution_that_still_holds_the_cool_down(
    tmp_path, config, traffic, monkeypatch
) -> None:
    def refusing_run(options, progress):
        raise ArgumentError(f"--workdir {options.workdir} is a file, not a folder")

    monkeypatch.setattr(r, "run", refusing_run)
    (first,) = _act(tmp_path, config, traffic, [_event(config, "feature-drift", T0)], Clock(T0))
    assert first["outcome"] == "retraining_started"
    assert first["run"]["status"] == "Failed"
    assert "is a file, not a folder" in first["run"]["outcome"]
    later = T0 + timedelta(minutes=5)
    (second,) = _act(tmp_path, config, traffic, [_event(config, "feature-drift", later)], Clock(later))
    assert second["outcome"] == "cool_down"


def test_the_latest_execution_is_the_newest_of_this_pipeline_only(tmp_path, config, traffic) -> None:
    starter = r.LocalPipelineStarter(tmp_path, config, traffic, lambda _line: None)
    assert starter.latest_execution(config.pipeline.pipeline_name) is None
    history = [
        {
            "pipeline_name": config.pipeline.pipeline_name,
            "arn": "arn:old",
            "created_at": T0.isoformat(),
            "status": "Succeeded",
        },
        {
            "pipeline_name": "another-pipeline",
            "arn": "arn:other",
            "created_at": (T0 + timedelta(hours=2)).isoformat(),
            "status": "Executing",
        },
        {
            "pipeline_name": config.pipeline.pipeline_name,
            "arn": "arn:new",
            "created_at": (T0 + timedelta(hours=1)).isoformat(),
            "status": "Failed",
        },
    ]
    (tmp_path / r.STATE_FILE).write_text(json.dumps(history))
    latest = starter.latest_execution(config.pipeline.pipeline_name)
    assert latest.arn == "arn:new"
    assert latest.created_at == T0 + timedelta(hours=1)
    assert latest.status == "Failed"
