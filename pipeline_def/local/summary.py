"""``python -m pipeline_def.local summary``: print a finished run's run.json, and nothing heavier.

Kept apart from the commands that run jobs, which import the SageMaker SDK, pandas and moto
(seconds); reading one JSON file must not wait for them (``make run`` ends with this).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def gate_lines(summary: dict) -> list[str]:
    lines = []
    gates = summary.get("gates") or {}
    for kind in ("pipeline", "approval"):
        for gate in gates.get(kind) or []:
            verdict = {True: "pass", False: "FAIL"}.get(gate.get("passed"), "?")
            value = gate.get("value")
            shown = f"{value:.3f}" if isinstance(value, int | float) else str(value)
            lines.append(
                f"  {kind} gate {gate.get('name')}: {shown} {gate.get('bound')} {verdict}"
                f" (threshold from {gate.get('source')})"
            )
    return lines


def print_summary(summary: dict) -> None:
    approval = summary.get("approval") or {}
    print(f"\nrun {summary['status'].lower()} in {summary['seconds']:.1f}s ({summary['environment']})")
    if summary.get("outcome"):
        print(f"  {summary['outcome']}")
    if summary.get("failure_reason") and str(summary["failure_reason"]) not in str(summary.get("outcome")):
        print(f"  reason: {summary['failure_reason']}")
    for line in gate_lines(summary):
        print(line)
    if approval:
        print(f"  model package: {summary.get('model_package_arn')}")
        print(
            f"  decision: {approval.get('status')}"
            + (f" ({approval['description']})" if approval.get("description") else "")
        )
    rows = summary.get("rows")
    if rows:
        claims, customers = rows["claims"], rows["customers"]
        print(
            f"  rows: {claims['read']:,} claims and {customers['read']:,} customers read, "
            f"{rows['joined']:,} joined, {claims['dropped']:,} and {customers['dropped']:,} dropped"
        )
    if summary.get("function_logs"):
        print(f"  function logs: {summary['function_logs']}")
    print(f"  report: {(summary.get('artifacts') or {}).get('report')}")


def read_summary(path: Path) -> dict:
    """run.json, or ValueError with one line saying what is wrong with it."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a complete run.json ({err}); run the local run again") from None
    if not isinstance(summary, dict):
        raise ValueError(f"{path} is not a complete run.json (not an object); run the local run again")
    expected = {"status": str, "seconds": (int, float), "environment": str, "artifacts": dict}
    for key, kind in expected.items():
        if not isinstance(summary.get(key), kind):
            raise ValueError(f"{path} is not a complete run.json ({key!r} missing or malformed)")
    return summary


def summary_command(path: Path) -> int:
    if not path.is_file():
        print(f"error: {path} does not exist; run `python -m pipeline_def.local run` first", file=sys.stderr)
        return 2
    try:
        summary = read_summary(path)
        print_summary(summary)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        message = str(err) if isinstance(err, ValueError) else f"{path} is not a complete run.json ({err!r})"
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0 if summary["status"] == "Succeeded" else 1
