"""A local Feature Store offline store: Parquet in the service's own S3 layout, plus a catalog.

The local run writes validated frames here instead of calling PutRecord, so
the pipeline's dataset SQL runs through DuckDB against files shaped exactly like the ones
Feature Store writes to S3 for a Glue-format offline store::

    <root>/<account>/sagemaker/<region>/offline-store/<feature-group>-<creation-epoch>/data/
        year=YYYY/month=MM/day=DD/hour=HH/<yyyymmddTHHMMSSZ>_<16-hex>.parquet

``root`` stands in for ``s3://<offline-store-bucket>/<prefix>``. Records are partitioned by
their own event time (UTC, hourly), and each row carries Feature Store's system columns
``write_time`` and ``api_invocation_time`` (``timestamp[ms]``, UTC, no zone, like the Glue
table's ``timestamp``) and ``is_deleted`` (``boolean``, false). Feature columns use the Glue
types of :attr:`pipeline_def.schema.FeatureType.sql_type` (bigint -> int64, double -> double).

``<root>/glue_catalog.json`` stands in for the Glue Data Catalog: it maps
``"<database>.<table>"`` (``settings.glue_database`` and ``settings.offline_table(name)``) to
an absolute glob of that group's Parquet files. Read it with
``read_parquet('<glob>', hive_partitioning = false)``: DuckDB otherwise adds the
``year/month/day/hour`` folder names as columns, which Feature Store's Glue table does not
have. :class:`pipeline_def.local.athena.DuckDBEngine` creates those views.

Writes are deterministic for a given ``now``: the creation epoch of a new group is ``now``
(an existing group folder is reused, as the service keeps appending to it), file names come
from ``now`` and a hash of the file's bytes, so writing the same frames twice rewrites the
same files instead of duplicating records.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline_def.config import PipelineSettings
from pipeline_def.data.validation import epoch_seconds
from pipeline_def.schema import SYSTEM_COLUMNS, FeatureGroupSchema, feature_group

CATALOG_FILE = "glue_catalog.json"
PARTITION_GLOB = "year=*/month=*/day=*/hour=*/*.parquet"
_ARROW_TYPES = {"bigint": pa.int64(), "double": pa.float64(), "string": pa.string()}
_TIMESTAMP = pa.timestamp("ms")


def arrow_schema(schema: FeatureGroupSchema) -> pa.Schema:
    """The offline-store file schema: features (Glue types) then the three system columns."""
    fields = [pa.field(f.name, _ARROW_TYPES[f.type.sql_type], nullable=False) for f in schema.features]
    write_time, api_invocation_time, is_deleted = SYSTEM_COLUMNS
    fields += [
        pa.field(write_time, _TIMESTAMP, nullable=False),
        pa.field(api_invocation_time, _TIMESTAMP, nullable=False),
        pa.field(is_deleted, pa.bool_(), nullable=False),
    ]
    return pa.schema(fields)


def offline_store_prefix(root: Path, settings: PipelineSettings) -> Path:
    """``<root>/<account>/sagemaker/<region>/offline-store``, as Feature Store resolves it in S3."""
    return root / settings.account / "sagemaker" / settings.region / "offline-store"


def group_directory(root: Path, settings: PipelineSettings, schema_name: str, now: float) -> Path:
    """The group's ``<name>-<creation-epoch>`` folder: the newest existing one, else created at ``now``.

    Feature Store creates this folder once, when the group is created, and appends to it; a
    deleted and re-created group gets a new epoch, and its Glue table points at the new one.
    """
    name = settings.feature_group_names[schema_name]
    prefix = offline_store_prefix(root, settings)
    pattern = re.compile(re.escape(name) + r"-(\d+)")
    existing = [
        (int(match.group(1)), path)
        for path in (prefix.iterdir() if prefix.is_dir() else [])
        if (match := pattern.fullmatch(path.name)) and path.is_dir()
    ]
    if existing:
        return max(existing)[1]
    return prefix / f"{name}-{int(now)}"


def _check_frame(schema: FeatureGroupSchema, frame: pd.DataFrame) -> None:
    """Refuse frames that did not come out of validation; writing them would corrupt the store."""
    if frame.empty:
        raise ValueError(f"{schema.name}: no rows to write")
    if tuple(frame.columns) != schema.column_names:
        raise ValueError(
            f"{schema.name}: frame columns do not match the schema (validate it first with "
            f"pipeline_def.data.validation.validate); expected {list(schema.column_names)}, "
            f"got {list(frame.columns)}"
        )
    wrong = {n: str(frame[n].dtype) for n, dtype in schema.dtypes.items() if str(frame[n].dtype) != dtype}
    if wrong:
        raise ValueError(f"{schema.name}: wrong dtypes {wrong}; expected {schema.dtypes} (validate first)")


def _table(schema: FeatureGroupSchema, frame: pd.DataFrame, now_ms: int) -> pa.Table:
    """Frame plus system columns, in the offline-store schema."""
    rows = len(frame)
    stamp = pa.array(np.full(rows, now_ms, dtype=np.int64), type=pa.int64()).cast(_TIMESTAMP)
    arrays = [pa.array(frame[name].to_numpy()) for name in schema.column_names]
    arrays += [stamp, stamp, pa.array(np.zeros(rows, dtype=bool))]
    return pa.Table.from_arrays(arrays, schema=arrow_schema(schema))


def _parquet_bytes(table: pa.Table) -> bytes:
    """Serialise first, so the file name can carry a hash of the exact bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue().to_pybytes()


