"""The deployed ingestion path offline: a file lands, the ingestion definition runs, records land.

``python -m pipeline_def.local land`` copies the file under incoming/<group>/ of the local data
bucket, builds the S3 event EventBridge would deliver, resolves the rule's parameters from it and
runs the same definition, job file and package as the cloud, with PutRecord written to JSON Lines.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline_def import names
from pipeline_def.config import load_environment, read_context
from pipeline_def.local import __main__ as cli
from pipeline_def.local.landing import LandingOptions, land, object_created_event, resolve_path
from pipeline_def.local.run import ArgumentError
from tests.data.data_fixtures import edit_csv, write_raw_csvs

ROWS = 300


@pytest.fixture(scope="module")
def config():
    return load_environment(read_context(), "dev")


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("landing")
    claims, customers = write_raw_csvs(tmp_path_factory.mktemp("export"), rows=ROWS)
    before = claims.read_bytes()
    good = land(LandingOptions(file=claims, group="claims", workdir=workdir), lambda _line: None)
    customers_run = land(
        LandingOptions(file=customers, group="customers", workdir=workdir), lambda _line: None
    )
    bad_file = claims.with_name("claims-bad.csv")
    bad_file.write_bytes(before)
    edit_csv(bad_file, {(4, "incident_severity"): "Catastrophic"})
    bad = land(LandingOptions(file=bad_file, group="claims", workdir=workdir), lambda _line: None)
    return {
        "workdir": workdir,
        "good": good,
        "customers": customers_run,
        "bad": bad,
        "claims_file": claims,
        "claims_before": before,
    }


def _records(workdir: Path, group: str, config) -> list[dict]:
    path = workdir / "feature-store" / f"{config.prefix}-{group}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_valid_file_is_ingested_record_by_record(landed: dict, config) -> None:
    good = landed["good"]
    assert good["status"] == "Succeeded", good.get("failure_reason")
    assert good["ingested"] == ROWS
    records = _records(landed["workdir"], "claims", config)
    assert sorted(int(r["policy_id"]) for r in records) == list(range(1, ROWS + 1))


def test_the_put_runs_on_every_configured_instance_each_with_its_shard(landed: dict, config) -> None:
    hosts = sorted(instance["host"] for instance in landed["good"]["put"])
    assert hosts == [f"algo-{i + 1}" for i in range(config.ingestion.instance_count)]
    parts = [part for instance in landed["good"]["put"] for part in instance["parts"]]
    assert len(parts) == len(set(parts)) == config.ingestion.instance_count


def test_the_rules_parameters_come_from_the_s3_event(landed: dict, config) -> None:
    good = landed["good"]
    assert good["parameters"] == {
        "InputBucket": config.data_bucket_name,
        "InputKey": "incoming/claims/claims.csv",
        "LandedAt": good["event"]["time"],
        "FeatureGroup": "claims",
    }


def test_customers_land_in_the_customers_group(landed: dict, config) -> None:
    assert landed["customers"]["status"] == "Succeeded"
    assert len(_records(landed["workdir"], "customers", config)) == ROWS


def test_an_invalid_file_fails_the_run_at_the_rejection_step(landed: dict) -> None:
    bad = landed["bad"]
    assert bad["status"] == "Failed"
    statuses = {step["name"]: step["status"] for step in bad["steps"]}
    assert statuses[names.STEP_INGEST_PUT] == "NotRun"
    assert statuses[names.STEP_INGEST_QUARANTINE] == "Succeeded"
    assert statuses[names.STEP_INGEST_REJECTED] == "Failed"
    assert "has 1 errors; nothing was ingested" in bad["failure_reason"]


def test_an_invalid_file_moves_to_rejected_with_its_report_and_nothing_of_it_is_ingested(
    landed: dict, config
) -> None:
    bad = landed["bad"]
    assert bad["report"]["errors"][0].endswith(
        "claims-bad.csv:4:incident_severity: 'Catastrophic' is not an allowed incident_severity; "
        "allowed: Minor, Major, Totaled"
    )
    prefix = bad["rejected_prefix"].removeprefix("s3://")
    folder = landed["workdir"] / "s3" / prefix
    assert sorted(p.name for p in folder.iterdir()) == ["claims-bad.csv", "claims-bad.csv.report.json"]
    assert bad["landed_object_kept"] is False
    assert len(_records(landed["workdir"], "claims", config)) == ROWS  # only the good file's


def test_the_users_file_is_never_touched(landed: dict) -> None:
    assert landed["claims_file"].read_bytes() == landed["claims_before"]


def test_a_dynamic_path_the_event_lacks_is_an_error(config) -> None:
    event = object_created_event(
        "b", "incoming/claims/x.csv", 1, datetime(2026, 1, 1, tzinfo=UTC), "us-east-1"
    )
    assert resolve_path(event, "$.detail.object.key") == "incoming/claims/x.csv"
    assert resolve_path(event, "claims") == "claims"
    with pytest.raises(ArgumentError, match=r"no \$\.detail\.object\.etag"):
        resolve_path(event, "$.detail.object.etag")


@pytest.mark.parametrize(
    ("name", "group", "message"),
    [
        ("claims.csv", "policies", "--group must be one of claims, customers"),
        ("claims.txt", "claims", "ending in .csv or .parquet"),
        ("my claims.csv", "claims", "names of letters, digits"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, name: str, group: str, message: str, capsys
) -> None:
    source = tmp_path / name
    source.write_text("policy_id\n1\n")
    workdir = tmp_path / "w"
    code = cli.main(["land", "--file", str(source), "--group", group, "--workdir", str(workdir)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not workdir.exists()


def test_a_missing_file_is_refused(tmp_path: Path, capsys) -> None:
    code = cli.main(
        ["land", "--file", str(tmp_path / "nope.csv"), "--group", "claims", "--workdir", str(tmp_path / "w")]
    )
    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_a_folder_the_local_run_did_not_make_is_refused(tmp_path: Path, capsys) -> None:
    claims, _ = write_raw_csvs(tmp_path / "export", rows=10)
    workdir = tmp_path / "mine"
    workdir.mkdir()
    (workdir / "notes.txt").write_text("keep me")
    code = cli.main(["land", "--file", str(claims), "--group", "claims", "--workdir", str(workdir)])
    assert code == 2
    assert "was not made by a local run" in capsys.readouterr().err
    assert sorted(p.name for p in workdir.iterdir()) == ["notes.txt"]


def test_the_cli_exits_1_for_a_rejected_file_and_0_for_an_ingested_one(tmp_path: Path) -> None:
    claims, _ = write_raw_csvs(tmp_path / "export", rows=20)
    workdir = tmp_path / "w"
    assert cli.main(["land", "--file", str(claims), "--group", "claims", "--workdir", str(workdir)]) == 0
    edit_csv(claims, {(2, "policy_id"): "-5"})
    assert cli.main(["land", "--file", str(claims), "--group", "claims", "--workdir", str(workdir)]) == 1
