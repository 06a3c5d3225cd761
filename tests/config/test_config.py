"""Configuration: cdk.json context becomes a frozen, validated EnvironmentConfig, or synth stops.

Every rule has its own test, and each asserts the message: the dotted key and what is allowed.
Unknown keys are specified in test_unknown_keys.py, schedules in test_schedule.py, regions in
test_regions.py, the entry points' one-line errors in test_entry_points.py.
"""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest

from pipeline_def.config import (
    ConfigError,
    DeploymentSettings,
    Reader,
    load_environment,
    load_environments,
    load_settings,
)
from tests.config.config_support import KEY, changed_context, error_for


def test_every_environment_of_cdk_json_loads(context: Reader) -> None:
    # Given cdk.json as committed
    # When every environment is loaded
    configs = load_environments(context)
    # Then all three load, in file order
    assert [c.name for c in configs] == ["dev", "staging", "prod"]


def test_a_selected_environment_loads_alone(context: Reader) -> None:
    # Given cdk.json, When only prod is selected, Then only prod is loaded
    assert [c.name for c in load_environments(context, "prod")] == ["prod"]


def test_pipeline_settings_are_those_of_the_validated_environment(context: Reader) -> None:
    # Given cdk.json, When the definition CLI's settings of dev are loaded
    settings = load_settings("dev")
    # Then they are the pipeline block of the fully validated environment
    assert settings == load_environment(context, "dev").pipeline


def test_config_is_frozen(context: Reader) -> None:
    # Given a loaded environment
    config = load_environment(context, "dev")
    # When a field is assigned, Then the dataclass refuses
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.removal_policy = "retain"  # type: ignore[misc]


def test_config_embeds_the_pipeline_settings(context: Reader) -> None:
    # Given staging, When it is loaded
    config = load_environment(context, "staging")
    # Then its pipeline settings carry staging's name, threshold and prefix
    assert (config.pipeline.env_name, config.pipeline.min_auc, config.prefix) == (
        "staging",
        0.8,
        "fraud-mlops-staging",
    )


def test_prod_retains_its_data(context: Reader) -> None:
    # Given prod's removalPolicy "retain", When it is loaded, Then its data is retained
    assert load_environment(context, "prod").retain_data is True


def test_prod_is_termination_protected_by_default(context: Reader) -> None:
    # Given prod retains data and sets no terminationProtection, When it is loaded
    # Then its stacks are termination-protected
    assert load_environment(context, "prod").termination_protection is True


def test_dev_destroys_its_data(context: Reader) -> None:
    # Given dev's removalPolicy "destroy", When it is loaded, Then its data is not retained
    assert load_environment(context, "dev").retain_data is False


def test_dev_is_not_termination_protected_by_default(context: Reader) -> None:
    # Given dev destroys data and sets no terminationProtection, When it is loaded
    # Then its stacks are not termination-protected
    assert load_environment(context, "dev").termination_protection is False


def test_all_tags_are_the_stage_tags_followed_by_the_configured_ones(context: Reader) -> None:
    # Given dev's configured tags, When dev is loaded
    config = load_environment(context, "dev")
    # Then its tags are the stage's own (project, env) plus the configured ones
    assert config.all_tags == {
        "project": "fraud-mlops",
        "env": "dev",
        "cost-center": "ml-platform-dev",
        "owner": "ml-platform",
    }


def test_bucket_names_fit_s3_limits(context: Reader) -> None:
    # Given every environment, When its bucket names are built, Then each is a valid S3 name
    for config in load_environments(context):
        for name in (config.data_bucket_name, config.artifact_bucket_name, config.log_bucket_name):
            assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name


def test_unknown_environment_names_the_known_ones(context: Reader) -> None:
    # Given no environment "qa", When it is selected, Then the error lists the known ones
    with pytest.raises(
        ConfigError, match=r"environments: unknown environment 'qa'; allowed: dev, staging, prod"
    ):
        load_environments(context, "qa")


def test_missing_key_is_named(context: Reader) -> None:
    # Given dev without schedule.timeZone, When it is loaded, Then the key is named as required
    assert (
        error_for(context, "schedule.timeZone", delete=True) == f"{KEY}.schedule.timeZone: missing (required)"
    )


