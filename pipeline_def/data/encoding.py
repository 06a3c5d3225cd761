"""Raw records to feature columns, and back, by the encoding in ``pipeline_def/encoding.toml``.

Raw files hold categories as the insurer writes them (``Collision``, ``Totaled``, ``Yes``,
``100/200``); the feature groups hold one-hot columns and ordinal codes. The rules live in the
data file (read by :mod:`pipeline_def.schema`), so this module only applies them: vectorised,
with every unknown category reported at its file:line:column with the allowed values.

:func:`decode` is the inverse, used by the synthetic generator's ``--format raw``; encoding a
decoded file gives back the very same feature rows (``tests/data/test_encoding.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline_def.data.issues import Collector
from pipeline_def.data.parsing import Parsed, lookup, parse_event_time, parse_money, parse_number
from pipeline_def.data.sources import Source
from pipeline_def.schema import FeatureGroupSchema, FeatureType, RawColumn, RawKind, StrEnum


class InputFormat(StrEnum):
    """What a file holds: raw records, encoded feature rows, or ``auto`` (decided by its header)."""

    RAW = "raw"
    FEATURES = "features"
    AUTO = "auto"


def detect_format(header: Sequence[str], schema: FeatureGroupSchema) -> InputFormat | None:
    """Raw or features by the columns only one of the layouts has; None when the header says neither.

    Ordinal columns (``incident_severity``...) share their name across layouts, so only the
    one-hot groups decide: ``incident_type`` is raw, ``incident_type_theft`` is features.
    """
    names = set(header)
    raw_only = set(schema.raw_column_names) - set(schema.column_names)
    features_only = set(schema.column_names) - set(schema.raw_column_names)
    raw_hits, feature_hits = len(names & raw_only), len(names & features_only)
    if raw_hits == feature_hits:
        return None
    return InputFormat.RAW if raw_hits > feature_hits else InputFormat.FEATURES


def encode_raw(source: Source, schema: FeatureGroupSchema, out: Collector) -> dict[str, Parsed]:
    """Feature columns from the raw columns present (missing ones are header errors elsewhere)."""
    present = set(source.header)
    parsed: dict[str, Parsed] = {}
    for column in schema.raw_columns:
        if column.name in present and column.kind is not RawKind.DROP:
            parsed |= _encode(column, source.column(column.name), schema, out)
    return parsed


def _encode(raw: RawColumn, cells: pa.ChunkedArray, schema: FeatureGroupSchema, out: Collector) -> dict:
    """One raw column to its feature column(s)."""
    name = raw.name
    if raw.kind is RawKind.MONEY:
        return {name: parse_money(cells, name, out)}
    if raw.kind is RawKind.EVENT_TIME:
        return {name: parse_event_time(cells, name, out)}
    if raw.kind is RawKind.ORDINAL:
        codes = lookup(cells, raw.codes, name, raw.allowed, out, empty=None)
        return {name: Parsed(codes.values.astype(schema.feature(name).type.dtype), codes.bad)}
    if raw.kind is RawKind.ONE_HOT:
        return _one_hot(raw, cells, out)
    return {name: parse_number(cells, FeatureType.INTEGRAL, name, out)}


def _one_hot(raw: RawColumn, cells: pa.ChunkedArray, out: Collector) -> dict[str, Parsed]:
    """A categorical column to its group's 0.0/1.0 columns; ``unset`` values leave all at 0."""
    suffixes = raw.suffixes
    values = [value for value, _ in raw.categories] + list(raw.unset)
    # position in `values` (the empty cell is one past the end) -> suffix index, -1 = no column
    target = [suffixes.index(s) for _, s in raw.categories] + [-1] * len(raw.unset)
    empty = None
    if raw.empty is not None:
        empty = len(values)
        target.append(suffixes.index(raw.empty))
    found = lookup(cells, values, raw.name, raw.allowed, out, empty=empty)
    codes = np.asarray(target, dtype=np.int64)[found.values]
    return {
        f"{raw.name}_{suffix}": Parsed((codes == j).astype(np.float64), found.bad.copy())
        for j, suffix in enumerate(suffixes)
    }


def decode(schema: FeatureGroupSchema, frame: pd.DataFrame) -> pa.Table:
    """Feature rows back to raw text columns (dropped columns omitted), in the raw layout's order.

    Money is written with cents (``1234.00``) and event times as ISO-8601 UTC with microseconds,
    as an export would; both read back to exactly the same feature values.
    """
    columns = [c for c in schema.raw_columns if c.kind is not RawKind.DROP]
    arrays = [_decode(column, frame) for column in columns]
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns])


def _decode(raw: RawColumn, frame: pd.DataFrame) -> pa.Array:
    """One raw column's text from its feature column(s)."""
    if raw.kind is RawKind.ONE_HOT:
        return _categories(raw, frame)
    values = frame[raw.name].to_numpy()
    if raw.kind is RawKind.ORDINAL:
        return _dictionary(values.astype(np.int64), list(raw.codes))
    if raw.kind is RawKind.EVENT_TIME:
        micros = pa.array(np.rint(values * 1e6).astype(np.int64)).cast(pa.timestamp("us", tz="UTC"))
        return pc.binary_join_element_wise(pc.strftime(micros, format="%Y-%m-%dT%H:%M:%S"), "Z", "")
    whole = pc.cast(pa.array(values.astype(np.int64)), pa.string())
    return pc.binary_join_element_wise(whole, ".00", "") if raw.kind is RawKind.MONEY else whole


def _categories(raw: RawColumn, frame: pd.DataFrame) -> pa.Array:
    """The raw value whose group column is 1: its first category, ``""`` for empty, else unset."""
    suffixes = raw.suffixes
    block = frame[[f"{raw.name}_{suffix}" for suffix in suffixes]].to_numpy()
    names = [next((v for v, s in raw.categories if s == suffix), "") for suffix in suffixes]
    index = np.argmax(block, axis=1)
    if raw.unset:
        index = np.where(block.max(axis=1) == 1, index, len(names))
        names.append(raw.unset[0])
    return _dictionary(index, names)


def _dictionary(indices: np.ndarray, names: list[str]) -> pa.Array:
    """Texts by index, at Arrow speed (one dictionary decode instead of a Python loop)."""
    dictionary = pa.array(names, type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32()), dictionary).dictionary_decode()
