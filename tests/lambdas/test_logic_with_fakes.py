"""Failure modes of the approval and deploy logic that moto cannot produce, run against fakes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from lambdas.approval.logic import review_package
from lambdas.approval.models import ApprovalSettings
from lambdas.deploy.logic import EndpointNotUpdatableError, deploy_package
from lambdas.deploy.models import DeploySettings, resource_name
from lambdas.shared.events import GROUP_NAME_PATTERN
from lambdas.shared.registry import Endpoint
from lambdas.shared.settings import load_settings
from tests.lambdas.lambda_support import (
    GROUP,
    InMemoryRegistry,
    RecordingNotifier,
    bias_report,
    evaluation_report,
)

ARN = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/3"
REQUEST = {"model_package_arn": ARN, "model_approval_status": "PendingManualApproval"}


def _package(status: str, version: int = 3) -> dict[str, Any]:
    return {
        "ModelPackageArn": ARN,
        "ModelPackageGroupName": GROUP,
        "ModelPackageVersion": version,
        "ModelApprovalStatus": status,
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"S3Uri": "s3://evidence/evaluation.json"}},
            "Bias": {"Report": {"S3Uri": "s3://evidence/analysis.json"}},
        },
    }


def _evidence() -> dict[str, bytes]:
    return {
        "s3://evidence/evaluation.json": json.dumps(evaluation_report()).encode(),
        "s3://evidence/analysis.json": json.dumps(bias_report()).encode(),
    }


def _review_with_throttled_evidence() -> tuple[InMemoryRegistry, pytest.ExceptionInfo[ClientError]]:
    """A pending package reviewed while S3 throttles the evidence read: the registry and the error."""
    throttled = ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "GetObject"
    )
    registry = InMemoryRegistry(packages={ARN: _package("PendingManualApproval")}, read_error=throttled)
    with pytest.raises(ClientError) as raised:
        review_package(
            request=REQUEST,
            settings=load_settings(ApprovalSettings),
            registry=registry,
            notifier=RecordingNotifier(),
        )
    return registry, raised


def test_a_transient_s3_error_propagates(approval_variables: dict[str, str]) -> None:
    # Given S3 throttling the evidence read
    # When the package is reviewed
    _, raised = _review_with_throttled_evidence()

    # Then S3's own error escapes, so Lambda retries the event
    assert raised.match("SlowDown")


def test_a_transient_s3_error_leaves_the_package_pending(approval_variables: dict[str, str]) -> None:
    # Given S3 throttling the evidence read
    # When the package is reviewed (and the error escapes)
    registry, _ = _review_with_throttled_evidence()

    # Then nothing was decided: the package waits for readable evidence
    assert registry.approvals == []


def test_a_forged_event_naming_a_package_of_another_group_changes_nothing(
    approval_variables: dict[str, str],
) -> None:
    # Given an event claiming our group for a package the registry files under another group
    package = _package("PendingManualApproval") | {"ModelPackageGroupName": "churn-model"}
    registry = InMemoryRegistry(packages={ARN: package}, documents=_evidence())

    # When the package is reviewed
    result = review_package(
        request=REQUEST,
        settings=load_settings(ApprovalSettings),
        registry=registry,
        notifier=RecordingNotifier(),
    )

    # Then the registry's answer wins and nothing is approved
    assert result["reason"] == "package belongs to group 'churn-model', not 'fraud-detection'"
    assert registry.approvals == []


@pytest.fixture
def deploy_settings(monkeypatch: pytest.MonkeyPatch) -> DeploySettings:
    return load_settings(
        DeploySettings,
        {
            "MODEL_PACKAGE_GROUP_NAME": GROUP,
            "IDEMPOTENCY_TABLE": "lambda-idempotency",
            "ENDPOINT_NAME": "fraud-detection-dev",
            "ENDPOINT_INSTANCE_TYPE": "ml.m5.large",
            "ENDPOINT_INSTANCE_COUNT": "1",
            "MODEL_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/sagemaker-model-execution",
            "DATA_CAPTURE_S3_URI": "s3://capture/dev",
            "DATA_CAPTURE_SAMPLING_PERCENTAGE": "100",
            "KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/abcd",
        },
    )


def _deploy_to_an_endpoint_in(
    status: str, settings: DeploySettings
) -> tuple[InMemoryRegistry, pytest.ExceptionInfo[EndpointNotUpdatableError]]:
    """Version 3 deployed while the endpoint is in ``status``: the registry and the error raised."""
    registry = InMemoryRegistry(packages={ARN: _package("Approved")}, documents=_evidence())
    registry.endpoints["fraud-detection-dev"] = Endpoint(
        name="fraud-detection-dev",
        arn="arn:endpoint",
        status=status,
        config_name="fraud-detection-v2-00000000",
    )
    with pytest.raises(EndpointNotUpdatableError) as raised:
        deploy_package(request=REQUEST, settings=settings, registry=registry)
    return registry, raised


@pytest.mark.parametrize("status", ["Creating", "Updating", "RollingBack", "Failed"])
def test_an_endpoint_that_is_not_in_service_is_not_updated(
    deploy_settings: DeploySettings, status: str
) -> None:
    # Given the endpoint busy with an earlier deployment (or failed)
    # When version 3 is deployed
    registry, _ = _deploy_to_an_endpoint_in(status, deploy_settings)

    # Then the endpoint is left alone
    assert registry.endpoint_updates == []


@pytest.mark.parametrize("status", ["Creating", "Updating", "RollingBack", "Failed"])
def test_an_event_for_an_endpoint_that_is_not_in_service_is_retried(
    deploy_settings: DeploySettings, status: str
) -> None:
    # Given the endpoint busy with an earlier deployment (or failed)
    # When version 3 is deployed
    _, raised = _deploy_to_an_endpoint_in(status, deploy_settings)

    # Then the invocation fails, naming the status, so Lambda retries it later
    assert raised.match(status)


def test_an_endpoint_on_a_config_this_function_did_not_build_is_updated(
    deploy_settings: DeploySettings,
) -> None:
    # Given an endpoint created by hand, on an untagged config
    registry = InMemoryRegistry(packages={ARN: _package("Approved")}, documents=_evidence())
    registry.endpoints["fraud-detection-dev"] = Endpoint(
        name="fraud-detection-dev", arn="arn:endpoint", status="InService", config_name="hand-made"
    )

    # When version 3 is deployed
    result = deploy_package(request=REQUEST, settings=deploy_settings, registry=registry)

    # Then the function takes the endpoint over with a blue/green update
    assert result["outcome"] == "endpoint_updated"


@given(
    group=st.from_regex(GROUP_NAME_PATTERN, fullmatch=True),
    version=st.integers(min_value=1, max_value=10**9),
)
def test_resource_names_always_fit_sagemaker_rules(group: str, version: int) -> None:
    # Given any valid group name and version
    # When the model / endpoint config name is derived
    name = resource_name(group, version, f"arn:model-package/{group}/{version}", "endpoint")

    # Then it fits the 63-character limit and pattern, and names the version
    assert len(name) <= 63
    assert re.fullmatch(GROUP_NAME_PATTERN, name)
    assert f"-v{version}-" in name
