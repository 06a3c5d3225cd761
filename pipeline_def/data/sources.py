"""Tables to validate: CSV (every column as text), Parquet and DataFrames, with row positions.

CSV is read with every column as text (Arrow's multi-threaded reader), so a bad value is
reported as written rather than coerced. Positions are the line as an editor shows it (header =
line 1, first data row = line 2; a quoted value spanning lines shifts later numbers) for CSV,
and the 0-based row index for Parquet and in-memory frames.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipeline_def.data.issues import Issue

_SUFFIXES = (".csv", ".parquet")


class ValidationError(Exception):
    """A file cannot be validated at all: missing, unreadable, or not CSV/Parquet.

    The message always starts with the file name, so a CLI can print it as is.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def as_bool(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Arrow boolean (nulls as false) to numpy."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


@dataclass
class Source:
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

    def column(self, name: str) -> pa.ChunkedArray:
        """The first column with this header name."""
        return self.table.column(self.header.index(name))

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


def _read_csv(path: Path, name: str) -> Source:
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
    source = Source(name, header, table.rename_columns(header), is_csv=True)
    source.bad_lines = [(int(line or 0), text) for line, text in bad]
    _drop_empty_rows(source)
    return source


def _drop_empty_rows(source: Source) -> None:
    """Report an empty line once (not once per column) and drop it, keeping line numbers right."""
    if source.rows == 0 or source.table.num_columns == 0:
        return
    first_empty = as_bool(pc.equal(source.table.column(0), ""))
    if not first_empty.any():
        return
    empty = first_empty.copy()
    for column in source.table.columns[1:]:
        empty &= as_bool(pc.equal(column, ""))
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


def _read_parquet(path: Path, name: str) -> Source:
    """Parquet keeps its column types; text columns still take the CSV parsing path."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise ValidationError(name, f"cannot read as Parquet ({err})") from err
    return Source(name, list(table.column_names), table, is_csv=False)


def _from_frame(frame: pd.DataFrame, name: str) -> Source:
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
    return Source(name, header, pa.Table.from_arrays(arrays, names=header), is_csv=False)


def read_source(data: pd.DataFrame | str | os.PathLike[str], source_name: str | None = None) -> Source:
    """Open a CSV/Parquet path (by extension) or wrap a DataFrame; unreadable -> ValidationError."""
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
