"""Event time: epoch seconds or ISO-8601 with a zone; other units named; files stamped on request."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline_def.data.validation import ValidationReport, parse_event_time_option, validate
from pipeline_def.schema import CLAIMS, CUSTOMERS
from tests.data.data_fixtures import NOW, edit_csv, frames, write_csvs

#: 2024-06-01T10:00:00Z
SECONDS = 1_717_236_000


@pytest.fixture
def claims_csv(tmp_path: Path) -> Path:
    return write_csvs(tmp_path)[0]


def messages(report: ValidationReport) -> list[str]:
    return [str(issue) for issue in report.errors]


def event_time_of(path: Path, line: int, value: str) -> float:
    """The event time validation reads from ``value`` written on ``line``."""
    edit_csv(path, {(line, "event_time"): value})
    return float(validate(CLAIMS, path, now=NOW).raise_if_invalid().loc[line - 2, "event_time"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2024-06-01T10:00:00Z", SECONDS),
        ("2024-06-01T12:00:00+02:00", SECONDS),
        ("2024-06-01 05:00:00-0500", SECONDS),
        ("2024-06-01T10:00:00.250Z", SECONDS + 0.25),
        ("1717236000", SECONDS),
        ("1717236000.25", SECONDS + 0.25),
    ],
)
def test_iso_8601_with_a_zone_and_epoch_seconds_are_the_same_instant(
    claims_csv: Path, text: str, seconds: float
) -> None:
    assert event_time_of(claims_csv, 5, text) == seconds


@pytest.mark.parametrize(
    ("value", "unit", "divisor"),
    [
        ("1717236000000", "milliseconds", "1,000"),
        ("1717236000000000", "microseconds", "1,000,000"),
        ("1717236000000000000", "nanoseconds", "1,000,000,000"),
    ],
)
def test_epoch_values_in_smaller_units_are_errors_naming_the_unit(
    claims_csv: Path, value: str, unit: str, divisor: str
) -> None:
    # Given an epoch time in the wrong unit on line 4
    edit_csv(claims_csv, {(4, "event_time"): value})
    # When validated
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    # Then the cell is reported at its line with the unit it looks like and the instant it would be
    assert messages(report) == [
        f"c.csv:4:event_time: {float(value)!r} looks like epoch {unit} (2024-06-01T10:00:00Z); "
        f"event_time takes epoch seconds (divide by {divisor}) or ISO-8601 with a zone"
    ]


def test_a_millisecond_value_among_iso_times_is_named_too(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(2, "event_time"): "2024-06-01T10:00:00Z", (3, "event_time"): "1717236000000"})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert [(i.line, "milliseconds" in i.message) for i in report.errors] == [(3, True)]


def test_iso_time_without_a_zone_is_an_error(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(6, "event_time"): "2024-06-01T10:00:00"})
    report = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)
    assert messages(report) == [
        "c.csv:6:event_time: '2024-06-01T10:00:00' has no time zone; add Z or +hh:mm (2024-06-01T10:00:00Z)"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "'yesterday' is not epoch seconds or ISO-8601 with a zone"),
        ("2024-02-30T10:00:00Z", "'2024-02-30T10:00:00Z' is not a valid date and time"),
    ],
)
def test_other_text_is_an_error(claims_csv: Path, value: str, message: str) -> None:
    edit_csv(claims_csv, {(2, "event_time"): value})
    assert messages(validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW)) == [
        f"c.csv:2:event_time: {message}"
    ]


def test_an_iso_time_in_the_future_is_an_error(claims_csv: Path) -> None:
    edit_csv(claims_csv, {(2, "event_time"): "2030-01-01T00:00:00Z"})
    (issue,) = validate(CLAIMS, claims_csv, source_name="c.csv", now=NOW).errors
    assert "is in the future" in issue.message


def test_a_file_without_event_time_is_stamped_when_asked(tmp_path: Path) -> None:
    # Given a customers file without an event_time column
    path = tmp_path / "customers.csv"
    frames()[1].drop(columns=["event_time"]).to_csv(path, index=False)
    # When validated with a stamp
    report = validate(CUSTOMERS, path, now=NOW, event_time=SECONDS)
    # Then every row carries the stamp and the summary says so
    assert set(report.raise_if_invalid()["event_time"]) == {SECONDS}
    assert "event_time stamped 2024-06-01T10:00:00Z" in report.summary()


def test_a_file_without_event_time_and_no_stamp_says_how_to_stamp_it(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    frames()[1].drop(columns=["event_time"]).to_csv(path, index=False)
    report = validate(CUSTOMERS, path, source_name="u.csv", now=NOW)
    assert messages(report) == [
        "u.csv:1:event_time: missing column (required by the features layout of customers; "
        "or stamp every row with --event-time now|<ISO-8601>)"
    ]


def test_a_file_with_event_time_keeps_its_own_values_when_a_stamp_is_given(claims_csv: Path) -> None:
    report = validate(CLAIMS, claims_csv, now=NOW, event_time=SECONDS)
    assert report.raise_if_invalid()["event_time"].tolist() == frames()[0]["event_time"].tolist()
    assert report.stamped_event_time is None


def test_a_parquet_timestamp_with_a_zone_is_accepted(tmp_path: Path) -> None:
    claims = frames()[0]
    table = pa.Table.from_pandas(claims, preserve_index=False)
    stamps = pa.array([datetime.fromtimestamp(SECONDS, UTC)] * len(claims), type=pa.timestamp("ms", tz="UTC"))
    table = table.set_column(table.column_names.index("event_time"), "event_time", stamps)
    pq.write_table(table, tmp_path / "claims.parquet")
    frame = validate(CLAIMS, tmp_path / "claims.parquet", now=NOW).raise_if_invalid()
    assert set(frame["event_time"]) == {SECONDS}


def test_the_event_time_option_takes_now() -> None:
    assert parse_event_time_option("now", NOW) == NOW


def test_the_event_time_option_takes_iso_with_a_zone() -> None:
    assert parse_event_time_option("2024-06-01T12:00:00+02:00", NOW) == SECONDS


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2024-06-01T10:00:00", "has no time zone"),
        ("2031-01-01T00:00:00Z", "is in the future"),
        ("1717236000", "expected 'now' or ISO-8601 with a zone"),
    ],
)
def test_the_event_time_option_refuses_what_it_cannot_place(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_event_time_option(text, NOW)
