"""Specification of the boto3 adapter's error policy and requests (shared/registry.py)."""

from __future__ import annotations

from datetime import UTC, datetime
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
    ModelPackage,
    PackageNotFoundError,
    parse_s3_uri,
)
from tests.lambdas.lambda_support import BUCKET, KMS_KEY_ARN, Aws, MotoKeepsModelCardFields


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


# --- Model cards: SageMaker takes Content and ModelCardStatus in separate updates ---------------
CARD = "fraud-detection-v1-30844383"
CARD_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:model-card/{CARD}"


def _existing_card(stubber: Stubber, status: str) -> None:
    stubber.add_response(
        "describe_model_card",
        {
            "ModelCardArn": CARD_ARN,
            "ModelCardName": CARD,
            "ModelCardVersion": 1,
            "Content": "{}",
            "ModelCardStatus": status,
            "CreationTime": datetime(2026, 11, 2, tzinfo=UTC),
            "CreatedBy": {},
        },
        {"ModelCardName": CARD},
    )


def test_an_update_that_changes_the_status_sends_content_and_status_apart() -> None:
    # Given a Draft card, and a stubbed client expecting one field per UpdateModelCard
    client, stubber = _stubbed_sagemaker()
    _existing_card(stubber, "Draft")
    stubber.add_response(
        "update_model_card", {"ModelCardArn": CARD_ARN}, {"ModelCardName": CARD, "Content": "{}"}
    )
    stubber.add_response(
        "update_model_card",
        {"ModelCardArn": CARD_ARN},
        {"ModelCardName": CARD, "ModelCardStatus": "Approved"},
    )

    # When the card is written as Approved / Then content went first, then the status
    with stubber:
        Boto3RegistryAdapter(sagemaker=client, s3=None).write_model_card(CARD, "{}", "Approved", None)
        stubber.assert_no_pending_responses()


def test_an_update_that_keeps_the_status_sends_only_the_content() -> None:
    client, stubber = _stubbed_sagemaker()
    _existing_card(stubber, "Approved")
    stubber.add_response(
        "update_model_card", {"ModelCardArn": CARD_ARN}, {"ModelCardName": CARD, "Content": "{}"}
    )
    with stubber:
        Boto3RegistryAdapter(sagemaker=client, s3=None).write_model_card(CARD, "{}", "Approved", None)
        stubber.assert_no_pending_responses()


def test_a_card_that_does_not_exist_reads_as_none(aws: Aws) -> None:
    assert Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3).read_model_card("absent") is None


def test_a_card_reads_as_its_latest_content(aws: Aws) -> None:
    # Given a card written twice / When it is read / Then the second content comes back
    adapter = Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3)
    MotoKeepsModelCardFields(aws.sagemaker)
    adapter.write_model_card(CARD, '{"v": 1}', "Draft", None)
    adapter.write_model_card(CARD, '{"v": 2}', "Approved", None)
    assert adapter.read_model_card(CARD) == '{"v": 2}'


# --- S3 writes of the monitoring baseline -------------------------------------------------------
def _stubbed_s3() -> tuple[Any, Stubber]:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return client, Stubber(client)


def test_copy_object_encrypts_the_copy_with_the_given_key() -> None:
    # Given a stubbed S3 client expecting a CopyObject with SSE-KMS
    client, stubber = _stubbed_s3()
    stubber.add_response(
        "copy_object",
        {},
        {
            "Bucket": "target",
            "Key": "monitoring/baseline/baseline.json",
            "CopySource": {"Bucket": "source", "Key": "runs/r1/drift-baseline/baseline.json"},
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": KMS_KEY_ARN,
        },
    )

    # When the adapter copies / Then the request matched
    with stubber:
        Boto3RegistryAdapter(sagemaker=None, s3=client).copy_object(
            source_uri="s3://source/runs/r1/drift-baseline/baseline.json",
            target_uri="s3://target/monitoring/baseline/baseline.json",
            kms_key_arn=KMS_KEY_ARN,
        )
        stubber.assert_no_pending_responses()


def test_copying_an_object_that_does_not_exist_is_unavailable_evidence(aws: Aws) -> None:
    adapter = Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3)
    with pytest.raises(EvidenceUnavailableError, match="object not found"):
        adapter.copy_object(
            source_uri=f"s3://{BUCKET}/missing/baseline.json",
            target_uri=f"s3://{BUCKET}/monitoring/baseline/baseline.json",
            kms_key_arn=KMS_KEY_ARN,
        )


def test_copying_into_a_bucket_that_does_not_exist_propagates(aws: Aws) -> None:
    # A missing target bucket is a broken setting, not a package without a baseline
    source = aws.put_evidence("baseline.json", {"format": "fraud-drift-baseline"})
    adapter = Boto3RegistryAdapter(sagemaker=aws.sagemaker, s3=aws.s3)
    with pytest.raises(ClientError, match="NoSuchBucket"):
        adapter.copy_object(
            source_uri=source, target_uri="s3://no-such-bucket/baseline.json", kms_key_arn=KMS_KEY_ARN
        )


def test_put_json_writes_encrypted_json() -> None:
    client, stubber = _stubbed_s3()
    stubber.add_response(
        "put_object",
        {},
        {
            "Bucket": "target",
            "Key": "monitoring/baseline/deployed-package.json",
            "Body": b"{}",
            "ContentType": "application/json",
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": KMS_KEY_ARN,
        },
    )
    with stubber:
        Boto3RegistryAdapter(sagemaker=None, s3=client).put_json(
            "s3://target/monitoring/baseline/deployed-package.json", "{}", KMS_KEY_ARN
        )
        stubber.assert_no_pending_responses()


# --- What DescribeModelPackage says about baselines and decisions --------------------------------
def test_the_drift_baseline_is_read_from_model_data_quality_statistics() -> None:
    package = ModelPackage.model_validate(
        {
            "ModelPackageArn": "arn",
            "DriftCheckBaselines": {
                "ModelDataQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/k.json"}
                }
            },
        }
    )
    assert package.drift_baseline_uri == "s3://b/k.json"


@pytest.mark.parametrize(
    "baselines",
    [{}, {"ModelQuality": {"Statistics": {"S3Uri": "s3://b/q.json"}}}, {"ModelDataQuality": "x"}],
    ids=["none", "only-model-quality", "not-an-object"],
)
def test_a_package_without_model_data_statistics_has_no_drift_baseline(baselines: dict[str, Any]) -> None:
    package = ModelPackage.model_validate({"ModelPackageArn": "arn", "DriftCheckBaselines": baselines})
    assert package.drift_baseline_uri is None


@pytest.mark.parametrize(
    ("user", "who"),
    [
        ({"UserProfileName": "alice", "IamIdentity": {"Arn": "arn:role"}}, "alice"),
        ({"IamIdentity": {"Arn": "arn:role"}}, "arn:role"),
        ({"UserProfileName": "", "DomainId": "d-1"}, None),
        ({}, None),
    ],
    ids=["studio-user", "iam-identity", "empty-name", "nothing"],
)
def test_who_changed_a_package_last(user: dict[str, Any], who: str | None) -> None:
    package = ModelPackage.model_validate({"ModelPackageArn": "arn", "LastModifiedBy": user})
    assert package.last_modified_by_name == who
