"""IAM across every template: no wildcard actions, no managed FullAccess, Resource "*" only where forced."""

from __future__ import annotations

import json

import pytest

from tests.infra.synth_support import STACK_KINDS, Synthesized, as_list, policy_statements, resources_of

#: Actions that have no resource-level permissions, so IAM accepts only Resource "*" for them
#: (the same list as infra/policies.py's docstring).
UNSCOPED_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_no_statement_allows_every_action_of_a_service(env: Synthesized, kind: str) -> None:
    for _, statement in policy_statements(env.json(kind)):
        for action in as_list(statement["Action"]):
            assert action != "*", statement
            assert not action.endswith(":*"), statement


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_resource_star_only_for_actions_without_resource_types(env: Synthesized, kind: str) -> None:
    for _, statement in policy_statements(env.json(kind)):
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= UNSCOPED_ACTIONS, statement


#: SageMaker's own metric namespaces (jobs and endpoints), as the pipeline and model roles get them.
SAGEMAKER_NAMESPACES = {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}}


# The monitoring stack's one PutMetricData is limited to its own namespace: test_monitoring_stack.
@pytest.mark.parametrize("kind", [k for k in STACK_KINDS if k != "monitoring"])
def test_metrics_are_limited_to_sagemaker_namespaces(env: Synthesized, kind: str) -> None:
    for _, statement in policy_statements(env.json(kind)):
        if "cloudwatch:PutMetricData" in as_list(statement["Action"]):
            assert statement["Condition"] == SAGEMAKER_NAMESPACES


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_no_full_access_managed_policy(env: Synthesized, kind: str) -> None:
    assert "FullAccess" not in json.dumps(env.json(kind))


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_only_the_cdk_bucket_deployment_provider_uses_a_managed_policy(env: Synthesized, kind: str) -> None:
    for logical_id, role in resources_of(env.json(kind), "AWS::IAM::Role").items():
        if role["Properties"].get("ManagedPolicyArns"):
            assert logical_id.startswith("CustomCDKBucketDeployment"), logical_id


#: Roles of SageMaker features that do not send aws:SourceAccount when they assume a role
#: (Feature Store is not in SageMaker's confused-deputy list), so their trust has no condition.
NO_SOURCE_CONDITION_ROLES = ("FeatureStoreRole",)


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_service_roles_trust_only_their_own_account(env: Synthesized, kind: str) -> None:
    checked = 0
    for logical_id, role in resources_of(env.json(kind), "AWS::IAM::Role").items():
        if logical_id.startswith(NO_SOURCE_CONDITION_ROLES):
            continue
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            service = statement["Principal"]["Service"]
            if service in {"sagemaker.amazonaws.com", "scheduler.amazonaws.com", "events.amazonaws.com"}:
                checked += 1
                assert statement["Condition"] == {
                    "StringEquals": {"aws:SourceAccount": env.config.account}
                }, logical_id
    # The pipeline stack has the pipeline, model and schedule roles, the monitoring stack its pipeline,
    # schedule and failure-alert roles, the ingestion stack its pipeline role and the rules' start and
    # alert roles; the others none of these.
    expected = {"data": 0, "operations": 0, "ingestion": 3, "pipeline": 3, "approval": 0, "monitoring": 3}
    assert checked == expected[kind]
