"""Feature-group schemas: the one place that says which columns exist and what they are.

CDK FeatureDefinitions, ingestion validation, the dataset SQL, the synthetic generator and
the local run all read these objects, so a column added here reaches every one of them.
The columns and dtypes are exactly those of the auto-insurance fraud data (seed 001):
``int64`` columns are Feature Store ``Integral``, ``float64`` columns ``Fractional``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


@dataclass(frozen=True)
class FeatureGroupSchema:
    """One feature group's columns in their canonical order.

    ``one_hot_groups`` lists the column prefixes whose columns encode one category each;
    every record has exactly one of them set, which validation and the generator rely on.
    """

    name: str
    description: str
    features: tuple[Feature, ...]
    one_hot_groups: tuple[str, ...] = ()
    record_identifier: str = RECORD_ID
    event_time: str = EVENT_TIME

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


CLAIMS = FeatureGroupSchema(
    name="claims",
    description="Auto-insurance claims, one record per policy, with the fraud label.",
    features=_features(
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
        """
    ),
    one_hot_groups=("driver_relationship", "incident_type", "collision_type", "authorities_contacted"),
)

CUSTOMERS = FeatureGroupSchema(
    name="customers",
    description="Policy holders and their policies, one record per policy.",
    features=_features(
        """
        policy_id:I customer_age:I customer_education:I months_as_customer:I policy_deductable:I
        policy_annual_premium:I policy_liability:I auto_year:I num_claims_past_year:I
        num_insurers_past_5_years:I customer_gender_male:F customer_gender_female:F
        policy_state_ca:F policy_state_wa:F policy_state_az:F policy_state_or:F policy_state_nv:F
        policy_state_id:F event_time:F
        """
    ),
    one_hot_groups=("customer_gender", "policy_state"),
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
