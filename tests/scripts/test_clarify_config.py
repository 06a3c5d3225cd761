"""FraudClarifyConfig (``clarify_config.py``): Clarify's analysis_config.json from the step inputs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline_def.schema import LABEL, SENSITIVE_FACET, dataset_columns
from pipeline_def.scripts import clarify_config
from tests.scripts.script_fixtures import headered_dataset, run_standalone

THRESHOLD = 0.137


def _inputs(root: Path, threshold: Any = THRESHOLD) -> dict[str, Path]:
    """The three processing inputs as the upstream steps write them."""
    dirs = {name: root / name for name in ("dataset", "train", "evaluation", "output")}
    for folder in dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    headered_dataset(20, seed=1).to_csv(dirs["dataset"] / "test_with_header.csv", index=False)
    headered_dataset(50, seed=2).to_csv(dirs["train"] / "train.csv", index=False, header=False)
    evaluation = {"decision_threshold": {"value": threshold, "selected_on": "validation"}}
    (dirs["evaluation"] / "evaluation.json").write_text(json.dumps(evaluation), encoding="utf-8")
    return dirs


def _argv(dirs: dict[str, Path], *extra: str) -> list[str]:
    return [
        "--model-name", "fraud-model-abc", "--instance-type", "ml.m5.xlarge",
        "--dataset-dir", str(dirs["dataset"]), "--train-dir", str(dirs["train"]),
        "--evaluation-dir", str(dirs["evaluation"]), "--output-dir", str(dirs["output"]), *extra,
    ]  # fmt: skip


def _run(dirs: dict[str, Path], *extra: str) -> dict[str, Any]:
    assert clarify_config.main(_argv(dirs, *extra)) == 0
    return json.loads((dirs["output"] / "analysis_config.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], dict[str, Any]]:
    dirs = _inputs(tmp_path_factory.mktemp("clarify"))
    return dirs, _run(dirs)


@pytest.fixture(scope="module")
def config(written: tuple[dict[str, Path], dict[str, Any]]) -> dict[str, Any]:
    return written[1]


def test_config_has_clarifys_top_level_keys(config: dict[str, Any]) -> None:
    assert set(config) == {
        "dataset_type", "label", "label_values_or_threshold", "facet", "group_variable",
        "probability_threshold", "methods", "predictor",
    }  # fmt: skip


def test_no_headers_because_clarify_takes_them_from_the_datasets_header_row(
    written: tuple[dict[str, Path], dict[str, Any]], config: dict[str, Any]
) -> None:
    # Clarify reads a CSV with a header row or with config headers, never both
    dataset = next((written[0]["dataset"]).glob("*.csv"))
    assert "headers" not in config
    assert tuple(dataset.read_text().splitlines()[0].split(",")) == dataset_columns()


def test_label_is_the_schemas_label_by_default(config: dict[str, Any]) -> None:
    # Given no --label, When the config is written, Then the label is the schema's
    assert config["label"] == LABEL


def test_favourable_outcome_is_not_fraud_by_default(config: dict[str, Any]) -> None:
    # Given no label value, When the config is written, Then label 0 (genuine) is the favourable outcome
    assert config["label_values_or_threshold"] == [0]


def test_facet_is_the_sensitive_facet_with_value_one_by_default(config: dict[str, Any]) -> None:
    # Given no --facet, When the config is written, Then the schema's sensitive facet = 1 is analysed
    assert config["facet"] == [{"name_or_index": SENSITIVE_FACET, "value_or_threshold": [1]}]


def test_probability_threshold_comes_from_evaluation_json(config: dict[str, Any]) -> None:
    assert config["probability_threshold"] == THRESHOLD


def test_methods_request_bias_shap_and_report(config: dict[str, Any]) -> None:
    assert set(config["methods"]) == {"pre_training_bias", "post_training_bias", "shap", "report"}


def test_shap_baseline_has_one_value_per_feature(config: dict[str, Any]) -> None:
    baseline = config["methods"]["shap"]["baseline"]
    assert (len(baseline), len(baseline[0])) == (1, len(dataset_columns()) - 1)


def test_shap_baseline_is_the_training_medians(
    written: tuple[dict[str, Path], dict[str, Any]], config: dict[str, Any]
) -> None:
    train = np.loadtxt(written[0]["train"] / "train.csv", delimiter=",")
    assert config["methods"]["shap"]["baseline"][0] == np.median(train[:, 1:], axis=0).tolist()


def test_predictor_names_the_model_and_csv_io(config: dict[str, Any]) -> None:
    assert config["predictor"] == {
        "model_name": "fraud-model-abc", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
        "content_type": "text/csv", "accept_type": "text/csv",
    }  # fmt: skip


def test_output_bytes_are_deterministic(
    tmp_path: Path, written: tuple[dict[str, Path], dict[str, Any]]
) -> None:
    first = (written[0]["output"] / "analysis_config.json").read_bytes()
    again = _inputs(tmp_path)
    _run(again)
    assert (again["output"] / "analysis_config.json").read_bytes() == first


def test_output_is_sorted_indented_and_newline_terminated(
    written: tuple[dict[str, Path], dict[str, Any]],
) -> None:
    text = (written[0]["output"] / "analysis_config.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_missing_facet_is_an_error_listing_the_headers(tmp_path: Path) -> None:
    args = clarify_config.parse_args(_argv(_inputs(tmp_path), "--facet", "customer_gender_unknown"))
    with pytest.raises(
        clarify_config.ClarifyConfigError, match=r"--facet 'customer_gender_unknown'.*customer_age"
    ):
        clarify_config.run(args)


def test_missing_group_variable_is_an_error(tmp_path: Path) -> None:
    args = clarify_config.parse_args(_argv(_inputs(tmp_path), "--group-variable", "zip_code"))
    with pytest.raises(clarify_config.ClarifyConfigError, match="--group-variable 'zip_code'"):
        clarify_config.run(args)


def test_label_that_is_not_the_first_column_is_an_error(tmp_path: Path) -> None:
    args = clarify_config.parse_args(_argv(_inputs(tmp_path), "--label", "customer_age"))
    with pytest.raises(clarify_config.ClarifyConfigError, match="must be the first dataset column"):
        clarify_config.run(args)


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5, "0.3", None])
def test_threshold_outside_the_open_unit_interval_is_an_error(tmp_path: Path, threshold: Any) -> None:
    args = clarify_config.parse_args(_argv(_inputs(tmp_path, threshold)))
    with pytest.raises(clarify_config.ClarifyConfigError, match=r"not within \(0, 1\)"):
        clarify_config.run(args)


def test_evaluation_without_threshold_is_an_error(tmp_path: Path) -> None:
    dirs = _inputs(tmp_path)
    (dirs["evaluation"] / "evaluation.json").write_text("{}", encoding="utf-8")
    with pytest.raises(clarify_config.ClarifyConfigError, match=r"no decision_threshold\.value"):
        clarify_config.run(clarify_config.parse_args(_argv(dirs)))


def test_train_csv_with_other_feature_count_is_an_error(tmp_path: Path) -> None:
    dirs = _inputs(tmp_path)
    (dirs["train"] / "train.csv").write_text("0,1,2\n1,3,4\n", encoding="utf-8")
    with pytest.raises(clarify_config.ClarifyConfigError, match="2 feature columns"):
        clarify_config.run(clarify_config.parse_args(_argv(dirs)))


def test_dataset_dir_without_csv_fails_naming_the_directory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dirs = _inputs(tmp_path)
    (dirs["dataset"] / "test_with_header.csv").unlink()
    caplog.set_level(logging.ERROR)
    code = clarify_config.main(_argv(dirs))
    assert code == 1
    assert f"--dataset-dir {dirs['dataset']}: no .csv file found" in caplog.text


def test_facet_value_is_passed_as_an_integer_when_integral(tmp_path: Path) -> None:
    config = _run(_inputs(tmp_path), "--facet-value", "1.0")
    [value] = config["facet"][0]["value_or_threshold"]
    assert type(value) is int


def test_script_runs_alone_without_this_repository(tmp_path: Path) -> None:
    completed = run_standalone(Path(clarify_config.__file__), tmp_path, "--help")
    assert completed.returncode == 0, completed.stderr


def test_without_a_predicted_label_dataset_clarify_scores_through_the_model(config: dict[str, Any]) -> None:
    assert not {"predicted_label_dataset_uri", "predicted_label_headers", "predicted_label"} & set(config)


def test_the_transform_output_becomes_clarifys_predicted_label_dataset(tmp_path: Path) -> None:
    # Given the batch transform's output prefix
    config = _run(_inputs(tmp_path), "--predicted-label-dataset-uri", "s3://bucket/runs/x/transform")
    # Then post-training bias reads those scores, and the predictor stays for SHAP
    assert config["predicted_label_dataset_uri"] == "s3://bucket/runs/x/transform"
    assert config["predicted_label_headers"] == ["score"]
    assert config["predicted_label"] == "score"
    assert config["predictor"]["model_name"]


def test_shap_baseline_reads_every_part_of_a_sharded_train_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 5, size=(101, 4)).astype(float)
    for index, chunk in enumerate(np.array_split(rows, 3)):
        np.savetxt(tmp_path / f"train-part-0000{index}.csv", chunk, delimiter=",")
    assert clarify_config.shap_baseline(tmp_path, 3) == np.median(rows[:, 1:], axis=0).tolist()
