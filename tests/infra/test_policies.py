"""ARNs built in Python read exactly as CDK's ``Stack.format_arn`` writes them."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from infra import policies

ENVIRONMENTS = {
    "concrete": cdk.Environment(account="111111111111", region="eu-west-1"),
    "agnostic": None,
}


@pytest.fixture(params=list(ENVIRONMENTS), scope="module")
def stack(request: pytest.FixtureRequest) -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Arns", env=ENVIRONMENTS[request.param])


@pytest.mark.parametrize("key", [None, "runs/*", "a/b/report.json"])
def test_s3_arns_match_format_arn(stack: cdk.Stack, key: str | None) -> None:
    expected = stack.format_arn(
        service="s3",
        region="",
        account="",
        resource="bucket-1",
        resource_name=key,
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )
    assert policies.s3_arn(stack, "bucket-1", key) == expected


def test_s3_arns_of_a_construct_are_those_of_its_stack(stack: cdk.Stack) -> None:
    child = cdk.CfnResource(stack, f"Child{id(stack)}", type="Custom::Thing")
    assert policies.s3_arn(child, "bucket-1", "k") == policies.s3_arn(stack, "bucket-1", "k")


@pytest.mark.parametrize(("resource", "name"), [("pipeline", "p"), ("model-package", "group/*")])
def test_sagemaker_arns_match_format_arn(stack: cdk.Stack, resource: str, name: str) -> None:
    expected = stack.format_arn(service="sagemaker", resource=resource, resource_name=name)
    assert policies.sagemaker_arn(stack, resource, name) == expected


def test_a_token_name_stays_a_token_cdk_resolves(stack: cdk.Stack) -> None:
    name = cdk.Aws.STACK_NAME
    arn = policies.sagemaker_arn(stack, "pipeline", name)
    assert stack.resolve(arn) == stack.resolve(
        stack.format_arn(service="sagemaker", resource="pipeline", resource_name=name)
    )
