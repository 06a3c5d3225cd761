"""Synth wall time of the full CDK app next to an empty one, both through the pinned CLI.

Each run is a fresh ``cdk synth`` subprocess (new node, new Python, new jsii kernel) into a new
output directory, so nothing is cached between runs. The empty app (one empty stack, same
CLI, same Python) is measured in the same invocation, which makes the ratio comparable across
machines even when absolute times are not. Prints a Markdown section; writes no file.

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

app = cdk.App()
cdk.Stack(app, "Empty", env=cdk.Environment(account="111111111111", region="us-east-1"))
app.synth()
"""
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


def timed(command: list[str], cwd: Path) -> float:
    """Wall seconds of one synth; fails loudly, since a failed synth is not a measurement."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=ENVIRONMENT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"synth failed ({' '.join(command)}):\n{result.stderr[-3000:]}")
    return elapsed


def measure(runs: int) -> tuple[list[float], list[float]]:
    """Alternate full and empty runs so drifting machine load hits both alike."""
    full: list[float] = []
    empty: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        root = Path(tmp)
        app_file = root / "empty_app.py"
        app_file.write_text(EMPTY_APP, encoding="utf-8")
        for run in range(runs):
            full.append(timed(full_app_command(root / f"full-{run}"), cwd=REPO_ROOT))
            empty.append(timed(empty_app_command(root / f"empty-{run}", app_file), cwd=root))
    return full, empty


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


def report(full: list[float], empty: list[float]) -> str:
    full_median, empty_median = statistics.median(full), statistics.median(empty)

    def row(name: str, times: list[float], median: float) -> str:
        return f"| {name} | {', '.join(f'{t:.1f}' for t in times)} | {median:.1f} |"

    return "\n".join(
        [
            "## CDK synth",
            "",
            f"- Command: `{CDK.relative_to(REPO_ROOT)} {' '.join(SYNTH)} -o <tmp>` "
            "(all environments: dev, staging, prod)",
            "- Baseline: the same CLI on an empty app (one empty stack, same Python)",
            f"- Machine: `os.cpu_count()` = {os.cpu_count()}, Python {platform.python_version()}, "
            f"CDK CLI {cli_version()}",
            f"- Runs: {len(full)} each, alternating; every run is a fresh subprocess into a new directory",
            "",
            "| App | Runs (s) | Median (s) |",
            "| --- | --- | --- |",
            row(f"Full app ({app_shape()})", full, full_median),
            row("Empty app (1 stack)", empty, empty_median),
            "",
            f"Ratio full / empty: **{full_median / empty_median:.1f}x**",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", "--runs", dest="repeats", type=int, default=3, help="synths per app")
    args = parser.parse_args(argv)
    if not CDK.exists():
        raise SystemExit(f"{CDK} not found: run `npm ci` to install the pinned CDK CLI")
    full, empty = measure(args.repeats)
    print(report(full, empty))
    return 0


if __name__ == "__main__":
    sys.exit(main())
