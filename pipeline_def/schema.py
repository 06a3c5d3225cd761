"""Feature-group schemas: the one place that says which columns exist and what they are.

CDK FeatureDefinitions, ingestion validation, the dataset SQL, the synthetic generator and
the local run all read these objects, so a column added here reaches every one of them.
The columns and dtypes are exactly those of the auto-insurance fraud data (seed 001):
``int64`` columns are Feature Store ``Integral``, ``float64`` columns ``Fractional``.

How raw records (categorical strings, as an insurer holds them) become these columns, and the
natural range of each column, is data: ``encoding.toml`` beside this file, loaded here into
:class:`RawColumn` objects, so validation, encoding and the synthetic raw writer share one source.
Its version, :data:`ENCODING_VERSION`, is recorded with each model package.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class ValueStrEnum(str, Enum):
    """``enum.StrEnum`` as Python 3.11 has it (members are their values in str() and f-strings),
    for the ingestion job, which runs this module in SageMaker's XGBoost 3.0-5 image: Python 3.10."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


if sys.version_info >= (3, 11):
    from enum import StrEnum

    import tomllib
else:  # Python 3.10: no StrEnum, no tomllib (the packaged encoding.json is read instead)
    StrEnum = ValueStrEnum
    tomllib = None

RECORD_ID = "policy_id"
EVENT_TIME = "event_time"
LABEL = "fraud"
SENSITIVE_FACET = "customer_gender_female"

#: Columns that Feature Store adds to every offline-store table; never model features.
SYSTEM_COLUMNS: tuple[str, ...] = ("write_time", "api_invocation_time", "is_deleted")


class FeatureType(StrEnum):
    """Feature Store's feature types, with the pandas dtype each one is read as."""

    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"
    STRING = "String"

    @property
    def dtype(self) -> str:
        return {"Integral": "int64", "Fractional": "float64", "String": "string"}[self.value]

    @property
    def sql_type(self) -> str:
        """The type the offline store's Glue table uses for this feature."""
        return {"Integral": "bigint", "Fractional": "double", "String": "string"}[self.value]


@dataclass(frozen=True)
class Feature:
    name: str
    type: FeatureType


class RawKind(StrEnum):
    """How a raw column becomes feature columns (see the header of ``encoding.toml``)."""

    RECORD_ID = "record_id"
    EVENT_TIME = "event_time"
    LABEL = "label"
    INTEGER = "integer"
    MONEY = "money"
    ORDINAL = "ordinal"
    ONE_HOT = "one_hot"
    DROP = "drop"


@dataclass(frozen=True)
class RawColumn:
    """One column of the raw layout: its kind, its categories or codes, and its natural range.

    ``high_years_after_now`` bounds a year by the validation's ``now`` (a model year may be
    next year's); ``sum_of`` names the columns this one should be the sum of (a warning only);
    ``day_of_month`` names the month column that bounds this day.
    """

    name: str
    kind: RawKind
    codes: tuple[str, ...] = ()
    categories: tuple[tuple[str, str], ...] = ()
    empty: str | None = None
    unset: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    high_years_after_now: int | None = None
    sum_of: tuple[str, ...] = ()
    day_of_month: str | None = None

    @property
    def suffixes(self) -> tuple[str, ...]:
        """One-hot column suffixes in first-mention order, the empty cell's last."""
        found = dict.fromkeys(suffix for _, suffix in self.categories)
        if self.empty is not None:
            found[self.empty] = None
        return tuple(found)

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns this raw column becomes (none for a dropped column)."""
        if self.kind is RawKind.DROP:
            return ()
        if self.kind is RawKind.ONE_HOT:
            return tuple(f"{self.name}_{suffix}" for suffix in self.suffixes)
        return (self.name,)

    @property
    def allowed(self) -> str:
        """The raw values it takes, for messages: ``Minor, Major, Totaled`` or ``..., or empty``."""
        values = list(self.codes) or [value for value, _ in self.categories] + list(self.unset)
        return ", ".join(values) + (", or empty" if self.empty is not None else "")

    def code_labels(self) -> str:
        """An ordinal's codes with their raw values, for messages: ``0 (Minor), 1 (Major)``."""
        return ", ".join(f"{code} ({value})" for code, value in enumerate(self.codes))


