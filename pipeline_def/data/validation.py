"""Check a claims/customers table against its feature group before anything is written.

Feature Store accepts a PutRecord that later breaks training (a fractional age, a one-hot
group with two categories set, a label of 2, a month 13) and rejects others one at a time after
an ingestion has half-run. So the ingest CLI and the local run both validate *every row* first
and write nothing unless the whole file is clean.

A file is either **raw** (categories as the insurer writes them: ``Collision``, ``Totaled``,
``Yes``) or **features** (the feature group's columns: one-hot groups and codes); ``auto``
decides by the header. Raw files are encoded by ``pipeline_def/encoding.toml``
(:mod:`.encoding`), then both forms go through the same rules:

* header: missing, unexpected (with a close-match hint) and repeated columns; order is free;
  ``event_time`` may be absent when the caller stamps the file (``--event-time``);
* cells: empty, not a number, a fractional value in an Integral column, a non-finite number,
  a category outside its list (naming the allowed values);
* event times: epoch seconds or ISO-8601 with a zone; values that look like milliseconds,
  microseconds or nanoseconds are errors naming the unit; not before 1970 nor after ``now``;
* values (:mod:`.checks`): record id > 0, label 0 or 1, every natural range and ordinal code in
  ``encoding.toml`` (month 1-12, day within its month, age, auto year...), one-hot groups;
* rows: a repeated (record id, event time) pair, and CSV rows with the wrong number of fields.

Warnings (a total that is not the sum of its parts) are reported but do not stop the file.
Errors name the source, the position and the column (:mod:`.issues`, :mod:`.sources`). The
report keeps the first :data:`MAX_REPORTED_ERRORS` messages in file order and counts all.

Examples
--------
>>> report = validate(CLAIMS, "claims.csv", now=time.time())  # doctest: +SKIP
>>> if not report.ok:  # doctest: +SKIP
...     print("\\n".join(map(str, report.errors)))
"""

from __future__ import annotations

import difflib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from pipeline_def.data.checks import check_all
from pipeline_def.data.encoding import InputFormat, detect_format, encode_raw
from pipeline_def.data.issues import MAX_REPORTED_ERRORS, Collector, Issue
from pipeline_def.data.parsing import Parsed, iso_utc, parse_event_time, parse_number
from pipeline_def.data.sources import Source, ValidationError, read_source
from pipeline_def.schema import ENCODING_VERSION, FeatureGroupSchema, RawKind

__all__ = [
    "MAX_REPORTED_ERRORS",
    "InputFormat",
    "InvalidDataError",
    "Issue",
    "ValidationError",
    "ValidationReport",
    "epoch_seconds",
    "parse_event_time_option",
    "validate",
]


class InvalidDataError(ValidationError):
    """The file was read but has errors; raised by :meth:`ValidationReport.raise_if_invalid`."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.source_name, report.summary().removeprefix(f"{report.source_name}: "))
        self.report = report


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of :func:`validate`; ``frame`` is set only when there are no errors.

    ``lines`` maps each frame row to its CSV line (None for Parquet and frames), so later
    checks across files (:mod:`.integrity`) can still point at file:line.
    """

    source_name: str
    schema_name: str
    rows: int
    error_count: int
    errors: tuple[Issue, ...]
    seconds: float
    frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    input_format: InputFormat = InputFormat.FEATURES
    warning_count: int = 0
    warnings: tuple[Issue, ...] = ()
    stamped_event_time: float | None = None
    lines: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if self.ok:
            notes = [str(self.input_format)]
            if self.input_format is InputFormat.RAW:
                notes[0] = f"raw, encoded by encoding {ENCODING_VERSION}"
            if self.stamped_event_time is not None:
                notes.append(f"event_time stamped {iso_utc(self.stamped_event_time)}")
            if self.warning_count:
                notes.append(f"{self.warning_count:,} warning{'s' * (self.warning_count != 1)}")
            notes.append(f"{self.seconds:.2f}s")
            return f"{self.source_name}: {self.rows:,} {self.schema_name} rows valid ({'; '.join(notes)})"
        shown = f", first {len(self.errors)} shown" if len(self.errors) < self.error_count else ""
        errors = "error" if self.error_count == 1 else "errors"
        where = f"{self.rows:,} {self.schema_name} rows"
        return f"{self.source_name}: {self.error_count:,} {errors} in {where}{shown}"

    def raise_if_invalid(self) -> pd.DataFrame:
        """The validated frame, or :class:`InvalidDataError` listing the kept errors."""
        if self.frame is None:
            raise InvalidDataError(self)
        return self.frame


def epoch_seconds(now: datetime | float) -> float:
    """``now`` as epoch seconds; a naive datetime is refused (its zone would be a guess)."""
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
        return now.timestamp()
    return float(now)


def parse_event_time_option(text: str, now: float) -> float:
    """``--event-time``: ``now`` or an ISO-8601 time with a zone, not in the future.

    Raises ``ValueError`` with the reason, so a CLI can refuse it before reading any file.
    """
    value = text.strip()
    if value.lower() == "now":
        return now
    try:
        stamp = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError as err:
        raise ValueError(f"--event-time {text!r}: expected 'now' or ISO-8601 with a zone ({err})") from err
    if stamp.tzinfo is None:
        raise ValueError(f"--event-time {text!r} has no time zone; add Z or +hh:mm")
    if stamp.timestamp() > now:
        raise ValueError(f"--event-time {text!r} is in the future (now {iso_utc(now)})")
    return stamp.timestamp()


