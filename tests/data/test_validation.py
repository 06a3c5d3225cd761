"""Validation: every rule, exact positions (file:line:column), the 50-message cap, readers."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_def.data.validation import (
    MAX_REPORTED_ERRORS,
    InvalidDataError,
    ValidationError,
    ValidationReport,
    validate,
)
from pipeline_def.schema import CLAIMS, CUSTOMERS
from tests.data.data_fixtures import NOW, edit_csv, frames, replace_lines, write_csvs


@pytest.fixture
def claims_csv(tmp_path: Path) -> Path:
    return write_csvs(tmp_path)[0]


@pytest.fixture
def customers_csv(tmp_path: Path) -> Path:
    return write_csvs(tmp_path)[1]


def _messages(report: ValidationReport) -> list[str]:
    return [str(issue) for issue in report.errors]


def test_valid_csv_gives_the_generated_frame_back(claims_csv: Path) -> None:
    report = validate(CLAIMS, claims_csv, now=NOW)
    assert report.ok
    assert report.error_count == 0
    assert report.rows == 300
    pd.testing.assert_frame_equal(report.frame, frames()[0])


def test_valid_customers_csv(customers_csv: Path) -> None:
    report = validate(CUSTOMERS, customers_csv, now=NOW)
    pd.testing.assert_frame_equal(report.raise_if_invalid(), frames()[1])


def test_excel_style_bom_and_crlf_line_ends_are_read(customers_csv: Path) -> None:
    text = customers_csv.read_text()
    customers_csv.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    edit = customers_csv.read_bytes().replace(b"\r\n3,", b"\r\nx,", 1)  # policy 3 sits on line 4
    customers_csv.write_bytes(edit)
    report = validate(CUSTOMERS, customers_csv, source_name="u.csv", now=NOW)
    assert _messages(report) == ["u.csv:4:policy_id: 'x' is not a number"]


def test_columns_in_another_order_are_fine_and_come_back_in_schema_order(tmp_path: Path) -> None:
    claims = frames()[0]
    path = tmp_path / "claims.csv"
    claims[list(reversed(claims.columns))].to_csv(path, index=False)
    report = validate(CLAIMS, path, now=NOW)
    pd.testing.assert_frame_equal(report.frame, claims)


def test_non_numeric_string_in_integral_column(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(4, "incident_hour"): "abc"})
    report = validate(CLAIMS, claims_csv, source_name="claims.csv", now=NOW)
    assert _messages(report) == ["claims.csv:4:incident_hour: 'abc' is not a number"]
    assert report.frame is None


@pytest.mark.parametrize("value", ["0x10", "0X1F"])
def test_hexadecimal_is_not_accepted_as_an_integer(claims_csv: Path, value: str) -> None:
    # Arrow's fast integer cast would read these as 16 and 31; Feature Store would not
    edit_csv(claims_csv, {(6, "num_injuries"): value})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == [f"c.csv:6:num_injuries: {value!r} is not a number"]


def test_fractional_value_in_integral_column(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(2, "num_witnesses"): "2.5"})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == ["c.csv:2:num_witnesses: '2.5' is not an integer (Integral feature)"]


def _validated_with_loose_numbers(claims_csv: Path) -> pd.DataFrame:
    """The frame of claims with "3.0" as witnesses (line 2), " 7 " as hour (3) and "+0" as injury claim (4).

    Raises if any of them is refused.
    """
    edit_csv(
        claims_csv, {(2, "num_witnesses"): "3.0", (3, "incident_hour"): " 7 ", (4, "injury_claim"): "+0"}
    )
    return validate(CLAIMS, claims_csv, now=NOW).raise_if_invalid()


def test_integral_written_as_float_text_is_accepted(claims_csv: Path) -> None:
    # Given an integral cell written "3.0" / When validated
    frame = _validated_with_loose_numbers(claims_csv)
    # Then it is read as the integer 3, and the column stays integral
    assert frame.loc[0, "num_witnesses"] == 3
    assert frame["num_witnesses"].dtype == np.int64


def test_padded_values_are_accepted(claims_csv: Path) -> None:
    # Given a cell written " 7 " (and one written "+0") / When validated
    frame = _validated_with_loose_numbers(claims_csv)
    # Then the surrounding spaces are ignored
    assert frame.loc[1, "incident_hour"] == 7


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_cell_is_missing(claims_csv: Path, value: str) -> None:
    edit_csv(claims_csv, {(5, "event_time"): value})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == ["c.csv:5:event_time: missing value (no column allows empty values)"]


@pytest.mark.parametrize("value", ["inf", "nan", "1e999", "-Infinity"])
def test_non_finite_fractional_value(claims_csv: Path, value: str) -> None:
    edit_csv(claims_csv, {(3, "incident_severity"): value})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == [f"c.csv:3:incident_severity: {value!r} is not a finite number"]


def test_one_hot_group_with_two_ones(claims_csv: Path) -> None:
    claims = frames()[0]
    set_column = next(c for c in CLAIMS.one_hot_columns("incident_type") if claims.loc[0, c] == 1)
    other = next(c for c in CLAIMS.one_hot_columns("incident_type") if c != set_column)
    edit_csv(claims_csv, {(2, other): "1.0"})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    (message,) = _messages(report)
    assert message.startswith("c.csv:2:incident_type_*: one-hot group incident_type must have exactly one")
    assert "has 2" in message
    assert set_column in message
    assert other in message


def test_one_hot_group_with_no_one(customers_csv: Path) -> None:
    edit_csv(customers_csv, {(3, c): "0.0" for c in CUSTOMERS.one_hot_columns("policy_state")})
    report = validate(CUSTOMERS, customers_csv, source_name="u.csv", now=NOW)
    assert _messages(report) == [
        "u.csv:3:policy_state_*: one-hot group policy_state must have exactly one column set to 1, has 0"
    ]


def test_gender_with_neither_column_set_is_valid(customers_csv: Path) -> None:
    # Given a customer whose gender is unknown or other (the seed's features have no column for it)
    edit_csv(customers_csv, {(3, c): "0.0" for c in CUSTOMERS.one_hot_columns("customer_gender")})
    # When validated / Then the row is accepted with both columns 0
    frame = validate(CUSTOMERS, customers_csv, now=NOW).raise_if_invalid()
    assert frame.loc[1, ["customer_gender_male", "customer_gender_female"]].tolist() == [0.0, 0.0]


def test_gender_with_both_columns_set_is_an_error(customers_csv: Path) -> None:
    edit_csv(customers_csv, {(3, c): "1.0" for c in CUSTOMERS.one_hot_columns("customer_gender")})
    report = validate(CUSTOMERS, customers_csv, source_name="u.csv", now=NOW)
    assert _messages(report) == [
        "u.csv:3:customer_gender_*: one-hot group customer_gender must have at most one column set to 1, "
        "has 2 (customer_gender_male, customer_gender_female)"
    ]


def test_one_hot_value_other_than_0_or_1_is_reported_once(customers_csv: Path) -> None:
    edit_csv(customers_csv, {(2, "customer_gender_male"): "0.5", (2, "customer_gender_female"): "0.5"})
    report = validate(CUSTOMERS, customers_csv, source_name="u.csv", now=NOW)
    assert _messages(report) == [
        "u.csv:2:customer_gender_male: one-hot value must be 0 or 1, got 0.5",
        "u.csv:2:customer_gender_female: one-hot value must be 0 or 1, got 0.5",
    ]


def test_duplicate_record_id_and_event_time_names_both_lines(claims_csv: Path) -> None:
    lines = claims_csv.read_text().splitlines()
    replace_lines(claims_csv, {10: [lines[1]]})  # line 10 becomes a copy of line 2
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == [
        f"c.csv:10:policy_id: duplicate record: policy_id 1 with event_time "
        f"{float(frames()[0].loc[0, 'event_time'])!r} already at line 2"
    ]


def test_same_record_id_with_another_event_time_is_a_new_version(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(3, "policy_id"): "1"})
    assert validate(CLAIMS, claims_csv, now=NOW).ok


@pytest.mark.parametrize("value", ["2", "-1"])
def test_label_outside_0_1(claims_csv: Path, value: str) -> None:
    edit_csv(claims_csv, {(7, "fraud"): value})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == [f"c.csv:7:fraud: label must be 0 or 1, got {value}"]


def test_event_time_in_the_future(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(2, "event_time"): "1900000000.5"})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=datetime.fromtimestamp(NOW, UTC))
    assert _messages(report) == [
        "c.csv:2:event_time: 1900000000.5 (2030-03-17T17:46:40Z) is in the future "
        "(now 1800000000.0 (2027-01-15T08:00:00Z))"
    ]


def test_event_time_before_1970(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(2, "event_time"): "-5.0"})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == ["c.csv:2:event_time: -5.0 is before 1970 (epoch seconds expected)"]


def test_naive_now_is_refused(claims_csv: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate(CLAIMS, claims_csv, now=datetime(2030, 1, 1))


@pytest.mark.parametrize("value", ["0", "-3"])
def test_record_id_must_be_positive(customers_csv: Path, value: str) -> None:
    edit_csv(customers_csv, {(2, "policy_id"): value})
    report = validate(CUSTOMERS, customers_csv, source_name="u.csv", now=NOW)
    assert _messages(report) == [f"u.csv:2:policy_id: record id must be a positive integer, got {value}"]


def test_missing_extra_and_repeated_columns(tmp_path: Path) -> None:
    claims = frames()[0]
    broken = claims.drop(columns=["fraud"]).rename(columns={"incident_hour": "Incident_Hour"})
    broken.insert(3, "num_witnesses", claims["num_witnesses"], allow_duplicates=True)
    path = tmp_path / "claims.csv"
    broken.to_csv(path, index=False)
    report = validate(CLAIMS, path, source_name="c.csv", now=NOW)
    assert set(_messages(report)) == {
        "c.csv:1:Incident_Hour: unexpected column 'Incident_Hour' (did you mean 'incident_hour'?); "
        "the claims feature group has no such column",
        "c.csv:1:num_witnesses: column appears more than once",
        "c.csv:1:incident_hour: missing column (required by the features layout of claims)",
        "c.csv:1:fraud: missing column (required by the features layout of claims)",
    }
    assert report.error_count == 4


def test_row_with_wrong_field_count_keeps_later_line_numbers(claims_csv: Path) -> None:
    replace_lines(claims_csv, {4: ["1,2,3"], 6: ["7,8", "9"]})
    edit_csv(claims_csv, {(9, "fraud"): "5"})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == [
        "c.csv:4:*: wrong number of fields: expected 31, found 3",
        "c.csv:6:*: wrong number of fields: expected 31, found 2",
        "c.csv:7:*: wrong number of fields: expected 31, found 1",
        "c.csv:9:fraud: label must be 0 or 1, got 5",
    ]
    assert report.rows == 301


def test_empty_line_is_one_error_and_keeps_later_line_numbers(claims_csv: Path) -> None:
    replace_lines(claims_csv, {3: ["", "", claims_csv.read_text().splitlines()[2]]})
    edit_csv(claims_csv, {(8, "incident_hour"): "x"})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert _messages(report) == [
        "c.csv:3:*: empty line",
        "c.csv:4:*: empty line",
        "c.csv:8:incident_hour: 'x' is not a number",
    ]


def test_header_only_file_has_no_data_rows(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text(",".join(CLAIMS.column_names) + "\n")
    report = validate(CLAIMS, path, source_name="c.csv", now=NOW)
    assert _messages(report) == ["c.csv:1:*: no data rows"]


def _validated_with_200_errors(claims_csv: Path) -> ValidationReport:
    """The report on claims with a bad hour and a bad label on each of lines 2-101."""
    edits = {(line, "incident_hour"): "x" for line in range(2, 102)}
    edits |= {(line, "fraud"): "9" for line in range(2, 102)}
    edit_csv(claims_csv, edits)
    return validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)


def test_counts_all_errors(claims_csv: Path) -> None:
    # Given 200 bad cells / When validated
    report = _validated_with_200_errors(claims_csv)
    # Then every error is counted, and the summary says how many are shown
    assert report.error_count == 200
    assert "200 errors in 300 claims rows, first 50 shown" in report.summary()


def test_keeps_first_50_messages_in_file_order(claims_csv: Path) -> None:
    # Given 200 bad cells / When validated
    report = _validated_with_200_errors(claims_csv)
    # Then the first 50 are kept, line by line and left to right
    assert len(report.errors) == MAX_REPORTED_ERRORS
    assert [(e.line, e.column) for e in report.errors[:3]] == [
        (2, "incident_hour"),
        (2, "fraud"),
        (3, "incident_hour"),
    ]
    assert report.errors[-1].line == 26


def test_raise_if_invalid_lists_the_summary(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(2, "fraud"): "3"})
    report = validate(CLAIMS, claims_csv, now=NOW)
    with pytest.raises(InvalidDataError, match="1 error in 300 claims rows") as error:
        report.raise_if_invalid()
    assert error.value.report is report


def test_parquet_positions_are_row_indices(tmp_path: Path) -> None:
    claims = frames()[0]
    claims["num_witnesses"] = claims["num_witnesses"].astype(float)
    claims.loc[3, "num_witnesses"] = 1.5
    claims.loc[5, "vehicle_claim"] = -1
    claims.loc[7, "event_time"] = np.nan
    path = tmp_path / "claims.parquet"
    claims.to_parquet(path, index=False)
    report = validate(CLAIMS, path, now=NOW)
    assert _messages(report) == [
        f"{path}:row 3:num_witnesses: 1.5 is not an integer (Integral feature)",
        f"{path}:row 5:vehicle_claim: -1 is out of range; allowed: >= 0",
        f"{path}:row 7:event_time: missing value (no column allows empty values)",
    ]


def test_valid_parquet_with_integral_floats_converts_to_int64(tmp_path: Path) -> None:
    claims = frames()[0]
    path = tmp_path / "claims.parquet"
    claims.astype({"incident_hour": float}).to_parquet(path, index=False)
    pd.testing.assert_frame_equal(validate(CLAIMS, path, now=NOW).raise_if_invalid(), claims)


def test_parquet_column_of_unexpected_type_is_a_column_error(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(frames()[1], preserve_index=False)
    index = table.column_names.index("customer_gender_male")
    table = table.set_column(index, "customer_gender_male", pa.array([True] * table.num_rows))
    path = tmp_path / "customers.parquet"
    pq.write_table(table, path)
    report = validate(CUSTOMERS, path, source_name="u.parquet", now=NOW)
    assert _messages(report) == [
        "u.parquet:schema:customer_gender_male: has type bool; expected numbers (Fractional feature)"
    ]


def test_dataframe_with_text_cells_is_checked_like_csv() -> None:
    claims = frames()[0].astype({"incident_hour": object})
    claims.loc[2, "incident_hour"] = "noon"
    report = validate(CLAIMS, claims, source_name="frame", now=NOW)
    assert _messages(report) == ["frame:row 2:incident_hour: 'noon' is not a number"]


def test_valid_dataframe_round_trips() -> None:
    claims = frames()[0]
    pd.testing.assert_frame_equal(validate(CLAIMS, claims, now=NOW).raise_if_invalid(), claims)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("claims.txt", b"x", "not a CSV or Parquet file (extension '.txt')"),
        ("claims.csv", b"", "empty file"),
        ("claims.csv", b"policy_id\n\xff\xfe\n", "cannot read as CSV"),
        ("claims.parquet", b"not parquet at all", "cannot read as Parquet"),
    ],
)
def test_unreadable_files_raise_a_typed_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=f"^{path}: {reason}".replace("(", r"\(").replace(")", r"\)")):
        validate(CLAIMS, path, now=NOW)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no such file") as error:
        validate(CLAIMS, tmp_path / "nope.csv", now=NOW)
    assert error.value.source == str(tmp_path / "nope.csv")


_BAD_TOKENS = st.sampled_from(["abc", "", "--1", "0x10", "1e", "NaN?"])
_LINES = st.integers(min_value=2, max_value=21)
_COLUMNS = st.sampled_from(CLAIMS.column_names)


def _validated_with_one_bad_cell(line: int, column: str, token: str) -> ValidationReport:
    """The report on 20 valid claims whose cell at (line, column) is replaced by ``token``."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_csvs(Path(folder), rows=20, seed=2)[0]
        edit_csv(path, {(line, column): token})
        return validate(CLAIMS, path, source_name="c.csv", now=NOW)


@settings(max_examples=40, deadline=None)
@given(line=_LINES, column=_COLUMNS, token=_BAD_TOKENS)
def test_any_single_bad_cell_is_reported_at_its_line_and_column(line: int, column: str, token: str) -> None:
    # Given one bad value in any cell / When validated
    report = _validated_with_one_bad_cell(line, column, token)
    # Then exactly one error is reported, at that cell
    assert report.error_count == 1
    (issue,) = report.errors
    assert (issue.line, issue.column) == (line, column)


@settings(max_examples=20, deadline=None)
@given(line=_LINES, column=_COLUMNS)
def test_a_comma_in_any_cell_is_reported_as_a_wrong_number_of_fields_on_its_line(
    line: int, column: str
) -> None:
    # Given "1,5" in any cell: the comma splits the row / When validated
    report = _validated_with_one_bad_cell(line, column, "1,5")
    # Then the whole line is reported, not a column
    assert _messages(report) == [f"c.csv:{line}:*: wrong number of fields: expected 31, found 32"]
