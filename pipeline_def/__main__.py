"""Command line: ``python -m pipeline_def definition --env dev [--pipeline P] [--out FILE]``.

Prints (or writes) a pipeline definition with ``${Variable}`` placeholders, exactly what the
CDK app hands to ``AWS::SageMaker::Pipeline`` through ``Fn::Sub``: the training pipeline, or
with ``--pipeline monitoring|ingestion`` the monitoring or ingestion one. Offline; no credentials.
``python -m pipeline_def definitions --out-dir DIR [--prefix P]`` writes the three definitions of
every environment as ``DIR/<P><env>.json``, ``DIR/<P><env>-monitoring.json`` and
``DIR/<P><env>-ingestion.json`` in one process,
so the SageMaker SDK is imported once, or not at all when every definition is in the definition
cache (``pipeline_def/definition/cache.py``: same settings, same code, same SDK).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline_def.config import ConfigError, environment_names, load_environment, read_context
from pipeline_def.definition.render import package_digest, scripts_digest
from pipeline_def.definition.render_worker import Definitions
from pipeline_def.exit import exit_promptly

PIPELINES = ("training", "monitoring", "ingestion")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline_def", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    definition = commands.add_parser("definition", help="print the pipeline definition template")
    definition.add_argument("--env", default="dev", help="environment in cdk.json (default: dev)")
    definition.add_argument("--pipeline", choices=PIPELINES, default="training", help="default: training")
    definition.add_argument("--out", type=Path, help="write to this file instead of stdout")
    every = commands.add_parser("definitions", help="write every environment's definition to a folder")
    every.add_argument(
        "--out-dir",
        type=Path,
        required=True,
        help="folder for <prefix><env>.json, <prefix><env>-monitoring.json and -ingestion.json",
    )
    every.add_argument("--prefix", default="", help="file name prefix (default: none)")
    commands.add_parser("environments", help="list the environments in cdk.json")
    return parser


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({len(text):,} characters)", file=sys.stderr)


def _definition(context, env: str, pipeline: str, definitions: Definitions) -> str:
    """Rendered, or read back from the definition cache (PIPELINE_DEF_CACHE)."""
    config = load_environment(context, env)
    if pipeline == "monitoring":
        return definitions.monitoring(config.pipeline, config.monitoring, digest=scripts_digest())
    if pipeline == "ingestion":
        return definitions.ingestion(config.pipeline, config.ingestion, digest=package_digest())
    return definitions.training(config.pipeline, digest=scripts_digest())


def _render_all(out_dir: Path, prefix: str) -> None:
    """Validate every environment first, so a bad one writes nothing rather than half the files."""
    context, definitions = read_context(), Definitions()
    texts = {
        f"{prefix}{env}{'' if pipeline == 'training' else '-' + pipeline}.json": _definition(
            context, env, pipeline, definitions
        )
        for env in environment_names(context)
        for pipeline in PIPELINES
    }
    for name, text in texts.items():
        _write(out_dir / name, text)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "environments":
            print("\n".join(environment_names(read_context())))
            return 0
        if args.command == "definitions":
            _render_all(args.out_dir, args.prefix)
            return 0
        text = _definition(read_context(), args.env, args.pipeline, Definitions())
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:
        _write(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    exit_promptly(main())
