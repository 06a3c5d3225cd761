"""cdk-nag: the app synthesizes with no unacknowledged finding, and a new finding stops synth."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_s3 as s3
import pytest

from infra.compliance import acknowledge, acknowledge_all, enable_checks
from tests.infra.synth_support import Synthesized, read_json

FINDING_ID = re.compile(r"^AwsSolutions-[A-Z]+\d+(\[(Resource|Action|Policy)::.+\])?$")
TEST_ENV = cdk.Environment(account="111111111111", region="us-east-1")


def acknowledgments(env: Synthesized) -> dict[tuple[str, str], str]:
    """(construct path, finding) -> reason, as recorded in the cloud assembly's stack metadata."""
    found: dict[tuple[str, str], str] = {}
    for metadata in Path(env.assembly.directory).glob("*.metadata.json"):
        for path, entries in read_json(metadata).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    for finding, reason in entry["data"].items():
                        found[(path, finding.removeprefix("Annotation::"))] = reason
    return found


def synth_tiny_app(tmp_path: Path, build: Any) -> dict[str, Any]:
    """Synthesize one stack made by ``build`` under the project's nag setup; return the report."""
    app = cdk.App(outdir=str(tmp_path))
    build(cdk.Stack(app, "Tiny", env=TEST_ENV))
    enable_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return read_json(tmp_path / "validation-report.json")


def violations(report: dict[str, Any]) -> set[str]:
    return {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}


def test_app_synthesizes_without_unacknowledged_findings(env: Synthesized) -> None:
    report = read_json(env.outdir / "validation-report.json")
    assert report["pluginReports"] == []


def test_every_acknowledgment_names_one_finding(env: Synthesized) -> None:
    for _, finding in acknowledgments(env):
        assert FINDING_ID.match(finding), finding


def test_every_acknowledgment_gives_a_specific_reason(env: Synthesized) -> None:
    for key, reason in acknowledgments(env).items():
        assert len(reason) >= 60, key
        assert reason.endswith("."), key


def test_no_finding_is_acknowledged_for_a_whole_stack(env: Synthesized) -> None:
    stack_paths = {f"/{env.stage.node.id}/{stack.node.id}" for stack in env.stage.stacks}
    assert not {path for path, _ in acknowledgments(env)} & stack_paths


def test_unencrypted_bucket_fails_synth(tmp_path: Path) -> None:
    report = synth_tiny_app(tmp_path, lambda stack: s3.Bucket(stack, "Plain"))
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= violations(report)


def test_acknowledging_another_resource_leaves_the_finding_open(tmp_path: Path) -> None:
    def build(stack: cdk.Stack) -> None:
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/x/*"]))
        acknowledge(
            role, "AwsSolutions-IAM5[Resource::arn:aws:s3:::b/y/*]", "Not the resource the role uses."
        )

    report = synth_tiny_app(tmp_path, build)
    assert violations(report) == {"AwsSolutions-IAM5[Resource::arn:aws:s3:::b/x/*]"}


def test_findings_acknowledged_together_each_close_with_their_own_reason(tmp_path: Path) -> None:
    reasons = {
        "AwsSolutions-IAM5[Resource::arn:aws:s3:::b/x/*]": "Keys under x/ are generated per run.",
        "AwsSolutions-IAM5[Resource::arn:aws:s3:::b/z/*]": "Keys under z/ are content hashes.",
    }

    def build(stack: cdk.Stack) -> None:
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        objects = ["arn:aws:s3:::b/x/*", "arn:aws:s3:::b/y/*", "arn:aws:s3:::b/z/*"]
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=objects))
        acknowledge_all(role, reasons)

    report = synth_tiny_app(tmp_path, build)
    assert violations(report) == {"AwsSolutions-IAM5[Resource::arn:aws:s3:::b/y/*]"}
    (metadata,) = tmp_path.glob("*.metadata.json")
    recorded = {
        finding.removeprefix("Annotation::"): reason
        for entries in read_json(metadata).values()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for finding, reason in entry["data"].items()
    }
    assert recorded == reasons


def test_report_names_the_violating_construct(tmp_path: Path) -> None:
    report = synth_tiny_app(tmp_path, lambda stack: s3.Bucket(stack, "Plain"))
    paths = {
        c["constructPath"]
        for plugin in report["pluginReports"]
        for v in plugin["violations"]
        for c in v["violatingConstructs"]
    }
    assert paths == {"Tiny/Plain/Resource"}
    assert json.dumps(report).count("AwsSolutions") >= 2


def test_synth_emits_no_warnings(env: Synthesized) -> None:
    warnings = [
        (path, entry["data"])
        for metadata in Path(env.assembly.directory).glob("*.metadata.json")
        for path, entries in read_json(metadata).items()
        for entry in entries
        if entry["type"] in {"aws:cdk:warning", "aws:cdk:error"}
    ]
    assert warnings == []
