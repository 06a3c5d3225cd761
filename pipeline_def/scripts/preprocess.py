"""FraudDataProcess: build the training dataset from the Feature Store offline store.

One point-in-time SQL query (latest record per ``policy_id`` in each feature group, on or before
an optional cutoff, deletions honoured) joins the claims and customers groups; the result is
checked, split stratified on ``fraud`` and written in the built-in XGBoost CSV convention::

    <output-dir>/train/train.csv                 label first, no header, no index
    <output-dir>/validation/validation.csv       "
    <output-dir>/test/test.csv                   "
    <output-dir>/clarify/test_with_header.csv    test.csv's rows, in order, with the header row
    <output-dir>/metadata/dataset.json           row counts, fraud rates, cutoff, columns, query

With ``--train-parts N`` (the training instance count) the train split is written as N files
``train-part-00000.csv``... of consecutive rows, one per instance of a distributed training job
(its channel is sharded by S3 key); ``--test-parts M`` (the transform instance count) does the
same for the test split, since a batch transform shares out whole files among its instances.
Consumers read every CSV of a folder in name order, which is the split's row order, so the
headered copy still lines up with the test rows and with the transform's outputs.

The query runs on Athena unless the caller of :func:`main` passes another engine with the same
interface (``name``, ``run(query) -> DataFrame``): the same query text then runs there.

Data sufficiency: when the test split holds fewer frauds than ``--min-test-positives``
(``pipeline.minTestPositives`` in cdk.json) the step fails with that reason, so the pipeline stops
before tuning instead of gating a model on a handful of cases.

The file is shipped alone into the SageMaker XGBoost 3.0-5 image (Python 3.10): it imports
nothing from this repository and only APIs common to the image's and this machine's versions.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
import re
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import boto3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

LOG = logging.getLogger("preprocess")

LABEL = "fraud"
RECORD_ID = "policy_id"
EVENT_TIME = "event_time"
#: Columns Feature Store adds to every offline-store table.
SYSTEM_COLUMNS = ("write_time", "api_invocation_time", "is_deleted")
#: Helper column of the point-in-time window; never part of the dataset.
RANK_COLUMN = "fs_row_rank"
#: Glue/Athena names are lower case letters, digits and underscores; the offline store's table
#: names may also carry hyphens. Nothing else (no quotes, dots, spaces) can reach the SQL text.
NAME_PATTERN = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,254}$")
SPLITS = ("train", "validation", "test")
ATHENA_TIMEOUT_SECONDS = 3600.0
ATHENA_MAX_POLL_SECONDS = 10.0


class DatasetError(ValueError):
    """The input data or arguments cannot produce a valid dataset; the message says why."""


class QueryError(RuntimeError):
    """The query engine failed; the message carries the engine's own reason."""


# --------------------------------------------------------------------------- arguments


def parse_cutoff(text: str) -> float | None:
    """``latest`` -> no cutoff; an ISO-8601 timestamp -> epoch seconds.

    A timestamp without a zone is read as UTC, because the Feature Store's ``event_time`` is
    epoch seconds (UTC) and a local-time reading would shift the cutoff by the host's offset.
    A trailing ``Z`` is accepted explicitly: Python 3.10's ``fromisoformat`` (the image's) rejects it.
    """
    if text.strip().lower() == "latest":
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise DatasetError(
            f"--cutoff-time: {text!r} is neither 'latest' nor an ISO-8601 timestamp "
            "such as 2026-01-31T00:00:00Z"
        ) from err
    if moment.tzinfo is None:
        # timezone.utc, not datetime.UTC: the image runs Python 3.10.
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def resolve_cutoff(cutoff_time: str, as_of: str | None) -> float | None:
    """The cutoff actually applied: an explicit time, else ``as_of`` for 'latest', else none."""
    cutoff = parse_cutoff(cutoff_time)
    if cutoff is None and as_of is not None:
        try:
            cutoff = parse_cutoff(as_of)
        except DatasetError as err:
            raise DatasetError(f"--as-of: {as_of!r} is not an ISO-8601 timestamp") from err
        if cutoff is None:
            raise DatasetError("--as-of: 'latest' is not a time; pass the execution's start time")
    return cutoff