def test_missing_block_is_named(context: Reader) -> None:
    # Given dev without its approval block, When it is loaded, Then the block is named as required
    assert error_for(context, "approval", delete=True) == f"{KEY}.approval: missing (required)"


@pytest.mark.parametrize(
    ("path", "value"),
    [("pipeline.minAuc", 1.5), ("pipeline.minRecall", -0.1), ("approval.maxAbsDppl", 1.01)],
)
def test_threshold_outside_zero_one_is_refused(context: Reader, path: str, value: float) -> None:
    # Given a threshold outside [0, 1], When dev is loaded, Then the key and the range are named
    assert error_for(context, path, value) == f"{KEY}.{path}: {value} is outside [0.0, 1.0]"


@pytest.mark.parametrize(
    ("path", "value"), [("approval.diMin", 0), ("approval.diMin", 1.1), ("approval.diMax", 0.95)]
)
def test_disparate_impact_bounds_must_bracket_one(context: Reader, path: str, value: float) -> None:
    # Given a disparate-impact bound on the wrong side of 1, When dev is loaded
    message = error_for(context, path, value)
    # Then the rule is named
    assert message == f"{KEY}.{path}: {float(value)} is not allowed; allowed: 0 < diMin <= 1 <= diMax"


def test_bad_removal_policy_is_refused(context: Reader) -> None:
    # Given removalPolicy "snapshot", When dev is loaded, Then the allowed policies are listed
    assert error_for(context, "removalPolicy", "snapshot") == (
        f"{KEY}.removalPolicy: 'snapshot' is not allowed; allowed: destroy, retain"
    )


def test_tag_value_must_be_a_string(context: Reader) -> None:
    # Given a numeric tag value, When dev is loaded, Then the tag is named
    message = error_for(context, "tags", {"cost-center": 42})
    assert message.startswith(f"{KEY}.tags.cost-center: 42 is not allowed; allowed: a string of 0-256")


def test_tag_key_may_not_use_the_aws_prefix(context: Reader) -> None:
    # Given a tag key "aws:owner", When dev is loaded, Then the key is refused
    message = error_for(context, "tags", {"aws:owner": "x"})
    assert message.startswith(f"{KEY}.tags: tag key 'aws:owner' is not allowed; allowed: 1-128 letters")


def test_tag_key_may_not_override_the_stage_tags(context: Reader) -> None:
    # Given a configured "env" tag, When dev is loaded, Then it is refused as reserved
    assert error_for(context, "tags", {"env": "production"}) == (
        f"{KEY}.tags.env: reserved (the stage sets it); allowed: any key except project, env"
    )


def test_tags_must_be_an_object(context: Reader) -> None:
    # Given tags as a list, When dev is loaded, Then an object is asked for
    assert error_for(context, "tags", ["owner"]) == f"{KEY}.tags: expected an object, got list"


def test_log_retention_must_be_a_cloudwatch_period(context: Reader) -> None:
    # Given 42 days, which CloudWatch Logs does not offer, When dev is loaded
    message = error_for(context, "logRetentionDays", 42)
    # Then the periods it offers are listed
    assert message.startswith(f"{KEY}.logRetentionDays: 42 is not allowed; allowed: 1, 3, 5, 7, 14, 30")


def test_endpoint_sampling_percentage_is_bounded(context: Reader) -> None:
    # Given 101 %, When dev is loaded, Then the range is named
    message = error_for(context, "endpoint.dataCaptureSamplingPercentage", 101)
    assert message == f"{KEY}.endpoint.dataCaptureSamplingPercentage: 101 is outside [0, 100]"


def test_schedule_switch_must_be_a_boolean(context: Reader) -> None:
    # Given enabled "yes", When dev is loaded, Then a boolean is asked for
    assert (
        error_for(context, "schedule.enabled", "yes")
        == f"{KEY}.schedule.enabled: expected true or false, got 'yes'"
    )


