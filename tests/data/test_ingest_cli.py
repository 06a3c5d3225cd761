"""``python -m pipeline_def.ingest``: validate-first, exit codes, summaries, rejects file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from pipeline_def.config import REPO_ROOT
from pipeline_def.data.ingest.cli import main
from tests.data.data_fixtures import FakeSink, client_error, edit_csv, write_csvs


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


def test_dry_run_validates_and_sends_nothing(files: tuple[Path, Path]) -> None:
    code, out, _ = run(args(files, "--dry-run"), NeverSink())
    assert code == 0
    assert "120 claims rows valid" in out
    assert (
        "dry run: both files valid; would ingest into fraud-mlops-dev-claims, fraud-mlops-dev-customers"
        in out
    )


def test_invalid_file_exits_2_lists_errors_and_sends_nothing(files: tuple[Path, Path]) -> None:
    edit_csv(files[0], {(4, "fraud"): "7", (9, "incident_hour"): "late"})
    code, _, err = run(args(files), NeverSink())
    assert code == 2
    assert f"{files[0]}:4:fraud: label must be 0 or 1, got 7" in err.splitlines()
    assert f"{files[0]}:9:incident_hour: 'late' is not a number" in err.splitlines()
    assert "2 errors (at most 50 shown per file); nothing was ingested" in err


def test_more_than_50_errors_prints_50_and_the_total(files: tuple[Path, Path]) -> None:
    edit_csv(files[1], {(line, "customer_age"): "old" for line in range(2, 82)})
    code, _, err = run(args(files), NeverSink())
    assert code == 2
    assert sum(": 'old' is not a number" in line for line in err.splitlines()) == 50
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


def test_rejected_records_exit_1_and_land_in_the_rejects_file(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    def plan(policy_id: int, attempt: int) -> ClientError | None:
        if policy_id == 5:
            return client_error("ValidationError")
        if policy_id == 6 and attempt == 1:
            return client_error("ThrottlingException")
        return None

    rejects = tmp_path / "out" / "rejects.jsonl"
    code, out, err = run(args(files, "--rejects", str(rejects)), FakeSink(plan))
    assert code == 1
    assert "total: ingested 238 of 240, retried 2, rejected 2, not sent 0" in out
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