#: Threads writing one group's hourly files.
WRITERS = min(4, os.cpu_count() or 1)


def write_group(data_dir: Path, schema: FeatureGroupSchema, frame: pd.DataFrame, *, now: float) -> list[Path]:
    """Write one validated frame as hourly event-time partitions under ``data_dir``; returns the files."""
    _check_frame(schema, frame)
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    hours = np.floor(frame[schema.event_time].to_numpy() / 3600).astype(np.int64)
    order = np.argsort(hours, kind="stable")
    table = _table(schema, frame, round(now * 1000)).take(pa.array(order))
    sorted_hours = hours[order]
    starts = np.flatnonzero(np.r_[True, sorted_hours[1:] != sorted_hours[:-1]])
    ends = np.r_[starts[1:], len(sorted_hours)]

    def write_hour(start: int, end: int) -> Path:
        hour = datetime.fromtimestamp(int(sorted_hours[start]) * 3600, UTC)
        folder = data_dir / f"year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}"
        content = _parquet_bytes(table.slice(start, end - start))
        path = folder / f"{stamp}_{hashlib.sha256(content).hexdigest()[:16]}.parquet"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    # A month of data is about 744 small files; Parquet encoding and the writes release the
    # GIL, so threads write them about 1.5x faster on two cores. Each file depends only on its rows.
    # A failed write, or a stop raised here while waiting (Ctrl-C, SIGTERM), leaves map's
    # iterator, which cancels the hours not yet started: only the files being written are waited for.
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(write_hour, starts.tolist(), ends.tolist()))


def table_name(settings: PipelineSettings, schema_name: str) -> str:
    """``<database>.<table>``: the key of a group in the catalog, as Athena SQL names it."""
    return f"{settings.glue_database}.{settings.offline_table(schema_name)}"


def load_catalog(path: Path, *, must_exist: bool = False) -> dict[str, str]:
    """The catalog's ``{"db.table": glob}``; a missing file is an empty catalog unless ``must_exist``."""
    if not path.exists() and not must_exist:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable catalog ({err})") from err
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: expected an object of string to string")
    return data


def _write_catalog(path: Path, catalog: dict[str, str]) -> None:
    """Replace the catalog atomically, so a reader never sees half a file."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(catalog, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def write_offline_store(
    root: Path, settings: PipelineSettings, frames: dict[str, pd.DataFrame], *, now: datetime | float
) -> Path:
    """Write validated frames (keyed by schema name) and register them in the local catalog.

    Parameters
    ----------
    root
        Folder standing in for the offline-store bucket; created if needed.
    settings
        The environment (account, region, feature group and Glue names).
    frames
        ``{"claims": frame, "customers": frame}`` as returned by validation (schema order,
        int64/float64). Other groups already in the catalog are kept.
    now
        Write time: system-column value, file-name timestamp, creation epoch of new groups.

    Returns
    -------
    Path
        ``<root>/glue_catalog.json`` (absolute): the catalog of
        :class:`pipeline_def.local.athena.DuckDBEngine`.

    Examples
    --------
    >>> catalog = write_offline_store(Path("out/s3"), load_settings("dev"),  # doctest: +SKIP
    ...                               {"claims": claims, "customers": customers}, now=time.time())
    """
    root = Path(root).resolve()
    moment = epoch_seconds(now)
    catalog_path = root / CATALOG_FILE
    catalog = load_catalog(catalog_path)
    for name, frame in frames.items():
        schema = feature_group(name)  # unknown names fail here, listing the known groups
        data_dir = group_directory(root, settings, name, moment) / "data"
        write_group(data_dir, schema, frame, now=moment)
        catalog[table_name(settings, name)] = str(data_dir / PARTITION_GLOB)
    root.mkdir(parents=True, exist_ok=True)
    _write_catalog(catalog_path, catalog)
    return catalog_path
