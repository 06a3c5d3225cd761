"""The deploy function of a deploying environment (cross-account promotion) against a moto server.

The function runs in the moto account (``ACCOUNT``) and deploys packages approved in the
registry environment's account (``REGISTRY_ACCOUNT``). moto keeps each account's registry apart
and has no cross-account resource policies, so DescribeModelPackage of the registry's package is
answered inside botocore (:class:`RegistryInAnotherAccount`), after the request was validated
and with an answer validated against the output shape; everything else (idempotency table,
model, endpoint config, endpoint) is moto's.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

from lambdas.constants import ENV_REGISTRY_ACCOUNT
from lambdas.deploy import handler as deploy_handler
from lambdas.deploy.handler import handler
from lambdas.shared.registry import client_environment
from tests.lambdas.lambda_support import (
    ACCOUNT,
    APPROVED,
    APPROVED_EVENT,
    ENDPOINT,
    GROUP,
    REGION,
    TABLE,
    ApiCallRecorder,
    Aws,
    FakeLambdaContext,
    bias_report,
    evaluation_report,
    state_change_event,
)

REGISTRY_ACCOUNT = "111111111111"
THIRD_ACCOUNT = "999999999999"


def package_arn(account: str, version: int = 1) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:model-package/{GROUP}/{version}"


class RegistryInAnotherAccount:
    """Answers DescribeModelPackage for the registry account's packages, as its group policy allows.

    The answer is what moto gives for the same package registered locally, re-pointed at the
    registry account's ARN; requests for any other ARN go to moto unchanged.
    """

    def __init__(self, client: Any, packages: dict[str, dict[str, Any]]) -> None:
        self.packages = packages
        self._output = client.meta.service_model.operation_model("DescribeModelPackage").output_shape
        client.meta.events.register("before-call.sagemaker.DescribeModelPackage", self._respond)

    def _respond(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        answer = self.packages.get(json.loads(params["body"]).get("ModelPackageName", ""))
        if answer is None:
            return None
        validate_parameters(answer, self._output)
        return AWSResponse("https://sagemaker", 200, {}, None), copy.deepcopy(answer)


@pytest.fixture
def promoted_env(deploy_env: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """The deploy environment of a deploying environment: packages of REGISTRY_ACCOUNT only."""
    monkeypatch.setenv(ENV_REGISTRY_ACCOUNT, REGISTRY_ACCOUNT)
    return deploy_env


def sagemaker_client() -> Any:
    return deploy_handler.build_dependencies(TABLE, client_environment()).registry.sagemaker


def approved_in(aws: Aws, account: str) -> tuple[str, dict[str, Any]]:
    """A package Approved in ``account``'s registry, and the event that account's bus delivers."""
    local = aws.register_package(evaluation=evaluation_report(), bias=bias_report(), status=APPROVED)
    description = {k: v for k, v in aws.package(local).items() if k != "ResponseMetadata"}
    arn = package_arn(account, description["ModelPackageVersion"])
    description["ModelPackageArn"] = arn
    # Required in SageMaker's output shape (a versioned package is named after its group); moto omits it.
    description.setdefault("ModelPackageName", GROUP)
    RegistryInAnotherAccount(sagemaker_client(), {arn: description})
    event = state_change_event(
        arn, APPROVED, version=description["ModelPackageVersion"], template=APPROVED_EVENT
    )
    event["account"] = account
    return arn, event


def test_a_package_approved_in_the_registry_account_is_deployed(
    promoted_env: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a package Approved in the registry account, forwarded to this account's bus
    arn, event = approved_in(promoted_env, REGISTRY_ACCOUNT)
    # When the deploy function handles it
    result = handler(event, lambda_context)
    # Then the endpoint is created from a model whose container is the registry's package
    assert result["outcome"] == "endpoint_created"
    model = promoted_env.sagemaker.describe_model(ModelName=result["model_name"])
    assert model["Containers"] == [{"ModelPackageName": arn}]
    endpoint = promoted_env.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"] == result["endpoint_config_name"]


def test_a_package_of_a_third_account_is_refused_before_any_call_on_it(
    promoted_env: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a package of an account that is neither this one nor the registry's
    _, event = approved_in(promoted_env, THIRD_ACCOUNT)
    calls = ApiCallRecorder(sagemaker_client())
    # When the deploy function handles it
    result = handler(event, lambda_context)
    # Then it is ignored as another account's, nothing is described and no endpoint exists
    assert result["outcome"] == "ignored"
    assert result["reason"].startswith(f"package ARN is of another account {THIRD_ACCOUNT}")
    assert calls.named("DescribeModelPackage") == []
    assert calls.named("CreateModel") == []


def test_with_a_registry_account_this_account_own_packages_are_refused(
    promoted_env: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a package Approved in this account's own registry
    arn = promoted_env.register_package(evaluation=evaluation_report(), bias=bias_report(), status=APPROVED)
    event = state_change_event(arn, APPROVED, template=APPROVED_EVENT)
    # When the deploy function of a deploying environment handles it
    result = handler(event, lambda_context)
    # Then it is ignored: a deploying environment deploys the registry's packages only
    assert result["outcome"] == "ignored"
    assert result["reason"].startswith(f"package ARN is of another account {ACCOUNT}")


def test_without_a_registry_account_the_registry_package_is_refused(
    deploy_env: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given no REGISTRY_ACCOUNT (the default: single account)
    _, event = approved_in(deploy_env, REGISTRY_ACCOUNT)
    # When a package of another account arrives
    result = handler(event, lambda_context)
    # Then it is ignored as another account's
    assert result["outcome"] == "ignored"
    assert result["reason"].startswith(f"package ARN is of another account {REGISTRY_ACCOUNT}")


def test_a_malformed_registry_account_fails_the_invocation(
    deploy_env: Aws, monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    # Given a REGISTRY_ACCOUNT that is not a 12-digit account id
    monkeypatch.setenv(ENV_REGISTRY_ACCOUNT, "dev")
    _, event = approved_in(deploy_env, REGISTRY_ACCOUNT)
    # When the deploy function handles an event, then it fails naming the variable
    with pytest.raises(Exception, match=ENV_REGISTRY_ACCOUNT):
        handler(event, lambda_context)
