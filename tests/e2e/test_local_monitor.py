"""The deployed model's life offline: traffic, the monitoring pipeline, alarms, retraining on drift.

One local run trains and deploys a model; then three monitoring cycles run on its folder, as
``make monitor`` would: traffic drawn like the training data, traffic drifted by one standard
deviation, and the same drift again inside the cool-down.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pipeline_def.config import load_environment, read_context
from pipeline_def.local.monitor import MonitorOptions, baseline_uri, monitor
from pipeline_def.local.retraining import RUN_FOLDER, STATE_FILE, retrain_locally, retraining_alarms
from pipeline_def.local.run import RunOptions, WorkdirError, run, workdir_lock
from pipeline_def.local.storage import LocalS3

pytestmark = pytest.mark.long_module(9)

ROWS = 2000
REQUESTS = 2000


def _cycle(workdir: Path, drift: float) -> dict:
    options = MonitorOptions(workdir=workdir, drift=drift, seed=11, requests=REQUESTS)
    return monitor(options, lambda _line: None, retrain=retrain_locally(workdir, lambda _line: None))


@pytest.fixture(scope="module")
def life(tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("monitored")
    trained = run(RunOptions(workdir=workdir, rows=ROWS, seed=7))
    calm = _cycle(workdir, 0.0)
    drifted = _cycle(workdir, 1.0)
    history_after_drift = json.loads((workdir / STATE_FILE).read_text())
    again = _cycle(workdir, 1.0)
    return {
        "workdir": workdir,
        "trained": trained,
        "calm": calm,
        "drifted": drifted,
        "again": again,
        "history_after_drift": history_after_drift,
        "config": load_environment(read_context(), "dev"),
    }


def _alarms(summary: dict, state: str) -> set[str]:
    return {a["alarm"] for a in summary["alarms"] if a["state"] == state}


def test_the_deploy_function_publishes_the_served_packages_baseline_where_the_job_reads_it(life):
    # Given a run that deployed its model
    assert life["trained"]["approval"]["status"] == "Approved"
    # Then the baseline object and the package record sit under the monitoring job's input
    s3 = LocalS3(life["workdir"] / "s3")
    baseline = json.loads(s3.path(baseline_uri(life["config"])).read_text())
    assert baseline["columns"]
    assert baseline["label_rate"] > 0
    record = s3.path(baseline_uri(life["config"])).with_name("deployed-package.json")
    assert json.loads(record.read_text())["model_package_arn"] == life["trained"]["model_package_arn"]


def test_traffic_drawn_like_the_training_data_raises_no_alarm_and_starts_nothing(life):
    calm = life["calm"]
    assert calm["status"] == "ok"
    assert _alarms(calm, "ALARM") == set()
    assert calm["triggered"] == []
    assert max(e["psi"] for e in calm["feature_drift"].values() if e.get("psi") is not None) < 0.2


def test_drifted_traffic_alarms_on_feature_drift_and_starts_one_retraining_run(life):
    drifted, config = life["drifted"], life["config"]
    feature_alarm = config.monitoring.alarm_name(config.prefix, _rule(config, "feature-drift"))
    assert feature_alarm in _alarms(drifted, "ALARM")
    started = [t for t in drifted["triggered"] if t["outcome"] == "retraining_started"]
    assert [t["alarm"] for t in started] == [feature_alarm]
    run_record = started[0]["run"]
    # The run got the schedule's parameters and trained on the drifted traffic, in W/retrain
    assert run_record["parameters"] == config.pipeline_run_parameters()
    assert run_record["status"] == "Succeeded"
    retrained = json.loads((life["workdir"] / RUN_FOLDER / "run.json").read_text())
    assert retrained["rows"]["joined"] == REQUESTS
    assert started[0]["notifications"] == [f"Retraining started: {feature_alarm}"]
    assert len(life["history_after_drift"]) == 1


def test_alarms_whose_rule_does_not_retrain_only_notify(life):
    retraining = set(retraining_alarms(life["config"]))
    for entry in life["drifted"]["triggered"]:
        if entry["alarm"] not in retraining:
            assert entry["outcome"] == "notified"
            assert "run" not in entry


def test_the_cool_down_holds_the_same_drift_back_and_names_the_run_that_holds_it(life):
    again, config = life["again"], life["config"]
    (first,) = life["history_after_drift"]
    held = [t for t in again["triggered"] if t["alarm"] in retraining_alarms(config)]
    assert held
    assert {t["outcome"] for t in held} == {"cool_down"}
    assert {t["pipeline_execution_arn"] for t in held} == {first["arn"]}
    ends = datetime.fromisoformat(held[0]["cool_down_ends"])
    cool_down = timedelta(seconds=config.monitoring.cool_down_seconds)
    assert ends == datetime.fromisoformat(first["created_at"]) + cool_down
    assert json.loads((life["workdir"] / STATE_FILE).read_text()) == life["history_after_drift"]


def test_a_monitor_refuses_a_folder_a_local_run_holds(life):
    with workdir_lock(life["workdir"]), pytest.raises(WorkdirError, match="in use by another local run"):
        _cycle(life["workdir"], 0.0)


def _rule(config, name: str):
    return next(rule for rule in config.monitoring.alarm_rules if rule.name == name)
