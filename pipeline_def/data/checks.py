"""Rules over converted columns: ids, labels, event times, natural ranges, one-hot groups, repeats.

Every rule reads the schema and ``encoding.toml`` (ranges, codes, optional groups), never a
number written here, and skips cells an earlier rule already reported, so one bad cell gives
one message. The same rules run on raw and on encoded files, after encoding.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from pipeline_def.data.issues import Collector
from pipeline_def.data.parsing import Parsed, iso_utc
from pipeline_def.schema import LABEL, FeatureGroupSchema, RawColumn, RawKind

#: Days in each month (index 1..12); February 29 is allowed since the year is not a column.
DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
#: total = injury + vehicle may differ by this much after each amount's cents were rounded.
SUM_TOLERANCE = 1


def _when(seconds: float) -> str:
    return f"{float(seconds)!r} ({iso_utc(seconds)})"


def check_values(parsed: dict[str, Parsed], schema: FeatureGroupSchema, now: float, out: Collector) -> None:
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
            future,
            schema.event_time,
            lambda i: f"{_when(event.values[i])} is in the future (now {_when(now)})",
        )
        out.cells(
            past, schema.event_time, lambda i: f"{event.show(i)} is before 1970 (epoch seconds expected)"
        )
        event.bad |= future | past


def _bounds(column: RawColumn, now: float) -> tuple[float | None, float | None, str]:
    """The column's range and the text that explains it in a message."""
    high: float | None = column.high
    note = ""
    if column.high_years_after_now is not None:
        high = datetime.fromtimestamp(now, timezone.utc).year + column.high_years_after_now
        note = f" (at most {column.high_years_after_now} after the current year)"
    if column.low is not None and high is not None:
        return column.low, high, f"{column.low} to {high:g}{note}"
    if column.low is not None:
        return column.low, None, f">= {column.low}"
    return None, high, f"<= {high:g}{note}"


def check_ranges(parsed: dict[str, Parsed], schema: FeatureGroupSchema, now: float, out: Collector) -> None:
    """Each column with a natural range in ``encoding.toml``, and each ordinal's codes."""
    for column in schema.raw_columns:
        cell = parsed.get(column.name)
        if cell is None:
            continue
        if column.kind is RawKind.ORDINAL:
            _check_codes(column, cell, out)
        elif column.low is not None or column.high is not None or column.high_years_after_now is not None:
            low, high, allowed = _bounds(column, now)
            outside = np.zeros(len(cell.values), dtype=bool)
            if low is not None:
                outside |= cell.values < low
            if high is not None:
                outside |= cell.values > high
            outside &= ~cell.bad
            out.cells(
                outside,
                column.name,
                lambda i, c=cell, a=allowed: f"{c.show(i)} is out of range; allowed: {a}",
            )
            cell.bad |= outside


def _check_codes(column: RawColumn, cell: Parsed, out: Collector) -> None:
    """An ordinal feature holds one of its codes (0, 1, ...), nothing between or beyond."""
    codes = np.arange(len(column.codes))
    wrong = ~cell.bad & ~np.isin(cell.values, codes)
    out.cells(
        wrong,
        column.name,
        lambda i: f"{cell.show(i)} is not a code of {column.name}; allowed: {column.code_labels()}",
    )
    cell.bad |= wrong


def check_day_of_month(parsed: dict[str, Parsed], schema: FeatureGroupSchema, out: Collector) -> None:
    """A day column is at most its month's length (April 31 is no date)."""
    for column in schema.raw_columns:
        day, month = parsed.get(column.name), parsed.get(column.day_of_month or "")
        if day is not None and month is not None:
            _check_day(column.name, day, month, out)


def _check_day(name: str, day: Parsed, month: Parsed, out: Collector) -> None:
    usable = ~day.bad & ~month.bad
    months = np.where(usable, month.values, 1).astype(np.int64)
    too_late = usable & (day.values > DAYS_IN_MONTH[months])

    def message(i: int) -> str:
        return f"{day.show(i)} is not a day of month {months[i]} (at most {DAYS_IN_MONTH[months[i]]})"

    out.cells(too_late, name, message)
    day.bad |= too_late


def check_sums(parsed: dict[str, Parsed], schema: FeatureGroupSchema, out: Collector) -> None:
    """A warning where a total differs from its parts by more than the rounding of their cents."""
    for column in schema.raw_columns:
        total = parsed.get(column.name)
        parts = [parsed[name] for name in column.sum_of if name in parsed]
        if column.sum_of and total is not None and len(parts) == len(column.sum_of):
            _check_sum(column, total, parts, out)


def _check_sum(column: RawColumn, total: Parsed, parts: list[Parsed], out: Collector) -> None:
    usable = ~total.bad & np.logical_and.reduce([~p.bad for p in parts])
    expected = np.sum([p.values for p in parts], axis=0)
    off = usable & (np.abs(total.values - expected) > SUM_TOLERANCE)
    terms = " + ".join(column.sum_of)

    def message(i: int) -> str:
        return f"{total.show(i)} is not {terms} ({expected[i]}); kept as given (warning)"

    out.warn(off, column.name, message)


def check_one_hot(parsed: dict[str, Parsed], schema: FeatureGroupSchema, out: Collector) -> None:
    """Each one-hot cell is 0 or 1 and each group has exactly one 1 (at most one where optional)."""
    for prefix in schema.one_hot_groups:
        columns = [c for c in schema.one_hot_columns(prefix) if c in parsed]
        if len(columns) == len(schema.one_hot_columns(prefix)):  # a missing column is a header error
            optional = prefix in schema.optional_one_hot_groups
            _check_group(prefix, [(c, parsed[c]) for c in columns], optional, out)


def _check_group(prefix: str, cells: list[tuple[str, Parsed]], optional: bool, out: Collector) -> None:
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
    wrong = ~bad & ((total > 1) if optional else (total != 1))
    rule = "at most one column" if optional else "exactly one column"

    def message(i: int) -> str:
        ones = [name for name, cell in cells if cell.values[i] == 1]
        listed = f" ({', '.join(ones)})" if ones else ""
        return f"one-hot group {prefix} must have {rule} set to 1, has {len(ones)}{listed}"

    out.cells(wrong, f"{prefix}_*", message)


def check_duplicates(parsed: dict[str, Parsed], schema: FeatureGroupSchema, out: Collector) -> None:
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


def check_all(parsed: dict[str, Parsed], schema: FeatureGroupSchema, now: float, out: Collector) -> None:
    """Every rule, in the order that lets later ones skip what earlier ones reported."""
    check_values(parsed, schema, now, out)
    check_ranges(parsed, schema, now, out)
    check_day_of_month(parsed, schema, out)
    check_one_hot(parsed, schema, out)
    check_duplicates(parsed, schema, out)
    check_sums(parsed, schema, out)
