"""FraudEvalBestModel (``evaluate.py``): metrics, threshold choice, model loading, evaluation.json."""

from __future__ import annotations

import io
import json
import logging
import math
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_def.scripts import evaluate
from tests.scripts.script_fixtures import (
    classification_data,
    native_model_bytes,
    run_standalone,
    train_booster,
    write_model_archive,
    write_split,
)


def _brute_force_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting one half, over all pairs."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    return evaluate.ScoreCounts.of(labels, scores).auc()


def _point_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    return evaluate.metrics_at(evaluate.ScoreCounts.of(labels, scores), threshold)


# --------------------------------------------------------------------------- AUC


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_auc_equals_pairwise_count_with_ties(seed: int) -> None:
    rng = np.random.RandomState(seed)
    labels = (rng.rand(120) < 0.3).astype(int)
    scores = np.round(rng.rand(120) * 0.5 + 0.3 * labels, 1)  # one decimal: many ties
    assert _auc(labels, scores) == pytest.approx(_brute_force_auc(labels, scores), abs=1e-12)


def test_auc_of_constant_scores_is_one_half() -> None:
    assert _auc(np.array([0, 1, 0, 1]), np.full(4, 0.3)) == 0.5


def test_auc_with_a_single_class_is_an_error_not_nan() -> None:
    with pytest.raises(evaluate.EvaluationError, match="positive and one negative"):
        _auc(np.zeros(5, dtype=int), np.linspace(0, 1, 5))


def test_average_precision_of_a_perfect_ranking_is_one() -> None:
    counts = evaluate.ScoreCounts.of(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert counts.average_precision() == 1.0


# --------------------------------------------------------------------------- threshold


def test_threshold_is_the_midpoint_of_the_best_cut() -> None:
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.2, 0.4, 0.6, 0.8])
    assert evaluate.choose_threshold(labels, scores, beta=2.0) == pytest.approx(0.5)


def test_threshold_ties_go_to_the_highest_cut() -> None:
    # Flagging only 0.9 (TP 1, FN 1) and flagging down to 0.7 (TP 2, FP 8) both give F2 = 5/9.
    labels = np.array([1] + [0] * 8 + [1, 0])
    scores = np.array([0.9] + [0.8] * 8 + [0.7, 0.1])
    assert evaluate.choose_threshold(labels, scores, beta=2.0) == pytest.approx(0.85)


def test_larger_beta_lowers_the_threshold_to_catch_more_fraud() -> None:
    labels = np.array([1, 0, 0, 1, 0, 0, 0])
    scores = np.array([0.9, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    assert evaluate.choose_threshold(labels, scores, 4.0) < evaluate.choose_threshold(labels, scores, 0.5)


def test_identical_validation_scores_are_an_error() -> None:
    with pytest.raises(evaluate.EvaluationError, match="identical"):
        evaluate.choose_threshold(np.array([0, 1]), np.array([0.5, 0.5]), beta=2.0)


def test_threshold_is_chosen_on_validation_not_test() -> None:
    validation = (np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.7, 0.8]))  # best cut 0.45
    test = (np.array([0, 0, 1, 1]), np.array([0.1, 0.3, 0.35, 0.9]))  # best cut on test: 0.325
    report = evaluate.build_report(validation, test, beta=2.0, resamples=5, seed=0)
    chosen = report["decision_threshold"]["value"]
    assert evaluate.choose_threshold(*test, beta=2.0) == pytest.approx(0.325)  # the data differ...
    assert chosen == pytest.approx(0.45)  # ...and the report uses validation's cut


# --------------------------------------------------------------------------- report


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    rng = np.random.RandomState(5)
    validation_labels = (rng.rand(400) < 0.1).astype(int)
    test_labels = (rng.rand(600) < 0.1).astype(int)
    validation = (validation_labels, np.clip(rng.rand(400) * 0.6 + 0.4 * validation_labels, 0, 1))
    test = (test_labels, np.clip(rng.rand(600) * 0.6 + 0.4 * test_labels, 0, 1))
    return evaluate.build_report(validation, test, beta=2.0, resamples=50, seed=1)


