"""The ``monitoring`` block: schedule, thresholds, and the alarm rules the stack and local run share."""

from __future__ import annotations

import copy

import pytest

from pipeline_def.config import ConfigError, Reader, load_environment, read_context
from pipeline_def.config.monitoring import GREATER, LESS


@pytest.fixture(scope="module")
def context() -> Reader:
    return read_context()


def _with_monitoring(context: Reader, **changes) -> Reader:
    data = copy.deepcopy(dict(context.data))
    block = data["environments"]["dev"]["monitoring"]
    for key, value in changes.items():
        if key.startswith("thresholds."):
            block.setdefault("thresholds", {})[key.split(".", 1)[1]] = value
        elif value is None:
            block.pop(key, None)
        else:
            block[key] = value
    return Reader(data, "cdk.json.context")


def _error(context: Reader, **changes) -> str:
    with pytest.raises(ConfigError) as error:
        load_environment(_with_monitoring(context, **changes), "dev")
    return str(error.value)


KEY = "cdk.json.context.environments.dev.monitoring"


def test_every_environment_has_a_monitoring_block(context: Reader) -> None:
    for env in ("dev", "staging", "prod"):
        assert load_environment(context, env).monitoring.cool_down_hours >= 1


def test_live_quality_bars_default_to_the_pipelines_gate(context: Reader) -> None:
    config = load_environment(context, "prod")
    assert config.monitoring.thresholds.min_auc == config.pipeline.min_auc
    assert config.monitoring.thresholds.min_recall == config.pipeline.min_recall


def test_bias_bounds_are_the_approval_gates(context: Reader) -> None:
    config = load_environment(context, "staging")
    assert (config.monitoring.thresholds.di_min, config.monitoring.thresholds.di_max) == (
        config.approval.di_min,
        config.approval.di_max,
    )


def test_a_live_auc_bar_can_be_set_apart_from_the_gate(context: Reader) -> None:
    config = load_environment(_with_monitoring(context, **{"thresholds.minAuc": 0.6}), "dev")
    assert config.monitoring.thresholds.min_auc == 0.6


def test_an_at_expression_is_refused_with_the_key(context: Reader) -> None:
    message = _error(context, expression="at(2027-01-01T00:00:00)")
    assert message.startswith(f"{KEY}.expression: at(2027-01-01T00:00:00): a one-time at() schedule")


def test_a_cron_field_out_of_range_names_the_field(context: Reader) -> None:
    assert "minutes field '75' is outside 0-59" in _error(context, expression="cron(75 6 * * ? *)")


def test_a_zero_cool_down_is_refused(context: Reader) -> None:
    assert _error(context, coolDownHours=0) == f"{KEY}.coolDownHours: 0 is outside [1, 2160]"


def test_a_missing_retrain_switch_is_required(context: Reader) -> None:
    assert _error(context, retrainOnAlarm=None) == f"{KEY}.retrainOnAlarm: missing (required)"


def test_a_misspelt_threshold_suggests_the_known_one(context: Reader) -> None:
    message = _error(context, **{"thresholds.PSI": 0.3})
    assert message.startswith(f"{KEY}.thresholds.PSI: unknown key; did you mean psi?")


def test_a_ks_above_one_is_refused(context: Reader) -> None:
    assert _error(context, **{"thresholds.ks": 1.5}) == f"{KEY}.thresholds.ks: 1.5 is outside [0.0, 1.0]"


def test_a_label_rate_ratio_of_one_is_refused(context: Reader) -> None:
    message = _error(context, **{"thresholds.maxLabelRateRatio": 1.0})
    assert message == f"{KEY}.thresholds.maxLabelRateRatio: 1.0 is not allowed; allowed: above 1"


def test_an_unknown_instance_type_shape_is_refused(context: Reader) -> None:
    assert _error(context, instanceType="m5.xlarge").startswith(
        f"{KEY}.instanceType: 'm5.xlarge' does not match"
    )


# --- alarm rules --------------------------------------------------------------------------------


def _rules(context: Reader, **changes):
    config = load_environment(_with_monitoring(context, **changes), "dev")
    return {rule.name: rule for rule in config.monitoring.alarm_rules}


def test_drift_and_live_quality_alarms_retrain_when_the_environment_says_so(context: Reader) -> None:
    rules = _rules(context, retrainOnAlarm=True)
    assert {n for n, r in rules.items() if r.retrain} == {
        "feature-drift",
        "prediction-drift",
        "live-auc",
        "live-recall",
    }


def test_no_alarm_retrains_when_the_environment_says_not_to(context: Reader) -> None:
    assert not any(rule.retrain for rule in _rules(context, retrainOnAlarm=False).values())


def test_bias_and_violation_alarms_only_notify(context: Reader) -> None:
    rules = _rules(context, retrainOnAlarm=True)
    assert not any(rules[name].retrain for name in ("bias-di-low", "bias-di-high", "violations"))


def test_feature_drift_alarms_above_the_psi_threshold(context: Reader) -> None:
    rule = _rules(context, **{"thresholds.psi": 0.25})["feature-drift"]
    assert (rule.metric, rule.comparison, rule.threshold) == ("max_feature_psi", GREATER, 0.25)
    assert rule.breached(0.26)
    assert not rule.breached(0.25)


def test_live_auc_alarms_below_the_bar_on_the_minimum(context: Reader) -> None:
    rule = _rules(context)["live-auc"]
    assert (rule.comparison, rule.statistic) == (LESS, "Minimum")
    assert rule.breached(0.74)
    assert not rule.breached(0.75)


def test_bias_alarms_watch_the_facet_dimension_drift_py_publishes(context: Reader) -> None:
    rule = _rules(context)["bias-di-low"]
    assert rule.dimension == ("Facet", "customer_gender_female")


def test_alarm_names_carry_the_environment_prefix(context: Reader) -> None:
    config = load_environment(context, "prod")
    rule = config.monitoring.alarm_rules[0]
    assert config.monitoring.alarm_name(config.prefix, rule) == "fraud-mlops-prod-monitor-feature-drift"


def test_metrics_namespace_is_one_per_environment(context: Reader) -> None:
    config = load_environment(context, "staging")
    assert config.monitoring.metrics_namespace("staging") == "FraudDetection/Monitoring/staging"
