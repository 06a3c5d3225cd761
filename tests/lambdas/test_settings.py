"""Specification of how each function reads and validates its environment variables."""

from __future__ import annotations

import pytest

from approval.models import ApprovalSettings
from deploy.models import DeploySettings, deployment_config
from shared.settings import ConfigurationError, load_settings

APPROVAL_VARIABLES = {
    "MODEL_PACKAGE_GROUP_NAME": "fraud-detection",
    "IDEMPOTENCY_TABLE": "lambda-idempotency",
    "NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:model-review",
    "MIN_AUC": "0.8",
    "MIN_RECALL": "0.6",
    "MAX_ABS_DPPL": "0.1",
}
DEPLOY_VARIABLES = {
    "MODEL_PACKAGE_GROUP_NAME": "fraud-detection",
    "IDEMPOTENCY_TABLE": "lambda-idempotency",
    "ENDPOINT_NAME": "fraud-detection-prod",
    "ENDPOINT_INSTANCE_TYPE": "ml.m5.xlarge",
    "ENDPOINT_INSTANCE_COUNT": "2",
    "MODEL_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/sagemaker-model-execution",
    "DATA_CAPTURE_S3_URI": "s3://fraud-data-capture/prod",
    "DATA_CAPTURE_SAMPLING_PERCENTAGE": "20",
    "KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}


def test_optional_approval_variables_default_to_the_safe_values() -> None:
    # Given only the required approval variables
    # When they are loaded
    settings = load_settings(ApprovalSettings, APPROVAL_VARIABLES)

    # Then auto-approval is off and the DI bounds follow the four-fifths rule
    assert (settings.auto_approve, settings.di_min, settings.di_max) == (False, 0.8, 1.25)


def test_every_missing_variable_is_named_at_once() -> None:
    # Given an empty environment
    # When the approval settings are loaded / Then one error names every required variable
    with pytest.raises(ConfigurationError) as raised:
        load_settings(ApprovalSettings, {})
    for name in APPROVAL_VARIABLES:
        assert name in str(raised.value)


@pytest.mark.parametrize("value", ["yes", "1", "True ish", ""])
def test_auto_approve_accepts_only_true_or_false(value: str) -> None:
    # Given an AUTO_APPROVE that is not literally true/false
    # When / Then it is refused rather than guessed
    with pytest.raises(ConfigurationError, match="AUTO_APPROVE"):
        load_settings(ApprovalSettings, APPROVAL_VARIABLES | {"AUTO_APPROVE": value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MIN_AUC", "75"),
        ("MIN_RECALL", "nan"),
        ("DI_MIN", "1.1"),
        ("DI_MAX", "0.9"),
        ("MAX_ABS_DPPL", "-0.1"),
    ],
)
def test_thresholds_outside_their_meaningful_range_are_refused(name: str, value: str) -> None:
    # Given a threshold that would reject every model or accept NaN
    # When / Then
    with pytest.raises(ConfigurationError, match=name):
        load_settings(ApprovalSettings, APPROVAL_VARIABLES | {name: value})


def test_rollback_alarm_names_are_split_on_commas() -> None:
    # Given a comma-separated list with spaces and an empty item
    variables = DEPLOY_VARIABLES | {"ROLLBACK_ALARM_NAMES": " fraud-5xx, ,fraud-latency "}

    # When the deploy settings are loaded
    settings = load_settings(DeploySettings, variables)

    # Then each alarm name is kept, trimmed
    assert settings.rollback_alarm_names == ("fraud-5xx", "fraud-latency")


def test_an_empty_alarm_list_means_no_automatic_rollback() -> None:
    # Given ROLLBACK_ALARM_NAMES set but empty, as a stack may render an optional value
    settings = load_settings(DeploySettings, DEPLOY_VARIABLES | {"ROLLBACK_ALARM_NAMES": ""})

    # When the deployment config is built / Then it has no AutoRollbackConfiguration
    assert "AutoRollbackConfiguration" not in deployment_config(settings)


def test_canary_routing_needs_at_least_two_instances() -> None:
    # Given a one-instance endpoint configured for canary traffic
    variables = DEPLOY_VARIABLES | {"TRAFFIC_ROUTING": "CANARY", "ENDPOINT_INSTANCE_COUNT": "1"}

    # When / Then the settings are refused with the reason
    with pytest.raises(ConfigurationError, match="CANARY needs ENDPOINT_INSTANCE_COUNT >= 2"):
        load_settings(DeploySettings, variables)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENDPOINT_NAME", "fraud_detection"),
        ("ENDPOINT_INSTANCE_TYPE", "m5.large"),
        ("DATA_CAPTURE_S3_URI", "https://bucket/prefix"),
        ("DATA_CAPTURE_SAMPLING_PERCENTAGE", "101"),
        ("KMS_KEY_ARN", "1234abcd-12ab"),
        ("MODEL_EXECUTION_ROLE_ARN", "sagemaker-role"),
    ],
)
def test_deploy_variables_are_checked_against_sagemaker_rules(name: str, value: str) -> None:
    # Given one deploy variable SageMaker would refuse at call time
    # When / Then the function refuses it up front, naming it
    with pytest.raises(ConfigurationError, match=name):
        load_settings(DeploySettings, DEPLOY_VARIABLES | {name: value})