def test_confusion_matrix_counts_add_up_to_the_test_rows(report: dict[str, Any]) -> None:
    matrix = report["binary_classification_metrics"]["confusion_matrix"]
    assert sum(matrix[a][p] for a in "01" for p in "01") == report["dataset"]["test_rows"]


def test_confusion_matrix_outer_key_is_the_actual_class(report: dict[str, Any]) -> None:
    matrix = report["binary_classification_metrics"]["confusion_matrix"]
    positive_rows = round(report["dataset"]["test_positive_rate"] * report["dataset"]["test_rows"])
    assert matrix["1"]["0"] + matrix["1"]["1"] == positive_rows


def test_recall_matches_the_confusion_matrix(report: dict[str, Any]) -> None:
    metrics = report["binary_classification_metrics"]
    matrix = metrics["confusion_matrix"]
    assert metrics["recall"]["value"] == matrix["1"]["1"] / (matrix["1"]["0"] + matrix["1"]["1"])


def _roc(report: dict[str, Any]) -> dict[str, Any]:
    return report["binary_classification_metrics"]["receiver_operating_characteristic_curve"]


def test_curves_are_downsampled(report: dict[str, Any]) -> None:
    # Given the report's ROC curve
    roc = _roc(report)
    # Then it has at most 201 points
    assert len(roc["true_positive_rates"]) <= 201


def test_curves_span_the_unit_square(report: dict[str, Any]) -> None:
    # Given the report's ROC curve
    roc = _roc(report)
    # Then it runs from (0, 0) to (1, 1)
    assert (roc["false_positive_rates"][0], roc["true_positive_rates"][0]) == (0.0, 0.0)
    assert (roc["false_positive_rates"][-1], roc["true_positive_rates"][-1]) == (1.0, 1.0)


def test_precision_recall_curve_ends_at_full_recall(report: dict[str, Any]) -> None:
    curve = report["binary_classification_metrics"]["precision_recall_curve"]
    assert len(curve["precisions"]) == len(curve["recalls"]) <= 201
    assert curve["recalls"][-1] == 1.0


def test_curve_points_keep_both_ends() -> None:
    # Given a curve of 1000 points / When it is downsampled
    points = evaluate.curve_points(1000)
    # Then 201 are kept, the first and the last among them
    assert (len(points), points[0], points[-1]) == (201, 0, 999)


def test_curve_points_stay_deterministic() -> None:
    # Given a curve of 1000 points / When it is downsampled twice
    points = evaluate.curve_points(1000)
    # Then the same points are kept
    assert np.array_equal(points, evaluate.curve_points(1000))


def _bootstrap_std() -> dict[str, float]:
    """Bootstrap standard deviations (30 resamples, seed 9) of weakly informative scores of 300 rows."""
    labels, _ = classification_data(300, seed=3)
    scores = np.random.RandomState(3).rand(300) * 0.5 + 0.3 * labels
    return evaluate.bootstrap_std(labels, scores, 0.5, resamples=30, seed=9)


def test_bootstrap_spread_is_positive() -> None:
    # Given scores that rank imperfectly / When bootstrapped
    spread = _bootstrap_std()
    # Then the AUC varies across resamples
    assert spread["auc"] > 0


def test_bootstrap_spread_is_reproducible() -> None:
    # Given the same scores and seed / When bootstrapped twice
    first = _bootstrap_std()
    # Then both spreads are equal
    assert first == _bootstrap_std()


def _brute_force_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """The point metrics from their definitions, row by row: the oracle for the counted ones."""
    flagged = scores > threshold
    tp, fp = int(np.sum(flagged & (labels == 1))), int(np.sum(flagged & (labels == 0)))
    fn, tn = int(np.sum(~flagged & (labels == 1))), int(np.sum(~flagged & (labels == 0)))
    precision_at, recall_gain = [], []
    for cut in sorted(set(scores.tolist()), reverse=True):  # every distinct score as a cut, highest first
        at_or_above = scores >= cut
        hits = int(np.sum(at_or_above & (labels == 1)))
        precision_at.append(hits / int(np.sum(at_or_above)))
        recall_gain.append(hits / int(np.sum(labels == 1)))

    def f(beta: float) -> float:
        denominator = (1 + beta**2) * tp + beta**2 * fn + fp
        return (1 + beta**2) * tp / denominator if denominator else 0.0

    return {
        "accuracy": (tp + tn) / len(labels),
        "auc": _brute_force_auc(labels, scores),
        "f0_5": f(0.5),
        "f1": f(1.0),
        "f2": f(2.0),
        "false_negative_rate": fn / (tp + fn),
        "false_positive_rate": fp / (fp + tn),
        "pr_auc": float(np.sum(np.diff(np.r_[0.0, recall_gain]) * np.array(precision_at))),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn),
        "true_negative_rate": tn / (fp + tn),
        "true_positive_rate": tp / (tp + fn),
    }


