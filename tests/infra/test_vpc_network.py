"""Jobs in a VPC: the pipeline role's network-interface permissions stay on the configured network.

No environment of cdk.json configures a VPC, so this module synthesizes dev once more with
subnets and security groups (with cdk-nag on: an unacknowledged finding fails the fixture).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.application import add_environments, new_app
from pipeline_def.config import Reader, load_environment
from tests.config.config_support import changed_context
from tests.infra.synth_support import (
    Synthesized,
    allows,
    as_list,
    cfn_lint,
    read_json,
    resources_of,
    role_statements,
)

SUBNETS = ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
SECURITY_GROUPS = ("sg-0123456789abcdef0",)
OTHER_SUBNET = "subnet-00000000000000000"


@pytest.fixture(scope="module")
def vpc_dev(context: Reader, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """dev's pipeline template, with the network configured."""
    network = {"subnetIds": list(SUBNETS), "securityGroupIds": list(SECURITY_GROUPS)}
    config = load_environment(changed_context(context, "dev", "network", network), "dev")
    outdir = tmp_path_factory.mktemp("vpc-cdk.out")
    app = new_app(context, outdir=str(outdir))
    stage = add_environments(app, [config])[config.name]
    app.synth()
    assert read_json(outdir / "validation-report.json")["pluginReports"] == []
    assembly = stage.synth()
    artifact = assembly.get_stack_artifact(stage.pipeline.artifact_id)
    return {
        "config": config,
        "template": artifact.template,
        "template_path": Path(assembly.directory) / artifact.template_file,
    }


def ec2_arn(vpc_dev: dict[str, Any], resource: str) -> str:
    config = vpc_dev["config"]
    return f"arn:aws:ec2:{config.region}:{config.account}:{resource}"


def execution_role_statements(vpc_dev: dict[str, Any]) -> list[dict[str, Any]]:
    template = vpc_dev["template"]
    (role,) = [k for k in resources_of(template, "AWS::IAM::Role") if k.startswith("ExecutionRole")]
    return role_statements(template, role)


def statements_with(vpc_dev: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in execution_role_statements(vpc_dev) if action in as_list(s["Action"])]


def test_jobs_create_interfaces_only_in_the_configured_subnets_and_security_groups(
    vpc_dev: dict[str, Any],
) -> None:
    (statement,) = statements_with(vpc_dev, "ec2:CreateNetworkInterface")
    assert sorted(as_list(statement["Resource"])) == sorted(
        [
            ec2_arn(vpc_dev, "network-interface/*"),
            *(ec2_arn(vpc_dev, f"subnet/{s}") for s in SUBNETS),
            *(ec2_arn(vpc_dev, f"security-group/{g}") for g in SECURITY_GROUPS),
        ]
    )


def test_jobs_cannot_create_interfaces_in_another_subnet(vpc_dev: dict[str, Any]) -> None:
    statements = execution_role_statements(vpc_dev)
    assert not allows(statements, "ec2:CreateNetworkInterface", ec2_arn(vpc_dev, f"subnet/{OTHER_SUBNET}"))


@pytest.mark.parametrize("action", ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"])
def test_interface_changes_are_limited_to_the_configured_subnets(
    vpc_dev: dict[str, Any], action: str
) -> None:
    (statement,) = statements_with(vpc_dev, action)
    assert statement["Resource"] == ec2_arn(vpc_dev, "network-interface/*")
    assert statement["Condition"] == {
        "ArnEquals": {"ec2:Subnet": [ec2_arn(vpc_dev, f"subnet/{s}") for s in SUBNETS]}
    }


def test_only_actions_without_a_required_resource_type_are_on_every_resource(vpc_dev: dict[str, Any]) -> None:
    unscoped = {
        action
        for s in execution_role_statements(vpc_dev)
        if "*" in as_list(s["Resource"])
        for action in as_list(s["Action"])
        if action.startswith("ec2:")
    }
    assert unscoped == {
        "ec2:DeleteNetworkInterfacePermission",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    }


def test_without_a_network_the_role_has_no_ec2_action(dev: Synthesized) -> None:
    template = dev.json("pipeline")
    (role,) = [k for k in resources_of(template, "AWS::IAM::Role") if k.startswith("ExecutionRole")]
    actions = {a for s in role_statements(template, role) for a in as_list(s["Action"])}
    assert not {a for a in actions if a.startswith("ec2:")}


def test_the_vpc_definition_puts_jobs_in_the_configured_network(vpc_dev: dict[str, Any]) -> None:
    props = next(iter(resources_of(vpc_dev["template"], "AWS::SageMaker::Pipeline").values()))["Properties"]
    body, _ = props["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    for subnet in SUBNETS:
        assert subnet in body


def test_vpc_pipeline_template_passes_cfn_lint(vpc_dev: dict[str, Any]) -> None:
    assert cfn_lint(vpc_dev["template_path"], vpc_dev["config"].region) == []
