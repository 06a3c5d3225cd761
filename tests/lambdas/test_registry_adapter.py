"""Specification of the boto3 adapter's error policy and requests (shared/registry.py)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lambdas.shared.registry import (
    MAX_EVIDENCE_BYTES,
    ArnScope,
    Boto3RegistryAdapter,
    EvidenceUnavailableError,
    PackageNotFoundError,
    parse_s3_uri,
)
from tests.lambdas.lambda_support import BUCKET, Aws


def _stubbed_sagemaker() -> tuple[Any, Stubber]:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return client, Stubber(client)


def test_describing_a_package_that_does_not_exist_raises_package_not_found(aws: Aws) -> None:
    # Given an empty registry
    adapter = Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3)

    # When / Then
    with pytest.raises(PackageNotFoundError):
        adapter.describe_model_package("arn:aws:sagemaker:us-east-1:123456789012:model-package/nope/1")


def test_an_evidence_object_that_does_not_exist_is_unavailable(aws: Aws) -> None:
    # Given a URI in the bucket with no object behind it
    adapter = Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3)

    # When / Then the adapter reports it as unusable evidence, not as an AWS failure
    with pytest.raises(EvidenceUnavailableError, match="object not found"):
        adapter.read_json(f"s3://{BUCKET}/missing/evaluation.json")


def test_evidence_larger_than_the_limit_is_unavailable(aws: Aws) -> None:
    # Given an evidence file above the size limit
    uri = aws.put_evidence("huge.json", b" " * (MAX_EVIDENCE_BYTES + 1))
    adapter = Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3)

    # When / Then it is refused without being parsed
    with pytest.raises(EvidenceUnavailableError, match="larger than"):
        adapter.read_json(uri)


@pytest.mark.parametrize("uri", ["https://bucket/key", "s3://bucket", "s3://B/key", "evaluation.json"])
def test_a_uri_that_is_not_an_s3_object_is_unavailable(uri: str) -> None:
    # When / Then
    with pytest.raises(EvidenceUnavailableError, match="not an s3://bucket/key URI"):
        parse_s3_uri(uri)


def test_a_throttled_describe_propagates_so_lambda_retries() -> None:
    # Given SageMaker throttling the call
    client, stubber = _stubbed_sagemaker()
    stubber.add_client_error(
        "describe_model_package", service_error_code="ThrottlingException", http_status_code=400
    )

    # When / Then the error is not mistaken for "not found"
    with stubber, pytest.raises(ClientError, match="ThrottlingException"):
        Boto3RegistryAdapter(sagemaker=client, s3=None).describe_model_package("arn")


def test_update_endpoint_sends_the_blue_green_deployment_config() -> None:
    # Given a stubbed client expecting exactly this UpdateEndpoint request
    client, stubber = _stubbed_sagemaker()
    deployment = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            },
            "TerminationWaitInSeconds": 300,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "fraud-5xx"}]},
    }
    stubber.add_response(
        "update_endpoint",
        {"EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud"},
        expected_params={
            "EndpointName": "fraud",
            "EndpointConfigName": "fraud-v2-abc",
            "DeploymentConfig": deployment,
        },
    )

    # When the adapter updates the endpoint
    with stubber:
        Boto3RegistryAdapter(sagemaker=client, s3=None).update_endpoint(
            name="fraud", config_name="fraud-v2-abc", deployment_config=deployment
        )

        # Then the request matched the API model and the expectation
        stubber.assert_no_pending_responses()


def test_a_missing_endpoint_is_reported_as_none(aws: Aws) -> None:
    # Given no endpoint / When it is described / Then the adapter answers None
    assert Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3).describe_endpoint("absent") is None


def test_home_is_the_clients_region_and_partition_and_the_callers_account(aws: Aws) -> None:
    # Given an adapter whose clients reach moto in us-east-1 with moto's default account
    adapter = Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3)

    # When it is asked where it acts
    home = adapter.home()

    # Then STS's account and the SageMaker client's region and partition answer
    assert home == ArnScope(partition="aws", region="us-east-1", account="123456789012")
