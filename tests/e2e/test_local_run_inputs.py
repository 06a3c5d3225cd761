"""The local run on data as an insurer has it (raw files, stamped times, unmatched policies, few
frauds), and on a registry that cannot be set up."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from pipeline_def import names
from pipeline_def.data.synthetic import write
from pipeline_def.local import __main__ as cli
from pipeline_def.local.registry import LocalCloud, LocalRegistry
from pipeline_def.local.run import LocalRun, RunOptions, run

pytestmark = pytest.mark.long_module(8)


def raw_files_without_two_customers(folder: Path, rows: int) -> tuple[Path, Path]:
    """Raw synthetic files; customers lose their event_time column and policies 1 and 2."""
    claims, customers = write(folder, rows, seed=7, fmt="raw")
    frame = pd.read_csv(customers, dtype=str, keep_default_na=False)
    frame.drop(columns=["event_time"]).iloc[2:].to_csv(customers, index=False)
    return claims, customers


@pytest.fixture(scope="module")
def raw_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("raw")
    claims, customers = raw_files_without_two_customers(folder / "data", 2000)
    options = RunOptions(
        workdir=folder / "run", claims=claims, customers=customers, event_time="now", allow_unmatched=True
    )
    return run(options)


def test_raw_files_with_a_stamped_event_time_run_to_a_decision(raw_run: dict) -> None:
    assert raw_run["status"] == "Succeeded"


def test_run_json_records_rows_read_joined_and_dropped(raw_run: dict) -> None:
    rows = raw_run["rows"]
    assert (rows["claims"]["read"], rows["customers"]["read"], rows["joined"]) == (2000, 1998, 1998)
    assert (rows["claims"]["dropped"], rows["customers"]["dropped"]) == (2, 0)


def test_the_joined_rows_are_the_rows_the_pipeline_split(raw_run: dict) -> None:
    # Given the dataset the data step wrote / Then its splits add up to the joined policies
    evaluation = json.loads(Path(raw_run["artifacts"]["evaluation"]).read_text())["dataset"]
    metadata = next(Path(raw_run["definition"]).parent.glob("jobs/FraudDataProcess/**/dataset.json"))
    splits = json.loads(metadata.read_text())["splits"]
    assert sum(split["rows"] for split in splits.values()) == raw_run["rows"]["joined"]
    assert evaluation["test_rows"] == splits["test"]["rows"]


def test_unmatched_policies_stop_the_cli_before_anything_runs(tmp_path: Path, capsys) -> None:
    # Given files where two claims have no customer
    claims, customers = raw_files_without_two_customers(tmp_path / "data", 60)
    # When run without --allow-unmatched
    argv = ["run", "--claims", str(claims), "--customers", str(customers), "--event-time", "now"]
    code = cli.main([*argv, "--workdir", str(tmp_path / "run"), "--quiet"])
    # Then it exits 2 naming the first unmatched rows and the way out, and nothing ran
    err = capsys.readouterr().err
    assert code == 2
    assert f"{claims}:2:policy_id: policy_id 1 has no record in {customers}" in err
    assert "pass --allow-unmatched" in err
    assert not (tmp_path / "run" / "run.json").exists()


def test_a_bad_event_time_exits_2_before_the_workdir_is_touched(tmp_path: Path, capsys) -> None:
    code = cli.main(
        ["run", "--event-time", "2024-06-01T10:00:00", "--workdir", str(tmp_path / "run"), "--quiet"]
    )
    assert code == 2
    assert "has no time zone" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_too_few_test_frauds_fail_the_run_at_the_data_step_with_the_reason(tmp_path: Path) -> None:
    # Given prod's minTestPositives (100) and 2,000 policies (about 9 test frauds)
    summary = run(RunOptions(env="prod", workdir=tmp_path, rows=2000, seed=7))
    # Then the first step fails with the reason and nothing is tuned or registered
    statuses = {step["name"]: step["status"] for step in summary["steps"]}
    assert summary["status"] == "Failed"
    assert statuses[names.STEP_PROCESS] == "Failed"
    assert statuses[names.STEP_TUNING] == "NotStarted"
    assert "fewer than pipeline.minTestPositives (100)" in summary["failure_reason"]


def test_a_registry_that_could_not_be_set_up_fails_register_model_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given moto refusing to create the model package group while the first jobs run
    def refused(self: LocalRun, cloud: LocalCloud) -> LocalRegistry:
        error = {"Error": {"Code": "ResourceLimitExceeded", "Message": "no more groups"}}
        raise ClientError(error, "CreateModelPackageGroup")

    monkeypatch.setattr(LocalRun, "make_registry", refused)
    # When the run reaches RegisterModel
    summary = run(RunOptions(workdir=tmp_path, rows=2000, seed=7))
    # Then that step fails with why, the run says so, and nothing claims a package was made
    statuses = {step["name"]: step["status"] for step in summary["steps"]}
    assert summary["status"] == "Failed"
    assert statuses[f"{names.STEP_REGISTER}-RegisterModel"] == "Failed"
    assert "the local registry (moto) could not be set up" in summary["failure_reason"]
    assert "ResourceLimitExceeded" in summary["failure_reason"]
    assert summary["model_package_arn"] is None
    assert summary["registry"]["packages_in_group"] is None
    assert "no more groups" in summary["registry"]["setup_error"]
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "Failed"