def test_account_must_be_twelve_digits(context: Reader) -> None:
    # Given an account with dashes, When dev is loaded, Then the pattern is named
    assert error_for(context, "account", "1111-2222-3333") == (
        rf"{KEY}.account: '1111-2222-3333' does not match ^\d{{12}}$"
    )


@pytest.mark.parametrize(
    "path",
    [
        "pipeline.processingInstanceType",
        "pipeline.trainingInstanceType",
        "pipeline.transformInstanceType",
        "explainability.instanceType",
        "endpoint.instanceType",
    ],
)
def test_instance_type_must_be_a_sagemaker_ml_type(context: Reader, path: str) -> None:
    # Given an EC2 type without "ml.", When dev is loaded, Then the pattern is named
    assert error_for(context, path, "m5.xlarge") == (
        rf"{KEY}.{path}: 'm5.xlarge' does not match ^ml\.[a-z0-9]+\.[a-z0-9]+$"
    )


@pytest.mark.parametrize(
    ("path", "value", "high"),
    [
        ("pipeline.trainingInstanceCount", 0, 32),
        ("pipeline.trainingInstanceCount", 33, 32),
        ("pipeline.transformInstanceCount", 0, 100),
        ("pipeline.transformInstanceCount", 101, 100),
    ],
)
def test_instance_counts_are_bounded(context: Reader, path: str, value: int, high: int) -> None:
    # Given a count out of range, When dev is loaded, Then the range is named
    assert error_for(context, path, value) == f"{KEY}.{path}: {value} is outside [1, {high}]"


def test_instance_counts_default_to_one(context: Reader) -> None:
    # Given an environment that does not set them, When it is loaded, Then one instance each
    changed = changed_context(context, "dev", "pipeline.trainingInstanceCount", delete=True)
    changed = changed_context(changed, "dev", "pipeline.transformInstanceCount", delete=True)
    settings = load_environment(changed, "dev").pipeline
    assert (settings.training_instance_count, settings.transform_instance_count) == (1, 1)


def test_parallel_tuning_jobs_may_not_exceed_the_tuning_jobs(context: Reader) -> None:
    # Given 7 parallel jobs of dev's 6, When dev is loaded, Then both keys are named
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
    # Given one of the two network lists, When dev is loaded, Then both are asked for
    assert error_for(context, "network", network) == (
        f"{KEY}.network: subnetIds and securityGroupIds must be given together"
    )


def test_network_block_is_optional(context: Reader) -> None:
    # Given dev without a network block, When it is loaded, Then its jobs run without a VPC
    config = load_environment(changed_context(context, "dev", "network", delete=True), "dev")
    assert (config.pipeline.subnet_ids, config.pipeline.security_group_ids) == ((), ())