#: Scores from a few levels: most rows share their score with others, as a shallow model's do.
tied_rows = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0])),
    min_size=2,
    max_size=60,
).filter(lambda rows: {label for label, _ in rows} == {0, 1})


@settings(max_examples=150, deadline=None)
@given(rows=tied_rows, threshold=st.sampled_from([0.0, 0.07, 0.5, 0.92, 1.0]))
def test_point_metrics_equal_their_definitions(rows: list[tuple[int, float]], threshold: float) -> None:
    labels, scores = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    expected = _brute_force_metrics(labels, scores, threshold)
    assert _point_metrics(labels, scores, threshold) == pytest.approx(expected, abs=1e-12)


#: Enough rows and score levels for numpy's pairwise sums (blocks of 8) to round differently
#: when a resample's arrays gain or lose an entry: equal values then prove equal arrays.
many_level_rows = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 60).map(lambda level: level / 60)),
    min_size=30,
    max_size=200,
).filter(lambda rows: {label for label, _ in rows} == {0, 1})


@settings(max_examples=100, deadline=None)
@given(rows=st.one_of(tied_rows, many_level_rows), seed=st.integers(0, 2**32 - 1))
def test_each_bootstrap_draw_is_the_metrics_of_its_resampled_rows_bit_for_bit(
    rows: list[tuple[int, float]], seed: int
) -> None:
    # Given rows with many tied scores, and the resamples the seed draws (positives, then negatives)
    labels, scores = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    rng = np.random.RandomState(seed)
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    resampled = []
    for _ in range(5):
        drawn = np.r_[rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))]
        resampled.append(_point_metrics(labels[drawn], scores[drawn], 0.5))
    # When bootstrapped with that seed (counted into the full set's score groups, never re-sorted)
    draws = evaluate.bootstrap_draws(labels, scores, 0.5, resamples=5, seed=seed)
    # Then every draw is exactly the metric of its resample, computed from the resampled rows
    for name, values in draws.items():
        assert values.tolist() == [metrics[name] for metrics in resampled], name


def test_auc_of_no_rows_is_an_error_not_nan() -> None:
    with pytest.raises(evaluate.EvaluationError, match="positive and one negative"):
        _auc(np.array([], dtype=int), np.array([], dtype=float))


class _BoosterPredicting:
    """A model that predicts the given scores, whatever the features."""

    def __init__(self, scores: list[float]) -> None:
        self.scores = np.array(scores)

    def num_features(self) -> int:
        return 2

    def predict(self, _matrix: object) -> np.ndarray:
        return self.scores


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_model_predicting_a_non_finite_score_is_an_error_naming_the_split(bad: float) -> None:
    booster = _BoosterPredicting([0.1, bad, 0.7])
    with pytest.raises(evaluate.EvaluationError, match="NaN or infinite score for the test split"):
        evaluate.predict(booster, np.zeros((3, 2)), "the test")  # type: ignore[arg-type]


def test_equal_infinite_scores_are_one_tie() -> None:
    labels, scores = np.array([0, 1, 0, 1]), np.array([math.inf, math.inf, 0.3, 0.7])
    assert _auc(labels, scores) == _brute_force_auc(labels, scores) == 0.625


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize(
    ("successes", "trials", "lower", "upper"),
    [
        (7, 10, 0.3968, 0.8922),  # Wilson (1927), as tabulated by Newcombe (1998)
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),  # Newcombe (1998) example: 81/263
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, trials: int, lower: float, upper: float
) -> None:
    low, high = evaluate.wilson_interval(successes, trials)
    assert (round(low, 4), round(high, 4)) == (lower, upper)


