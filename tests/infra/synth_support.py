"""Helpers of the infrastructure tests: synthesizing like ``app.py`` and reading templates."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.compliance import enable_checks
from infra.config import EnvironmentConfig, load_environments
from infra.stage import MlopsStage
from pipeline_def.settings import Reader

STACK_KINDS = ("data", "pipeline", "approval")


@dataclass(frozen=True)
class Synthesized:
    """One environment's synthesized stacks: raw JSON (for scans) and assertion Templates."""

    config: EnvironmentConfig
    stage: MlopsStage
    assembly: cdk.cx_api.CloudAssembly
    outdir: Path

    def json(self, kind: str) -> dict[str, Any]:
        stack = getattr(self.stage, kind)
        return self.assembly.get_stack_artifact(stack.artifact_id).template

    def template(self, kind: str) -> Template:
        return Template.from_json(self.json(kind))

    def termination_protection(self, kind: str) -> bool:
        return bool(
            self.assembly.get_stack_artifact(getattr(self.stage, kind).artifact_id).termination_protection
        )

    def template_path(self, kind: str) -> Path:
        artifact = self.assembly.get_stack_artifact(getattr(self.stage, kind).artifact_id)
        return Path(self.assembly.directory) / artifact.template_file


def synthesize_app(outdir: Path, context: Reader) -> tuple[cdk.App, dict[str, MlopsStage]]:
    """What ``app.py`` does, into ``outdir``: every environment, cdk-nag on, synth."""
    app = cdk.App(outdir=str(outdir), context=dict(context.data))
    stages = {
        config.name: MlopsStage(app, config.name, config=config) for config in load_environments(context)
    }
    enable_checks(app)
    app.synth()
    return app, stages


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def only_resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = list(resources_of(template, resource_type).values())
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


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


def changed_context(
    context: Reader, env_name: str, path: str, value: Any = None, *, delete: bool = False
) -> Reader:
    """A deep copy of the context with ``environments.<env>.<path>`` set to ``value`` (or deleted)."""
    data = copy.deepcopy(dict(context.data))
    node = data["environments"][env_name]
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        node[last] = value
    return Reader(data, context.path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
