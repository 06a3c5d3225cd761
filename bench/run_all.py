"""``make bench``: run every benchmark and write bench/RESULTS.md.

Each benchmark is a script that prints one Markdown section (with its own command, machine and
baseline measured in the same run); this collects them under one header. The machine is shared
and noisy: the scripts report medians, and ratios against an in-run baseline rather than seconds.

Usage: ``python bench/run_all.py [--quick]`` (``--quick``: smaller sizes, for a smoke run)
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
FULL = {
    "bench_local_run.py": ["--sizes", "5000", "50000", "500000", "--repeats", "3"],
    "bench_shap.py": ["--rows", "200", "--repeats", "3"],
    "bench_data.py": ["--rows", "1000000", "--repeats", "3"],
    "bench_synth.py": ["--repeats", "3"],
}
QUICK = {
    "bench_local_run.py": ["--sizes", "2000", "10000", "--repeats", "3"],
    "bench_shap.py": ["--rows", "50", "--repeats", "3"],
    "bench_data.py": ["--rows", "100000", "--repeats", "3"],
    "bench_synth.py": ["--repeats", "3"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    sections = []
    for script, arguments in plan.items():
        print(f"== {script} {' '.join(arguments)}", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, str(BENCH / script), *arguments],
            capture_output=True,
            text=True,
            check=False,
            cwd=BENCH.parent,
        )
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            print(f"{script} failed (exit {result.returncode})", file=sys.stderr)
            return result.returncode
        sections.append(result.stdout.strip())
    header = (
        "# Benchmark results\n\n"
        f"Written by `make bench` (`python bench/run_all.py{' --quick' if args.quick else ''}`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}. Each section names its own command and baseline.\n"
    )
    args.out.write_text(header + "\n" + "\n\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
