"""Specification of how each function reads and validates its environment variables."""

from __future__ import annotations

import json

import pytest

from lambdas.approval.models import ApprovalSettings
from lambdas.deploy.models import MAX_COST_TAGS, DeploySettings, deployment_config, release_tags
from lambdas.environment import DeployEnvironment
from lambdas.shared.settings import ConfigurationError, load_settings
from pipeline_def.config import load_environment, read_context

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


def test_cost_tags_are_read_from_a_json_object() -> None:
    # Given the stack's JSON object of tags
    variables = DEPLOY_VARIABLES | {"COST_TAGS": '{"cost-center":"ml-platform-prod","env":"prod"}'}

    # When the deploy settings are loaded / Then each tag is kept
    settings = load_settings(DeploySettings, variables)
    assert settings.cost_tags == {"cost-center": "ml-platform-prod", "env": "prod"}


@pytest.mark.parametrize("variables", [{}, {"COST_TAGS": ""}], ids=["unset", "empty"])
def test_without_cost_tags_only_the_package_tags_are_written(variables: dict[str, str]) -> None:
    # Given no cost tags (the local run passes none)
    settings = load_settings(DeploySettings, DEPLOY_VARIABLES | variables)

    # When a release's tags are built / Then they are the package tags alone
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection/3"
    assert set(release_tags(settings, arn, 3)) == {
        "model-package-arn",
        "model-package-group",
        "model-package-version",
    }


def test_cost_tags_go_next_to_the_package_tags() -> None:
    settings = load_settings(DeploySettings, DEPLOY_VARIABLES | {"COST_TAGS": '{"owner":"ml-platform"}'})
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection/3"
    tags = release_tags(settings, arn, 3)
    assert (tags["owner"], tags["model-package-version"]) == ("ml-platform", "3")


@pytest.mark.parametrize(
    "value",
    ["cost-center=ml", '["env", "prod"]', '{"env": 1}', '{"": "x"}', '{"env": "a\\nb"}'],
    ids=["not-json", "a-list", "a-number", "empty-key", "newline"],
)
def test_cost_tags_that_are_not_an_object_of_sagemaker_tags_are_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="COST_TAGS"):
        load_settings(DeploySettings, DEPLOY_VARIABLES | {"COST_TAGS": value})


@pytest.mark.parametrize("key", ["model-package-version", "model-package-group", "model-package-arn"])
def test_cost_tags_may_not_override_the_package_tags(key: str) -> None:
    # The package tags trace a resource to its version and stop late events from rolling back.
    with pytest.raises(ConfigurationError, match=f"COST_TAGS may not set {key}"):
        load_settings(DeploySettings, DEPLOY_VARIABLES | {"COST_TAGS": f'{{"{key}": "9"}}'})


def test_cost_tags_may_not_use_the_aws_prefix() -> None:
    with pytest.raises(ConfigurationError, match="COST_TAGS may not set aws:owner"):
        load_settings(DeploySettings, DEPLOY_VARIABLES | {"COST_TAGS": '{"aws:owner": "x"}'})


def test_cost_tags_leave_room_for_the_package_tags_within_sagemakers_limit() -> None:
    too_many = json.dumps({f"tag-{i}": "x" for i in range(MAX_COST_TAGS + 1)})
    with pytest.raises(ConfigurationError, match="COST_TAGS"):
        load_settings(DeploySettings, DEPLOY_VARIABLES | {"COST_TAGS": too_many})


@pytest.mark.parametrize("env_name", ["dev", "staging", "prod"])
def test_what_the_stack_renders_for_each_environment_is_accepted(env_name: str) -> None:
    # Given the deploy variables built from cdk.json, with stand-ins for deploy-time values
    config = load_environment(read_context(), env_name)
    variables = config.deploy_environment(
        artifact_bucket="fraud-artifacts",
        idempotency_table=DEPLOY_VARIABLES["IDEMPOTENCY_TABLE"],
        model_role_arn=DEPLOY_VARIABLES["MODEL_EXECUTION_ROLE_ARN"],
        kms_key_arn=DEPLOY_VARIABLES["KMS_KEY_ARN"],
        rollback_alarm_names=("errors-alarm", "latency-alarm")
        if config.endpoint.deployment.rollback_alarms
        else (),
    ).variables()

    # When the function reads them / Then they validate, with the configured routing and tags
    settings = load_settings(DeploySettings, variables)
    assert (settings.traffic_routing, settings.cost_tags) == (
        config.endpoint.deployment.traffic_routing,
        config.all_tags,
    )


