#!/usr/bin/env python3
"""CDK entry point: one Stage per environment of cdk.json, or only ``-c env=<name>``.

The only place that reads the context and picks environments. Synth is offline: every stack
has an explicit account and region, and nothing is looked up.
"""

from __future__ import annotations

import sys

from pipeline_def.config import ConfigError, load_environments, read_context
from pipeline_def.definition.render_worker import Definitions
from pipeline_def.exit import exit_promptly


def main() -> int:
    try:
        context = read_context()
        # Started before CDK is imported, so the worker gains that second too. It renders every
        # environment of cdk.json (the only source of their settings); `-c env=` picks after.
        with Definitions.ahead(load_environments(context)) as definitions:
            from infra.application import add_environments, new_app

            app = new_app(context)
            add_environments(app, load_environments(context, app.node.try_get_context("env")), definitions)
            app.synth()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    exit_promptly(main())
