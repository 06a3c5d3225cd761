"""Start a job script as its container does, handing it the local run's engines.

``python -m pipeline_def.local.launch [--glue-catalog FILE] SCRIPT [ARG ...]`` loads SCRIPT from
its path (the file the definition's entrypoint names, as deployed) and calls its ``main(argv)``.
A script whose ``main`` also takes an ``engine`` (FraudDataProcess queries Athena) gets DuckDB over
the local offline store instead; one that takes a ``store`` (S3 calls) or a ``sink`` (PutRecord;
the ingestion job) gets the local S3 folder or a sink writing JSON Lines. The script never learns
that it runs locally: in the cloud its own default is used, here the caller passes another object
with the same interface.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from pipeline_def.local.storage import LocalS3


def load_script(path: Path) -> ModuleType:
    """The script as a module named ``job_script``: its ``if __name__ == "__main__"`` block stays off."""
    spec = importlib.util.spec_from_file_location("job_script", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"error: {path}: not a Python script")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module's annotations through it
    spec.loader.exec_module(module)
    return module


def _local_services(
    parameters: Mapping[str, inspect.Parameter], s3_root: Path | None, records_dir: Path | None
) -> dict[str, object]:
    """The ingestion job's S3 calls and PutRecord, over the local S3 folder and JSON Lines files."""
    services: dict[str, object] = {}
    if "store" in parameters and s3_root is not None:
        services["store"] = LocalS3(s3_root)
    if "sink" in parameters and records_dir is not None:
        from pipeline_def.local.feature_store import RecordingSink

        services["sink"] = RecordingSink(records_dir)
    return services


def launch(
    script: Path,
    argv: Sequence[str],
    glue_catalog: Path | None,
    s3_root: Path | None = None,
    records_dir: Path | None = None,
) -> int:
    module = load_script(script)
    parameters = inspect.signature(module.main).parameters
    if "engine" not in parameters:
        return module.main(list(argv), **_local_services(parameters, s3_root, records_dir))
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
    parser.add_argument("--s3-root", type=Path, help="the local S3 folder (a job's S3 calls)")
    parser.add_argument("--records-dir", type=Path, help="where a job's PutRecord calls land")
    parser.add_argument("script", type=Path)
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    return launch(args.script, args.arguments, args.glue_catalog, args.s3_root, args.records_dir)


if __name__ == "__main__":
    sys.exit(main())
