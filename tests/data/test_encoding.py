"""Raw records to features: the codes the issue states, unknown categories, auto-detection, identity.

The expected codes below are written from the raw layout's facts (issue 12), not read from
``encoding.toml``, so a wrong entry in the data file fails here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from pipeline_def.data.validation import ValidationError, ValidationReport, validate
from pipeline_def.schema import CLAIMS, CUSTOMERS, ENCODING_FILE, ENCODING_SHA256, ENCODING_VERSION
from tests.data.data_fixtures import NOW, edit_csv, write_csvs, write_raw_csvs

#: The encoding file's digest for each released version: editing the file without bumping
#: ``version`` (which is recorded with each model package) fails the first test below.
RELEASED_DIGESTS = {"1": "dc015697ca1a1541dcac02b2e6129d08e07236367120a402363f8833b67757c3"}

CLAIM = {
    "policy_id": "1",
    "driver_relationship": "Self",
    "incident_type": "Collision",
    "collision_type": "Front",
    "incident_severity": "Minor",
    "authorities_contacted": "Police",
    "num_vehicles_involved": "2",
    "num_injuries": "0",
    "num_witnesses": "1",
    "police_report_available": "Yes",
    "injury_claim": "0.00",
    "vehicle_claim": "1200.40",
    "total_claim_amount": "1200.40",
    "incident_month": "3",
    "incident_day": "14",
    "incident_dow": "3",
    "incident_hour": "9",
    "fraud": "0",
    "event_time": "2024-03-15T02:00:00Z",
}
CUSTOMER = {
    "policy_id": "1",
    "customer_age": "44",
    "months_as_customer": "30",
    "num_claims_past_year": "0",
    "num_insurers_past_5_years": "1",
    "policy_state": "CA",
    "policy_deductable": "750",
    "policy_annual_premium": "2000",
    "policy_liability": "15/30",
    "customer_zip": "94105",
    "customer_gender": "Male",
    "customer_education": "High School",
    "auto_year": "2019",
    "event_time": "2024-03-15T02:00:00Z",
}


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    """A raw CSV with the rows' keys as header."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def encode_claim(tmp_path: Path, **changes: str) -> pd.Series:
    """The feature row of one raw claim with ``changes`` applied."""
    path = write_rows(tmp_path / "claims.csv", [CLAIM | changes])
    return validate(CLAIMS, path, now=NOW).raise_if_invalid().iloc[0]


def encode_customer(tmp_path: Path, **changes: str) -> pd.Series:
    path = write_rows(tmp_path / "customers.csv", [CUSTOMER | changes])
    return validate(CUSTOMERS, path, now=NOW).raise_if_invalid().iloc[0]


def messages(report: ValidationReport) -> list[str]:
    return [str(issue) for issue in report.errors]


def test_the_encoding_file_changed_only_with_a_new_version() -> None:
    # Given the digest recorded when this version was released / Then the file is unchanged
    assert RELEASED_DIGESTS.get(ENCODING_VERSION) == ENCODING_SHA256, (
        f"{ENCODING_FILE.name} changed: bump its version and record the new digest here"
    )


@pytest.mark.parametrize("group", [0, 1], ids=["claims", "customers"])
def test_raw_and_encoded_files_of_the_same_policies_give_identical_feature_rows(
    tmp_path: Path, group: int
) -> None:
    # Given the same synthetic policies written as features and as an insurer's raw export
    features = write_csvs(tmp_path / "features", rows=2000, seed=11)[group]
    raw = write_raw_csvs(tmp_path / "raw", rows=2000, seed=11)[group]
    schema = (CLAIMS, CUSTOMERS)[group]
    # When both are validated
    from_features = validate(schema, features, now=NOW)
    from_raw = validate(schema, raw, now=NOW)
    # Then each was read in its own format and the feature rows are identical, bit for bit
    assert (from_features.input_format, from_raw.input_format) == ("features", "raw")
    pd.testing.assert_frame_equal(from_raw.raise_if_invalid(), from_features.raise_if_invalid())


@pytest.mark.parametrize(("value", "code"), [("Minor", 0.0), ("Major", 1.0), ("Totaled", 2.0)])
def test_severity_is_an_ordinal_code(tmp_path: Path, value: str, code: float) -> None:
    assert encode_claim(tmp_path, incident_severity=value)["incident_severity"] == code


@pytest.mark.parametrize(
    ("value", "code"),
    [("Below High School", 0), ("High School", 1), ("Associate", 2), ("Bachelor", 3), ("Advanced Degree", 4)],
)
def test_education_is_an_ordinal_code_in_the_issues_order(tmp_path: Path, value: str, code: int) -> None:
    assert encode_customer(tmp_path, customer_education=value)["customer_education"] == code


@pytest.mark.parametrize(("value", "code"), [("15/30", 0), ("25/50", 1), ("30/60", 2), ("100/200", 3)])
def test_liability_is_an_ordinal_code_in_the_issues_order(tmp_path: Path, value: str, code: int) -> None:
    assert encode_customer(tmp_path, policy_liability=value)["policy_liability"] == code


@pytest.mark.parametrize(("value", "code"), [("Yes", 1.0), ("No", 0.0)])
def test_police_report_yes_no_is_one_zero(tmp_path: Path, value: str, code: float) -> None:
    assert encode_claim(tmp_path, police_report_available=value)["police_report_available"] == code


