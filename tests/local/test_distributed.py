"""Training on several local instances is XGBoost's distributed training, not N separate models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from pipeline_def.local.distributed import Cluster, read_csv_files

pytestmark = pytest.mark.long_module(4)

#: More bins than training rows: every value is a cut, so the merged sketches of the hosts are the
#: exact cuts of all the data and the distributed model must equal the one-process model. (With
#: the default 256 bins, merged sketches pick slightly different cuts: a different, equally good model.)
PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "tree_method": "hist",
    "seed": 0,
    "nthread": 1,
    "max_bin": 4096,
}


def write_rows(path: Path, rows: np.ndarray) -> Path:
    np.savetxt(path, rows, delimiter=",", fmt="%.6g")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("distributed")
    rng = np.random.default_rng(11)
    features = rng.normal(size=(3000, 6))
    labels = (features[:, 0] + 0.5 * features[:, 1] + rng.normal(scale=0.8, size=3000) > 0.8).astype(float)
    rows = np.column_stack([labels, features])
    shards = [
        write_rows(root / f"train-part-0000{i}.csv", part)
        for i, part in enumerate(np.array_split(rows[:2400], 2))
    ]
    return {"train": shards, "validation": [write_rows(root / "validation.csv", rows[2400:])]}


@pytest.fixture(scope="module")
def trained(
    data: dict[str, list[Path]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[xgb.Booster, str, Path]:
    job_dir = tmp_path_factory.mktemp("job")
    shares = [{"train": [data["train"][host]], "validation": data["validation"]} for host in range(2)]
    with Cluster(2) as cluster:
        booster, evaluation = cluster.train(
            PARAMS, num_round=30, early_stopping_rounds=None, host_channels=shares, job_dir=job_dir
        )
    return booster, evaluation, job_dir


def test_two_hosts_each_on_its_shard_learn_the_model_of_all_the_data(
    data: dict[str, list[Path]], trained: tuple[xgb.Booster, str, Path]
) -> None:
    # Given one model trained on both shards in one process
    union = xgb.DMatrix(*read_csv_files(data["train"]))
    alone = xgb.train(PARAMS, union, num_boost_round=30)
    validation = xgb.DMatrix(read_csv_files(data["validation"])[0])
    # Then the two hosts together predict what it predicts
    np.testing.assert_allclose(trained[0].predict(validation), alone.predict(validation), atol=1e-5)


def test_a_model_of_one_shard_alone_would_differ(data: dict[str, list[Path]], trained) -> None:
    # The check above can fail: a host that trained on its shard only gives other predictions
    half = xgb.train(PARAMS, xgb.DMatrix(*read_csv_files(data["train"][:1])), num_boost_round=30)
    validation = xgb.DMatrix(read_csv_files(data["validation"])[0])
    assert np.max(np.abs(half.predict(validation) - trained[0].predict(validation))) > 1e-3


def test_the_job_reports_the_last_validation_auc_and_keeps_each_hosts_log(trained) -> None:
    _, evaluation, job_dir = trained
    assert 0.5 < float(evaluation.split("validation-auc:")[1]) <= 1.0
    assert sorted(p.name for p in job_dir.glob("algo-*.log")) == ["algo-1.log", "algo-2.log"]


def test_the_cluster_trains_several_jobs_in_a_row(data: dict[str, list[Path]], tmp_path: Path) -> None:
    shares = [{"train": [data["train"][host]], "validation": data["validation"]} for host in range(2)]
    with Cluster(2) as cluster:
        first = cluster.train(
            PARAMS, num_round=5, early_stopping_rounds=None, host_channels=shares, job_dir=tmp_path
        )
        second = cluster.train(
            PARAMS, num_round=5, early_stopping_rounds=None, host_channels=shares, job_dir=tmp_path
        )
    assert json.loads(first[0].save_raw("json")) == json.loads(second[0].save_raw("json"))
