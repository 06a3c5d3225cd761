"""Check a claims/customers table against its feature-group schema before anything is written.

Feature Store accepts a PutRecord that later breaks training (a fractional age, a one-hot
group with two categories set, a label of 2) and rejects others one at a time after an
ingestion has half-run. So the ingest CLI and the local run both validate *every row* first
and write nothing unless the whole file is clean.

What is checked (against :mod:`pipeline_def.schema`, nothing hard-coded here):

* header: missing, unexpected (with a close-match hint) and repeated columns; order is free;
* cells: empty/missing (no column allows it), not a number, a fractional or out-of-range value
  in an Integral column, a non-finite number;
* values: the record id is a positive integer, the label is 0 or 1, one-hot cells are 0 or 1
  and each one-hot group has exactly one 1, the event time is not before 1970 nor after ``now``;
* rows: a repeated (record id, event time) pair (Feature Store would silently keep one), and
  CSV rows with the wrong number of fields.

CSV is read with every column as text (Arrow's multi-threaded reader), so a bad value is
reported as written rather than coerced; then each column is converted per its schema type.
Errors name the source, the position and the column: for CSV the line as an editor shows it
(header = line 1, first data row = line 2; a quoted value spanning lines shifts later numbers),
for Parquet and in-memory frames the 0-based row index. The report keeps the first
:data:`MAX_REPORTED_ERRORS` messages in file order and counts all of them.

Everything is vectorised with Arrow compute and numpy: a valid column costs one Arrow cast,
and only columns that fail it take the slower regex path. See ``bench/bench_data.py``.

Examples
--------
>>> report = validate(CLAIMS, "claims.csv", now=time.time())  # doctest: +SKIP
>>> if not report.ok:  # doctest: +SKIP
...     print("\\n".join(map(str, report.errors)))
"""

from __future__ import annotations

import csv
import difflib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipeline_def.schema import LABEL, FeatureGroupSchema, FeatureType

MAX_REPORTED_ERRORS = 50
_INTEGER_RE = r"^[+-]?\d{1,18}(\.0*)?$"
_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_SUFFIXES = (".csv", ".parquet")


class ValidationError(Exception):
    """A file cannot be validated at all: missing, unreadable, or not CSV/Parquet.

    The message always starts with the file name, so a CLI can print it as is.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class InvalidDataError(ValidationError):
    """The file was read but has errors; raised by :meth:`ValidationReport.raise_if_invalid`."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.source_name, report.summary())
        self.report = report


@dataclass(frozen=True)
class Issue:
    """One problem: where it is (CSV line, else row index) and what is wrong."""

    source: str
    column: str
    message: str
    line: int | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = (
            str(self.line)
            if self.line is not None
            else f"row {self.row}"
            if self.row is not None
            else "schema"
        )
        return f"{self.source}:{where}:{self.column}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of :func:`validate`; ``frame`` is set only when there are no errors."""

    source_name: str
    schema_name: str
    rows: int
    error_count: int
    errors: tuple[Issue, ...]
    seconds: float
    frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if self.ok:
            return f"{self.source_name}: {self.rows:,} {self.schema_name} rows valid ({self.seconds:.2f}s)"
        shown = f", first {len(self.errors)} shown" if len(self.errors) < self.error_count else ""
        errors = "error" if self.error_count == 1 else "errors"
        where = f"{self.rows:,} {self.schema_name} rows"
        return f"{self.source_name}: {self.error_count:,} {errors} in {where}{shown}"

    def raise_if_invalid(self) -> pd.DataFrame:
        """The validated frame, or :class:`InvalidDataError` listing the kept errors."""
        if self.frame is None:
            raise InvalidDataError(self)
        return self.frame


@dataclass
class _Source:
    """A table to validate: Arrow columns by header name, and how rows map to positions."""

    name: str
    header: list[str]
    table: pa.Table
    is_csv: bool
    #: CSV lines of rows dropped before parsing (wrong number of fields, empty) and why.
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    _offsets: np.ndarray | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def lines(self, indices: np.ndarray) -> np.ndarray:
        """CSV line numbers of data-row indices, accounting for dropped rows before them."""
        if self._offsets is None:
            bad = np.array(sorted(line for line, _ in self.bad_lines), dtype=np.int64)
            # the j-th dropped line sits after (bad[j] - 2 - j) kept rows
            self._offsets = bad - 2 - np.arange(bad.size)
        return indices + 2 + np.searchsorted(self._offsets, indices, side="right")

    def issue(self, index: int, column: str, message: str) -> Issue:
        """An issue at a data row, positioned as a CSV line or a row index."""
        if self.is_csv:
            return Issue(self.name, column, message, line=int(self.lines(np.array([index]))[0]))
        return Issue(self.name, column, message, row=int(index))

    def sort_key(self, issue: Issue) -> int:
        """File order: header problems first, then by line or row."""
        if issue.line is not None:
            return issue.line
        return -1 if issue.row is None else issue.row


