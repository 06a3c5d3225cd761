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
job subprocess ended and run.json says "Stopped" (a stop before the run replaced its folder writes
nothing and leaves the previous run as it was).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from pipeline_def.data.encoding import InputFormat
from pipeline_def.exit import exit_promptly
from pipeline_def.local.job_host import JobHost
from pipeline_def.local.stopping import RunStopped, stop_on_signals
from pipeline_def.local.summary import summary_command


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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "summary":
        return summary_command(args.workdir / "run.json")
    # Progress lines are the output; library INFO logs (moto's HTTP server, botocore) are noise.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.perf_counter()

    def progress(line: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {line}", flush=True)

    # The signals are taken over first, then the job host starts: it imports the jobs' libraries
    # on the other core while this process imports its own (about 0.7 s), so the first job does
    # not wait for it. A stop from here on ends the host and every job. The host writes nothing;
    # a command that refuses its arguments stops it on exit.
    command = None
    with stop_on_signals():
        try:
            JobHost.shared()
            # Here rather than at the top: these commands load the SageMaker SDK, pandas and moto.
            from pipeline_def.local.commands import COMMANDS

            command = COMMANDS[args.command]
            return command(args, progress)
        except RunStopped as stop:  # outside the run's own handling (which says what it wrote)
            written = "nothing was written" if command is None else f"the {args.command} did not finish"
            print(f"\nstopped by {stop.signal_name}; every job subprocess ended; {written}", file=sys.stderr)
            return 128 + stop.signum


if __name__ == "__main__":
    exit_promptly(main())