def test_a_proportion_with_no_trials_has_the_uninformative_interval() -> None:
    # Given precision when nothing is flagged (0 of 0) / Then the interval is all of [0, 1]
    assert evaluate.wilson_interval(0, 0) == (0.0, 1.0)


def test_recall_on_twenty_frauds_is_as_uncertain_as_the_issue_says() -> None:
    # Given the public sample's ~20 test frauds and a recall of 0.30 (standard deviation ~0.11)
    low, high = evaluate.wilson_interval(6, 20)
    # Then the 95% interval spans about +-0.2 around it
    assert (round(low, 2), round(high, 2)) == (0.15, 0.52)


def test_hanley_mcneil_matches_its_papers_example() -> None:
    # Hanley & McNeil (1982), table 2: AUC 0.80 on 50 abnormal and 50 normal cases: SE 0.0442
    low, high = evaluate.hanley_mcneil_interval(0.80, 50, 50)
    assert (high - low) / 2 / evaluate.Z_95 == pytest.approx(0.0442, abs=0.0005)


def test_hanley_mcneil_narrows_with_more_positives() -> None:
    narrow = evaluate.hanley_mcneil_interval(0.9, 200, 5000)
    wide = evaluate.hanley_mcneil_interval(0.9, 20, 5000)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_intervals_are_reproducible_for_a_seed() -> None:
    labels, _ = classification_data(300, seed=3)
    scores = np.random.RandomState(3).rand(300) * 0.5 + 0.3 * labels
    test, validation = (labels, scores), (labels, scores)
    first = evaluate.build_report(validation, test, beta=2.0, resamples=20, seed=4)
    assert first == evaluate.build_report(validation, test, beta=2.0, resamples=20, seed=4)


# --------------------------------------------------------------------------- inputs


def test_directory_without_csv_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(evaluate.EvaluationError, match=f"--test-dir {tmp_path}: no .csv"):
        evaluate.read_split(tmp_path, "test")


def test_single_class_split_is_an_error(tmp_path: Path) -> None:
    write_split(tmp_path, "test", np.zeros(5, dtype=int), np.ones((5, 2)))
    with pytest.raises(evaluate.EvaluationError, match="only label 0 present"):
        evaluate.read_split(tmp_path, "test")


def test_model_dir_without_archive_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(evaluate.EvaluationError, match=f"--model-dir {tmp_path}: no model.tar.gz"):
        evaluate.load_booster(tmp_path)


def test_non_numeric_feature_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "test.csv").write_text("0,1.5\n1,abc\n", encoding="utf-8")
    with pytest.raises(evaluate.EvaluationError, match="every feature must be numeric"):
        evaluate.read_split(tmp_path, "test")


def test_empty_csv_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "test.csv").write_text("", encoding="utf-8")
    with pytest.raises(evaluate.EvaluationError, match=r"test\.csv: the file is empty"):
        evaluate.read_split(tmp_path, "test")


def test_archive_without_xgboost_model_member_is_an_error(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("model.json"), io.BytesIO(b""))
    with pytest.raises(evaluate.EvaluationError, match="no regular file named 'xgboost-model'"):
        evaluate.load_booster(tmp_path)


def test_pickled_booster_from_older_containers_loads(tmp_path: Path) -> None:
    labels, features = classification_data(200, seed=1)
    booster = train_booster(labels, features)
    write_model_archive(tmp_path, pickle.dumps(booster))
    loaded = evaluate.load_booster(tmp_path)
    assert np.allclose(
        evaluate.predict(loaded, features), booster.predict(evaluate.xgboost.DMatrix(features))
    )


def test_a_pickle_is_unpickled_before_xgboost_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels, features = classification_data(200, seed=1)
    booster = train_booster(labels, features)
    write_model_archive(tmp_path, pickle.dumps(booster))

    def refuse_slowly(self: evaluate.xgboost.Booster, raw: bytearray) -> None:
        raise AssertionError("XGBoost was asked to load a pickle")

    monkeypatch.setattr(evaluate.xgboost.Booster, "load_model", refuse_slowly)
    assert isinstance(evaluate.load_booster(tmp_path), evaluate.xgboost.Booster)