def iso_utc(epoch: float | None) -> str:
    """What the registry records as the data cutoff; 'unbounded' when no cutoff applied."""
    if epoch is None:
        return "unbounded"
    # timezone.utc, not datetime.UTC: the image runs Python 3.10.
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_name(argument: str, value: str) -> str:
    """Reject a database/table name that could break out of its quoted identifier."""
    if not NAME_PATTERN.match(value):
        raise DatasetError(
            f"{argument}: {value!r} is not a valid Glue name (expected {NAME_PATTERN.pattern})"
        )
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in (0, 1)")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a count >= 1")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--workgroup", required=True, help="Athena workgroup (owns the result location)")
    parser.add_argument("--database", required=True, help="Glue database of the offline stores")
    parser.add_argument("--claims-table", required=True)
    parser.add_argument("--customers-table", required=True)
    parser.add_argument("--cutoff-time", default="latest", help="'latest' or an ISO-8601 timestamp")
    parser.add_argument(
        "--as-of",
        default=None,
        help="ISO-8601 time that 'latest' stands for (the pipeline passes its execution's start), "
        "so the recorded cutoff is a real time and the same query can be run again",
    )
    parser.add_argument("--validation-fraction", type=_fraction, default=0.15)
    parser.add_argument("--test-fraction", type=_fraction, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--min-test-positives",
        type=_count,
        default=1,
        help="fewest frauds the test split must hold (pipeline.minTestPositives); fewer fails the step",
    )
    parser.add_argument("--train-parts", type=_count, default=1, help="files of the train split")
    parser.add_argument("--test-parts", type=_count, default=1, help="files of the test split")
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    args = parser.parse_args(argv)
    if args.validation_fraction + args.test_fraction >= 1.0:
        parser.error("--validation-fraction + --test-fraction must leave rows for training")
    return args


# --------------------------------------------------------------------------- SQL


def _latest_records(database: str, table: str, cutoff_epoch: float | None) -> str:
    """Point-in-time view of one feature group: its latest record per policy.

    Ranking runs over every version, tombstones included, and deleted records are removed only
    afterwards: a policy whose latest version is a deletion disappears instead of resurfacing its
    previous version. ``write_time`` is the last tie-breaker so equal timestamps still rank the same
    way on every run.
    """
    cutoff = ""
    if cutoff_epoch is not None:
        cutoff = f"\n        WHERE {EVENT_TIME} <= CAST({float(cutoff_epoch)!r} AS DOUBLE)"
    return f"""SELECT * FROM (
        SELECT *, row_number() OVER (
            PARTITION BY {RECORD_ID}
            ORDER BY {EVENT_TIME} DESC, api_invocation_time DESC, write_time DESC
        ) AS {RANK_COLUMN}
        FROM "{database}"."{table}"{cutoff}
    ) AS ranked
    WHERE {RANK_COLUMN} = 1 AND NOT coalesce(is_deleted, false)"""  # noqa: S608 (names checked by build_query)