class _Collector:
    """Counts every error and keeps enough candidates to report the first ones in file order."""

    def __init__(self, source: _Source, schema: FeatureGroupSchema) -> None:
        self.source = source
        self.count = 0
        self._order = {name: i for i, name in enumerate(schema.column_names)}
        self._kept: list[Issue] = []

    def header(self, column: str, message: str) -> None:
        """An error about the file's columns (CSV line 1)."""
        self.count += 1
        line = 1 if self.source.is_csv else None
        self._kept.append(Issue(self.source.name, column, message, line=line))

    def lines(self, lines: list[tuple[int, str]]) -> None:
        """Whole-line errors (CSV rows the reader could not split into the header's fields)."""
        self.count += len(lines)
        for line, message in sorted(lines)[:MAX_REPORTED_ERRORS]:
            self._kept.append(Issue(self.source.name, "*", message, line=line))

    def cells(self, mask: np.ndarray, column: str, message: Callable[[int], str]) -> None:
        """Record an error for every row where ``mask`` is true; render only the first ones."""
        indices = np.flatnonzero(mask)
        self.count += int(indices.size)
        for index in indices[:MAX_REPORTED_ERRORS]:
            self._kept.append(self.source.issue(int(index), column, message(int(index))))

    def errors(self) -> tuple[Issue, ...]:
        """The first MAX_REPORTED_ERRORS issues by position, then column order."""

        def key(issue: Issue) -> tuple[int, int]:
            column = issue.column.removesuffix("_*")
            return self.source.sort_key(issue), self._order.get(column, -1)

        return tuple(sorted(self._kept, key=key)[:MAX_REPORTED_ERRORS])


@dataclass
class _Parsed:
    """A column converted to its schema dtype; ``bad`` marks cells already reported."""

    values: np.ndarray
    bad: np.ndarray

    def show(self, index: int) -> str:
        """A converted value as Python prints it (``2``, ``0.5``), not numpy's ``np.int64(2)``."""
        return repr(self.values[index].item())