def _resolve_format(source: Source, schema: FeatureGroupSchema, wanted: InputFormat) -> InputFormat:
    """The format asked for, or the one the header shows; an undecidable header is a file error."""
    if wanted is not InputFormat.AUTO:
        return wanted
    found = detect_format(source.header, schema)
    if found is None:
        example = ", ".join(schema.one_hot_groups[:2])
        raise ValidationError(
            source.name,
            f"cannot tell raw from features by the header (neither raw columns such as {example} nor "
            f"their one-hot columns); pass --input-format raw or features",
        )
    return found


def _expected_columns(schema: FeatureGroupSchema, fmt: InputFormat) -> tuple[list[str], set[str]]:
    """Columns the format requires, and the ones it also accepts (dropped raw columns)."""
    if fmt is InputFormat.FEATURES:
        return list(schema.column_names), set()
    required = [c.name for c in schema.raw_columns if c.kind is not RawKind.DROP]
    return required, {c.name for c in schema.raw_columns if c.kind is RawKind.DROP}


def _check_header(
    source: Source, schema: FeatureGroupSchema, fmt: InputFormat, stamped: bool, out: Collector
) -> None:
    """Missing, unexpected and repeated column names; event_time may be absent when stamped."""
    required, optional = _expected_columns(schema, fmt)
    known = [*required, *optional]
    seen: set[str] = set()
    for name in source.header:
        if name in seen:
            out.header(name, "column appears more than once")
        elif name not in known:
            hint = difflib.get_close_matches(name.strip().lower(), known, n=1)
            suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
            where = "raw layout" if fmt is InputFormat.RAW else "feature group"
            out.header(
                name, f"unexpected column {name!r}{suffix}; the {schema.name} {where} has no such column"
            )
        seen.add(name)
    for name in required:
        if name in seen or (name == schema.event_time and stamped):
            continue
        hint = "; or stamp every row with --event-time now|<ISO-8601>" if name == schema.event_time else ""
        out.header(name, f"missing column (required by the {fmt} layout of {schema.name}{hint})")


def _parse_features(source: Source, schema: FeatureGroupSchema, out: Collector) -> dict[str, Parsed]:
    """The feature group's own columns, each converted per its type."""
    present = set(source.header)
    parsed = {}
    for feature in schema.features:
        if feature.name not in present:
            continue
        cells = source.column(feature.name)
        if feature.name == schema.event_time:
            parsed[feature.name] = parse_event_time(cells, feature.name, out)
        else:
            parsed[feature.name] = parse_number(cells, feature.type, feature.name, out)
    return parsed


def _row_lines(source: Source) -> np.ndarray | None:
    return source.lines(np.arange(source.rows)) if source.is_csv else None


def validate(
    schema: FeatureGroupSchema,
    data: pd.DataFrame | str | os.PathLike[str],
    *,
    source_name: str | None = None,
    now: datetime | float,
    input_format: InputFormat | str = InputFormat.AUTO,
    event_time: float | None = None,
) -> ValidationReport:
    """Validate (and, for raw files, encode) a CSV/Parquet file or a DataFrame; never writes.

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
    input_format
        ``raw``, ``features`` or ``auto`` (by the header).
    event_time
        Epoch seconds to stamp every row with when the file has no ``event_time`` column
        (see :func:`parse_event_time_option`); a file that has the column keeps its values.

    Returns
    -------
    ValidationReport
        ``frame`` holds the feature rows (schema order, int64/float64) when ``ok``.

    Raises
    ------
    ValidationError
        The file is missing, unreadable, not CSV/Parquet, or its format cannot be told.
    """
    started = time.perf_counter()
    limit = epoch_seconds(now)
    source = read_source(data, source_name)
    fmt = _resolve_format(source, schema, InputFormat(input_format))
    stamped = event_time is not None and schema.event_time not in source.header
    out = Collector(source, [*schema.raw_column_names, *schema.column_names])
    _check_header(source, schema, fmt, stamped, out)
    out.lines(source.bad_lines)
    if source.rows == 0 and not source.bad_lines:
        out.header("*", "no data rows")
    parsed = (
        encode_raw(source, schema, out) if fmt is InputFormat.RAW else _parse_features(source, schema, out)
    )
    if stamped and event_time is not None:
        parsed[schema.event_time] = Parsed(np.full(source.rows, event_time), np.zeros(source.rows, bool))
    check_all(parsed, schema, limit, out)
    frame = None
    if out.count == 0:
        # copy=False: the parsed arrays are ours alone, and consolidating them copies every cell
        frame = pd.DataFrame({name: parsed[name].values for name in schema.column_names}, copy=False)
    return ValidationReport(
        source_name=source.name,
        schema_name=schema.name,
        rows=source.rows + len(source.bad_lines),
        error_count=out.count,
        errors=out.errors(),
        seconds=time.perf_counter() - started,
        frame=frame,
        input_format=fmt,
        warning_count=out.warning_count,
        warnings=out.warnings(),
        stamped_event_time=event_time if stamped else None,
        lines=_row_lines(source) if frame is not None else None,
    )
