"""Ingest when things go wrong: the rejects path, one error for every record, a silent endpoint."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from botocore.exceptions import ReadTimeoutError

from pipeline_def.data.ingest.cli import main
from pipeline_def.data.ingest.runner import Ingester, Progress, RejectsPathError, RejectsWriter, RetryPolicy
from pipeline_def.schema import CLAIMS
from tests.data import silent_ingestion
from tests.data.data_fixtures import FakeSink, client_error, frames, write_csvs

GROUP = "fraud-mlops-dev-claims"


class NeverSink:
    """Fails the test if anything is sent."""

    def put_record(self, feature_group_name: str, record: list[dict[str, str]]) -> None:
        raise AssertionError(f"nothing may be sent, got a record for {feature_group_name}")


def run(argv: list[str], sink: object | None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, sink=sink, sleep=lambda _s: None, stdout=out, stderr=err)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def args(folder: Path, *extra: str) -> list[str]:
    claims, customers = write_csvs(folder, rows=60)
    return ["--env", "dev", "--claims", str(claims), "--customers", str(customers), *extra]


# --------------------------------------------------------------------------- the rejects path


def test_a_rejects_path_that_is_a_folder_exits_2_before_sending(tmp_path: Path) -> None:
    code, _, err = run(args(tmp_path, "--rejects", str(tmp_path)), NeverSink())
    assert code == 2
    assert f"error: --rejects {tmp_path}: is a folder; give a file path" in err


def test_an_unwritable_rejects_path_exits_2_before_sending(tmp_path: Path) -> None:
    # Given a rejects path whose parent is a regular file (no one can create a file under it)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    # When ingesting / Then nothing is sent and the path is named with the reason
    code, _, err = run(args(tmp_path, "--rejects", str(blocker / "rejects.jsonl")), NeverSink())
    assert code == 2
    assert f"error: --rejects {blocker / 'rejects.jsonl'}: cannot be created" in err


def test_an_existing_rejects_file_is_never_overwritten(tmp_path: Path) -> None:
    # Given the rejects of an earlier run
    earlier = tmp_path / "rejects.jsonl"
    earlier.write_text('{"earlier": true}\n')
    # When ingesting with the same path / Then it refuses before sending and the file is intact
    code, _, err = run(args(tmp_path, "--rejects", str(earlier)), NeverSink())
    assert code == 2
    assert "already exists" in err
    assert earlier.read_text() == '{"earlier": true}\n'


def test_a_clean_run_removes_the_rejects_file_and_the_folders_it_made(tmp_path: Path) -> None:
    code, _, _ = run(args(tmp_path, "--rejects", str(tmp_path / "a" / "b" / "r.jsonl")), FakeSink())
    assert code == 0
    assert not (tmp_path / "a").exists()


def test_closing_removes_only_what_the_writer_created(tmp_path: Path) -> None:
    # Given a folder that existed before, holding someone's file
    (tmp_path / "keep.txt").write_text("mine")
    writer = RejectsWriter(tmp_path / "rejects.jsonl")
    # When opened and closed without a reject
    writer.open()
    writer.close()
    # Then its own empty file is gone and everything else stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_opening_twice_the_same_path_is_refused(tmp_path: Path) -> None:
    RejectsWriter(tmp_path / "r.jsonl").open()
    with pytest.raises(RejectsPathError, match="already exists"):
        RejectsWriter(tmp_path / "r.jsonl").open()


# --------------------------------------------------------------------------- one error for all


def test_the_first_records_all_failing_with_one_validation_error_stop_the_run(tmp_path: Path) -> None:
    # Given an endpoint that refuses every record with the same non-retryable error
    def plan(_pid: int, _n: int) -> Exception:
        return client_error("ValidationException")

    # When ingesting 60 claims and 60 customers
    code, out, err = run(
        args(tmp_path, "--workers", "1", "--rejects", str(tmp_path / "r.jsonl")), FakeSink(plan)
    )
    # Then it stops after the first 10 with that error (and the few already in flight),
    # instead of rejecting all 120 one by one
    assert code == 1
    assert "stopped: the first 10 records all failed with ValidationException" in err
    rejected, not_sent = map(int, re.search(r"total: .*rejected (\d+), not sent (\d+)", out).groups())
    assert "total: ingested 0 of 120" in out
    assert rejected < 20
    assert not_sent == 120 - rejected


def test_different_errors_among_the_first_records_do_not_stop_the_run(tmp_path: Path) -> None:
    claims = frames(30)[0]

    def plan(pid: int, _n: int) -> Exception:
        return client_error("ValidationException" if pid % 2 else "ValidationError")

    ingester = Ingester(FakeSink(plan), RejectsWriter(tmp_path / "r.jsonl"), workers=1)
    stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")
    assert (stats.rejected, stats.not_sent, stats.fatal) == (30, 0, None)


def test_one_error_after_records_got_in_does_not_stop_the_run(tmp_path: Path) -> None:
    claims = frames(40)[0]

    def plan(pid: int, _n: int) -> Exception | None:
        return client_error("ValidationException") if pid > 5 else None

    ingester = Ingester(FakeSink(plan), RejectsWriter(tmp_path / "r.jsonl"), workers=1)
    stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")
    assert (stats.ingested, stats.rejected, stats.fatal) == (5, 35, None)


# --------------------------------------------------------------------------- a silent endpoint


def test_a_timeout_before_any_record_got_in_stops_the_run_at_once(tmp_path: Path) -> None:
    claims = frames(20)[0]

    def plan(_pid: int, _n: int) -> Exception:
        return ReadTimeoutError(endpoint_url="http://127.0.0.1:1")

    sink = FakeSink(plan)
    ingester = Ingester(
        sink, RejectsWriter(tmp_path / "r.jsonl"), workers=1, policy=RetryPolicy(max_attempts=8)
    )
    stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")
    assert stats.fatal is not None
    assert "no answer within the per-call timeout" in stats.fatal
    assert sum(sink.attempts.values()) == 1


def test_the_heartbeat_says_how_long_the_endpoint_has_been_silent(tmp_path: Path) -> None:
    # Given a sink that takes 0.3 s per record and a heartbeat every 0.1 s
    class SlowSink:
        def put_record(self, feature_group_name: str, record: list[dict[str, str]]) -> None:
            time.sleep(0.3)

    stream = io.StringIO()
    ingester = Ingester(
        SlowSink(),
        RejectsWriter(tmp_path / "r.jsonl"),
        workers=1,
        progress=Progress(stream),
        heartbeat_seconds=0.1,
    )
    # When two records are sent
    ingester.ingest(CLAIMS, GROUP, frames(2)[0], source="claims.csv")
    # Then heartbeat lines appeared while nothing finished
    assert "claims: 0/2 records; no answer for 0 s" in stream.getvalue()


def test_an_endpoint_that_never_answers_fails_within_30_seconds(tmp_path: Path) -> None:
    # Given credentials that sign requests and an endpoint that accepts connections and stays silent
    # When `python -m pipeline_def.ingest` sends to it with the default per-call timeout (the run
    # starts with the session, see tests/data/silent_ingestion.py)
    run = silent_ingestion.result(tmp_path)
    # Then the run stops in time, says why, and counts every record as not sent
    assert run.seconds < 30
    assert run.code == 1
    assert "stopped: no answer within the per-call timeout" in run.stderr
    assert "no answer for 5 s" in run.stderr  # the heartbeat, before the 10 s timeout
    assert f"total: ingested 0 of {2 * silent_ingestion.ROWS}" in run.stdout


def test_the_timeout_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args(tmp_path, "--timeout", "600"), sink=NeverSink())
    assert exit_info.value.code == 2


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "exit codes: 0 all ingested; 1 some rejected or not sent; 2 bad input, nothing sent" in (
        capsys.readouterr().out.replace("\n", " ").replace("  ", " ")
    )