def _bool(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Arrow boolean (nulls as false) to numpy."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _text(column: pa.ChunkedArray) -> Callable[[int], str]:
    """Renders a cell as written, for messages."""
    return lambda i: repr(column[i].as_py())


def _may_contain(column: pa.ChunkedArray, characters: bytes) -> bool:
    """Whether any text byte of the column is one of ``characters`` (false positives allowed).

    Scans the raw UTF-8 data buffers (~1 ms per million cells) instead of a per-cell string
    kernel (~40 ms); a hit only sends the column down the slower, exact regex path.
    """
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        raw = data.to_pybytes() if data is not None else b""
        if any(bytes([c]) in raw for c in characters):
            return True
    return False


def _parse_strings(column: pa.ChunkedArray, kind: FeatureType, name: str, out: _Collector) -> _Parsed:
    """Convert a text column; the fast path is one Arrow cast, the regex path explains failures."""
    target = pa.int64() if kind is FeatureType.INTEGRAL else pa.float64()
    try:
        values = pc.cast(column, target).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = None  # some cell is not a plain number: the exact path below finds and names each one
    if values is not None and kind is FeatureType.INTEGRAL and _may_contain(column, b"xX"):
        values = None  # Arrow's integer cast accepts hexadecimal ("0x10"); Feature Store does not
    if values is not None and column.null_count == 0:
        if kind is FeatureType.INTEGRAL:
            return _Parsed(np.asarray(values, dtype=np.int64), np.zeros(len(values), dtype=bool))
        return _finite(
            np.asarray(values, dtype=np.float64), np.zeros(len(values), dtype=bool), name, column, out
        )
    trimmed = pc.utf8_trim_whitespace(column.combine_chunks())
    missing = _bool(pc.or_kleene(pc.is_null(trimmed), pc.equal(trimmed, "")))
    number = _bool(pc.match_substring_regex(trimmed, _NUMBER_RE))
    out.cells(~missing & ~number, name, lambda i: f"{_text(column)(i)} is not a number")
    out.cells(missing, name, lambda i: "missing value (no column allows empty values)")
    if kind is FeatureType.FRACTIONAL:
        cleaned = pc.if_else(pa.array(number), pc.utf8_ltrim(trimmed, characters="+"), "0")
        parsed = np.asarray(pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        return _finite(parsed, ~number, name, column, out)
    integer = _bool(pc.match_substring_regex(trimmed, _INTEGER_RE))
    out.cells(number & ~integer, name, lambda i: f"{_text(column)(i)} is not an integer (Integral feature)")
    digits = pc.replace_substring_regex(pc.utf8_ltrim(trimmed, characters="+"), r"\.0*$", "")
    cleaned = pc.if_else(pa.array(integer), digits, "0")
    parsed = np.asarray(pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return _Parsed(parsed, ~integer)


def _finite(values: np.ndarray, bad: np.ndarray, name: str, raw: Any, out: _Collector) -> _Parsed:
    """Flag inf/nan that parsed as numbers (``inf``, ``1e999``); Feature Store rejects them."""
    infinite = ~bad & ~np.isfinite(values)
    if infinite.any():
        show = _text(raw) if isinstance(raw, pa.ChunkedArray) else lambda i: repr(float(values[i]))
        out.cells(infinite, name, lambda i: f"{show(i)} is not a finite number")
        values = np.where(infinite, 0.0, values)
    return _Parsed(values, bad | infinite)


def _parse_numbers(column: pa.ChunkedArray, kind: FeatureType, name: str, out: _Collector) -> _Parsed:
    """Convert an already numeric column (Parquet, DataFrame): check nulls, NaN and integrality."""
    missing = _bool(pc.is_null(column, nan_is_null=True))
    out.cells(missing, name, lambda i: "missing value (no column allows empty values)")
    filled = pc.fill_null(column, 0)
    values = np.asarray(filled.to_numpy(zero_copy_only=False))
    if kind is FeatureType.FRACTIONAL:
        return _finite(np.where(missing, 0.0, values.astype(np.float64)), missing, name, None, out)
    if values.dtype.kind in "iu":
        too_big = values > np.iinfo(np.int64).max if values.dtype.kind == "u" else np.zeros(len(values), bool)
        out.cells(too_big, name, lambda i: f"{values[i]} is outside the int64 range")
        return _Parsed(np.where(too_big, 0, values).astype(np.int64), missing | too_big)
    as_float = np.where(missing, 0.0, values.astype(np.float64))
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(as_float) & (np.floor(as_float) == as_float) & (np.abs(as_float) < 2.0**63)
    out.cells(
        ~missing & ~integral, name, lambda i: f"{float(as_float[i])!r} is not an integer (Integral feature)"
    )
    return _Parsed(np.where(integral, as_float, 0).astype(np.int64), missing | ~integral)


def _parse(column: pa.ChunkedArray, kind: FeatureType, name: str, out: _Collector) -> _Parsed:
    """Dispatch on the column's storage type; other types (bool, dates...) are a column error."""
    arrow_type = column.type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return _parse_strings(column, kind, name, out)
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return _parse_numbers(column, kind, name, out)
    out.header(name, f"has type {arrow_type}; expected numbers ({kind.value} feature)")
    return _Parsed(np.zeros(len(column), dtype=np.int64), np.ones(len(column), dtype=bool))


def _check_header(source: _Source, schema: FeatureGroupSchema, out: _Collector) -> None:
    """Missing, unexpected and repeated column names."""
    expected = set(schema.column_names)
    seen: set[str] = set()
    for name in source.header:
        if name in seen:
            out.header(name, "column appears more than once")
        elif name not in expected:
            hint = difflib.get_close_matches(name.strip().lower(), schema.column_names, n=1)
            suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
            out.header(name, f"unexpected column {name!r}{suffix}; {schema.name} has no such feature")
        seen.add(name)
    for name in schema.column_names:
        if name not in seen:
            out.header(name, f"missing column (required by feature group {schema.name})")


def _check_values(
    parsed: dict[str, _Parsed], schema: FeatureGroupSchema, now: float, out: _Collector
) -> None:
    """Record id > 0, label in {0, 1}, event time within [1970, now]."""
    record = parsed.get(schema.record_identifier)
    if record is not None:
        bad = ~record.bad & (record.values <= 0)
        out.cells(
            bad,
            schema.record_identifier,
            lambda i: f"record id must be a positive integer, got {record.show(i)}",
        )
        record.bad |= bad
    label = parsed.get(LABEL)
    if label is not None:
        bad = ~label.bad & (label.values != 0) & (label.values != 1)
        out.cells(bad, LABEL, lambda i: f"label must be 0 or 1, got {label.show(i)}")
        label.bad |= bad
    event = parsed.get(schema.event_time)
    if event is not None:
        future = ~event.bad & (event.values > now)
        past = ~event.bad & (event.values < 0)
        out.cells(
            future, schema.event_time, lambda i: f"{_iso(event.values[i])} is in the future (now {_iso(now)})"
        )
        out.cells(
            past, schema.event_time, lambda i: f"{event.show(i)} is before 1970 (epoch seconds expected)"
        )
        event.bad |= future | past


def _iso(seconds: float) -> str:
    """Epoch seconds as readable UTC text for messages."""
    return f"{float(seconds)!r} ({datetime.fromtimestamp(float(seconds), UTC):%Y-%m-%dT%H:%M:%SZ})"


def _check_one_hot(parsed: dict[str, _Parsed], schema: FeatureGroupSchema, out: _Collector) -> None:
    """Each one-hot cell is 0 or 1 and each group has exactly one 1 (rows with bad cells skipped)."""
    for prefix in schema.one_hot_groups:
        columns = [c for c in schema.one_hot_columns(prefix) if c in parsed]
        if len(columns) == len(schema.one_hot_columns(prefix)):  # a missing column is a header error
            _check_group(prefix, [(c, parsed[c]) for c in columns], out)


def _check_group(prefix: str, cells: list[tuple[str, _Parsed]], out: _Collector) -> None:
    """One one-hot group: cell values first, then the row sum over rows whose cells are fine."""
    for name, cell in cells:
        bad = ~cell.bad & (cell.values != 0) & (cell.values != 1)
        out.cells(bad, name, lambda i, c=cell: f"one-hot value must be 0 or 1, got {c.show(i)}")
        cell.bad |= bad
    bad = np.zeros(len(cells[0][1].values), dtype=bool)
    total = np.zeros(len(bad), dtype=np.float64)
    for _, cell in cells:  # in place: no (columns x rows) temporary
        bad |= cell.bad
        total += cell.values
    usable = ~bad

    def message(i: int) -> str:
        ones = [name for name, cell in cells if cell.values[i] == 1]
        listed = f" ({', '.join(ones)})" if ones else ""
        return f"one-hot group {prefix} must have exactly one column set to 1, has {len(ones)}{listed}"

    out.cells(usable & (total != 1), f"{prefix}_*", message)


def _check_duplicates(parsed: dict[str, _Parsed], schema: FeatureGroupSchema, out: _Collector) -> None:
    """Repeated (record id, event time): Feature Store keeps one of them, silently."""
    record, event = parsed.get(schema.record_identifier), parsed.get(schema.event_time)
    if record is None or event is None:
        return
    usable = ~record.bad & ~event.bad
    rows = np.flatnonzero(usable)
    ids = record.values[rows]
    if ids.size < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return  # strictly increasing ids (the usual export order) cannot repeat: skip the hashing
    keys = pd.DataFrame({"id": ids, "time": event.values[rows]})
    repeated = np.zeros(len(usable), dtype=bool)
    repeated[rows[keys.duplicated(keep="first").to_numpy()]] = True
    if not repeated.any():
        return

    def message(i: int) -> str:
        same = (record.values == record.values[i]) & (event.values == event.values[i]) & usable
        first = out.source.issue(int(np.flatnonzero(same)[0]), "", "")
        where = f"line {first.line}" if first.line is not None else f"row {first.row}"
        return (
            f"duplicate record: {schema.record_identifier} {record.show(i)} with {schema.event_time} "
            f"{event.show(i)} already at {where}"
        )

    out.cells(repeated, schema.record_identifier, message)


def _read_csv(path: Path, name: str) -> _Source:
    """Read every column as text; rows with the wrong field count are collected, not fatal."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValidationError(name, f"cannot read as CSV ({err})") from err
    if not header:
        raise ValidationError(name, "empty file (expected a header line)")
    positional = [f"c{i}" for i in range(len(header))]
    table, bad = _arrow_csv(path, name, positional, threads=True)
    if any(line is None for line, _ in bad):  # the threaded reader does not know line numbers
        table, bad = _arrow_csv(path, name, positional, threads=False)
    source = _Source(name, header, table.rename_columns(header), is_csv=True)
    source.bad_lines = [(int(line or 0), text) for line, text in bad]
    _drop_empty_rows(source)
    return source


def _drop_empty_rows(source: _Source) -> None:
    """Report an empty line once (not once per column) and drop it, keeping line numbers right."""
    if source.rows == 0 or source.table.num_columns == 0:
        return
    first_empty = _bool(pc.equal(source.table.column(0), ""))
    if not first_empty.any():
        return
    empty = first_empty.copy()
    for column in source.table.columns[1:]:
        empty &= _bool(pc.equal(column, ""))
    indices = np.flatnonzero(empty)
    if indices.size == 0:
        return
    lines = source.lines(indices)
    source.table = source.table.filter(pa.array(~empty))
    source.bad_lines = sorted(source.bad_lines + [(int(line), "empty line") for line in lines])
    source._offsets = None


def _arrow_csv(path: Path, name: str, columns: list[str], *, threads: bool) -> tuple[pa.Table, list[Any]]:
    """Arrow's CSV reader with all-string columns; returns the table and the skipped rows."""
    bad: list[tuple[int | None, str]] = []

    def skip(row: Any) -> str:
        bad.append(
            (
                row.number,
                f"wrong number of fields: expected {row.expected_columns}, found {row.actual_columns}",
            )
        )
        return "skip"

    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=threads, skip_rows=1, column_names=columns),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=skip, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string())),
        )
    except (OSError, pa.ArrowInvalid) as err:
        raise ValidationError(name, f"cannot read as CSV ({err})") from err
    return table, bad