def _deploy_environment(**optional: str) -> DeployEnvironment:
    """A deploy environment with only the required values, plus ``optional`` ones."""
    return DeployEnvironment(
        model_package_group_name=DEPLOY_VARIABLES["MODEL_PACKAGE_GROUP_NAME"],
        idempotency_table=DEPLOY_VARIABLES["IDEMPOTENCY_TABLE"],
        endpoint_name=DEPLOY_VARIABLES["ENDPOINT_NAME"],
        instance_type="ml.m5.large",
        instance_count=1,
        model_execution_role_arn=DEPLOY_VARIABLES["MODEL_EXECUTION_ROLE_ARN"],
        data_capture_uri=DEPLOY_VARIABLES["DATA_CAPTURE_S3_URI"],
        data_capture_sampling_percentage=100,
        kms_key_arn=DEPLOY_VARIABLES["KMS_KEY_ARN"],
        **optional,
    )


def test_the_deploy_environment_defaults_to_no_alarms_and_no_cost_tags() -> None:
    # Given a deploy environment with only the required values
    environment = _deploy_environment()

    # When it is rendered
    variables = environment.variables()

    # Then both optional variables are set, empty
    assert (variables["ROLLBACK_ALARM_NAMES"], variables["COST_TAGS"]) == ("", "{}")


def test_the_approval_environment_leaves_the_card_key_out_unless_one_is_given() -> None:
    # Given the approval variables built without a model-card key (the local run)
    config = load_environment(read_context(), "dev")
    environment = config.approval_environment(
        idempotency_table="lambda-idempotency", topic_arn=APPROVAL_VARIABLES["NOTIFY_TOPIC_ARN"]
    )

    # When they are rendered / Then no empty variable is written, and the function's default applies
    assert "MODEL_CARD_KMS_KEY_ARN" not in environment.variables()
    assert load_settings(ApprovalSettings, environment.variables()).model_card_kms_key_arn is None


def test_a_model_card_key_that_is_not_a_kms_key_arn_is_a_configuration_error() -> None:
    # Given a card key that names an alias instead of a key
    variables = APPROVAL_VARIABLES | {"MODEL_CARD_KMS_KEY_ARN": "alias/fraud"}

    # When / Then the variable is named
    with pytest.raises(ConfigurationError, match="MODEL_CARD_KMS_KEY_ARN"):
        load_settings(ApprovalSettings, variables)


# --- The deploy function's MONITORING_BASELINE_URI ---------------------------------------------
BASELINE_URI = "s3://fraud-artifacts/fraud-detection/monitoring/baseline/baseline.json"


@pytest.mark.parametrize(
    "value",
    [
        "https://fraud-artifacts/fraud-detection/monitoring/baseline/baseline.json",
        "fraud-detection/monitoring/baseline/baseline.json",
        "s3://fraud-artifacts",
        "s3://Fraud_Artifacts/fraud-detection/monitoring/baseline/baseline.json",
        "s3://fraud-artifacts/fraud-detection/monitoring/baseline",
        "s3://fraud-artifacts/fraud-detection/monitoring/baseline/",
        "s3://fraud-artifacts/fraud-detection/monitoring/baseline/other.json",
    ],
    ids=["https", "no-scheme", "bucket-only", "bad-bucket", "folder", "folder-slash", "other-file"],
)
def test_a_baseline_uri_that_is_not_the_baseline_object_is_a_configuration_error(value: str) -> None:
    # Given MONITORING_BASELINE_URI that is not s3://bucket/.../baseline.json, the file the monitor reads
    # When / Then the function refuses it before deploying anything, naming the variable
    with pytest.raises(ConfigurationError, match="MONITORING_BASELINE_URI"):
        load_settings(DeploySettings, DEPLOY_VARIABLES | {"MONITORING_BASELINE_URI": value})


def test_deployed_package_json_goes_beside_the_baseline() -> None:
    settings = load_settings(DeploySettings, DEPLOY_VARIABLES | {"MONITORING_BASELINE_URI": BASELINE_URI})
    assert settings.deployed_package_uri == BASELINE_URI.replace("baseline.json", "deployed-package.json")


def test_the_deploy_environment_leaves_the_baseline_uri_out_unless_given() -> None:
    # So the templates of environments that publish nothing stay as they were
    assert "MONITORING_BASELINE_URI" not in _deploy_environment().variables()


def test_the_deploy_environment_renders_the_baseline_uri_the_function_accepts() -> None:
    variables = _deploy_environment(monitoring_baseline_uri=BASELINE_URI).variables()
    assert load_settings(DeploySettings, variables).monitoring_baseline_uri == BASELINE_URI
