#!/usr/bin/env python3
"""CDK entry point: one Stage per environment of cdk.json, or only ``-c env=<name>``.

The only place that reads the context and picks environments. Synth is offline: every stack
has an explicit account and region, and nothing is looked up.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from infra.compliance import enable_checks
from infra.stage import MlopsStage
from pipeline_def.config import ConfigError, load_environments, read_context


def main() -> int:
    try:
        context = read_context()
        # cdk.json's context goes in so `python app.py` and `cdk synth` see the same feature flags;
        # context given to the CLI (`-c env=prod`) still takes precedence.
        app = cdk.App(context=dict(context.data))
        configs = load_environments(context, app.node.try_get_context("env"))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for config in configs:
        MlopsStage(app, config.name, config=config)
    enable_checks(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
