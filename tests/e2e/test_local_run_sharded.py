"""The 2-instance layout of the definition, run end to end: parts, sharded distributed training, transform.

The dev environment with ``trainingInstanceCount: 2`` and ``transformInstanceCount: 2`` (what
prod deploys): FraudDataProcess writes two train and two test parts, every tuning job trains on
two local hosts (each its train shard, both the whole validation split, one model through
XGBoost's collective), the transform writes one output per test part, and the steps after it
read the parts in order, to the same kind of decision as the one-instance run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline_def import names
from pipeline_def.config import load_environment, read_context
from pipeline_def.local import run as local_run
from pipeline_def.local.run import RunOptions, run

pytestmark = pytest.mark.long_module(6)

ROWS = 2000
HOSTS = 2


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    config = load_environment(read_context(), "dev")
    pipeline = dataclasses.replace(
        config.pipeline, training_instance_count=HOSTS, transform_instance_count=HOSTS
    )
    config = dataclasses.replace(config, pipeline=pipeline)
    workdir = tmp_path_factory.mktemp("sharded")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local_run, "load_environment", lambda _context, _env: config)
        return run(RunOptions(workdir=workdir, rows=ROWS, seed=7)), workdir


def run_folder(workdir: Path, *parts: str) -> Path:
    (run_root,) = (workdir / "s3").glob("*/fraud-detection/runs/*")
    return run_root.joinpath(*parts)


def test_the_run_succeeds_with_every_step_of_the_true_branch(sharded: tuple[dict[str, Any], Path]) -> None:
    summary, _ = sharded
    statuses = {s["name"]: s["status"] for s in summary["steps"]}
    assert summary["status"] == "Succeeded"
    assert statuses.pop(names.STEP_FAIL) == "NotRun"
    assert set(statuses.values()) == {"Succeeded"}


@pytest.mark.parametrize("split", ["train", "test"])
def test_data_process_writes_one_part_per_instance(sharded: tuple[dict[str, Any], Path], split: str) -> None:
    files = sorted(p.name for p in run_folder(sharded[1], "dataset", split).glob("*.csv"))
    assert files == [f"{split}-part-{i:05d}.csv" for i in range(HOSTS)]


def test_every_training_job_ran_on_two_hosts_with_disjoint_train_shards(
    sharded: tuple[dict[str, Any], Path],
) -> None:
    manifests = sorted((sharded[1] / "jobs").glob("fraud-hpo-*/hosts.json"))
    assert manifests  # one per training job of the tuning step
    for manifest in manifests:
        hosts = json.loads(manifest.read_text())
        assert sorted(hosts) == ["algo-1", "algo-2"]
        shards = [set(h["train"]) for h in hosts.values()]
        assert shards[0].isdisjoint(shards[1])
        assert shards[0] | shards[1] == {f"train-part-{i:05d}.csv" for i in range(HOSTS)}
        assert all(h["validation"] == ["validation.csv"] for h in hosts.values())
        assert sorted(p.name for p in manifest.parent.glob("algo-*.log")) == ["algo-1.log", "algo-2.log"]


def test_the_transform_scores_every_test_row_once_per_part(sharded: tuple[dict[str, Any], Path]) -> None:
    outputs = sorted(run_folder(sharded[1], "transform").glob("*.out"))
    assert [p.name for p in outputs] == [f"test-part-{i:05d}.csv.out" for i in range(HOSTS)]
    tests = sorted(run_folder(sharded[1], "dataset", "test").glob("*.csv"))
    for output, test in zip(outputs, tests, strict=True):
        assert len(pd.read_csv(output, header=None)) == len(pd.read_csv(test, header=None))


def test_the_drift_baseline_pairs_every_test_row_with_its_score(sharded: tuple[dict[str, Any], Path]) -> None:
    (baseline,) = run_folder(sharded[1], "drift-baseline").glob("**/baseline.json")
    document = json.loads(baseline.read_text())
    test_rows = sum(
        len(pd.read_csv(p, header=None)) for p in run_folder(sharded[1], "dataset", "test").glob("*.csv")
    )
    assert document["rows"] == test_rows
