"""The local commands that run jobs: ``run``, ``land`` and ``monitor`` (see ``__main__``).

Imported only when one of them is asked for: they load the SageMaker SDK, pandas, xgboost and
moto, which ``summary`` does without. ``land`` and ``monitor`` import their own modules when
called: the retrain function's models, for one, cost ``run`` 0.13 s of imports it never uses.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from pipeline_def.config import ConfigError
from pipeline_def.data.encoding import InputFormat
from pipeline_def.data.validation import ValidationError, parse_event_time_option
from pipeline_def.definition.checks import DefinitionError
from pipeline_def.local.executor import ParameterError
from pipeline_def.local.expressions import ExecutionError
from pipeline_def.local.run import (
    ArgumentError,
    InputDataError,
    RunOptions,
    WorkdirError,
    run,
)
from pipeline_def.local.stopping import RunStopped
from pipeline_def.local.summary import print_summary


def land_command(args: argparse.Namespace, progress: Callable[[str], None]) -> int:
    from pipeline_def.local.landing import LandingOptions, land, landing_lines

    options = LandingOptions(file=args.file, group=args.group, workdir=args.workdir, env=args.env)
    try:
        summary = land(options, progress)
    except (ArgumentError, ConfigError, ParameterError, WorkdirError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(landing_lines(summary))
    return 0 if summary["status"] == "Succeeded" else 1


def monitor_command(args: argparse.Namespace, progress: Callable[[str], None]) -> int:
    from pipeline_def.local.monitor import MonitorError, MonitorOptions, monitor, monitor_lines
    from pipeline_def.local.retraining import retrain_locally

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


def run_command(args: argparse.Namespace, progress: Callable[[str], None]) -> int:
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
        if stop.run_json:
            written = f"{stop.run_json} says Stopped"
        elif stop.interrupted_reset:
            written = f"it stopped while deleting the previous run in {args.workdir}; part of it may be gone"
        else:
            written = "it stopped before replacing the work directory; nothing was written"
        print(f"\nstopped by {stop.signal_name}; every job subprocess ended; {written}", file=sys.stderr)
        return 128 + stop.signum
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
    print_summary(summary)
    return 0 if summary["status"] == "Succeeded" else 1


COMMANDS: dict[str, Callable[[argparse.Namespace, Callable[[str], None]], int]] = {
    "run": run_command,
    "land": land_command,
    "monitor": monitor_command,
}
