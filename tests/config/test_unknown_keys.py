"""Unknown keys fail at any depth, with the full key path and the closest known key.

A typo in an optional key used to be ignored silently (``network.subnetIDs`` synthesized every
job without the VPC). Every block of an environment declares its keys; only ``tags`` (the
user's own tag keys) and the context's top level (CDK feature flags) are free-form.
"""

from __future__ import annotations

import copy

import pytest

from pipeline_def.config import ConfigError, Reader, load_environment, load_environments
from tests.config.config_support import KEY, changed_context, error_for


def test_misspelt_network_key_suggests_the_known_one(context: Reader) -> None:
    # Given dev's network block with "subnetIDs" instead of "subnetIds"
    # When dev is loaded
    message = error_for(context, "network.subnetIDs", ["subnet-0123456789abcdef0"])
    # Then the full key path, the closest key and the allowed keys are named
    assert message == (
        f"{KEY}.network.subnetIDs: unknown key; did you mean subnetIds? allowed: securityGroupIds, subnetIds"
    )


def test_misspelt_deployment_key_suggests_the_known_one(context: Reader) -> None:
    # Given endpoint.deployment with "maxModelLatencyMS" instead of "maxModelLatencyMs"
    # When dev is loaded
    message = error_for(context, "endpoint.deployment.maxModelLatencyMS", 250)
    # Then the key three blocks deep is named with its closest known key
    assert message == (
        f"{KEY}.endpoint.deployment.maxModelLatencyMS: unknown key; did you mean maxModelLatencyMs? "
        "allowed: canarySizePercent, maxModelLatencyMs, rollbackAlarms, trafficRouting, waitSeconds"
    )


def test_misspelt_pipeline_key_suggests_the_known_one(context: Reader) -> None:
    # Given the pipeline block with an extra "minAUC" next to "minAuc"
    # When dev is loaded
    message = error_for(context, "pipeline.minAUC", 0.9)
    # Then the extra key is refused and the intended one suggested
    assert message.startswith(f"{KEY}.pipeline.minAUC: unknown key; did you mean minAuc? allowed: ")


def test_misspelt_required_key_is_reported_as_unknown_rather_than_missing(context: Reader) -> None:
    # Given the pipeline block whose "minAuc" was renamed "minAUC"
    data = copy.deepcopy(dict(context.data))
    pipeline = data["environments"]["dev"]["pipeline"]
    pipeline["minAUC"] = pipeline.pop("minAuc")
    # When dev is loaded
    with pytest.raises(ConfigError) as raised:
        load_environment(Reader(data, context.path), "dev")
    # Then the typo is named, not the key it hides
    assert str(raised.value).startswith(f"{KEY}.pipeline.minAUC: unknown key; did you mean minAuc?")


def test_misspelt_environment_key_suggests_the_known_one(context: Reader) -> None:
    # Given an environment block with "regoin" next to "region"
    # When dev is loaded
    message = error_for(context, "regoin", "eu-west-1")
    # Then the environment's own keys are listed
    assert message == (
        f"{KEY}.regoin: unknown key; did you mean region? allowed: account, accounts, approval, budget, "
        "endpoint, explainability, ingestion, logRetentionDays, monitoring, network, notifications, "
        "pipeline, region, removalPolicy, schedule, tags, terminationProtection"
    )


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(context: Reader) -> None:
    # Given an endpoint block with "autoscaling", which resembles none of its keys
    # When dev is loaded
    message = error_for(context, "endpoint.autoscaling", {"max": 4})
    # Then no key is suggested, and the allowed ones are listed
    assert message == (
        f"{KEY}.endpoint.autoscaling: unknown key; allowed: dataCaptureSamplingPercentage, deployment, "
        "instanceCount, instanceType"
    )


def test_closest_key_is_found_regardless_of_case(context: Reader) -> None:
    # Given the schedule block with "timezone" next to "timeZone"
    # When dev is loaded
    message = error_for(context, "schedule.timezone", "UTC")
    # Then "timeZone" is suggested
    assert message == (
        f"{KEY}.schedule.timezone: unknown key; did you mean timeZone? allowed: enabled, expression, timeZone"
    )


def test_misspelt_approval_key_suggests_the_known_one(context: Reader) -> None:
    # Given the approval block with "autoApproved"
    # When dev is loaded
    message = error_for(context, "approval.autoApproved", True)
    # Then "autoApprove" is suggested
    assert message == (
        f"{KEY}.approval.autoApproved: unknown key; did you mean autoApprove? "
        "allowed: autoApprove, diMax, diMin, maxAbsDppl"
    )


def test_unknown_key_in_an_optional_block_is_refused(context: Reader) -> None:
    # Given an endpoint.deployment block holding only a misspelt key
    # When dev is loaded
    message = error_for(context, "endpoint.deployment", {"waitSecond": 60})
    # Then the optional block's keys are checked too
    assert message.startswith(f"{KEY}.endpoint.deployment.waitSecond: unknown key; did you mean waitSeconds?")


def test_tag_keys_are_free_form(context: Reader) -> None:
    # Given a user tag whose key resembles no config key
    config = load_environment(changed_context(context, "dev", "tags", {"data-classification": "pii"}), "dev")
    # When dev is loaded, Then the tag is kept
    assert dict(config.tags) == {"data-classification": "pii"}


def test_context_keys_beside_the_environments_are_not_checked(context: Reader) -> None:
    # Given a context holding another CDK feature flag and another tool's key
    data = copy.deepcopy(dict(context.data))
    data["@aws-cdk/aws-lambda:someFutureFlag"] = True
    data["acknowledged-issue-numbers"] = [12345]
    # When the environments are loaded, Then they load: those keys belong to the CDK
    assert [c.name for c in load_environments(Reader(data, context.path))] == ["dev", "staging", "prod"]


def test_reading_a_key_a_block_did_not_declare_is_a_programming_error() -> None:
    # Given a block that declares only "a"
    block = Reader({"a": 1}, "cdk.json.context.x", keys=("a",))
    # When code reads "b" from it, Then the read fails (the declaration and the reads cannot drift)
    with pytest.raises(LookupError, match=r"cdk\.json\.context\.x\.b is read but not declared"):
        block.int("b", low=0, high=1, default=0)