@dataclass(frozen=True)
class FeatureGroupSchema:
    """One feature group's columns in their canonical order, and its raw layout.

    ``one_hot_groups`` lists the column prefixes whose columns encode one category each; every
    record has exactly one of them set, except in ``optional_one_hot_groups`` (a raw value such
    as an unknown gender sets none). Validation and the generator rely on both.
    """

    name: str
    description: str
    features: tuple[Feature, ...]
    one_hot_groups: tuple[str, ...] = ()
    record_identifier: str = RECORD_ID
    event_time: str = EVENT_TIME
    raw_columns: tuple[RawColumn, ...] = field(default=(), compare=False)

    @property
    def optional_one_hot_groups(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.raw_columns if c.kind is RawKind.ONE_HOT and c.unset)

    @property
    def raw_column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.raw_columns)

    def raw_column(self, name: str) -> RawColumn:
        for column in self.raw_columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no raw column {name!r}")

    def source_of(self, feature: str) -> RawColumn:
        """The raw column a feature column comes from."""
        for column in self.raw_columns:
            if feature in column.features:
                return column
        raise KeyError(f"{self.name}: no raw column encodes {feature!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def dtypes(self) -> dict[str, str]:
        return {f.name: f.type.dtype for f in self.features}

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(f"{self.name} has no feature {name!r}; it has {', '.join(self.column_names)}")

    def one_hot_columns(self, prefix: str) -> tuple[str, ...]:
        """Columns of a one-hot group, e.g. ``collision_type`` -> ``collision_type_front`` ...."""
        return tuple(n for n in self.column_names if n.startswith(prefix + "_"))

    @property
    def model_features(self) -> tuple[str, ...]:
        """Columns that may feed the model: no record id, no event time, no label."""
        excluded = {self.record_identifier, self.event_time, LABEL}
        return tuple(n for n in self.column_names if n not in excluded)


def _features(spec: str) -> tuple[Feature, ...]:
    """Parse ``name:I`` / ``name:F`` tokens, one per line, in column order."""
    kinds = {"I": FeatureType.INTEGRAL, "F": FeatureType.FRACTIONAL, "S": FeatureType.STRING}
    out = []
    for token in spec.split():
        name, kind = token.split(":")
        out.append(Feature(name, kinds[kind]))
    return tuple(out)


#: The raw layout and codes (see the file's header); its digest guards its version in the tests.
ENCODING_FILE = Path(__file__).with_name("encoding.toml")
ENCODING_SHA256: str = hashlib.sha256(ENCODING_FILE.read_bytes()).hexdigest()
#: The parsed twin of ``encoding.toml`` that the ingestion job's package carries for Python 3.10
#: (no tomllib); written by :func:`encoding_twin` from the same file, with its digest.
ENCODING_TWIN_FILE = ENCODING_FILE.with_suffix(".json")


def encoding_twin() -> str:
    """``encoding.json``: the parsed ``encoding.toml`` and the digest of the exact bytes it came from."""
    return json.dumps({"sha256": ENCODING_SHA256, "encoding": _ENCODING}, indent=1, sort_keys=True) + "\n"


def _load_encoding() -> dict[str, Any]:
    """The TOML itself where tomllib exists; elsewhere its twin, refused unless it is of these bytes."""
    if tomllib is not None:
        return tomllib.loads(ENCODING_FILE.read_text(encoding="utf-8"))
    twin = json.loads(ENCODING_TWIN_FILE.read_text(encoding="utf-8"))
    if twin.get("sha256") != ENCODING_SHA256:
        raise ValueError(f"{ENCODING_TWIN_FILE.name} was not made from this {ENCODING_FILE.name}")
    return twin["encoding"]


_ENCODING: dict[str, Any] = _load_encoding()
#: Version of the raw -> features encoding; recorded with each model package.
ENCODING_VERSION: str = str(_ENCODING["version"])


_RAW_KEYS = frozenset(
    {"kind", "codes", "categories", "empty", "unset", "min", "max", "max_years_after_now", "sum_of"}
    | {"day_of_month"}
)


def _raw_column(name: str, spec: dict[str, Any]) -> RawColumn:
    """One ``[group.column]`` table of ``encoding.toml``; unknown keys are refused at import."""
    unknown = set(spec) - _RAW_KEYS
    if unknown:
        raise ValueError(f"{ENCODING_FILE.name}: {name}: unknown keys {sorted(unknown)}")
    return RawColumn(
        name=name,
        kind=RawKind(spec["kind"]),
        codes=tuple(spec.get("codes", ())),
        categories=tuple(spec.get("categories", {}).items()),
        empty=spec.get("empty"),
        unset=tuple(spec.get("unset", ())),
        low=spec.get("min"),
        high=spec.get("max"),
        high_years_after_now=spec.get("max_years_after_now"),
        sum_of=tuple(spec.get("sum_of", ())),
        day_of_month=spec.get("day_of_month"),
    )


def _group(name: str, description: str, spec: str) -> FeatureGroupSchema:
    """A feature group from its seed columns and its raw layout; they must cover each other."""
    raw = tuple(_raw_column(column, table) for column, table in _ENCODING[name].items())
    features = _features(spec)
    position = {feature.name: index for index, feature in enumerate(features)}
    one_hot = [c for c in raw if c.kind is RawKind.ONE_HOT]
    # in the seed's column order, which is the order every consumer has always seen them in
    one_hot.sort(key=lambda c: min(position.get(f, len(position)) for f in c.features))
    group = FeatureGroupSchema(
        name=name,
        description=description,
        features=features,
        one_hot_groups=tuple(c.name for c in one_hot),
        raw_columns=raw,
    )
    encoded = [feature for column in raw for feature in column.features]
    if sorted(encoded) != sorted(group.column_names):
        missing = sorted(set(group.column_names) - set(encoded))
        extra = sorted(set(encoded) - set(group.column_names))
        raise ValueError(f"{ENCODING_FILE.name}: [{name}] does not encode {missing}; unknown {extra}")
    return group


CLAIMS = _group(
    "claims",
    "Auto-insurance claims, one record per policy, with the fraud label.",
    """
    policy_id:I incident_severity:F num_vehicles_involved:I num_injuries:I num_witnesses:I
    police_report_available:F injury_claim:I vehicle_claim:I total_claim_amount:I
    incident_month:I incident_day:I incident_dow:I incident_hour:I fraud:I
    driver_relationship_self:F driver_relationship_na:F driver_relationship_spouse:F
    driver_relationship_child:F driver_relationship_other:F
    incident_type_collision:F incident_type_breakin:F incident_type_theft:F
    collision_type_front:F collision_type_rear:F collision_type_side:F collision_type_na:F
    authorities_contacted_police:F authorities_contacted_none:F authorities_contacted_fire:F
    authorities_contacted_ambulance:F event_time:F
    """,
)

CUSTOMERS = _group(
    "customers",
    "Policy holders and their policies, one record per policy.",
    """
    policy_id:I customer_age:I customer_education:I months_as_customer:I policy_deductable:I
    policy_annual_premium:I policy_liability:I auto_year:I num_claims_past_year:I
    num_insurers_past_5_years:I customer_gender_male:F customer_gender_female:F
    policy_state_ca:F policy_state_wa:F policy_state_az:F policy_state_or:F policy_state_nv:F
    policy_state_id:F event_time:F
    """,
)

FEATURE_GROUPS: tuple[FeatureGroupSchema, ...] = (CLAIMS, CUSTOMERS)


def feature_group(name: str) -> FeatureGroupSchema:
    for group in FEATURE_GROUPS:
        if group.name == name:
            return group
    raise KeyError(f"unknown feature group {name!r}; known: {', '.join(g.name for g in FEATURE_GROUPS)}")


def dataset_columns() -> tuple[str, ...]:
    """Columns of the joined training dataset, label first (the XGBoost CSV convention).

    Claims features come first, then customer features, each in schema order; the join key,
    event times and Feature Store system columns are not part of it.
    """
    return (LABEL, *CLAIMS.model_features, *CUSTOMERS.model_features)
