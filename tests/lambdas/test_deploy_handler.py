"""Specification of the deploy function, run in-process against a moto server.

moto 5.2.5 lacks UpdateEndpoint, so the update path answers that one call inside botocore
(``update_endpoint`` fixture) after the request has been validated against the API model.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from lambdas.deploy.handler import handler
from tests.lambdas.lambda_support import (
    APPROVED,
    APPROVED_EVENT,
    CAPTURE_URI,
    ENDPOINT,
    KMS_KEY_ARN,
    PENDING,
    REJECTED,
    ROLE_ARN,
    TABLE,
    ApiCallRecorder,
    Aws,
    FakeLambdaContext,
    MotoLacksUpdateEndpoint,
    bias_report,
    evaluation_report,
    state_change_event,
)

pytestmark = pytest.mark.long_module(5)

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def _approved_package(aws: Aws, *, group: str = "fraud-detection") -> str:
    return aws.register_package(
        evaluation=evaluation_report(), bias=bias_report(), group=group, status=APPROVED
    )


def _approved_event(aws: Aws, arn: str, **overrides: Any) -> dict[str, Any]:
    version = aws.package(arn)["ModelPackageVersion"]
    return state_change_event(arn, APPROVED, version=version, template=APPROVED_EVENT, **overrides)


def _tags(aws: Aws, arn: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in aws.sagemaker.list_tags(ResourceArn=arn)["Tags"]}


@pytest.fixture
def first_deployment(deploy_env: Aws, lambda_context: FakeLambdaContext) -> dict[str, Any]:
    """Version 1 approved and handled once: the endpoint does not exist yet."""
    arn = _approved_package(deploy_env)
    return handler(_approved_event(deploy_env, arn), lambda_context) | {"package_arn": arn}


def test_the_first_approval_creates_the_endpoint(first_deployment: dict[str, Any], deploy_env: Aws) -> None:
    # Given no endpoint / When version 1 is approved (fixture)
    # Then the environment's endpoint exists on the new endpoint config
    endpoint = deploy_env.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert first_deployment["outcome"] == "endpoint_created"
    assert endpoint["EndpointConfigName"] == first_deployment["endpoint_config_name"]


def test_the_model_is_built_from_the_package_with_the_execution_role(
    first_deployment: dict[str, Any], deploy_env: Aws
) -> None:
    # Given the first deployment
    model = deploy_env.sagemaker.describe_model(ModelName=first_deployment["model_name"])

    # Then the model's only container is the model package, run by the configured role
    assert model["Containers"] == [{"ModelPackageName": first_deployment["package_arn"]}]
    assert model["ExecutionRoleArn"] == ROLE_ARN


def test_the_endpoint_config_captures_input_and_output_encrypted_with_the_kms_key(
    first_deployment: dict[str, Any], deploy_env: Aws
) -> None:
    # Given the first deployment
    config = deploy_env.sagemaker.describe_endpoint_config(
        EndpointConfigName=first_deployment["endpoint_config_name"]
    )

    # Then data capture goes to the environment's prefix, sampled and KMS-encrypted
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["DestinationS3Uri"] == CAPTURE_URI
    assert capture["KmsKeyId"] == KMS_KEY_ARN
    assert capture["InitialSamplingPercentage"] == 50
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]


def test_the_endpoint_config_uses_the_environment_instance_settings(
    first_deployment: dict[str, Any], deploy_env: Aws
) -> None:
    # Given the first deployment
    config = deploy_env.sagemaker.describe_endpoint_config(
        EndpointConfigName=first_deployment["endpoint_config_name"]
    )

    # Then its single variant runs the package's model on the configured fleet
    [variant] = config["ProductionVariants"]
    assert variant["ModelName"] == first_deployment["model_name"]
    assert variant["InstanceType"] == "ml.m5.large"
    assert variant["InitialInstanceCount"] == 2


def test_model_config_and_endpoint_are_tagged_with_the_package(
    first_deployment: dict[str, Any], deploy_env: Aws
) -> None:
    # Given the first deployment
    sagemaker = deploy_env.sagemaker
    arns = [
        sagemaker.describe_model(ModelName=first_deployment["model_name"])["ModelArn"],
        sagemaker.describe_endpoint_config(EndpointConfigName=first_deployment["endpoint_config_name"])[
            "EndpointConfigArn"
        ],
        sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"],
    ]

    # Then each resource traces back to the package ARN and version
    for arn in arns:
        tags = _tags(deploy_env, arn)
        assert tags["model-package-arn"] == first_deployment["package_arn"]
        assert tags["model-package-version"] == "1"


def test_model_config_and_endpoint_carry_the_environments_cost_tags(
    deploy_env: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an environment whose stack passes its cost tags
    monkeypatch.setenv("COST_TAGS", '{"cost-center":"ml-platform-prod","env":"prod","project":"fraud-mlops"}')

    # When version 1 is approved
    result = handler(_approved_event(deploy_env, _approved_package(deploy_env)), lambda_context)

    # Then the model, endpoint config and endpoint carry them next to the package tags
    sagemaker = deploy_env.sagemaker
    arns = [
        sagemaker.describe_model(ModelName=result["model_name"])["ModelArn"],
        sagemaker.describe_endpoint_config(EndpointConfigName=result["endpoint_config_name"])[
            "EndpointConfigArn"
        ],
        sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"],
    ]
    for arn in arns:
        tags = _tags(deploy_env, arn)
        assert (tags["cost-center"], tags["env"], tags["project"], tags["model-package-version"]) == (
            "ml-platform-prod",
            "prod",
            "fraud-mlops",
            "1",
        )


def test_resource_names_fit_sagemakers_name_rules(first_deployment: dict[str, Any]) -> None:
    # Given the first deployment's model name
    name = first_deployment["model_name"]

    # Then it fits SageMaker's name rules
    assert SAGEMAKER_NAME.match(name)


def test_resource_names_are_traceable_to_the_version(first_deployment: dict[str, Any]) -> None:
    # Given the first deployment's model name
    name = first_deployment["model_name"]

    # Then it reads as group + version + hash
    assert re.fullmatch(r"fraud-detection-v1-[0-9a-f]{8}", name)


def test_a_second_approved_version_updates_the_endpoint_blue_green(
    deploy_env: Aws,
    first_deployment: dict[str, Any],
    update_endpoint: MotoLacksUpdateEndpoint,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given version 1 in service
    # When version 2 is approved
    arn = _approved_package(deploy_env)
    result = handler(_approved_event(deploy_env, arn), lambda_context)

    # Then the endpoint moves to the v2 config all at once, with a blue/green policy
    [request] = update_endpoint.requests
    assert result["outcome"] == "endpoint_updated"
    assert request["EndpointConfigName"] == result["endpoint_config_name"]
    assert request["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
            "TerminationWaitInSeconds": 300,
        }
    }


def _update_with_canary_and_alarms(
    deploy_env: Aws,
    update_endpoint: MotoLacksUpdateEndpoint,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """Version 2 approved where routing is CANARY with two rollback alarms: the update's DeploymentConfig."""
    monkeypatch.setenv("ROLLBACK_ALARM_NAMES", "fraud-5xx, fraud-latency")
    monkeypatch.setenv("TRAFFIC_ROUTING", "CANARY")
    handler(_approved_event(deploy_env, _approved_package(deploy_env)), lambda_context)
    [request] = update_endpoint.requests
    return request["DeploymentConfig"]


