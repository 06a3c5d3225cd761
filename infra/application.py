"""The CDK app: one stage per environment, its definitions rendered ahead, cdk-nag over all of it.

``app.py`` builds the app through here and so do the tests, so they synthesize what
``cdk synth`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk

from infra.compliance import enable_checks
from infra.stage import MlopsStage
from pipeline_def.config import EnvironmentConfig, Reader
from pipeline_def.definition.render_worker import Definitions


def new_app(context: Reader, **props: Any) -> cdk.App:
    """An app with cdk.json's context and without CDK's built-in CloudFormation validation.

    Why without: the built-in plugin checks resource properties against the registry schemas
    and only warns, for about an eighth of a full synth; cfn-lint checks the same schemas and
    more over every synthesized template in ``make test``, and a finding fails it.
    """
    # cdk.json's context goes in so `python app.py` and `cdk synth` see the same feature flags;
    # context given to the CLI (`-c env=prod`) still takes precedence.
    return cdk.App(context=dict(context.data), builtin_cloud_formation_validation=False, **props)


def add_environments(
    app: cdk.App, configs: Sequence[EnvironmentConfig], definitions: Definitions | None = None
) -> dict[str, MlopsStage]:
    """One stage per environment; a worker process renders every definition while they are built.

    Every foundation comes first (it needs no definition), so the first wait for the worker
    comes as late as it can. ``app.py`` passes a worker it started before importing CDK;
    otherwise one starts here.
    """
    definitions = definitions or Definitions.ahead(configs)
    stages = {c.name: MlopsStage(app, c.name, config=c) for c in configs}
    for stage in stages.values():
        stage.add_workloads(definitions)
    enable_checks(app)
    return stages