def test_bytes_that_only_begin_as_a_pickle_are_an_error(tmp_path: Path) -> None:
    write_model_archive(tmp_path, b"\x80\x04 neither a pickle nor a model")
    with pytest.raises(evaluate.EvaluationError, match="neither an XGBoost model nor a pickle"):
        evaluate.load_booster(tmp_path)


def test_garbage_model_member_is_an_error(tmp_path: Path) -> None:
    write_model_archive(tmp_path, b"not a model at all")
    with pytest.raises(evaluate.EvaluationError, match="neither an XGBoost model nor a pickle"):
        evaluate.load_booster(tmp_path)


def test_feature_count_mismatch_is_an_error(tmp_path: Path) -> None:
    labels, features = classification_data(100, seed=2)
    booster = train_booster(labels, features)
    with pytest.raises(evaluate.EvaluationError, match="expects 4 features, the CSV has 3"):
        evaluate.predict(booster, features[:, :3])


# --------------------------------------------------------------------------- main, end to end


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("evaluate")
    labels, features = classification_data(600, seed=11)
    booster = train_booster(labels[:300], features[:300])
    write_model_archive(root / "model", native_model_bytes(booster, root))
    write_split(root / "validation", "validation", labels[300:450], features[300:450])
    write_split(root / "test", "test", labels[450:], features[450:])
    argv = [
        "--model-dir", str(root / "model"), "--validation-dir", str(root / "validation"),
        "--test-dir", str(root / "test"), "--output-dir", str(root / "evaluation"), "--bootstrap", "20",
    ]  # fmt: skip
    code = evaluate.main(argv)
    assert code == 0
    return json.loads((root / "evaluation" / "evaluation.json").read_text())


@pytest.mark.parametrize("metric", ["auc", "recall"])
def test_condition_step_paths_hold_floats_in_unit_interval(evaluation: dict[str, Any], metric: str) -> None:
    value = evaluation["binary_classification_metrics"][metric]["value"]
    assert isinstance(value, float)
    assert 0.0 <= value <= 1.0


def test_evaluation_has_the_model_monitor_top_level_layout(evaluation: dict[str, Any]) -> None:
    assert set(evaluation) == {"binary_classification_metrics", "decision_threshold", "dataset"}


def test_every_point_metric_has_value_standard_deviation_and_interval(evaluation: dict[str, Any]) -> None:
    metrics = evaluation["binary_classification_metrics"]
    expected = {"value", "standard_deviation", "confidence_interval"}
    assert all(set(metrics[name]) == expected for name in evaluate.POINT_METRICS)


def test_every_interval_is_95_percent(evaluation: dict[str, Any]) -> None:
    # Given the evaluation's point metrics
    metrics = evaluation["binary_classification_metrics"]
    # Then each confidence interval is at the 95 % level
    for name in evaluate.POINT_METRICS:
        assert metrics[name]["confidence_interval"]["level"] == 0.95, name


def test_every_interval_holds_its_value(evaluation: dict[str, Any]) -> None:
    # Given the evaluation's point metrics
    metrics = evaluation["binary_classification_metrics"]
    # Then each confidence interval lies in [0, 1] and contains the metric's value
    for name in evaluate.POINT_METRICS:
        bounds = metrics[name]["confidence_interval"]
        assert 0.0 <= bounds["lower"] <= metrics[name]["value"] <= bounds["upper"] <= 1.0, name


def test_each_metric_names_the_method_of_its_interval(evaluation: dict[str, Any]) -> None:
    methods = {
        name: evaluation["binary_classification_metrics"][name]["confidence_interval"]["method"]
        for name in ("recall", "precision", "accuracy", "auc", "f2", "pr_auc")
    }
    assert methods == {
        "recall": "wilson",
        "precision": "wilson",
        "accuracy": "wilson",
        "auc": "hanley_mcneil",
        "f2": "bootstrap_percentile",
        "pr_auc": "bootstrap_percentile",
    }


def test_the_dataset_block_counts_the_test_frauds(evaluation: dict[str, Any]) -> None:
    dataset = evaluation["dataset"]
    matrix = evaluation["binary_classification_metrics"]["confusion_matrix"]
    assert dataset["test_positives"] == matrix["1"]["0"] + matrix["1"]["1"]
    assert dataset["test_positives"] + dataset["test_negatives"] == dataset["test_rows"]