def build_query(database: str, claims_table: str, customers_table: str, cutoff_epoch: float | None) -> str:
    """The dataset query, valid for Athena (Trino) and DuckDB alike.

    ``JOIN ... USING`` makes ``SELECT *`` return ``policy_id`` once, then the claims columns, then
    the customers columns, each in table order. The per-table ``event_time``, system and rank
    columns stay in the result (SQL without a column list cannot drop them on both engines);
    :func:`select_dataset_columns` removes them right after the query. Rows are ordered by
    ``policy_id`` because Athena returns them in no fixed order and the split must be reproducible.

    Examples
    --------
    >>> "row_number() OVER" in build_query("db", "claims", "customers", None)
    True
    """
    check_name("--database", database)
    check_name("--claims-table", claims_table)
    check_name("--customers-table", customers_table)
    if cutoff_epoch is not None and not math.isfinite(cutoff_epoch):
        raise DatasetError(f"--cutoff-time: {cutoff_epoch!r} is not a finite epoch time")
    # Every interpolated name matched NAME_PATTERN above; the cutoff is a float's repr.
    return f"""WITH claims AS (
    {_latest_records(database, claims_table, cutoff_epoch)}
), customers AS (
    {_latest_records(database, customers_table, cutoff_epoch)}
)
SELECT *
FROM claims
JOIN customers USING ({RECORD_ID})
ORDER BY {RECORD_ID}
"""  # noqa: S608 (identifiers validated by check_name, no user text otherwise)


# --------------------------------------------------------------------------- query engines


class QueryEngine(Protocol):
    """Runs one SQL query and returns its rows with the result's column names, duplicates kept."""

    name: str

    def run(self, query: str) -> pd.DataFrame: ...


def read_result_csv(data: bytes) -> pd.DataFrame:
    """Parse an Athena result CSV, keeping duplicate column names as they are.

    ``read_csv`` would rename a repeated ``event_time`` to ``event_time.1``; reading the header
    separately keeps the names exactly as the engine returned them, as the DuckDB engine does.
    """
    header_line, _, body = data.decode("utf-8").partition("\n")
    columns = next(csv.reader([header_line.rstrip("\r")]))
    if not body.strip():
        return pd.DataFrame([], columns=columns)
    frame = pd.read_csv(io.StringIO(body), header=None)
    frame.columns = columns
    return frame


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = re.match(r"^s3://([^/]+)/(.+)$", uri)
    if not match:
        raise QueryError(f"Athena returned an output location that is not an S3 object: {uri!r}")
    return match.group(1), match.group(2)


class AthenaEngine:
    """Athena through boto3: start, poll with exponential backoff, read the result CSV from S3."""

    name = "athena"

    def __init__(
        self,
        athena: Any,
        s3: Any,
        *,
        workgroup: str,
        database: str,
        sleep: Callable[[float], None] = time.sleep,
        timeout_seconds: float = ATHENA_TIMEOUT_SECONDS,
    ) -> None:
        self._athena = athena
        self._s3 = s3
        self._workgroup = workgroup
        self._database = database
        self._sleep = sleep
        self._timeout_seconds = timeout_seconds

    def run(self, query: str) -> pd.DataFrame:
        started = self._athena.start_query_execution(
            QueryString=query,
            WorkGroup=self._workgroup,
            QueryExecutionContext={"Database": self._database},
        )
        query_id = started["QueryExecutionId"]
        LOG.info("Athena query %s started in workgroup %s", query_id, self._workgroup)
        execution = self._wait(query_id)
        bucket, key = split_s3_uri(execution["ResultConfiguration"]["OutputLocation"])
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return read_result_csv(body)

    def _wait(self, query_id: str) -> dict[str, Any]:
        """Poll until a final state; backoff doubles from 0.5 s up to 10 s between polls."""
        delay, waited = 0.5, 0.0
        while True:
            execution = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            status = execution["Status"]
            state = status["State"]
            if state == "SUCCEEDED":
                return execution
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason", "no reason given")
                raise QueryError(f"Athena query {query_id} {state}: {reason}")
            if waited >= self._timeout_seconds:
                # Stop it so an abandoned query does not keep scanning (and billing).
                self._athena.stop_query_execution(QueryExecutionId=query_id)
                raise QueryError(f"Athena query {query_id} still {state} after {waited:.0f} s; stopped it")
            self._sleep(delay)
            waited += delay
            delay = min(delay * 2, ATHENA_MAX_POLL_SECONDS)


def athena_engine(region: str, workgroup: str, database: str) -> QueryEngine:
    return AthenaEngine(
        boto3.client("athena", region_name=region),
        boto3.client("s3", region_name=region),
        workgroup=workgroup,
        database=database,
    )


