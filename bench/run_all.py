"""``make bench``: run every benchmark and write bench/RESULTS.md.

Each benchmark is a module that prints one Markdown section (with its own command, machine and
baseline measured in the same run); this collects them under one header. The machine is shared
and noisy: the scripts report medians, and ratios against an in-run baseline rather than seconds.

Usage: ``python -m bench.run_all [--quick]``, from the repository root (``--quick``: smaller sizes,
for a smoke run)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
#: The packages only the SHAP and step benchmarks import (bench/requirements.txt), kept out of .venv.
BENCH_DEPS = BENCH.parent / ".bench-deps"
NEEDS_BENCH_DEPS = frozenset({"bench.bench_shap", "bench.bench_bias_job", "bench.bench_steps"})
#: Each benchmark runs as a module of this package (``python -m bench.<name>``) from the
#: repository root, so it imports the project by its full names.
FULL = {
    "bench.bench_local_run": ["--sizes", "5000", "50000", "500000", "--repeats", "3"],
    "bench.bench_steps": ["--rows", "500000", "--repeats", "3"],
    "bench.bench_shap": ["--rows", "200", "--repeats", "3"],
    "bench.bench_bias_job": ["--sizes", "50000", "500000", "--repeats", "1"],
    "bench.bench_drift": ["--records", "1000000", "--repeats", "3"],
    "bench.bench_data": ["--rows", "1000000", "--repeats", "3"],
    "bench.bench_synth": ["--repeats", "3"],
}
QUICK = {
    "bench.bench_local_run": ["--sizes", "2000", "10000", "--repeats", "3"],
    "bench.bench_steps": ["--rows", "20000", "--repeats", "3"],
    "bench.bench_shap": ["--rows", "50", "--repeats", "3"],
    "bench.bench_bias_job": ["--sizes", "5000", "--repeats", "3"],
    "bench.bench_drift": ["--records", "100000", "--repeats", "3"],
    "bench.bench_data": ["--rows", "100000", "--repeats", "3"],
    "bench.bench_synth": ["--repeats", "3"],
}


def environment(module: str) -> dict[str, str]:
    """The benchmark's environment: .bench-deps on the path only for those that need it."""
    if module not in NEEDS_BENCH_DEPS:
        return dict(os.environ)
    path = os.pathsep.join(p for p in (str(BENCH_DEPS), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    sections = []
    for module, arguments in plan.items():
        print(f"== {module} {' '.join(arguments)}", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, "-m", module, *arguments],
            capture_output=True,
            text=True,
            check=False,
            cwd=BENCH.parent,
            env=environment(module),
        )
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            print(f"{module} failed (exit {result.returncode})", file=sys.stderr)
            return result.returncode
        sections.append(result.stdout.strip())
    header = (
        "# Benchmark results\n\n"
        f"Written by `make bench` (`python -m bench.run_all{' --quick' if args.quick else ''}`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}. Each section names its own command and baseline.\n"
    )
    args.out.write_text(header + "\n" + "\n\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