def test_decision_threshold_records_where_it_was_chosen(evaluation: dict[str, Any]) -> None:
    # Given the evaluation's decision threshold
    threshold = evaluation["decision_threshold"]
    # Then it was chosen on the validation split, not the test split
    assert threshold["selected_on"] == "validation"


def test_decision_threshold_records_how_it_was_chosen(evaluation: dict[str, Any]) -> None:
    # Given the evaluation's decision threshold
    threshold = evaluation["decision_threshold"]
    # Then its rule is max F2, and its value a score strictly between 0 and 1
    assert threshold["rule"].startswith("max F2")
    assert 0 < threshold["value"] < 1


def test_dataset_block_counts_the_rows(evaluation: dict[str, Any]) -> None:
    assert (evaluation["dataset"]["test_rows"], evaluation["dataset"]["validation_rows"]) == (150, 150)


def test_trained_model_beats_chance(evaluation: dict[str, Any]) -> None:
    assert evaluation["binary_classification_metrics"]["auc"]["value"] > 0.7


def test_every_number_in_the_file_is_finite(evaluation: dict[str, Any]) -> None:
    def numbers(value: Any) -> list[float]:
        if isinstance(value, dict):
            return [n for item in value.values() for n in numbers(item)]
        if isinstance(value, list):
            return [n for item in value for n in numbers(item)]
        return [value] if isinstance(value, int | float) else []

    assert all(math.isfinite(n) for n in numbers(evaluation))


def test_main_without_model_fails_naming_the_directory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    code = evaluate.main(["--model-dir", str(tmp_path / "model"), "--output-dir", str(tmp_path / "out")])
    assert code == 1
    assert f"--model-dir {tmp_path / 'model'}: no model.tar.gz" in caplog.text


def test_script_runs_alone_without_this_repository(tmp_path: Path) -> None:
    completed = run_standalone(Path(evaluate.__file__), tmp_path, "--help")
    assert completed.returncode == 0, completed.stderr


def test_the_definitions_condition_paths_resolve_in_the_evaluation(evaluation: dict[str, Any]) -> None:
    # Given the JSON paths the deployed condition step reads (taken from the definition itself)
    from pipeline_def.config import load_settings
    from pipeline_def.definition.checks import iter_steps, parse_path
    from pipeline_def.definition.render import render

    definition = json.loads(render(load_settings("dev")))
    (condition,) = [s for s in iter_steps(definition) if s["Type"] == "Condition"]
    paths = [c["LeftValue"]["Std:JsonGet"]["Path"] for c in condition["Arguments"]["Conditions"]]
    # When each is walked through the evaluation.json the script wrote
    for path in paths:
        node: Any = evaluation
        for token in parse_path(path):
            node = node[token]
        # Then it lands on a number in [0, 1], which the condition compares with its parameter
        assert isinstance(node, float), path
        assert 0.0 <= node <= 1.0, path
    assert len(paths) == 2


def test_a_split_written_in_parts_reads_as_the_whole_in_name_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = np.column_stack([np.arange(40) % 2, rng.normal(size=(40, 3))])
    np.savetxt(tmp_path / "whole.csv", rows, delimiter=",")
    parts = tmp_path / "parts"
    parts.mkdir()
    for index, chunk in enumerate(np.array_split(rows, 3)):
        np.savetxt(parts / f"test-part-0000{index}.csv", chunk, delimiter=",")
    whole = tmp_path / "single"
    whole.mkdir()
    (tmp_path / "whole.csv").rename(whole / "test.csv")
    labels_parts, features_parts = evaluate.read_split(parts, "test")
    labels_whole, features_whole = evaluate.read_split(whole, "test")
    np.testing.assert_array_equal(labels_parts, labels_whole)
    np.testing.assert_array_equal(features_parts, features_whole)


def test_a_pickle_of_something_else_is_an_error_naming_what_it_holds(tmp_path: Path) -> None:
    write_model_archive(tmp_path, pickle.dumps({"not": "a model"}))
    with pytest.raises(evaluate.EvaluationError, match="the pickled xgboost-model is a dict, not a Booster"):
        evaluate.load_booster(tmp_path)