# --------------------------------------------------------------------------- dataset


def select_dataset_columns(result: pd.DataFrame) -> pd.DataFrame:
    """Keep the model's columns: label first, then claims then customers features in query order.

    The one place that drops the join key, the event times, the Feature Store system columns and
    the rank helper (each possibly present twice, once per table).
    """
    dropped = {RECORD_ID, EVENT_TIME, RANK_COLUMN, *SYSTEM_COLUMNS}
    if LABEL not in set(result.columns):
        raise DatasetError(f"query result has no label column {LABEL!r}; columns: {list(result.columns)}")
    positions = [i for i, name in enumerate(result.columns) if name not in dropped and name != LABEL]
    features = result.iloc[:, positions]
    duplicated = sorted({str(n) for n in features.columns[features.columns.duplicated()]})
    if duplicated:
        raise DatasetError(f"feature columns appear in both tables: {', '.join(duplicated)}")
    label = result.loc[:, [LABEL]]
    return pd.concat([label, features], axis=1).reset_index(drop=True)


def validate_dataset(frame: pd.DataFrame) -> pd.DataFrame:
    """Fail before training on what XGBoost would silently misread; return with an integer label."""
    if frame.empty:
        raise DatasetError("the query returned no rows: are the feature groups ingested, the cutoff right?")
    not_numeric = [
        str(name)
        for name in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name])
    ]
    if not_numeric:
        raise DatasetError(f"non-numeric columns: {', '.join(not_numeric)}")
    missing = [str(name) for name in frame.columns if frame[name].isna().any()]
    if missing:
        raise DatasetError(f"columns with missing values: {', '.join(missing)}")
    labels = set(np.unique(frame[LABEL].to_numpy()).tolist())
    if not labels <= {0, 1}:
        raise DatasetError(f"label {LABEL!r} must be 0 or 1; found {sorted(labels)}")
    return frame.assign(**{LABEL: frame[LABEL].astype("int64")})


