"""Command line: ``python -m pipeline_def definition --env dev [--out FILE]``.

Prints (or writes) the pipeline definition with ``${Variable}`` placeholders, exactly what the
CDK app hands to ``AWS::SageMaker::Pipeline`` through ``Fn::Sub``. Offline; no credentials.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline_def.config import ConfigError, environment_names, load_settings, read_context
from pipeline_def.definition.render import render


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline_def", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    definition = commands.add_parser("definition", help="print the pipeline definition template")
    definition.add_argument("--env", default="dev", help="environment in cdk.json (default: dev)")
    definition.add_argument("--out", type=Path, help="write to this file instead of stdout")
    commands.add_parser("environments", help="list the environments in cdk.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "environments":
            print("\n".join(environment_names(read_context())))
            return 0
        text = render(load_settings(args.env))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({len(text):,} characters)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
