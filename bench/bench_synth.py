"""Synth and ``make run`` wall times beside an empty CDK app's synth, all through the pinned CLI.

Each synth is a fresh ``cdk synth`` subprocess (new node, new Python, new jsii kernel) into a new
output directory. The one thing kept between runs is the definition cache
(``pipeline_def/definition/cache.py``), so the full app and ``make run`` are each measured twice:
warm (the project's cache, filled by an untimed run first: what a user sees while
``pipeline_def/`` and ``cdk.json`` are unchanged) and cold (``PIPELINE_DEF_CACHE=off`` for the
synth, an empty cache folder per ``make run``: the first run after an edit). Two empty apps
(one empty stack, same CLI, same Python) are measured in the same invocation: CDK's default
app, the goal's baseline, and one with the full app's own setting (built-in CloudFormation validation off, see
``infra/application.py``), which shows how much of the ratio that setting buys. ``make run`` is
timed warm (its set-up stamps already in place, one untimed run first). Runs alternate, so
drifting machine load hits every kind alike. Prints a Markdown section; writes no file.

Usage::

    .venv/bin/python -m bench.bench_synth [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"
EMPTY_APP = """\
import aws_cdk as cdk

app = cdk.App({settings})
cdk.Stack(app, "Empty", env=cdk.Environment(account="111111111111", region="us-east-1"))
app.synth()
"""
EMPTY_APPS = {"default": "", "same settings": "builtin_cloud_formation_validation=False"}
MAKE_RUN_GOAL = 4.0
SYNTH_GOAL = 2.0
ENVIRONMENT = {
    **os.environ,
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_CLI_TELEMETRY": "1",
}
SYNTH = ("synth", "--quiet", "--no-notices")


def full_app_command(outdir: Path) -> list[str]:
    return [str(CDK), *SYNTH, "-o", str(outdir)]


def empty_app_command(outdir: Path, app_file: Path) -> list[str]:
    app = f"{sys.executable} {app_file}"
    return [str(CDK), *SYNTH, "--no-version-reporting", "--app", app, "-o", str(outdir)]


def timed(command: list[str], cwd: Path, cache: str | None = None) -> float:
    """Wall seconds of one synth; fails loudly, since a failed synth is not a measurement."""
    env = ENVIRONMENT if cache is None else {**ENVIRONMENT, "PIPELINE_DEF_CACHE": cache}
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"synth failed ({' '.join(command)}):\n{result.stderr[-3000:]}")
    return elapsed


def timed_make_run(cache: str | None = None) -> float:
    env = ENVIRONMENT if cache is None else {**ENVIRONMENT, "PIPELINE_DEF_CACHE": cache}
    start = time.perf_counter()
    result = subprocess.run(
        ["make", "run"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"make run failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def measure(runs: int) -> dict[str, list[float]]:
    """Wall seconds per kind: the full synth and ``make run``, cache warm and cold, and each empty app."""
    kinds = ("full", "full cold", "make run", "make run cold", *EMPTY_APPS)
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    timed_make_run()  # warm: set-up stamps in place, .run/ and cdk.out/ written once
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        root = Path(tmp)
        apps = {}
        for index, (name, settings) in enumerate(EMPTY_APPS.items()):
            apps[name] = root / f"empty_app_{index}.py"
            apps[name].write_text(EMPTY_APP.format(settings=settings), encoding="utf-8")
        for run in range(runs):
            times["full"].append(timed(full_app_command(root / f"full-{run}"), cwd=REPO_ROOT))
            cold = full_app_command(root / f"full-cold-{run}")
            times["full cold"].append(timed(cold, cwd=REPO_ROOT, cache="off"))
            for name, app_file in apps.items():
                times[name].append(timed(empty_app_command(root / f"{name}-{run}", app_file), cwd=root))
            times["make run"].append(timed_make_run())
            times["make run cold"].append(timed_make_run(cache=str(root / f"cache-{run}")))
    return times


def app_shape() -> str:
    """Stages and stacks of the full app, from cdk.json (ingestion adds a stack where enabled)."""
    from pipeline_def.config import load_environments, read_context

    configs = load_environments(read_context())
    stacks = sum(5 + int(config.ingestion.enabled) for config in configs)
    return f"{len(configs)} stages, {stacks} stacks"


def cli_version() -> str:
    command = [str(CDK), "--version"]
    result = subprocess.run(command, env=ENVIRONMENT, capture_output=True, text=True, check=False)
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "unknown"


def report(times: dict[str, list[float]]) -> str:
    median = {kind: statistics.median(values) for kind, values in times.items()}
    empty = median["default"]

    def row(name: str, kind: str) -> str:
        values = ", ".join(f"{t:.1f}" for t in times[kind])
        return f"| {name} | {values} | {median[kind]:.1f} | {median[kind] / empty:.1f}x |"

    return "\n".join(
        [
            "## CDK synth and `make run`",
            "",
            f"- Command: `{CDK.relative_to(REPO_ROOT)} {' '.join(SYNTH)} -o <tmp>` "
            "(all environments: dev, staging, prod); `make run` (warm: local run, synth, definitions)",
            "- Baseline: the same CLI on CDK's default empty app (one empty stack, same Python)",
            f"- Machine: `os.cpu_count()` = {os.cpu_count()}, Python {platform.python_version()}, "
            f"CDK CLI {cli_version()}",
            f"- Runs: {len(times['full'])} each, alternating; every synth is a fresh subprocess into a new "
            "directory",
            "",
            "| What | Runs (s) | Median (s) | vs empty app |",
            "| --- | --- | --- | --- |",
            row(f"Full app ({app_shape()}), definition cache warm", "full"),
            row("Full app, definitions rendered (cache off)", "full cold"),
            row("`make run` (set up, definition cache warm)", "make run"),
            row("`make run` (set up, definition cache empty)", "make run cold"),
            row("Empty app, CDK's defaults (baseline)", "default"),
            row("Empty app, the full app's setting (no built-in validation)", "same settings"),
            "",
            f"Full synth / empty app: **{median['full'] / empty:.1f}x** with the definition cache warm, "
            f"{median['full cold'] / empty:.1f}x rendering every definition "
            f"(goal: within {SYNTH_GOAL:.0f}x). "
            f"`make run` / empty app: **{median['make run'] / empty:.1f}x** warm, "
            f"{median['make run cold'] / empty:.1f}x with an empty cache "
            f"(goal: within {MAKE_RUN_GOAL:.0f}x). "
            f"Against the empty app with the full app's setting, the full synth is "
            f"{median['full'] / median['same settings']:.1f}x.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", "--runs", dest="repeats", type=int, default=3, help="synths per app")
    args = parser.parse_args(argv)
    if not CDK.exists():
        raise SystemExit(f"{CDK} not found: run `npm ci` to install the pinned CDK CLI")
    print(report(measure(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