@pytest.mark.parametrize(
    ("key", "value", "pattern"),
    [
        ("subnetIds", "subnet-XYZ", r"^subnet-[0-9a-f]{8,17}$"),
        ("securityGroupIds", "sg-12", r"^sg-[0-9a-f]{8,17}$"),
    ],
)
def test_network_ids_must_match_their_pattern(context: Reader, key: str, value: str, pattern: str) -> None:
    # Given a malformed subnet or security group id
    network = {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": ["sg-0123456789abcdef0"]}
    network[key] = [value]
    # When dev is loaded, Then the list and the pattern are named
    assert (
        error_for(context, "network", network) == f"{KEY}.network.{key}: {value!r} does not match {pattern}"
    )


def test_project_name_must_be_lowercase_letters_digits_and_dashes(context: Reader) -> None:
    # Given a project name with capitals and an underscore
    data = copy.deepcopy(dict(context.data))
    data["project"] = "Fraud_MLOps"
    # When the environments are loaded, Then the pattern is named
    with pytest.raises(ConfigError) as raised:
        load_environments(Reader(data, context.path))
    assert str(raised.value) == (
        "cdk.json.context.project: 'Fraud_MLOps' does not match ^[a-z][a-z0-9-]{1,20}[a-z0-9]$"
    )


@pytest.mark.parametrize("count", [0, 101])
def test_endpoint_instance_count_is_bounded(context: Reader, count: int) -> None:
    # Given an instance count outside [1, 100], When dev is loaded, Then the range is named
    assert error_for(context, "endpoint.instanceCount", count) == (
        f"{KEY}.endpoint.instanceCount: {count} is outside [1, 100]"
    )


# --- endpoint.deployment ----------------------------------------------------------------------
def test_deployment_block_is_read_per_environment(context: Reader) -> None:
    # Given dev (all at once, no alarms) and prod (canary, alarms), When both are loaded
    dev, prod = (load_environment(context, name).endpoint.deployment for name in ("dev", "prod"))
    # Then each gets its own deployment settings
    assert (dev.traffic_routing, dev.rollback_alarms, prod.traffic_routing, prod.rollback_alarms) == (
        "ALL_AT_ONCE",
        False,
        "CANARY",
        True,
    )


def test_missing_deployment_block_means_all_at_once_without_alarms(context: Reader) -> None:
    # Given dev without endpoint.deployment, When it is loaded, Then the defaults apply
    config = load_environment(changed_context(context, "dev", "endpoint.deployment", delete=True), "dev")
    assert config.endpoint.deployment == DeploymentSettings()


def test_traffic_routing_is_all_at_once_or_canary(context: Reader) -> None:
    # Given trafficRouting "LINEAR", When dev is loaded, Then the two routings are listed
    assert error_for(context, "endpoint.deployment.trafficRouting", "LINEAR") == (
        f"{KEY}.endpoint.deployment.trafficRouting: 'LINEAR' is not allowed; allowed: ALL_AT_ONCE, CANARY"
    )


def test_canary_needs_at_least_two_instances(context: Reader) -> None:
    # Given dev's single instance and a CANARY routing, When dev is loaded
    # Then both keys are named with what would make it work
    assert error_for(context, "endpoint.deployment.trafficRouting", "CANARY") == (
        f"{KEY}.endpoint.deployment.trafficRouting: CANARY needs {KEY}.endpoint.instanceCount >= 2 "
        "(got 1); allowed: ALL_AT_ONCE, or more instances"
    )


@pytest.mark.parametrize("percent", [0, 51])
def test_canary_size_is_at_most_half_the_fleet(context: Reader, percent: int) -> None:
    # Given a canary size outside [1, 50] %, When dev is loaded, Then the range is named
    assert error_for(context, "endpoint.deployment.canarySizePercent", percent) == (
        f"{KEY}.endpoint.deployment.canarySizePercent: {percent} is outside [1, 50]"
    )


@pytest.mark.parametrize("seconds", [-1, 3601])
def test_traffic_wait_is_bounded(context: Reader, seconds: int) -> None:
    # Given a bake time outside [0, 3600] s, When dev is loaded, Then the range is named
    assert error_for(context, "endpoint.deployment.waitSeconds", seconds) == (
        f"{KEY}.endpoint.deployment.waitSeconds: {seconds} is outside [0, 3600]"
    )


def test_rollback_alarms_switch_must_be_a_boolean(context: Reader) -> None:
    # Given rollbackAlarms "on", When dev is loaded, Then a boolean is asked for
    assert error_for(context, "endpoint.deployment.rollbackAlarms", "on") == (
        f"{KEY}.endpoint.deployment.rollbackAlarms: expected true or false, got 'on'"
    )


@pytest.mark.parametrize("latency", [0, 60_001])
def test_latency_alarm_threshold_is_bounded(context: Reader, latency: int) -> None:
    # Given a latency threshold outside [1, 60000] ms, When dev is loaded, Then the range is named
    assert error_for(context, "endpoint.deployment.maxModelLatencyMs", latency) == (
        f"{KEY}.endpoint.deployment.maxModelLatencyMs: {latency} is outside [1, 60000]"
    )


def test_registering_models_as_approved_is_refused_by_config(context: Reader) -> None:
    # Given modelApprovalStatus "Approved", which would deploy every new model without the gates
    message = error_for(context, "pipeline.modelApprovalStatus", "Approved")
    # When dev is loaded, Then only PendingManualApproval is allowed
    assert message.endswith(
        "pipeline.modelApprovalStatus: 'Approved' is not allowed; allowed: PendingManualApproval"
    )
