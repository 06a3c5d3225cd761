"""Helpers of the infrastructure tests: synthesizing like ``app.py`` and reading templates."""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

# jsii runs the project's Node.js 24 LTS (package.json: node-linux-*, installed by npm ci), as make
# and npx cdk do through PATH; run directly, pytest would otherwise start the system's Node (20
# here, past its end of life). Without the registry binary, jsii keeps the ``node`` on PATH.
os.environ.setdefault(
    "JSII_NODE",
    shutil.which("node", path=str(Path(__file__).resolve().parents[2] / "node_modules" / ".bin")) or "node",
)

import aws_cdk as cdk
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
from cfnlint.rules import Rules
from cfnlint.runner import Runner
from cfnlint.runner.template.runner import run_template_by_file_path

from infra.application import add_environments, new_app
from infra.stage import MlopsStage
from pipeline_def.config import EnvironmentConfig, Reader, load_environments

STACK_KINDS = ("data", "operations", "ingestion", "pipeline", "approval", "monitoring")
#: cfn-lint checks every template with these ignored. W3005 ("dependency already enforced by
#: GetAtt"): CDK adds explicit DependsOn for ordering that a GetAtt also implies, which is harmless.
CFN_LINT_IGNORED = ("W3005",)


@dataclass(frozen=True)
class Synthesized:
    """One environment's synthesized stacks: raw JSON (for scans) and assertion Templates."""

    config: EnvironmentConfig
    stage: MlopsStage
    assembly: cdk.cx_api.CloudAssembly
    outdir: Path

    def json(self, kind: str) -> dict[str, Any]:
        """The template as the assembly holds it, a new dict per call (tests may edit theirs).

        Read from the template file, which is what the artifact's ``template`` parses on the
        Node.js side: that route carried the whole template through jsii on every call, about
        half of the infra tests' time (1,800 calls).
        """
        return json.loads(_template_text(self.template_path(kind)))

    def template(self, kind: str) -> Template:
        return Template.from_json(self.json(kind))

    def termination_protection(self, kind: str) -> bool:
        return bool(
            self.assembly.get_stack_artifact(getattr(self.stage, kind).artifact_id).termination_protection
        )

    def template_path(self, kind: str) -> Path:
        if kind not in self._template_paths:  # three jsii calls, asked for 1,800 times a session
            artifact = self.assembly.get_stack_artifact(getattr(self.stage, kind).artifact_id)
            self._template_paths[kind] = Path(self.assembly.directory) / artifact.template_file
        return self._template_paths[kind]

    @functools.cached_property
    def _template_paths(self) -> dict[str, Path]:
        return {}


@functools.cache
def _template_text(path: Path) -> str:
    """A synthesized template's text; an assembly's files are written once by its synth."""
    return path.read_text(encoding="utf-8")


def synthesize_app(outdir: Path, context: Reader) -> tuple[cdk.App, dict[str, MlopsStage]]:
    """What ``app.py`` does, into ``outdir``: every environment, cdk-nag on, synth."""
    app = new_app(context, outdir=str(outdir))
    stages = add_environments(app, load_environments(context))
    app.synth()
    return app, stages


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def only_resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = list(resources_of(template, resource_type).values())
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def key_with_alias(template: dict[str, Any], alias: str) -> tuple[str, dict[str, Any]]:
    """The KMS key (logical id, resource) that an ``AWS::KMS::Alias`` of ``template`` names ``alias``."""
    (key_id,) = [
        a["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        for a in resources_of(template, "AWS::KMS::Alias").values()
        if a["Properties"]["AliasName"] == alias
    ]
    return key_id, template["Resources"][key_id]


def key_import(env: Synthesized, alias: str) -> dict[str, str]:
    """How the stateless stacks refer to the data stack's key behind ``alias``: the import of its ARN."""
    data = env.json("data")
    key_id, _ = key_with_alias(data, alias)
    (export,) = [
        output["Export"]["Name"]
        for output in data["Outputs"].values()
        if output["Value"] == {"Fn::GetAtt": [key_id, "Arn"]}
    ]
    return {"Fn::ImportValue": export}


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement of roles (inline) and policies, with the logical id that holds it."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy":
            documents = [props["PolicyDocument"]]
        elif resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        else:
            continue
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Statements in the role's inline policies and in the policies attached to it."""
    attached = {
        k
        for k, v in resources_of(template, "AWS::IAM::Policy").items()
        if {"Ref": role_id} in v["Properties"]["Roles"]
    }
    return [
        s for logical_id, s in policy_statements(template) if logical_id == role_id or logical_id in attached
    ]


def resources_allowing(statements: Iterable[dict[str, Any]], action: str) -> set[str]:
    """Every literal resource (ARN or ``*``) of the statements that name ``action``, conditional or not."""
    return {
        r
        for s in statements
        if action in as_list(s["Action"])
        for r in as_list(s["Resource"])
        if isinstance(r, str)
    }


def grants_of(statements: Iterable[dict[str, Any]], service: str) -> set[tuple[str, str]]:
    """(action, literal resource) for every action of ``service`` (``sagemaker:``...) the statements name."""
    return {
        (action, resource)
        for s in statements
        for action in as_list(s["Action"])
        if action.startswith(service)
        for resource in as_list(s["Resource"])
        if isinstance(resource, str)
    }


def allows(statements: Iterable[dict[str, Any]], action: str, resource: Any) -> bool:
    """Whether an unconditional Allow grants ``action`` on ``resource`` (IAM ``*``/``?`` matching).

    Conditional statements are left out on purpose: a test that needs one checks it explicitly.
    Resources that are CloudFormation expressions (``{"Fn::GetAtt": ...}``) match only if equal.
    """
    for statement in statements:
        if statement["Effect"] != "Allow" or "Condition" in statement:
            continue
        if not any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"])):
            continue
        for granted in as_list(statement["Resource"]):
            if isinstance(granted, str) and isinstance(resource, str):
                if fnmatchcase(resource, granted):
                    return True
            elif granted == resource:
                return True
    return False


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _cfn_lint_settings(region: str, template: Path | None = None) -> ConfigMixIn:
    args = ["--template", str(template)] if template is not None else []
    return ConfigMixIn(args, **ManualArgs(ignore_checks=list(CFN_LINT_IGNORED), regions=[region]))


@functools.cache
def _cfn_lint_rules(region: str) -> Rules:
    """cfn-lint's rule collection, loaded once per process: loading is 40% of linting one template."""
    return Runner(_cfn_lint_settings(region)).rules


def cfn_lint(template: Path, region: str) -> list[str]:
    """cfn-lint's findings on one template file, as ``cfn-lint --regions <region>`` reports them.

    The same path as ``cfnlint.api.lint_file`` (decode, then every rule, the template's own
    metadata directives, de-duplication), with the rules shared between templates the way
    cfn-lint's own command line shares them between the files it is given.
    """
    settings = _cfn_lint_settings(region, template)
    matches = run_template_by_file_path(str(template), settings, _cfn_lint_rules(region), False)
    return [str(m) for m in matches]