def stratified_split(
    labels: np.ndarray, validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Row positions per split, drawn per class so every split keeps the fraud rate.

    Each class is shuffled with ``RandomState(seed)`` (its stream is frozen across numpy
    versions, so the container and this machine draw the same split) and cut into
    ``round(n * test_fraction)`` test rows, ``round(n * validation_fraction)`` validation rows and
    the rest for training. Positions are returned sorted, i.e. in query (``policy_id``) order.
    """
    rng = np.random.RandomState(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == value))
        n_test = round(len(members) * test_fraction)
        n_validation = round(len(members) * validation_fraction)
        parts["test"].append(members[:n_test])
        parts["validation"].append(members[n_test : n_test + n_validation])
        parts["train"].append(members[n_test + n_validation :])
    splits = {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}
    for name, positions in splits.items():
        for value in (0, 1):
            if not np.any(labels[positions] == value):
                raise DatasetError(
                    f"the {name} split has no rows with {LABEL}={value} "
                    f"({int(np.sum(labels == value))} such rows in all): more data or larger fractions needed"
                )
    return splits


def check_test_positives(labels: np.ndarray, test: np.ndarray, minimum: int) -> int:
    """The test split's fraud count; fewer than ``minimum`` fails before any training.

    Recall on k frauds moves by 1/k per miss: on the public sample's ~20 test frauds a recall of
    0.30 has a standard deviation of 0.11, so a quality gate there decides on noise. Failing here,
    in the first step, says so before hours of tuning instead of after.
    """
    positives = int(np.sum(labels[test] == 1))
    if positives < minimum:
        raise DatasetError(
            f"the test split holds {positives} fraud cases, fewer than pipeline.minTestPositives "
            f"({minimum}): one missed fraud would move recall by {100 / max(positives, 1):.0f} points, "
            "so the quality gate would decide on noise; ingest more labelled claims or raise TestFraction"
        )
    return positives


#: Rows formatted at a time: their text, as numpy strings, stays within tens of megabytes.
CSV_BATCH_ROWS = 16_384
#: From here up, numpy's text of a float64 whole number is in exponent form (``1e+16``).
_WHOLE_NUMBER_LIMIT = 1e16


def write_csv(frame: pd.DataFrame, path: Path, *, header: bool, rows: np.ndarray | None = None) -> None:
    """Write ``frame`` (or its ``rows``, positions in that order) byte for byte as ``to_csv`` would.

    Each value's text is the one pandas writes, numpy's ``astype(str)`` (``1.0``, ``0.05``,
    ``1e-05``); pyarrow then writes the rows, instead of pandas' row writer, which was half of
    this step's time at 500k policies. numpy formats one value at a time, holding the GIL, so the
    integer columns and the float columns of whole numbers (one-hot features, counts) get the same
    text from Arrow's integer formatting (:func:`column_text`): 4x faster in all at 500k.
    The values are numbers (:func:`validate_dataset`), so no field needs quoting; a
    ``quoting_style`` pyarrow lacks fails here rather than quoting silently. The header, when
    asked for, is written as pandas' (the ``csv`` module's minimal quoting). ``rows`` spares a
    copy of the frame per split: each batch takes its rows from the columns.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f"c{index}" for index in range(frame.shape[1])]
    schema = pa.schema([(name, pa.string()) for name in names])
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    columns = [frame.iloc[:, index].to_numpy() for index in range(frame.shape[1])]
    count = len(frame) if rows is None else len(rows)
    with path.open("wb") as sink:
        if header:
            sink.write(header_line(frame))
        with pa_csv.CSVWriter(sink, schema, write_options=options) as writer:
            for start in range(0, count, CSV_BATCH_ROWS):
                stop = start + CSV_BATCH_ROWS
                batch = slice(start, stop) if rows is None else rows[start:stop]
                texts = [column_text(column[batch]) for column in columns]
                writer.write_table(pa.Table.from_arrays(texts, schema=schema))


def column_text(values: np.ndarray) -> pa.Array:
    """numpy's ``str`` of each value, as an Arrow string array.

    Arrow writes an integer's digits as numpy does, 10x faster. A float64 whole number below
    1e16 in magnitude is, in numpy's text, those digits and ``.0``; a batch holding anything
    else (a fraction, ``-0.0``, ``inf``, NaN) is formatted by numpy, value by value.
    """
    if values.dtype.kind in "iu":
        return pa.array(values).cast(pa.string())
    if values.dtype == np.float64 and _whole_numbers(values):
        digits = pa.array(values.astype(np.int64)).cast(pa.string())
        return pc.binary_join_element_wise(digits, ".0", "")
    return pa.array(values.astype(str))


def _whole_numbers(values: np.ndarray) -> bool:
    """Every value a whole number numpy writes as ``<digits>.0``: under 1e16, and no ``-0.0``."""
    with np.errstate(invalid="ignore"):  # NaN and inf compare False: numpy formats those
        small = np.abs(values) < _WHOLE_NUMBER_LIMIT
    if not small.all() or not np.array_equal(values, np.trunc(values)):
        return False
    return not np.signbit(values[values == 0]).any()


def header_line(frame: pd.DataFrame) -> bytes:
    """The header row as pandas writes it: the ``csv`` module's minimal quoting, ``\\n`` ended."""
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow([str(name) for name in frame.columns])
    return line.getvalue().encode("utf-8")


