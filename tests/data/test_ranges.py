"""Natural ranges from ``encoding.toml``: each a file:line:column error; a total off its parts warns."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_def.data.validation import ValidationReport, validate
from pipeline_def.schema import CLAIMS, CUSTOMERS
from tests.data.data_fixtures import NOW, edit_csv, schema_for, write_csvs, write_raw_csvs

#: NOW is in 2027: a model year may be 2028 (on sale a year early), not 2029.
CLAIMS_CASES = [
    ("incident_month", "13", "13 is out of range; allowed: 1 to 12"),
    ("incident_month", "0", "0 is out of range; allowed: 1 to 12"),
    ("incident_day", "32", "32 is out of range; allowed: 1 to 31"),
    ("incident_day", "0", "0 is out of range; allowed: 1 to 31"),
    ("incident_hour", "24", "24 is out of range; allowed: 0 to 23"),
    ("incident_dow", "7", "7 is out of range; allowed: 0 to 6"),
    ("num_vehicles_involved", "0", "0 is out of range; allowed: >= 1"),
    ("num_injuries", "-1", "-1 is out of range; allowed: >= 0"),
    ("num_witnesses", "-2", "-2 is out of range; allowed: >= 0"),
    ("injury_claim", "-5", "-5 is out of range; allowed: >= 0"),
    (
        "incident_severity",
        "3.0",
        "3.0 is not a code of incident_severity; allowed: 0 (Minor), 1 (Major), 2 (Totaled)",
    ),
    (
        "incident_severity",
        "0.5",
        "0.5 is not a code of incident_severity; allowed: 0 (Minor), 1 (Major), 2 (Totaled)",
    ),
    (
        "police_report_available",
        "2.0",
        "2.0 is not a code of police_report_available; allowed: 0 (No), 1 (Yes)",
    ),
]
CUSTOMERS_CASES = [
    ("customer_age", "-3", "-3 is out of range; allowed: 16 to 120"),
    ("customer_age", "121", "121 is out of range; allowed: 16 to 120"),
    ("auto_year", "3024", "3024 is out of range; allowed: 1886 to 2028 (at most 1 after the current year)"),
    ("auto_year", "1885", "1885 is out of range; allowed: 1886 to 2028 (at most 1 after the current year)"),
    ("months_as_customer", "-1", "-1 is out of range; allowed: >= 0"),
    ("num_claims_past_year", "-1", "-1 is out of range; allowed: >= 0"),
    ("num_insurers_past_5_years", "-1", "-1 is out of range; allowed: >= 0"),
    ("policy_deductable", "-500", "-500 is out of range; allowed: >= 0"),
    ("policy_annual_premium", "-1", "-1 is out of range; allowed: >= 0"),
    (
        "customer_education",
        "5",
        "5 is not a code of customer_education; allowed: 0 (Below High School), 1 (High School), "
        "2 (Associate), 3 (Bachelor), 4 (Advanced Degree)",
    ),
    (
        "policy_liability",
        "4",
        "4 is not a code of policy_liability; allowed: 0 (15/30), 1 (25/50), 2 (30/60), 3 (100/200)",
    ),
]


def messages(report: ValidationReport) -> list[str]:
    return [str(issue) for issue in report.errors]


def check_cell(path: Path, line: int, column: str, value: str) -> list[str]:
    """Messages after writing ``value`` into one cell."""
    edit_csv(path, {(line, column): value})
    return messages(validate(schema_for(path), path, source_name=path.name, now=NOW))


@pytest.mark.parametrize(("column", "value", "message"), CLAIMS_CASES)
def test_a_claims_value_outside_its_natural_range_is_an_error(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    claims = write_csvs(tmp_path)[0]
    assert check_cell(claims, 7, column, value) == [f"claims.csv:7:{column}: {message}"]


@pytest.mark.parametrize(("column", "value", "message"), CUSTOMERS_CASES)
def test_a_customers_value_outside_its_natural_range_is_an_error(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    customers = write_csvs(tmp_path)[1]
    assert check_cell(customers, 9, column, value) == [f"customers.csv:9:{column}: {message}"]


def test_next_years_model_is_a_valid_auto_year(tmp_path: Path) -> None:
    customers = write_csvs(tmp_path)[1]
    assert check_cell(customers, 2, "auto_year", "2028") == []


def test_ranges_apply_to_raw_files_too(tmp_path: Path) -> None:
    claims = write_raw_csvs(tmp_path)[0]
    assert check_cell(claims, 3, "incident_hour", "25") == [
        "claims.csv:3:incident_hour: 25 is out of range; allowed: 0 to 23"
    ]


def test_a_day_past_the_end_of_its_month_is_an_error(tmp_path: Path) -> None:
    # Given a claim on April 31
    claims = write_csvs(tmp_path)[0]
    edit_csv(claims, {(4, "incident_month"): "4", (4, "incident_day"): "31"})
    # When validated / Then the day is reported with the month's length
    assert messages(validate(CLAIMS, claims, source_name="c.csv", now=NOW)) == [
        "c.csv:4:incident_day: 31 is not a day of month 4 (at most 30)"
    ]


def test_february_29_is_a_valid_day_since_the_year_is_unknown(tmp_path: Path) -> None:
    claims = write_csvs(tmp_path)[0]
    edit_csv(claims, {(4, "incident_month"): "2", (4, "incident_day"): "29"})
    assert validate(CLAIMS, claims, now=NOW).ok


def test_a_total_that_is_not_injury_plus_vehicle_is_a_warning_not_an_error(tmp_path: Path) -> None:
    # Given a claim whose total is 1,000 dollars more than its parts
    claims = write_csvs(tmp_path)[0]
    edit_csv(
        claims, {(5, "injury_claim"): "100", (5, "vehicle_claim"): "200", (5, "total_claim_amount"): "1300"}
    )
    # When validated
    report = validate(CLAIMS, claims, source_name="c.csv", now=NOW)
    # Then the file is valid, the total kept as given, and the warning points at the cell
    assert report.ok
    assert report.raise_if_invalid().loc[3, "total_claim_amount"] == 1300
    assert [str(w) for w in report.warnings] == [
        "c.csv:5:total_claim_amount: 1300 is not injury_claim + vehicle_claim (300); kept as given (warning)"
    ]
    assert "1 warning" in report.summary()


def test_a_total_within_a_dollar_of_its_rounded_parts_is_fine(tmp_path: Path) -> None:
    # Given cents that round apart: 100.50 -> 100, 200.50 -> 200, 301.00 -> 301
    claims = write_raw_csvs(tmp_path)[0]
    edit_csv(
        claims,
        {(5, "injury_claim"): "100.50", (5, "vehicle_claim"): "200.50", (5, "total_claim_amount"): "301.00"},
    )
    report = validate(CLAIMS, claims, now=NOW)
    assert report.ok
    assert report.warning_count == 0


def test_a_bad_cell_is_reported_once_not_again_by_its_range(tmp_path: Path) -> None:
    customers = write_csvs(tmp_path)[1]
    assert check_cell(customers, 2, "customer_age", "old") == [
        "customers.csv:2:customer_age: 'old' is not a number"
    ]


def test_every_column_with_a_natural_range_is_covered_by_a_case() -> None:
    # Given the columns encoding.toml gives a range or codes / Then each has a case above
    ranged = {
        c.name
        for schema in (CLAIMS, CUSTOMERS)
        for c in schema.raw_columns
        if c.low is not None or c.high is not None or c.codes
    }
    assert ranged == {column for column, _, _ in CLAIMS_CASES + CUSTOMERS_CASES} | {
        "vehicle_claim",
        "total_claim_amount",
    }