def test_canary_traffic_is_configured_from_the_environment(
    deploy_env: Aws,
    first_deployment: dict[str, Any],
    update_endpoint: MotoLacksUpdateEndpoint,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an environment with canary routing and two rollback alarms, version 1 in service
    # When version 2 is approved
    config = _update_with_canary_and_alarms(deploy_env, update_endpoint, lambda_context, monkeypatch)

    # Then the update shifts a 10 % canary first
    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"] == {
        "Type": "CAPACITY_PERCENT",
        "Value": 10,
    }


def test_rollback_alarms_are_configured_from_the_environment(
    deploy_env: Aws,
    first_deployment: dict[str, Any],
    update_endpoint: MotoLacksUpdateEndpoint,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an environment with canary routing and two rollback alarms, version 1 in service
    # When version 2 is approved
    config = _update_with_canary_and_alarms(deploy_env, update_endpoint, lambda_context, monkeypatch)

    # Then the update rolls back on either alarm
    assert config["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": "fraud-5xx"}, {"AlarmName": "fraud-latency"}]
    }


def test_the_updated_endpoint_is_retagged_with_the_new_version(
    deploy_env: Aws,
    first_deployment: dict[str, Any],
    update_endpoint: MotoLacksUpdateEndpoint,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given version 1 in service / When version 2 is approved
    handler(_approved_event(deploy_env, _approved_package(deploy_env)), lambda_context)

    # Then the endpoint's tags name version 2
    endpoint_arn = deploy_env.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    assert _tags(deploy_env, endpoint_arn)["model-package-version"] == "2"


def test_a_duplicate_delivery_deploys_once(
    deploy_env: Aws, deploy_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given an approved package
    event = _approved_event(deploy_env, _approved_package(deploy_env))

    # When the event is delivered twice
    first = handler(event, lambda_context)
    second = handler(event, lambda_context)

    # Then each resource is created once and the duplicate replays the stored result
    created = [name for name, _ in deploy_calls.calls if name.startswith("Create")]
    assert created == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    assert second == first


def test_a_redelivery_after_the_idempotency_record_is_gone_creates_nothing_new(
    deploy_env: Aws, deploy_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given version 1 deployed, and its idempotency record expired (emptied table)
    event = _approved_event(deploy_env, _approved_package(deploy_env))
    handler(event, lambda_context)
    for record in deploy_env.idempotency_records():
        deploy_env.dynamodb.delete_item(TableName=TABLE, Key={"id": record["id"]})

    # When the same event arrives again
    result = handler(event, lambda_context)

    # Then the existence checks find everything in place
    created = [name for name, _ in deploy_calls.calls if name.startswith("Create")]
    assert result["outcome"] == "already_deployed"
    assert created == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]


def test_a_late_approval_of_an_older_version_does_not_roll_the_endpoint_back(
    deploy_env: Aws, update_endpoint: MotoLacksUpdateEndpoint, lambda_context: FakeLambdaContext
) -> None:
    # Given versions 1 and 2 approved, and version 2's event handled first
    older = _approved_package(deploy_env)
    newer = _approved_package(deploy_env)
    handler(_approved_event(deploy_env, newer), lambda_context)

    # When version 1's event arrives late
    result = handler(_approved_event(deploy_env, older), lambda_context)

    # Then the endpoint stays on version 2
    assert result["outcome"] == "newer_version_deployed"
    assert update_endpoint.requests == []


def test_a_late_approval_of_an_older_version_creates_no_unused_resources(
    deploy_env: Aws, deploy_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given version 2 deployed before version 1's event
    older = _approved_package(deploy_env)
    handler(_approved_event(deploy_env, _approved_package(deploy_env)), lambda_context)
    created_for_newer = len(deploy_calls.named("CreateModel"))

    # When version 1's event arrives late
    handler(_approved_event(deploy_env, older), lambda_context)

    # Then no model is built for it
    assert len(deploy_calls.named("CreateModel")) == created_for_newer == 1


def test_an_approval_in_another_group_is_ignored(
    deploy_env: Aws, deploy_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given an approved package of another group
    arn = _approved_package(deploy_env, group="churn-model")

    # When its event arrives
    result = handler(_approved_event(deploy_env, arn, group="churn-model"), lambda_context)

    # Then nothing is called or created
    assert result["outcome"] == "ignored"
    assert deploy_calls.calls == []


@pytest.mark.parametrize("status", [PENDING, REJECTED])
def test_events_that_are_not_approvals_are_ignored(
    deploy_env: Aws, deploy_calls: ApiCallRecorder, lambda_context: FakeLambdaContext, status: str
) -> None:
    # Given a package that is pending or rejected
    arn = deploy_env.register_package(evaluation=evaluation_report(), bias=bias_report(), status=status)

    # When its event arrives
    result = handler(state_change_event(arn, status), lambda_context)

    # Then nothing is deployed
    assert result["outcome"] == "ignored"
    assert deploy_calls.calls == []


def test_an_approved_event_for_a_package_rejected_since_is_not_deployed(
    deploy_env: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a package approved, then rejected before the Approved event was handled
    arn = _approved_package(deploy_env)
    event = _approved_event(deploy_env, arn)
    deploy_env.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=REJECTED)

    # When the out-of-date event is handled
    result = handler(event, lambda_context)

    # Then no endpoint is created
    assert result["reason"].startswith("package is now 'Rejected'")
    assert deploy_env.sagemaker.list_endpoints()["Endpoints"] == []
