"""``python -m pipeline_def.ingest``: validate-first, exit codes, summaries, rejects file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from pipeline_def.config import REPO_ROOT
from pipeline_def.data.ingest.cli import main
from tests.data.data_fixtures import (
    FakeSink,
    client_error,
    edit_csv,
    replace_lines,
    write_csvs,
    write_raw_csvs,
)


class NeverSink:
    """Fails the test if anything is sent."""

    def put_record(self, feature_group_name: str, record: list[dict[str, str]]) -> None:
        raise AssertionError(f"nothing may be sent, got a record for {feature_group_name}")


def run(argv: list[str], sink: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, sink=sink, sleep=lambda _s: None, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_csvs(tmp_path, rows=120)


def args(files: tuple[Path, Path], *extra: str) -> list[str]:
    return ["--env", "dev", "--claims", str(files[0]), "--customers", str(files[1]), *extra]


def test_dry_run_validates(files: tuple[Path, Path]) -> None:
    # Given valid files / When a dry run is asked for
    code, out, _ = run(args(files, "--dry-run"), NeverSink())
    # Then it succeeds, having validated the rows
    assert code == 0
    assert "120 claims rows valid" in out


def test_dry_run_sends_nothing(files: tuple[Path, Path]) -> None:
    # Given valid files / When a dry run is asked for, with a sink that fails on any record
    code, out, _ = run(args(files, "--dry-run"), NeverSink())
    # Then it succeeds, saying where it would have ingested
    assert code == 0
    assert (
        "dry run: both files valid; would ingest into fraud-mlops-dev-claims, fraud-mlops-dev-customers"
        in out
    )


def _ingest_two_bad_cells(files: tuple[Path, Path]) -> tuple[int, str]:
    """Claims with a bad label on line 4 and a bad hour on line 9, ingested: (exit code, stderr)."""
    edit_csv(files[0], {(4, "fraud"): "7", (9, "incident_hour"): "late"})
    code, _, err = run(args(files), NeverSink())
    return code, err


def test_invalid_file_exits_2(files: tuple[Path, Path]) -> None:
    # Given a claims file with two bad cells / When ingesting
    code, _ = _ingest_two_bad_cells(files)
    # Then the exit code says the data is invalid
    assert code == 2


def test_invalid_file_lists_errors(files: tuple[Path, Path]) -> None:
    # Given a claims file with two bad cells / When ingesting
    _, err = _ingest_two_bad_cells(files)
    # Then each error has its own line, at its file:line:column
    assert f"{files[0]}:4:fraud: label must be 0 or 1, got 7" in err.splitlines()
    assert f"{files[0]}:9:incident_hour: 'late' is not a number" in err.splitlines()


def test_invalid_file_sends_nothing(files: tuple[Path, Path]) -> None:
    # Given a claims file with two bad cells / When ingesting, with a sink that fails on any record
    _, err = _ingest_two_bad_cells(files)
    # Then nothing is sent, and the summary says so
    assert "2 errors (at most 50 shown per file); nothing was ingested" in err


def _ingest_80_bad_ages(files: tuple[Path, Path]) -> tuple[int, str]:
    """Customers with a bad age on lines 2-81, ingested: (exit code, stderr)."""
    edit_csv(files[1], {(line, "customer_age"): "old" for line in range(2, 82)})
    code, _, err = run(args(files), NeverSink())
    return code, err


def test_more_than_50_errors_prints_50(files: tuple[Path, Path]) -> None:
    # Given 80 bad cells in one file / When ingesting
    code, err = _ingest_80_bad_ages(files)
    # Then it fails, printing the first 50 only
    assert code == 2
    assert sum(": 'old' is not a number" in line for line in err.splitlines()) == 50


def test_more_than_50_errors_prints_the_total(files: tuple[Path, Path]) -> None:
    # Given 80 bad cells in one file / When ingesting
    _, err = _ingest_80_bad_ages(files)
    # Then the ones not shown and the total are counted
    assert f"... and 30 more in {files[1]}" in err
    assert "80 errors" in err


def test_unknown_environment_exits_2(files: tuple[Path, Path]) -> None:
    code, _, err = run(["--env", "qa", "--claims", str(files[0]), "--customers", str(files[1])], NeverSink())
    assert code == 2
    assert "unknown environment 'qa'" in err


def test_unreadable_file_exits_2_naming_it(files: tuple[Path, Path], tmp_path: Path) -> None:
    text = tmp_path / "claims.txt"
    text.write_text("hello")
    code, _, err = run(["--env", "dev", "--claims", str(text), "--customers", str(files[1])], NeverSink())
    assert code == 2
    assert f"error: {text}: not a CSV or Parquet file" in err


def test_ingests_both_files_into_the_env_feature_groups(files: tuple[Path, Path], tmp_path: Path) -> None:
    sink = FakeSink()
    code, out, err = run(args(files, "--workers", "3", "--rejects", str(tmp_path / "r.jsonl")), sink)
    assert code == 0
    groups = {key[0] for key in sink.store}
    assert groups == {"fraud-mlops-dev-claims", "fraud-mlops-dev-customers"}
    assert len(sink.store) == 240
    assert "total: ingested 240 of 240, retried 0, rejected 0, not sent 0" in out
    assert "records (" in err  # the progress line
    assert not (tmp_path / "r.jsonl").exists()


def _ingest_with_rejections(files: tuple[Path, Path], tmp_path: Path) -> tuple[int, str, str, Path]:
    """Policy 5 invalid in both groups, policy 6 throttled once: (exit code, stdout, stderr, rejects file)."""

    def plan(policy_id: int, attempt: int) -> ClientError | None:
        if policy_id == 5:
            return client_error("ValidationError")
        if policy_id == 6 and attempt == 1:
            return client_error("ThrottlingException")
        return None

    rejects = tmp_path / "out" / "rejects.jsonl"
    code, out, err = run(args(files, "--rejects", str(rejects)), FakeSink(plan))
    return code, out, err, rejects


def test_rejected_records_exit_1(files: tuple[Path, Path], tmp_path: Path) -> None:
    # Given a sink that rejects policy 5 and throttles policy 6 once / When ingesting
    code, out, _, _ = _ingest_with_rejections(files, tmp_path)
    # Then the run ends with exit code 1 and totals that count the rejects
    assert code == 1
    assert "total: ingested 238 of 240, retried 2, rejected 2, not sent 0" in out


def test_rejected_records_land_in_the_rejects_file(files: tuple[Path, Path], tmp_path: Path) -> None:
    # Given a sink that rejects policy 5 and throttles policy 6 once / When ingesting
    _, _, err, rejects = _ingest_with_rejections(files, tmp_path)
    # Then each rejected record is in the rejects file with its group, id and line, and err says where
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert sorted((e["feature_group"], e["record_id"], e["line"]) for e in entries) == [
        ("fraud-mlops-dev-claims", "5", 6),
        ("fraud-mlops-dev-customers", "5", 6),
    ]
    assert f"2 rejected records written to {rejects}" in err


def test_fatal_error_stops_before_the_second_group(files: tuple[Path, Path]) -> None:
    def plan(_policy_id: int, _attempt: int) -> ClientError:
        return client_error("ResourceNotFound")

    code, out, err = run(args(files, "--workers", "1"), FakeSink(plan))
    assert code == 1
    assert "total: ingested 0 of 240, retried 0, rejected 0, not sent 240" in out
    assert "stopped: ResourceNotFound" in err


def test_workers_out_of_range_is_a_usage_error(files: tuple[Path, Path]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args(files, "--workers", "0"), sink=NeverSink())
    assert exit_info.value.code == 2


def test_module_entry_point_runs(files: tuple[Path, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline_def.ingest", *args(files, "--dry-run")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "dry run: both files valid" in result.stdout


def test_raw_files_put_the_same_records_as_their_encoded_form(tmp_path: Path) -> None:
    # Given the same 50 policies as an insurer's raw export and as encoded features
    raw = write_raw_csvs(tmp_path / "raw", rows=50)
    encoded = write_csvs(tmp_path / "features", rows=50)
    sinks = {"raw": FakeSink(), "features": FakeSink()}
    # When each is ingested (auto-detected)
    for name, files in (("raw", raw), ("features", encoded)):
        code, _, _ = run(args(files, "--rejects", str(tmp_path / f"{name}.jsonl")), sinks[name])
        assert code == 0
    # Then Feature Store receives exactly the same records
    assert sinks["raw"].store == sinks["features"].store


def test_files_without_event_time_are_stamped_with_the_given_time(tmp_path: Path) -> None:
    claims, customers = write_csvs(tmp_path, rows=10)
    for path in (claims, customers):
        frame = pd.read_csv(path).drop(columns=["event_time"])
        frame.to_csv(path, index=False)
    sink = FakeSink()
    code, out, _ = run(args((claims, customers), "--event-time", "2024-06-01T10:00:00Z"), sink)
    assert code == 0
    assert {values["event_time"] for values in sink.store.values()} == {"1717236000.0"}
    assert "event_time stamped 2024-06-01T10:00:00Z" in out


def test_a_bad_event_time_option_exits_2_before_reading_or_sending(files: tuple[Path, Path]) -> None:
    code, _, err = run(args(files, "--event-time", "yesterday"), NeverSink())
    assert code == 2
    assert "error: --event-time 'yesterday': expected 'now' or ISO-8601 with a zone" in err


def _ingest_two_unmatched_claims(files: tuple[Path, Path]) -> tuple[int, str]:
    """Customers without the policies on lines 5 and 6 (policies 4 and 5), ingested: (exit, stderr)."""
    replace_lines(files[1], {5: [], 6: []})
    code, _, err = run(args(files), NeverSink())
    return code, err


def test_policies_in_only_one_file_exit_2_with_counts(files: tuple[Path, Path]) -> None:
    # Given a customers file missing the policies on lines 5 and 6 (policies 4 and 5)
    # When ingesting
    code, err = _ingest_two_unmatched_claims(files)
    # Then nothing is sent; the unmatched policies are counted per file, with the way out
    assert code == 2
    assert f"error: 2 policies in {files[0]} have no customers record and 0 in {files[1]}" in err
    assert "pass --allow-unmatched" in err


def test_policies_in_only_one_file_are_shown_by_their_first_examples(files: tuple[Path, Path]) -> None:
    # Given a customers file missing the policies on lines 5 and 6 (policies 4 and 5)
    # When ingesting
    _, err = _ingest_two_unmatched_claims(files)
    # Then the unmatched claims are pointed at by file and line
    assert f"{files[0]}:5:policy_id: policy_id 4 has no record in {files[1]}" in err
    assert f"{files[0]}:6:policy_id: policy_id 5 has no record in {files[1]}" in err


def _ingest_allowing_two_unmatched_claims(
    files: tuple[Path, Path], tmp_path: Path
) -> tuple[int, str, FakeSink]:
    """Customers without policies 4 and 5, ingested with --allow-unmatched: (exit, stdout, sink)."""
    replace_lines(files[1], {5: [], 6: []})
    sink = FakeSink()
    code, out, _ = run(args(files, "--allow-unmatched", "--rejects", str(tmp_path / "r.jsonl")), sink)
    return code, out, sink


def test_allow_unmatched_ingests_them(files: tuple[Path, Path], tmp_path: Path) -> None:
    # Given two claims whose policies have no customers record
    # When ingesting with --allow-unmatched
    code, _, sink = _ingest_allowing_two_unmatched_claims(files, tmp_path)
    # Then it succeeds, sending every row: the 120 claims, the two unmatched included, and 118 customers
    assert code == 0
    assert len(sink.store) == 120 + 118


def test_allow_unmatched_reports_the_rows_dropped(files: tuple[Path, Path], tmp_path: Path) -> None:
    # Given two claims whose policies have no customers record
    # When ingesting with --allow-unmatched
    _, out, _ = _ingest_allowing_two_unmatched_claims(files, tmp_path)
    # Then the summary says which rows the join dropped
    assert "rows: 120 claims and 118 customers read; 118 policies joined; dropped 2 claims" in out


def test_the_rows_read_and_joined_are_printed(files: tuple[Path, Path]) -> None:
    code, out, _ = run(args(files, "--dry-run"), NeverSink())
    assert code == 0
    assert (
        "rows: 120 claims and 120 customers read; 120 policies joined; dropped 0 claims and 0 customers rows"
        in out
    )


def test_raw_files_read_as_features_exit_2(tmp_path: Path) -> None:
    raw = write_raw_csvs(tmp_path, rows=10)
    code, _, err = run(args(raw, "--input-format", "features"), NeverSink())
    assert code == 2
    assert "unexpected column 'incident_type'" in err
