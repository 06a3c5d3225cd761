"""Start a job script as its container does, handing it the local run's engines.

``python -m pipeline_def.local.launch [--glue-catalog FILE] SCRIPT [ARG ...]`` loads SCRIPT from
its path (the file the definition's entrypoint names, as deployed) and calls its ``main(argv)``.
A script whose ``main`` also takes an ``engine`` (FraudDataProcess queries Athena) gets DuckDB over
the local offline store instead. The script never learns that it runs locally: in the cloud its
own default engine is used, here the caller passes another object with the same interface.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType


def load_script(path: Path) -> ModuleType:
    """The script as a module named ``job_script``: its ``if __name__ == "__main__"`` block stays off."""
    spec = importlib.util.spec_from_file_location("job_script", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"error: {path}: not a Python script")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module's annotations through it
    spec.loader.exec_module(module)
    return module


def launch(script: Path, argv: Sequence[str], glue_catalog: Path | None) -> int:
    module = load_script(script)
    if "engine" not in inspect.signature(module.main).parameters:
        return module.main(list(argv))
    if glue_catalog is None:
        raise SystemExit(f"error: {script.name} queries the offline store; pass --glue-catalog")
    from pipeline_def.local.athena import DuckDBEngine  # only jobs that query need DuckDB

    error = getattr(module, "QueryError", RuntimeError)
    try:
        engine = DuckDBEngine.from_catalog_file(glue_catalog, error=error)
    except error as err:
        print(f"error: {script.name}: {err}", file=sys.stderr)
        return 1
    return module.main(list(argv), engine=engine)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline_def.local.launch", description=__doc__)
    parser.add_argument("--glue-catalog", type=Path, help="the local offline store's catalog file")
    parser.add_argument("script", type=Path)
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    return launch(args.script, args.arguments, args.glue_catalog)


if __name__ == "__main__":
    sys.exit(main())