def write_with_header(frame: pd.DataFrame, sources: list[Path], target: Path) -> None:
    """``frame``'s header row, then the bytes of ``sources`` in order: their rows, not formatted twice."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as sink:
        sink.write(header_line(frame))
        for source in sources:
            with source.open("rb") as rows:
                shutil.copyfileobj(rows, sink)


def check_parts(splits: dict[str, np.ndarray], parts: dict[str, int]) -> None:
    """Every part file gets rows: an empty shard would leave an instance with nothing to read."""
    for name, count in sorted(parts.items()):
        if count > len(splits[name]):
            raise DatasetError(
                f"the {name} split has {len(splits[name])} rows, fewer than the {count} files (one per "
                "instance) it must be written as; lower the instance count or ingest more policies"
            )


def write_split(frame: pd.DataFrame, rows: np.ndarray, folder: Path, name: str, parts: int) -> list[str]:
    """``frame``'s ``rows`` as one file, or ``parts`` files of consecutive rows; returns their names."""
    if parts == 1:
        write_csv(frame, folder / f"{name}.csv", header=False, rows=rows)
        return [f"{name}.csv"]
    files = []
    for index, chunk in enumerate(np.array_split(rows, parts)):
        files.append(f"{name}-part-{index:05d}.csv")
        write_csv(frame, folder / files[-1], header=False, rows=chunk)
    return files


def write_outputs(
    frame: pd.DataFrame,
    splits: dict[str, np.ndarray],
    output_dir: Path,
    metadata: dict[str, Any],
    parts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Write the split CSVs (in ``parts`` files each), the headered test copy and ``dataset.json``."""
    summary = {}
    labels = frame[LABEL].to_numpy()
    for name in SPLITS:
        rows = splits[name]
        files = write_split(frame, rows, output_dir / name, name, (parts or {}).get(name, 1))
        summary[name] = {
            "rows": len(rows),
            "fraud_rate": float(labels[rows].mean()),
            "positives": int(labels[rows].sum()),
            "files": files,
        }
    test_files = [output_dir / "test" / file for file in summary["test"]["files"]]
    write_with_header(frame, test_files, output_dir / "clarify" / "test_with_header.csv")
    document = dict(metadata, splits=summary, columns=[str(c) for c in frame.columns], label=LABEL)
    path = output_dir / "metadata" / "dataset.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return document


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace, engine: QueryEngine) -> dict[str, Any]:
    """Query, check, split and write; returns the metadata document."""
    cutoff_epoch = resolve_cutoff(args.cutoff_time, args.as_of)
    query = build_query(args.database, args.claims_table, args.customers_table, cutoff_epoch)
    LOG.info("Querying %s (cutoff %s)", engine.name, args.cutoff_time)
    dataset = validate_dataset(select_dataset_columns(engine.run(query)))
    LOG.info(
        "Dataset: %d rows, %d columns, fraud rate %.4f",
        len(dataset),
        dataset.shape[1],
        float(dataset[LABEL].mean()),
    )
    labels = dataset[LABEL].to_numpy()
    splits = stratified_split(labels, args.validation_fraction, args.test_fraction, args.seed)
    check_test_positives(labels, splits["test"], args.min_test_positives)
    metadata = {
        "cutoff": {"argument": args.cutoff_time, "as_of": args.as_of, "epoch_seconds": cutoff_epoch},
        "data_cutoff_time": iso_utc(cutoff_epoch),
        "engine": engine.name,
        "query": query,
        "seed": args.seed,
        "min_test_positives": args.min_test_positives,
        "validation_fraction": args.validation_fraction,
        "test_fraction": args.test_fraction,
    }
    parts = {"train": args.train_parts, "test": args.test_parts}
    check_parts(splits, parts)
    document = write_outputs(dataset, splits, args.output_dir, metadata, parts)
    for name in SPLITS:
        LOG.info(
            "%s: %d rows, fraud rate %.4f",
            name,
            document["splits"][name]["rows"],
            document["splits"][name]["fraud_rate"],
        )
    return document


def main(argv: list[str] | None = None, engine: QueryEngine | None = None) -> int:
    """Entry point; ``engine`` defaults to Athena in the job's region, workgroup and database."""
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        run(args, engine or athena_engine(args.region, args.workgroup, args.database))
    except (DatasetError, QueryError) as err:
        LOG.error("FraudDataProcess failed: %s", err)
        return 1
    LOG.info("Wrote the dataset under %s", args.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