def _read_parquet(path: Path, name: str) -> _Source:
    """Parquet keeps its column types; text columns still take the CSV parsing path."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise ValidationError(name, f"cannot read as Parquet ({err})") from err
    return _Source(name, list(table.column_names), table, is_csv=False)


def _from_frame(frame: pd.DataFrame, name: str) -> _Source:
    """Numeric columns stay numeric; anything else is validated as text, like a CSV cell."""
    arrays = []
    for _, series in frame.items():
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            arrays.append(pa.array(series, from_pandas=True))
        elif pd.api.types.is_bool_dtype(series.dtype):
            arrays.append(pa.array(series, type=pa.bool_(), from_pandas=True))
        else:
            arrays.append(pa.array(series.astype("string"), type=pa.string(), from_pandas=True))
    header = [str(c) for c in frame.columns]
    return _Source(name, header, pa.Table.from_arrays(arrays, names=header), is_csv=False)


def _read_source(data: pd.DataFrame | str | os.PathLike[str], source_name: str | None = None) -> _Source:
    """Open a CSV/Parquet path (by extension) or wrap a DataFrame; unreadable → ValidationError."""
    if isinstance(data, pd.DataFrame):
        return _from_frame(data, source_name or "<frame>")
    path = Path(data)
    name = source_name or str(path)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValidationError(
            name, f"not a CSV or Parquet file (extension {suffix or 'none'!r}); expected .csv or .parquet"
        )
    if not path.is_file():
        raise ValidationError(name, "no such file")
    return _read_csv(path, name) if suffix == ".csv" else _read_parquet(path, name)


def epoch_seconds(now: datetime | float) -> float:
    """``now`` as epoch seconds; a naive datetime is refused (its zone would be a guess)."""
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
        return now.timestamp()
    return float(now)


def validate(
    schema: FeatureGroupSchema,
    data: pd.DataFrame | str | os.PathLike[str],
    *,
    source_name: str | None = None,
    now: datetime | float,
) -> ValidationReport:
    """Validate a CSV/Parquet file or a DataFrame against ``schema``; never writes anything.

    Parameters
    ----------
    schema
        The feature group's schema (``schema.CLAIMS`` / ``schema.CUSTOMERS``).
    data
        A ``.csv`` or ``.parquet`` path, or a DataFrame.
    source_name
        Name used in messages (default: the path, or ``<frame>``).
    now
        Event times after this (epoch seconds or an aware datetime) are errors.

    Returns
    -------
    ValidationReport
        ``frame`` holds the converted frame (schema order, int64/float64) when ``ok``.

    Raises
    ------
    ValidationError
        The file is missing, unreadable, or not CSV/Parquet.
    """
    started = time.perf_counter()
    limit = epoch_seconds(now)
    source = _read_source(data, source_name)
    out = _Collector(source, schema)
    _check_header(source, schema, out)
    out.lines(source.bad_lines)
    if source.rows == 0 and not source.bad_lines:
        out.header("*", "no data rows")
    present = set(source.header)
    parsed = {
        f.name: _parse(source.table.column(source.header.index(f.name)), f.type, f.name, out)
        for f in schema.features
        if f.name in present
    }
    _check_values(parsed, schema, limit, out)
    _check_one_hot(parsed, schema, out)
    _check_duplicates(parsed, schema, out)
    frame = None
    if out.count == 0:
        frame = pd.DataFrame({name: parsed[name].values for name in schema.column_names})
    return ValidationReport(
        source_name=source.name,
        schema_name=schema.name,
        rows=source.rows + len(source.bad_lines),
        error_count=out.count,
        errors=out.errors(),
        seconds=time.perf_counter() - started,
        frame=frame,
    )
