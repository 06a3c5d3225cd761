"""The local monitor's parts: drifted traffic, the capture it writes, its arguments, its alarms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from pipeline_def.local import monitor as m
from pipeline_def.local.registry import LocalCloud
from pipeline_def.local.storage import LocalS3
from pipeline_def.scripts import drift

WHEN = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


# --- traffic -------------------------------------------------------------------------------------


def test_traffic_without_drift_keeps_the_baselines_fraud_rate(baseline: dict) -> None:
    traffic = m.make_traffic(baseline, 0.0, seed=5, requests=5000)
    assert traffic.labels.mean() == pytest.approx(baseline["label_rate"], abs=0.5 / 5000)


def test_drift_one_doubles_the_fraud_rate(baseline: dict) -> None:
    # Documented: the fraud rate becomes (1 + X) times the baseline's
    traffic = m.make_traffic(baseline, 1.0, seed=5, requests=5000)
    assert traffic.labels.mean() == pytest.approx(2 * baseline["label_rate"], abs=0.5 / 5000)


def test_drift_moves_each_drifted_feature_by_that_many_training_deviations(baseline: dict) -> None:
    still = m.make_traffic(baseline, 0.0, seed=5, requests=5000).features
    moved = m.make_traffic(baseline, 1.5, seed=5, requests=5000).features
    for column in m.DRIFTED_FEATURES:
        std = baseline["features"][column]["std"]
        # The drifted traffic draws other rows (more frauds): within sampling error of 1.5 std
        assert moved[column].mean() - still[column].mean() == pytest.approx(1.5 * std, abs=0.1 * std), column


def test_a_shift_adds_the_amount_in_whole_units() -> None:
    import pandas as pd

    frame = pd.DataFrame({"customer_age": [30, 40], "policy_annual_premium": [1000, 2000]})
    shifted = m._shift(frame, "customer_age", 13.4)
    assert shifted["customer_age"].tolist() == [43, 53]


def test_drift_leaves_the_other_features_alone(baseline: dict) -> None:
    still = m.make_traffic(baseline, 0.0, seed=5, requests=2000).features
    moved = m.make_traffic(baseline, 2.0, seed=5, requests=2000).features
    assert still.columns.equals(moved.columns)
    assert "incident_hour" not in m.DRIFTED_FEATURES


def test_drifted_ages_stay_inside_the_valid_range(baseline: dict) -> None:
    moved = m.make_traffic(baseline, 3.0, seed=5, requests=2000).features
    assert moved["customer_age"].max() <= 120


def test_traffic_columns_are_the_models_in_its_order(baseline: dict) -> None:
    traffic = m.make_traffic(baseline, 0.0, seed=1, requests=10)
    assert list(traffic.features.columns) == baseline["columns"]


def test_the_same_seed_gives_the_same_traffic(baseline: dict) -> None:
    first = m.make_traffic(baseline, 0.7, seed=9, requests=500)
    second = m.make_traffic(baseline, 0.7, seed=9, requests=500)
    assert first.features.equals(second.features)


# --- the capture ---------------------------------------------------------------------------------


def _write(tmp_path: Path, baseline: dict, labelled: float = 1.0) -> m.CaptureWriter:
    traffic = m.make_traffic(baseline, 0.0, seed=2, requests=40)
    writer = m.CaptureWriter(LocalS3(tmp_path / "s3"), "s3://b/capture/endpoint", "s3://b/ground-truth")
    writer.write(traffic, np.linspace(0.01, 0.99, 40), labelled, WHEN)
    return writer


def test_capture_lands_in_sagemakers_endpoint_variant_hour_layout(tmp_path: Path, baseline: dict) -> None:
    writer = _write(tmp_path, baseline)
    expected = tmp_path / "s3/b/capture/endpoint/AllTraffic/2026/12/03/10/capture.jsonl"
    assert writer.written[0] == expected


def test_the_monitoring_job_reads_every_captured_record(tmp_path: Path, baseline: dict) -> None:
    writer = _write(tmp_path, baseline)
    lines = writer.written[0].read_text(encoding="utf-8").splitlines()
    chunk = drift.parse_capture_lines(lines, "capture.jsonl")
    assert (chunk.lines, len(chunk.rows), len(chunk.issues)) == (40, 40, 0)


def test_labels_are_keyed_by_the_captures_event_ids(tmp_path: Path, baseline: dict) -> None:
    writer = _write(tmp_path, baseline)
    capture_ids = [
        json.loads(x)["eventMetadata"]["eventId"] for x in writer.written[0].read_text().splitlines()
    ]
    label_ids = [json.loads(x)["eventId"] for x in writer.written[1].read_text().splitlines()]
    assert label_ids == capture_ids


def test_only_the_labelled_share_of_requests_gets_a_label(tmp_path: Path, baseline: dict) -> None:
    writer = _write(tmp_path, baseline, labelled=0.25)
    assert len(writer.written[1].read_text().splitlines()) == 10


def test_no_label_file_when_no_label_has_arrived(tmp_path: Path, baseline: dict) -> None:
    assert len(_write(tmp_path, baseline, labelled=0.0).written) == 1


# --- what is replaced, what is never deleted ---------------------------------------------------


def test_the_previous_monitors_traffic_is_replaced(tmp_path: Path) -> None:
    old = tmp_path / "s3/b/capture/old.jsonl"
    old.parent.mkdir(parents=True)
    old.write_text("{}\n")
    (tmp_path / "monitor-traffic.json").write_text(json.dumps([str(old)]))
    m.replace_previous_traffic(tmp_path)
    assert not old.exists()
    assert not (tmp_path / "monitor-traffic.json").exists()


def test_a_manifest_naming_files_outside_the_s3_folder_deletes_nothing(tmp_path: Path) -> None:
    # Given a manifest edited to name a file of the user's, outside the work directory's s3/
    precious = tmp_path / "precious.csv"
    precious.write_text("keep me\n")
    (tmp_path / "s3").mkdir()
    (tmp_path / "monitor-traffic.json").write_text(
        json.dumps([str(precious), str(tmp_path / "s3/../precious.csv")])
    )
    # When the traffic is replaced / Then the file is still there
    m.replace_previous_traffic(tmp_path)
    assert precious.read_text() == "keep me\n"


def test_seeding_never_overwrites_what_is_there(tmp_path: Path, config) -> None:
    s3 = LocalS3(tmp_path)
    uri = f"{config.monitoring_baseline_uri(m.ARTIFACT_BUCKET)}/README.txt"
    s3.write_text(uri, "mine\n")
    m.seed_monitoring_prefixes(s3, config)
    assert s3.read_text(uri) == "mine\n"
    assert s3.path(f"{config.ground_truth_uri(m.ARTIFACT_BUCKET)}/README.txt").is_file()


# --- arguments, checked before anything is written -----------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drift": 3.5}, "--drift must be in [0, 3.0], got 3.5"),
        ({"drift": -0.1}, "--drift must be in [0, 3.0], got -0.1"),
        ({"seed": -1}, "--seed must be 0 or more, got -1"),
        ({"requests": 0}, "--requests must be in [1, 1,000,000], got 0"),
        ({"labelled": 1.5}, "--labelled must be in [0, 1], got 1.5"),
    ],
)
def test_a_bad_argument_is_refused_with_its_name(tmp_path: Path, change: dict, message: str) -> None:
    (tmp_path / "run.json").write_text("{}")
    with pytest.raises(m.MonitorError) as error:
        m.check_options(m.MonitorOptions(workdir=tmp_path, **change))
    assert str(error.value) == message


def test_a_workdir_without_a_run_says_which_command_to_run_first(tmp_path: Path) -> None:
    with pytest.raises(m.MonitorError, match=r"no run.json; run `python -m pipeline_def.local run"):
        m.check_options(m.MonitorOptions(workdir=tmp_path))


def test_a_run_that_deployed_nothing_is_refused(tmp_path: Path, config) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"status": "Failed", "approval": None}))
    with pytest.raises(m.MonitorError, match="the last run deployed no model"):
        m.deployed(tmp_path, config)


def test_the_cli_exits_2_and_writes_nothing_for_a_bad_argument(tmp_path: Path, capsys) -> None:
    from pipeline_def.local import __main__ as cli

    (tmp_path / "run.json").write_text("{}")
    assert cli.main(["monitor", "--workdir", str(tmp_path), "--drift", "9"]) == 2
    assert capsys.readouterr().err.startswith("error: --drift must be in [0, 3.0]")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


# --- alarms: the stack's rules, evaluated on what the job published -------------------------------


@pytest.fixture
def cloudwatch(config):
    with LocalCloud(config.region) as cloud:
        yield cloud.client("cloudwatch")


def _publish(cloudwatch, config, values: dict[str, float]) -> None:
    data = [{"MetricName": name, "Value": value, "Timestamp": WHEN} for name, value in values.items()]
    cloudwatch.put_metric_data(Namespace=config.monitoring.metrics_namespace(config.name), MetricData=data)


def _states(cloudwatch, config) -> dict[str, str]:
    states = m.evaluate_alarms(cloudwatch, config, WHEN - timedelta(minutes=5))
    return {s.rule.name: s.state for s in states}


def test_a_psi_above_the_threshold_raises_the_feature_drift_alarm(cloudwatch, config) -> None:
    _publish(cloudwatch, config, {"max_feature_psi": config.monitoring.thresholds.psi + 0.01})
    assert _states(cloudwatch, config)["feature-drift"] == "ALARM"


def test_a_psi_at_the_threshold_does_not(cloudwatch, config) -> None:
    _publish(cloudwatch, config, {"max_feature_psi": config.monitoring.thresholds.psi})
    assert _states(cloudwatch, config)["feature-drift"] == "OK"


def test_a_live_auc_below_the_bar_raises_its_alarm(cloudwatch, config) -> None:
    _publish(cloudwatch, config, {"auc": config.monitoring.thresholds.min_auc - 0.05})
    assert _states(cloudwatch, config)["live-auc"] == "ALARM"


def test_a_figure_never_published_leaves_its_alarm_ok(cloudwatch, config) -> None:
    # Missing data is not breaching: no labels yet is not a quality drop
    _publish(cloudwatch, config, {"rows": 10})
    assert set(_states(cloudwatch, config).values()) == {"OK"}


def test_alarm_states_are_written_back_to_cloudwatch(cloudwatch, config) -> None:
    _publish(cloudwatch, config, {"violations": 2})
    _states(cloudwatch, config)
    name = config.monitoring.alarm_name(
        config.prefix, next(r for r in config.monitoring.alarm_rules if r.name == "violations")
    )
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"


def test_an_alarm_event_has_cloudwatchs_state_change_layout(config) -> None:
    rule = config.monitoring.alarm_rules[0]
    state = m.AlarmState(rule, "fraud-mlops-dev-monitor-feature-drift", 0.5, "ALARM", "Threshold Crossed")
    event = m.alarm_event(config, state, WHEN)
    assert (event["source"], event["detail-type"]) == ("aws.cloudwatch", "CloudWatch Alarm State Change")
    assert event["detail"]["state"] == {
        "value": "ALARM",
        "reason": "Threshold Crossed",
        "timestamp": "2026-12-03T10:00:00.000+0000",
    }
    assert event["resources"] == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:fraud-mlops-dev-monitor-feature-drift"
    ]