@pytest.mark.parametrize(
    ("column", "value", "one"),
    [
        ("driver_relationship", "Spouse", "driver_relationship_spouse"),
        ("driver_relationship", "", "driver_relationship_na"),
        ("incident_type", "Break-in", "incident_type_breakin"),
        ("collision_type", "", "collision_type_na"),
        ("authorities_contacted", "Ambulance", "authorities_contacted_ambulance"),
        ("authorities_contacted", "", "authorities_contacted_none"),
    ],
)
def test_a_category_sets_exactly_its_one_hot_column(
    tmp_path: Path, column: str, value: str, one: str
) -> None:
    # Given a claim whose category is `value` (empty where the group allows it)
    row = encode_claim(tmp_path, **{column: value})
    # Then its group has a single 1, in the column for that category
    group = CLAIMS.one_hot_columns(column)
    assert [name for name in group if row[name] == 1.0] == [one]


@pytest.mark.parametrize("gender", ["Unkown", "Unknown", "Other"])
def test_genders_other_than_male_and_female_set_neither_column(tmp_path: Path, gender: str) -> None:
    row = encode_customer(tmp_path, customer_gender=gender)
    assert (row["customer_gender_male"], row["customer_gender_female"]) == (0.0, 0.0)


def test_female_is_the_bias_facet(tmp_path: Path) -> None:
    row = encode_customer(tmp_path, customer_gender="Female")
    assert (row["customer_gender_male"], row["customer_gender_female"]) == (0.0, 1.0)


def test_categories_match_ignoring_case_and_surrounding_spaces(tmp_path: Path) -> None:
    row = encode_claim(tmp_path, incident_type="  THEFT ", incident_severity="totaled")
    assert (row["incident_type_theft"], row["incident_severity"]) == (1.0, 2.0)


@pytest.mark.parametrize(("cents", "dollars"), [("100.50", 100), ("101.50", 102), ("99.99", 100), ("7", 7)])
def test_amounts_with_cents_become_whole_dollars_rounded_half_to_even(
    tmp_path: Path, cents: str, dollars: int
) -> None:
    row = encode_claim(tmp_path, injury_claim=cents, vehicle_claim="0", total_claim_amount=cents)
    assert row["injury_claim"] == dollars


def test_the_zip_code_is_read_and_dropped(tmp_path: Path) -> None:
    row = encode_customer(tmp_path, customer_zip="94105")
    assert "customer_zip" not in row.index
    assert list(row.index) == list(CUSTOMERS.column_names)


def test_a_raw_file_without_the_zip_column_is_valid(tmp_path: Path) -> None:
    row = {k: v for k, v in CUSTOMER.items() if k != "customer_zip"}
    path = write_rows(tmp_path / "customers.csv", [row])
    assert validate(CUSTOMERS, path, now=NOW).ok


def test_a_category_outside_the_list_is_an_error_naming_the_allowed_values(tmp_path: Path) -> None:
    # Given a raw claims file whose second claim has an unknown incident type
    path = write_rows(tmp_path / "claims.csv", [CLAIM, CLAIM | {"policy_id": "2", "incident_type": "Flood"}])
    # When validated
    report = validate(CLAIMS, path, source_name="claims.csv", now=NOW)
    # Then the cell is reported at file:line:column with every allowed value
    assert messages(report) == [
        "claims.csv:3:incident_type: 'Flood' is not an allowed incident_type; "
        "allowed: Collision, Break-in, Theft"
    ]


def test_an_unknown_ordinal_value_names_the_codes_in_order(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "customers.csv", [CUSTOMER | {"policy_liability": "50/100"}])
    report = validate(CUSTOMERS, path, source_name="u.csv", now=NOW)
    assert messages(report) == [
        "u.csv:2:policy_liability: '50/100' is not an allowed policy_liability; "
        "allowed: 15/30, 25/50, 30/60, 100/200"
    ]


def test_an_empty_category_where_the_group_has_no_empty_value_is_missing(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "claims.csv", [CLAIM | {"incident_type": ""}])
    report = validate(CLAIMS, path, source_name="c.csv", now=NOW)
    assert messages(report) == ["c.csv:2:incident_type: missing value; allowed: Collision, Break-in, Theft"]


def test_errors_in_a_large_raw_file_point_at_their_lines(tmp_path: Path) -> None:
    # Given a 300-policy raw export with a bad category on line 120
    claims = write_raw_csvs(tmp_path)[0]
    edit_csv(claims, {(120, "collision_type"): "Roof"})
    # When validated / Then only that cell is reported
    report = validate(CLAIMS, claims, source_name="c.csv", now=NOW)
    assert messages(report) == [
        "c.csv:120:collision_type: 'Roof' is not an allowed collision_type; "
        "allowed: Front, Rear, Side, or empty"
    ]


def test_auto_reads_a_raw_header_as_raw(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "claims.csv", [CLAIM])
    assert validate(CLAIMS, path, now=NOW).input_format == "raw"


def test_a_header_with_neither_layouts_columns_asks_for_input_format(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("policy_id,fraud\n1,0\n")
    with pytest.raises(ValidationError, match="pass --input-format raw or features"):
        validate(CLAIMS, path, now=NOW)


def test_a_raw_file_read_as_features_reports_the_raw_columns(tmp_path: Path) -> None:
    # Given a raw file and an explicit --input-format features
    path = write_rows(tmp_path / "claims.csv", [CLAIM])
    # When validated as features / Then the raw-only columns are unexpected there
    report = validate(CLAIMS, path, source_name="c.csv", now=NOW, input_format="features")
    unexpected = [m for m in messages(report) if "unexpected column" in m]
    assert any(m.startswith("c.csv:1:incident_type: unexpected column 'incident_type'") for m in unexpected)
    assert not report.ok


def test_a_missing_raw_column_is_a_header_error(tmp_path: Path) -> None:
    row = {k: v for k, v in CLAIM.items() if k != "collision_type"}
    report = validate(CLAIMS, write_rows(tmp_path / "claims.csv", [row]), source_name="c.csv", now=NOW)
    assert messages(report) == [
        "c.csv:1:collision_type: missing column (required by the raw layout of claims)"
    ]
