"""Configuration: cdk.json context becomes a frozen, validated EnvironmentConfig, or synth stops.

Every rule has its own test, and each asserts the message: the dotted key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from synth_support import changed_context

from infra.config import EnvironmentConfig, load_environment, load_environments
from pipeline_def.settings import ConfigError, Reader

KEY = "cdk.json.context.environments.dev"


def error_for(context: Reader, path: str, value: object = None, *, delete: bool = False) -> str:
    with pytest.raises(ConfigError) as raised:
        load_environment(changed_context(context, "dev", path, value, delete=delete), "dev")
    return str(raised.value)


def test_every_environment_of_cdk_json_loads(context: Reader) -> None:
    # When
    configs = load_environments(context)
    # Then
    assert [c.name for c in configs] == ["dev", "staging", "prod"]


def test_a_selected_environment_loads_alone(context: Reader) -> None:
    assert [c.name for c in load_environments(context, "prod")] == ["prod"]


def test_config_is_frozen(context: Reader) -> None:
    config = load_environment(context, "dev")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.removal_policy = "retain"  # type: ignore[misc]


def test_config_embeds_the_pipeline_settings(context: Reader) -> None:
    config = load_environment(context, "staging")
    assert (config.pipeline.env_name, config.pipeline.min_auc, config.prefix) == (
        "staging",
        0.8,
        "fraud-mlops-staging",
    )


def test_prod_retains_data_and_is_termination_protected(context: Reader) -> None:
    config = load_environment(context, "prod")
    assert (config.retain_data, config.termination_protection) == (True, True)


def test_dev_destroys_data_and_is_not_termination_protected(context: Reader) -> None:
    config = load_environment(context, "dev")
    assert (config.retain_data, config.termination_protection) == (False, False)


def test_tags_carry_project_env_and_the_configured_tags(context: Reader) -> None:
    config: EnvironmentConfig = load_environment(context, "dev")
    assert config.all_tags == {
        "project": "fraud-mlops",
        "env": "dev",
        "cost-center": "ml-platform-dev",
        "owner": "ml-platform",
    }


def test_bucket_names_fit_s3_limits(context: Reader) -> None:
    for config in load_environments(context):
        for name in (config.data_bucket_name, config.artifact_bucket_name, config.log_bucket_name):
            assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name


def test_unknown_environment_names_the_known_ones(context: Reader) -> None:
    with pytest.raises(
        ConfigError, match=r"environments: unknown environment 'qa'; allowed: dev, staging, prod"
    ):
        load_environments(context, "qa")


def test_missing_key_is_named(context: Reader) -> None:
    assert (
        error_for(context, "schedule.timeZone", delete=True) == f"{KEY}.schedule.timeZone: missing (required)"
    )


def test_missing_block_is_named(context: Reader) -> None:
    assert error_for(context, "approval", delete=True) == f"{KEY}.approval: missing (required)"


@pytest.mark.parametrize(
    ("path", "value"),
    [("pipeline.minAuc", 1.5), ("pipeline.minRecall", -0.1), ("approval.maxAbsDppl", 1.01)],
)
def test_threshold_outside_zero_one_is_refused(context: Reader, path: str, value: float) -> None:
    assert error_for(context, path, value) == f"{KEY}.{path}: {value} is outside [0.0, 1.0]"


@pytest.mark.parametrize(
    ("path", "value"), [("approval.diMin", 0), ("approval.diMin", 1.1), ("approval.diMax", 0.95)]
)
def test_disparate_impact_bounds_must_bracket_one(context: Reader, path: str, value: float) -> None:
    message = error_for(context, path, value)
    assert message == f"{KEY}.{path}: {float(value)} is not allowed; allowed: 0 < diMin <= 1 <= diMax"


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 * * MON)",  # 5 fields
        "cron(0 3 ? * MON * *)",  # 7 fields
        "cron(0 3 1 * MON *)",  # neither day field is '?'
        "rate(0 days)",
        "rate(1 days)",  # AWS wants the singular for 1
        "rate(5 day)",
        "rate(2 weeks)",
        "at(2030-01-01T00:00:00)",
        "0 3 * * *",
    ],
)
def test_bad_schedule_expression_is_refused(context: Reader, expression: str) -> None:
    message = error_for(context, "schedule.expression", expression)
    assert message.startswith(f"{KEY}.schedule.expression: {expression!r} is not allowed; allowed: cron(")
    assert "with exactly 6 fields" in message
    assert "rate(<N> minute|minutes|hour|hours|day|days)" in message


@pytest.mark.parametrize(
    "expression", ["cron(0 2 1 * ? *)", "cron(*/15 * ? * MON-FRI *)", "rate(1 hour)", "rate(6 hours)"]
)
def test_good_schedule_expression_is_kept(context: Reader, expression: str) -> None:
    config = load_environment(changed_context(context, "dev", "schedule.expression", expression), "dev")
    assert config.schedule.expression == expression


def test_unknown_time_zone_is_refused(context: Reader) -> None:
    message = error_for(context, "schedule.timeZone", "Mars/Olympus_Mons")
    assert message == (
        f"{KEY}.schedule.timeZone: 'Mars/Olympus_Mons' is not allowed; allowed: an IANA time zone name "
        "such as UTC or Europe/London"
    )


def test_bad_removal_policy_is_refused(context: Reader) -> None:
    assert error_for(context, "removalPolicy", "snapshot") == (
        f"{KEY}.removalPolicy: 'snapshot' is not allowed; allowed: destroy, retain"
    )


def test_tag_value_must_be_a_string(context: Reader) -> None:
    message = error_for(context, "tags", {"cost-center": 42})
    assert message.startswith(f"{KEY}.tags.cost-center: 42 is not allowed; allowed: a string of 0-256")


def test_tag_key_may_not_use_the_aws_prefix(context: Reader) -> None:
    message = error_for(context, "tags", {"aws:owner": "x"})
    assert message.startswith(f"{KEY}.tags: tag key 'aws:owner' is not allowed; allowed: 1-128 letters")


def test_tag_key_may_not_override_the_stage_tags(context: Reader) -> None:
    assert error_for(context, "tags", {"env": "production"}) == (
        f"{KEY}.tags.env: reserved (the stage sets it); allowed: any key except project, env"
    )


def test_tags_must_be_an_object(context: Reader) -> None:
    assert error_for(context, "tags", ["owner"]) == f"{KEY}.tags: expected an object, got list"


def test_log_retention_must_be_a_cloudwatch_period(context: Reader) -> None:
    message = error_for(context, "logRetentionDays", 42)
    assert message.startswith(f"{KEY}.logRetentionDays: 42 is not allowed; allowed: 1, 3, 5, 7, 14, 30")


def test_endpoint_sampling_percentage_is_bounded(context: Reader) -> None:
    message = error_for(context, "endpoint.dataCaptureSamplingPercentage", 101)
    assert message == f"{KEY}.endpoint.dataCaptureSamplingPercentage: 101 is outside [0, 100]"


def test_schedule_switch_must_be_a_boolean(context: Reader) -> None:
    assert (
        error_for(context, "schedule.enabled", "yes")
        == f"{KEY}.schedule.enabled: expected true or false, got 'yes'"
    )
