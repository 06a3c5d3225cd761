"""Configuration: cdk.json context becomes a frozen, validated EnvironmentConfig, or synth stops.

Every rule has its own test, and each asserts the message: the dotted key and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest

from pipeline_def.config.environment import EnvironmentConfig, load_environment, load_environments
from pipeline_def.config.settings import ConfigError, DeploymentSettings, Reader
from tests.config.config_support import changed_context

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


def test_account_must_be_twelve_digits(context: Reader) -> None:
    assert error_for(context, "account", "1111-2222-3333") == (
        rf"{KEY}.account: '1111-2222-3333' does not match ^\d{{12}}$"
    )


def test_region_must_look_like_a_region(context: Reader) -> None:
    assert error_for(context, "region", "us-east") == (
        rf"{KEY}.region: 'us-east' does not match ^[a-z]{{2}}(-gov)?-[a-z]+-\d$"
    )


@pytest.mark.parametrize(
    "path",
    [
        "pipeline.processingInstanceType",
        "pipeline.trainingInstanceType",
        "pipeline.transformInstanceType",
        "pipeline.clarifyInstanceType",
        "endpoint.instanceType",
    ],
)
def test_instance_type_must_be_a_sagemaker_ml_type(context: Reader, path: str) -> None:
    assert error_for(context, path, "m5.xlarge") == (
        rf"{KEY}.{path}: 'm5.xlarge' does not match ^ml\.[a-z0-9]+\.[a-z0-9]+$"
    )


def test_parallel_tuning_jobs_may_not_exceed_the_tuning_jobs(context: Reader) -> None:
    assert error_for(context, "pipeline.maxParallelTuningJobs", 7) == (
        f"{KEY}.pipeline.maxParallelTuningJobs: 7 exceeds maxTuningJobs (6)"
    )


@pytest.mark.parametrize(
    "network",
    [
        {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": []},
        {"subnetIds": [], "securityGroupIds": ["sg-0123456789abcdef0"]},
    ],
    ids=["subnets-only", "security-groups-only"],
)
def test_subnets_and_security_groups_come_together(context: Reader, network: dict) -> None:
    assert error_for(context, "network", network) == (
        f"{KEY}.network: subnetIds and securityGroupIds must be given together"
    )


@pytest.mark.parametrize(
    ("key", "value", "pattern"),
    [
        ("subnetIds", "subnet-XYZ", r"^subnet-[0-9a-f]{8,17}$"),
        ("securityGroupIds", "sg-12", r"^sg-[0-9a-f]{8,17}$"),
    ],
)
def test_network_ids_must_match_their_pattern(context: Reader, key: str, value: str, pattern: str) -> None:
    network = {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": ["sg-0123456789abcdef0"]}
    network[key] = [value]
    assert (
        error_for(context, "network", network) == f"{KEY}.network.{key}: {value!r} does not match {pattern}"
    )


def test_project_name_must_be_lowercase_letters_digits_and_dashes(context: Reader) -> None:
    data = copy.deepcopy(dict(context.data))
    data["project"] = "Fraud_MLOps"
    with pytest.raises(ConfigError) as raised:
        load_environments(Reader(data, context.path))
    assert str(raised.value) == (
        "cdk.json.context.project: 'Fraud_MLOps' does not match ^[a-z][a-z0-9-]{1,20}[a-z0-9]$"
    )


@pytest.mark.parametrize("count", [0, 101])
def test_endpoint_instance_count_is_bounded(context: Reader, count: int) -> None:
    assert error_for(context, "endpoint.instanceCount", count) == (
        f"{KEY}.endpoint.instanceCount: {count} is outside [1, 100]"
    )


# --- endpoint.deployment ----------------------------------------------------------------------
def test_deployment_block_is_read_per_environment(context: Reader) -> None:
    dev, prod = (load_environment(context, name).endpoint.deployment for name in ("dev", "prod"))
    assert (dev.traffic_routing, dev.rollback_alarms, prod.traffic_routing, prod.rollback_alarms) == (
        "ALL_AT_ONCE",
        False,
        "CANARY",
        True,
    )


def test_missing_deployment_block_means_all_at_once_without_alarms(context: Reader) -> None:
    config = load_environment(changed_context(context, "dev", "endpoint.deployment", delete=True), "dev")
    assert config.endpoint.deployment == DeploymentSettings()


def test_traffic_routing_is_all_at_once_or_canary(context: Reader) -> None:
    assert error_for(context, "endpoint.deployment.trafficRouting", "LINEAR") == (
        f"{KEY}.endpoint.deployment.trafficRouting: 'LINEAR' is not allowed; allowed: ALL_AT_ONCE, CANARY"
    )


def test_canary_needs_at_least_two_instances(context: Reader) -> None:
    # dev has one instance
    assert error_for(context, "endpoint.deployment.trafficRouting", "CANARY") == (
        f"{KEY}.endpoint.deployment.trafficRouting: CANARY needs {KEY}.endpoint.instanceCount >= 2 "
        "(got 1); allowed: ALL_AT_ONCE, or more instances"
    )


@pytest.mark.parametrize("percent", [0, 51])
def test_canary_size_is_at_most_half_the_fleet(context: Reader, percent: int) -> None:
    assert error_for(context, "endpoint.deployment.canarySizePercent", percent) == (
        f"{KEY}.endpoint.deployment.canarySizePercent: {percent} is outside [1, 50]"
    )


@pytest.mark.parametrize("seconds", [-1, 3601])
def test_traffic_wait_is_bounded(context: Reader, seconds: int) -> None:
    assert error_for(context, "endpoint.deployment.waitSeconds", seconds) == (
        f"{KEY}.endpoint.deployment.waitSeconds: {seconds} is outside [0, 3600]"
    )


def test_rollback_alarms_switch_must_be_a_boolean(context: Reader) -> None:
    assert error_for(context, "endpoint.deployment.rollbackAlarms", "on") == (
        f"{KEY}.endpoint.deployment.rollbackAlarms: expected true or false, got 'on'"
    )


@pytest.mark.parametrize("latency", [0, 60_001])
def test_latency_alarm_threshold_is_bounded(context: Reader, latency: int) -> None:
    assert error_for(context, "endpoint.deployment.maxModelLatencyMs", latency) == (
        f"{KEY}.endpoint.deployment.maxModelLatencyMs: {latency} is outside [1, 60000]"
    )


def test_registering_models_as_approved_is_refused_by_config(context: Reader) -> None:
    # "Approved" would make every new model deploy without passing the approval gates
    message = error_for(context, "pipeline.modelApprovalStatus", "Approved")
    assert message.endswith(
        "pipeline.modelApprovalStatus: 'Approved' is not allowed; allowed: PendingManualApproval"
    )
