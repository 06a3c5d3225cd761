"""``python -m pipeline_def.local run``: execute the deployed pipeline definition on this machine.

Examples::

    python -m pipeline_def.local run                       # dev, 5,000 synthetic policies
    python -m pipeline_def.local run --rows 50000 --signal 0.5 --param MinAuc=0.9
    python -m pipeline_def.local run --claims claims.csv --customers customers.csv
    python -m pipeline_def.local run --claims raw_claims.csv --customers raw_customers.csv \
        --input-format raw --event-time now
    python -m pipeline_def.local monitor --drift 1      # watch the model that run deployed

``monitor`` exits 0 when the monitoring pipeline ran (whatever it found: monitor.json says), 1
when it failed, 2 for bad arguments or a work directory without a deployed model.

Exit codes of ``run``: 0 the run succeeded; 1 it ran and failed (run.json says where); 2 bad arguments or
input (errors as file:line:column), nothing ran; 130 (Ctrl-C) or 143 (SIGTERM): stopped, every
job subprocess ended and run.json says "Stopped".
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from pipeline_def.config import ConfigError
from pipeline_def.data.encoding import InputFormat
from pipeline_def.data.validation import ValidationError, parse_event_time_option
from pipeline_def.definition.checks import DefinitionError
from pipeline_def.local.executor import ParameterError
from pipeline_def.local.expressions import ExecutionError
from pipeline_def.local.landing import LandingOptions, land, landing_lines
from pipeline_def.local.monitor import MonitorError, MonitorOptions, monitor, monitor_lines
from pipeline_def.local.retraining import retrain_locally
from pipeline_def.local.run import (
    ArgumentError,
    InputDataError,
    RunOptions,
    RunStopped,
    WorkdirError,
    run,
)


def _override(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline_def.local", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="run the pipeline end to end, offline")
    run_cmd.add_argument("--env", default="dev", help="environment in cdk.json (default: dev)")
    run_cmd.add_argument("--rows", type=int, default=5000, help="synthetic policies (default: 5000)")
    run_cmd.add_argument("--seed", type=int, default=7, help="synthetic data seed (default: 7)")
    run_cmd.add_argument("--signal", type=float, default=1.0, help="0 = labels independent of features")
    run_cmd.add_argument("--claims", type=Path, help="claims CSV/Parquet instead of synthetic data")
    run_cmd.add_argument("--customers", type=Path, help="customers CSV/Parquet instead of synthetic data")
    run_cmd.add_argument(
        "--input-format",
        choices=[f.value for f in InputFormat],
        default=InputFormat.AUTO.value,
        help="raw (categories as text), features (encoded columns) or auto (by the header; default)",
    )
    run_cmd.add_argument(
        "--event-time", metavar="now|ISO-8601", help="event time for files without an event_time column"
    )
    run_cmd.add_argument(
        "--allow-unmatched", action="store_true", help="accept policies present in only one file"
    )
    run_cmd.add_argument("--workdir", type=Path, default=Path(".run/dev"), help="output folder (replaced)")
    run_cmd.add_argument(
        "--param",
        type=_override,
        action="append",
        default=[],
        metavar="Name=Value",
        help="override a pipeline parameter (repeatable)",
    )
    run_cmd.add_argument("--quiet", action="store_true", help="print only the final summary")
    _monitor_parser(commands)
    _land_parser(commands)
    summary = commands.add_parser("summary", help="print the summary of a finished run (its run.json)")
    summary.add_argument("--workdir", type=Path, default=Path(".run/dev"))
    return parser


def _monitor_parser(commands: argparse._SubParsersAction) -> None:
    mon = commands.add_parser(
        "monitor", help="send traffic to the deployed model, run the monitoring pipeline, act on alarms"
    )
    mon.add_argument("--workdir", type=Path, default=Path(".run/dev"), help="a finished local run's folder")
    mon.add_argument("--env", default="dev", help="environment in cdk.json (default: dev)")
    mon.add_argument("--drift", type=float, default=0.0, help="0-3: how far traffic moves from training")
    mon.add_argument("--seed", type=int, default=11, help="traffic seed (default: 11)")
    mon.add_argument("--requests", type=int, default=5000, help="captured requests (default: 5000)")
    mon.add_argument("--labelled", type=float, default=1.0, help="share of requests whose label arrives")
    mon.add_argument("--no-retrain", action="store_true", help="record alarms, start no retraining run")


def _land_parser(commands: argparse._SubParsersAction) -> None:
    land_cmd = commands.add_parser(
        "land", help="land a file under incoming/<group>/ and run the ingestion pipeline on it"
    )
    land_cmd.add_argument("--file", type=Path, required=True, help="a claims or customers file (CSV/Parquet)")
    land_cmd.add_argument("--group", required=True, help="claims or customers")
    land_cmd.add_argument("--workdir", type=Path, default=Path(".run/landing"), help="kept between landings")
    land_cmd.add_argument("--env", default="dev", help="environment in cdk.json (default: dev)")


def _land_command(args: argparse.Namespace, progress) -> int:
    options = LandingOptions(file=args.file, group=args.group, workdir=args.workdir, env=args.env)
    try:
        summary = land(options, progress)
    except (ArgumentError, ConfigError, ParameterError, WorkdirError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(landing_lines(summary))
    return 0 if summary["status"] == "Succeeded" else 1


def _monitor_command(args: argparse.Namespace, progress) -> int:
    options = MonitorOptions(
        workdir=args.workdir,
        env=args.env,
        drift=args.drift,
        seed=args.seed,
        requests=args.requests,
        labelled=args.labelled,
        retrain=not args.no_retrain,
    )
    try:
        summary = monitor(options, progress, retrain=retrain_locally(options.workdir, progress))
    except (MonitorError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ExecutionError as err:
        print(f"error: the monitoring pipeline failed: {err}", file=sys.stderr)
        return 1
    print(monitor_lines(summary))
    return 0


def _gate_lines(summary: dict) -> list[str]:
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


def _print_summary(summary: dict) -> None:
    approval = summary.get("approval") or {}
    print(f"\nrun {summary['status'].lower()} in {summary['seconds']:.1f}s ({summary['environment']})")
    if summary.get("outcome"):
        print(f"  {summary['outcome']}")
    if summary.get("failure_reason") and str(summary["failure_reason"]) not in str(summary.get("outcome")):
        print(f"  reason: {summary['failure_reason']}")
    for line in _gate_lines(summary):
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
    print(f"  report: {(summary.get('artifacts') or {}).get('report')}")


def _read_summary(path: Path) -> dict:
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


def _summary_command(path: Path) -> int:
    if not path.is_file():
        print(f"error: {path} does not exist; run `python -m pipeline_def.local run` first", file=sys.stderr)
        return 2
    try:
        summary = _read_summary(path)
        _print_summary(summary)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        message = str(err) if isinstance(err, ValueError) else f"{path} is not a complete run.json ({err!r})"
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0 if summary["status"] == "Succeeded" else 1


_COMMANDS = {"monitor": _monitor_command, "land": _land_command}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "summary":
        return _summary_command(args.workdir / "run.json")
    # Progress lines are the output; library INFO logs (moto's HTTP server, botocore) are noise.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.perf_counter()

    def progress(line: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {line}", flush=True)

    if args.command in _COMMANDS:
        return _COMMANDS[args.command](args, progress)
    if (args.claims is None) != (args.customers is None):
        print("error: --claims and --customers go together", file=sys.stderr)
        return 2
    if args.event_time is not None:
        try:
            parse_event_time_option(args.event_time, time.time())
        except ValueError as err:  # refused before the work directory is touched
            print(f"error: {err}", file=sys.stderr)
            return 2
    options = RunOptions(
        env=args.env,
        workdir=args.workdir,
        rows=args.rows,
        seed=args.seed,
        signal=args.signal,
        claims=args.claims,
        customers=args.customers,
        input_format=InputFormat(args.input_format),
        event_time=args.event_time,
        allow_unmatched=args.allow_unmatched,
        overrides=dict(args.param),
    )
    try:
        summary = run(options, progress=None if args.quiet else progress)
    except RunStopped as stop:
        print(
            f"\nstopped by {stop.signal_name}; every job subprocess ended; run.json says Stopped",
            file=sys.stderr,
        )
        return 128 + stop.signum
    except KeyboardInterrupt:  # before the run took over the signals: nothing was written
        print("\nstopped by SIGINT before the run started; nothing was written", file=sys.stderr)
        return 130
    except (
        ArgumentError,
        ConfigError,
        ParameterError,
        DefinitionError,
        InputDataError,
        ValidationError,
        WorkdirError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    _print_summary(summary)
    return 0 if summary["status"] == "Succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
