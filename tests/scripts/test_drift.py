"""The monitoring job (drift.py): baselines, drift and bias figures, capture parsing, publishing.

Hand computations are written out in the comments and never call the code under test. The
documented shifts: one feature moved by +1 training standard deviation; every score moved by
+1 in log-odds; the fraud rate tripled (resampled, with ground truth); women's fraud rate
raised from 10 % to 40 % (their predicted fraud with it).
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber

from pipeline_def.schema import LABEL
from pipeline_def.scripts import bias_shap, drift
from tests.scripts.drift_fixtures import (
    FACET,
    INFERENCE_TIME,
    SYNTHETIC_THRESHOLD,
    FakePublisher,
    capture_lines,
    event_id,
    feature_rows,
    make_baseline,
    model_scores,
    run_check,
    small_split,
    synthetic_split,
    write_capture,
    write_ground_truth,
)
from tests.scripts.script_fixtures import run_standalone

pytestmark = pytest.mark.long_module(10)

REPEATS = 40
LIVE_ROWS = 2_000


def logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1.0 - p))


def violated(violations: dict) -> set[tuple[str, str | None]]:
    return {(v["metric"], v["feature"]) for v in violations["violations"]}


@pytest.fixture(scope="module")
def small_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Baseline of 20,000 rows of the small data set, with scores and the gender facet."""
    root = tmp_path_factory.mktemp("small")
    frame, scores = small_split(20_000, seed=0)
    make_baseline(root, frame, scores)
    return root / "baseline"


@pytest.fixture(scope="module")
def synthetic_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Baseline of 20,000 synthetic policies (45 features) scored by the fixed model."""
    root = tmp_path_factory.mktemp("synthetic")
    frame = synthetic_split(20_000, seed=0)
    make_baseline(root, frame, model_scores(frame), threshold=SYNTHETIC_THRESHOLD)
    return root / "baseline"


def send_traffic(work: Path, frame: pd.DataFrame, scores: np.ndarray, *, labels: bool = False) -> None:
    """Capture of one record per row; with ``labels``, ground truth for every record."""
    write_capture(work / "capture", capture_lines(feature_rows(frame), scores))
    if labels:
        truth = {event_id(i): int(y) for i, y in enumerate(frame[LABEL])}
        write_ground_truth(work / "ground-truth", truth)


# =========================================================================== PSI and KS


def test_psi_equals_the_hand_computation() -> None:
    # Given bins with baseline (0.25, 0.25, 0.5) and live (0.5, 0.25, 0.25)
    # Then PSI = 0.25 ln 2 + 0 + (-0.25) ln(1/2) = 0.5 ln 2
    assert drift.psi([0.25, 0.25, 0.5], [0.5, 0.25, 0.25]) == pytest.approx(0.5 * math.log(2), abs=1e-12)


def test_psi_floors_an_empty_bin_so_the_value_stays_finite() -> None:
    # Given a live bin the baseline never had (0 -> floored to 1e-4)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.25 - 1e-4) * math.log(0.25 / 1e-4)
    # Then the term is large but finite
    assert drift.psi([0.5, 0.5, 0.0], [0.5, 0.25, 0.25]) == pytest.approx(expected, abs=1e-12)


def test_ks_equals_the_hand_computation_on_disjoint_halves() -> None:
    # Given baseline {1, 2, 3, 4} and live {3, 4, 5, 6}
    # Then at x = 2: F_base = 0.5, F_live = 0, and nowhere is the gap larger: KS = 0.5
    assert drift.ks_statistic(np.array([1, 2, 3, 4]), np.array([3, 4, 5, 6])) == pytest.approx(0.5)


def test_ks_equals_the_hand_computation_with_ties() -> None:
    # Given baseline {1, 1, 2, 3} and live {1, 2, 2, 2}
    # F_base(1) = 0.5, F_live(1) = 0.25; F_base(2) = 0.75, F_live(2) = 1; F(3) = 1 for both
    # Then KS = max(0.25, 0.25, 0) = 0.25
    assert drift.ks_statistic(np.array([1, 1, 2, 3]), np.array([1, 2, 2, 2])) == pytest.approx(0.25)


@pytest.mark.parametrize("seed", range(5))
def test_ks_equals_scipys_two_sample_statistic(seed: int) -> None:
    stats = pytest.importorskip("scipy.stats")
    # Given two samples with many ties and different sizes
    rng = np.random.RandomState(seed)
    baseline, live = rng.randint(0, 30, 400), rng.randint(3, 35, 150)
    # Then the statistic equals scipy's
    assert drift.ks_statistic(baseline, live) == pytest.approx(stats.ks_2samp(baseline, live).statistic)


def test_ks_against_a_quantile_cdf_is_within_a_thousandth_of_the_exact_value() -> None:
    stats = pytest.importorskip("scipy.stats")
    # Given 50,000 distinct training values: the baseline keeps the CDF at 1,000 quantiles only
    rng = np.random.RandomState(3)
    train, live = rng.normal(size=50_000), rng.normal(0.05, 1.0, 5_000)
    entry = drift.summarise(train, bins=10, max_categories=20)
    assert entry["ecdf"]["exact"] is False
    # When KS is computed from that summary
    distribution = drift.Distribution(entry)
    distribution.add(live)
    # Then it is within 1/1000 of the exact two-sample statistic
    assert abs(distribution.ks() - stats.ks_2samp(train, live).statistic) <= 1e-3


def test_quantile_bins_are_training_deciles_closed_on_the_right() -> None:
    # Given training values 1..100 (100 distinct integers: more than --max-categories)
    entry = drift.summarise(np.arange(1.0, 101.0), bins=10, max_categories=20)
    # Then the edges are 10, 20, ..., 90 and each bin holds a tenth of the training data
    assert entry["bins"]["edges"] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
    assert entry["bins"]["proportions"] == [0.1] * 10
    # And a live value equal to an edge falls in the bin below it, (0, 10]
    live = drift.Distribution(entry)
    live.add(np.array([10.0]))
    assert live.proportions().tolist() == [1.0] + [0.0] * 9


def _small_integer_entry() -> dict:
    """The baseline entry of a feature with values 0, 1, 2 in training (half 0, a quarter each 1 and 2)."""
    return drift.summarise(np.array([0, 0, 1, 2] * 25, dtype=float), bins=10, max_categories=20)


def test_small_integer_features_bin_by_value() -> None:
    # Given a feature with values 0, 1, 2 in training (half 0, a quarter each 1 and 2)
    # When it is summarised
    entry = _small_integer_entry()
    # Then it is an integer feature with one bin per value seen
    assert entry["type"] == "integer"
    assert entry["bins"] == {
        "kind": "categorical",
        "values": [0.0, 1.0, 2.0],
        "proportions": [0.5, 0.25, 0.25],
    }


def test_unseen_values_of_small_integer_features_go_to_an_extra_bin() -> None:
    # Given a feature with values 0, 1, 2 in training (half 0, a quarter each 1 and 2)
    entry = _small_integer_entry()
    # When live data also has the value 3, never seen in training
    live = drift.Distribution(entry)
    live.add(np.array([0, 0, 1, 3], dtype=float))
    # Then it lands in the "other" bin, whose baseline share is 0. Both empty shares (live 2,
    # baseline "other") are floored to 1e-4, so the bins 2 and "other" give
    # PSI = (1e-4 - 0.25) ln(1e-4 / 0.25) + (0.25 - 1e-4) ln(0.25 / 1e-4)
    assert live.proportions().tolist() == [0.5, 0.25, 0.0, 0.25]
    expected = (1e-4 - 0.25) * math.log(1e-4 / 0.25) + (0.25 - 1e-4) * math.log(0.25 / 1e-4)
    assert live.psi(entry["bins"]["proportions"]) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("values", "kind"),
    [([0, 1, 1, 0], "binary"), ([0, 3, 7, 2], "integer"), ([0.5, 1, 2, 3], "continuous")],
)
def test_features_are_typed_binary_integer_or_continuous(values: list[float], kind: str) -> None:
    assert drift.summarise(np.array(values, dtype=float), 10, 20)["type"] == kind


# =========================================================================== bias definitions


def _random_facet_and_predictions(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random facet memberships and favourable predictions, tiny sizes included (empty facets)."""
    rng = np.random.RandomState(seed)
    rows = int(rng.choice([1, 2, 5, 50, 1000]))
    facet = rng.rand(rows) < rng.uniform(0.0, 1.0)
    predicted = rng.rand(rows) < rng.uniform(0.0, 1.0)
    return facet, predicted


@pytest.mark.parametrize("seed", range(30))
def test_dppl_equals_bias_shaps_definition_on_random_data(seed: int) -> None:
    # Given random facet memberships and favourable predictions
    facet, predicted = _random_facet_and_predictions(seed)
    # When DPPL is computed by both scripts
    ours = drift.difference_in_positive_proportions_in_predicted_labels(facet, predicted)
    theirs = bias_shap.difference_in_positive_proportions_in_predicted_labels(facet, predicted)
    # Then it equals step 7's (nan where step 7 gives nan)
    assert (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-15)


@pytest.mark.parametrize("seed", range(30))
def test_di_equals_bias_shaps_definition_on_random_data(seed: int) -> None:
    # Given random facet memberships and favourable predictions
    facet, predicted = _random_facet_and_predictions(seed)
    # When DI is computed by both scripts
    ours = drift.disparate_impact(facet, predicted)
    theirs = bias_shap.disparate_impact(facet, predicted)
    # Then it equals step 7's (nan where step 7 gives nan)
    assert (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-15)


# =========================================================================== baseline


def _baseline(folder: Path) -> dict:
    return json.loads((folder / drift.BASELINE_FILE).read_text())


def test_the_baseline_describes_every_feature(small_baseline: Path) -> None:
    # Given the baseline of the small data set
    baseline = _baseline(small_baseline)
    # Then the feature columns are those after the label, in capture order, each described
    assert baseline["label"] == "fraud"
    assert baseline["columns"] == ["amount", "count", FACET]
    amount, count, female = (baseline["features"][c] for c in baseline["columns"])
    assert (amount["type"], count["type"], female["type"]) == ("continuous", "integer", "binary")
    assert amount["bins"]["kind"] == "quantile"
    assert len(amount["bins"]["edges"]) == 9
    assert count["bins"]["kind"] == female["bins"]["kind"] == "categorical"
    assert all(f["missing_rate"] == 0.0 and f["min"] <= f["max"] for f in (amount, count, female))
    assert amount["ecdf"]["cdf"][-1] == 1.0


def test_the_baseline_records_the_scores_with_the_threshold(small_baseline: Path) -> None:
    # Given the baseline of the small data set
    baseline = _baseline(small_baseline)
    # Then the decision threshold and the score distribution are recorded
    assert baseline["threshold"] == 0.5
    assert sum(baseline["scores"]["bins"]["proportions"]) == pytest.approx(1.0)


def test_the_baseline_records_the_bias_of_the_predicted_labels(small_baseline: Path) -> None:
    # Given the baseline of the small data set (no bias in its predictions)
    baseline = _baseline(small_baseline)
    # Then the facet, the favourable label and DI are recorded
    assert (baseline["bias"]["facet"], baseline["bias"]["favourable_label"]) == (FACET, 0)
    assert baseline["bias"]["DI"] == pytest.approx(1.0, abs=0.05)


def test_the_same_split_gives_a_byte_identical_baseline(tmp_path: Path) -> None:
    frame, scores = small_split(3_000, seed=5)
    make_baseline(tmp_path / "a", frame, scores)
    make_baseline(tmp_path / "b", frame, scores)
    first = (tmp_path / "a" / "baseline" / drift.BASELINE_FILE).read_bytes()
    assert first == (tmp_path / "b" / "baseline" / drift.BASELINE_FILE).read_bytes()


@pytest.mark.parametrize("layout", ["list", "dataset.json", "csv header"])
def test_column_names_come_from_a_list_dataset_json_or_a_csv_header(tmp_path: Path, layout: str) -> None:
    names = ["fraud", "a", "b"]
    path = {
        "list": (tmp_path / "headers.json", json.dumps(names)),
        "dataset.json": (tmp_path / "dataset.json", json.dumps({"columns": names, "label": "fraud"})),
        "csv header": (tmp_path / "test_with_header.csv", "fraud,a,b\n0,1,2\n"),
    }[layout]
    path[0].write_text(path[1])
    assert drift.read_headers(path[0]) == names


def test_a_split_whose_width_differs_from_the_headers_fails_the_job(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train.csv").write_text("0,1.5,2\n1,2.5,3\n")
    (tmp_path / "headers.json").write_text(json.dumps(["fraud", "a"]))
    argv = [
        "baseline",
        "--train-dir",
        str(tmp_path / "train"),
        "--headers-file",
        str(tmp_path / "headers.json"),
    ]
    # When the baseline is made / Then the job fails (exit 1) and writes nothing
    assert drift.main([*argv, "--output-dir", str(tmp_path / "out"), "--threshold", "0.5"]) == 1
    assert not (tmp_path / "out").exists()


# =========================================================================== capture


def test_no_capture_at_all_ends_cleanly_with_no_traffic(small_baseline: Path, tmp_path: Path) -> None:
    # Given a capture prefix with nothing in it yet
    # When the check runs
    code, monitor, violations = run_check(small_baseline, tmp_path)
    # Then it succeeds, says "no traffic" and reports no violation
    assert code == 0
    assert monitor["status"] == "no traffic"
    assert monitor["capture"]["lines"] == 0
    assert violations == {"count": 0, "status": "no traffic", "violations": []}


def test_a_baseline_folder_without_baseline_json_ends_cleanly_with_no_model_deployed(tmp_path: Path) -> None:
    # Given the monitoring baseline folder before the first deployment: only the stack's README
    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "README.txt").write_text("the deploy function writes baseline.json here\n", encoding="utf-8")
    publisher = FakePublisher()
    # When the check runs, asked to publish
    code, monitor, violations = run_check(
        folder, tmp_path, "--publish", "--environment", "dev", publisher=publisher
    )
    # Then it succeeds, says so, reports no violation and publishes nothing
    assert code == 0
    assert monitor["status"] == "no model deployed"
    assert violations == {"count": 0, "status": "no model deployed", "violations": []}
    assert publisher.calls == []


def test_a_baseline_file_that_is_missing_is_still_an_error(tmp_path: Path) -> None:
    # Given --baseline naming a file that does not exist (a wrong path, not "nothing deployed")
    # When the check runs / Then it fails (exit 1)
    code, _, _ = run_check(tmp_path / "nowhere" / "baseline.json", tmp_path)
    assert code == 1


def _check_with_malformed_lines(baseline: Path, work: Path) -> tuple[int, dict]:
    """The check on 4 good records and 4 bad lines (lines 2, 4, 6, 7): not JSON, a truncated record,
    no captureData, and 2 input rows with 1 score. Returns (exit code, monitor.json)."""
    frame, scores = small_split(5, seed=1)
    good = capture_lines(feature_rows(frame), scores)
    two_rows = drift.format_capture_record("1,2,0\n3,4,1", "0.5", "x", INFERENCE_TIME)
    lines = [good[0], "not json", good[1], good[2][:40], good[3], '{"eventVersion": "0"}', two_rows, good[4]]
    write_capture(work / "capture", lines)
    code, monitor, _ = run_check(baseline, work)
    return code, monitor


def test_malformed_capture_lines_are_counted_not_fatal(small_baseline: Path, tmp_path: Path) -> None:
    # Given 4 good records and 4 bad lines / When the check runs
    code, monitor = _check_with_malformed_lines(small_baseline, tmp_path)
    # Then the job succeeds, reads the 4 good records and counts the bad lines
    assert code == 0
    capture = monitor["capture"]
    assert (capture["lines"], capture["records"], capture["valid_rows"]) == (8, 4, 4)
    assert capture["malformed_lines"] == 4
    assert monitor["data_quality"]["malformed_line_rate"] == 0.5


def test_malformed_capture_lines_are_listed_with_their_line_numbers(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given 4 good records and 4 bad lines / When the check runs
    _, monitor = _check_with_malformed_lines(small_baseline, tmp_path)
    # Then each bad line is listed as file:line, with what is wrong with it
    capture = monitor["capture"]
    where = [entry.split(": ", 1)[0] for entry in capture["malformed"]]
    prefix = "fraud-endpoint/AllTraffic/2026/01/05/10/capture.jsonl"
    assert where == [f"{prefix}:2", f"{prefix}:4", f"{prefix}:6", f"{prefix}:7"]
    assert "2 input rows but 1 scores" in capture["malformed"][3]


def test_base64_capture_decodes_to_the_same_figures_as_csv(small_baseline: Path, tmp_path: Path) -> None:
    # Given the same traffic captured once as CSV text and once BASE64-encoded
    frame, scores = small_split(300, seed=2)
    for encoding in ("CSV", "BASE64"):
        write_capture(tmp_path / encoding / "capture", capture_lines(feature_rows(frame), scores, encoding))
    # When both are checked
    _, as_csv, _ = run_check(small_baseline, tmp_path / "CSV", "--min-rows", "100")
    _, as_base64, _ = run_check(small_baseline, tmp_path / "BASE64", "--min-rows", "100")
    # Then every figure is the same
    assert as_base64["capture"]["valid_rows"] == 300
    assert as_base64["feature_drift"] == as_csv["feature_drift"]
    assert as_base64["bias_drift"] == as_csv["bias_drift"]


def test_records_in_another_key_order_are_read_like_sagemakers_own(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given the same records, compact in SageMaker's key order and re-serialised with sorted keys
    frame, scores = small_split(200, seed=3)
    lines = capture_lines(feature_rows(frame), scores)
    write_capture(tmp_path / "a" / "capture", lines)
    write_capture(
        tmp_path / "b" / "capture", [json.dumps(json.loads(x), sort_keys=True, indent=None) for x in lines]
    )
    # Then the check sees the same traffic
    _, compact, _ = run_check(small_baseline, tmp_path / "a", "--min-rows", "100")
    _, reordered, _ = run_check(small_baseline, tmp_path / "b", "--min-rows", "100")
    assert reordered["capture"]["valid_rows"] == 200
    assert reordered["feature_drift"] == compact["feature_drift"]


def test_a_request_of_several_rows_pairs_each_row_with_its_score(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given one request of 3 rows (newline-separated) answered by 3 comma-separated scores
    record = drift.format_capture_record("100,1,0\n90,2,1\n110,0,0\n", "0.1,0.7,0.2", "e1", INFERENCE_TIME)
    write_capture(tmp_path / "capture", [record])
    write_ground_truth(tmp_path / "ground-truth", {})
    (tmp_path / "ground-truth" / "labels.jsonl").write_text('{"eventId": "e1", "label": [0, 1, 1]}\n')
    # When the check runs
    _, monitor, _ = run_check(small_baseline, tmp_path, "--min-rows", "1")
    # Then 3 rows are read, and row 2 (score 0.7 > 0.5) is the one fraud caught of the two
    assert monitor["capture"]["valid_rows"] == 3
    assert monitor["live_quality"]["labelled_rows"] == 3
    assert monitor["live_quality"]["recall"] == 0.5


def test_rows_of_another_width_are_schema_mismatches(small_baseline: Path, tmp_path: Path) -> None:
    # Given 98 rows of 3 features and 2 rows of 4 (a client sending an extra column)
    frame, scores = small_split(100, seed=4)
    rows = feature_rows(frame)
    rows[10] += ",7"
    rows[20] += ",7"
    write_capture(tmp_path / "capture", capture_lines(rows, scores))
    # When the check runs
    _, monitor, violations = run_check(small_baseline, tmp_path)
    # Then the 2 rows are counted, left out of the figures, and 2 % breaks the 1 % limit
    quality = monitor["data_quality"]
    assert quality["column_counts"] == {"3": 98, "4": 2}
    assert quality["schema_mismatch_rate"] == 0.02
    assert monitor["capture"]["valid_rows"] == 98
    assert ("schema_mismatch_rate", None) in violated(violations)


def _check_with_unusable_numbers(baseline: Path, work: Path) -> tuple[int, dict]:
    """The check on 100 records: one answered "abc", one scored 1.7 (not a probability), one amount
    "abc" and one amount "NULL" (a missing-value token, like an empty field). (exit code, monitor.json)."""
    frame, scores = small_split(100, seed=5)
    texts = [repr(float(s)) for s in scores]
    texts[3], texts[4] = "abc", "1.7"
    rows = feature_rows(frame)
    rows[5] = "abc," + rows[5].split(",", 1)[1]
    rows[6] = "NULL," + rows[6].split(",", 1)[1]
    lines = [
        drift.format_capture_record(r, t, event_id(i), INFERENCE_TIME)
        for i, (r, t) in enumerate(zip(rows, texts, strict=True))
    ]
    write_capture(work / "capture", lines)
    code, monitor, _ = run_check(baseline, work)
    return code, monitor


def test_scores_that_are_not_probabilities_are_counted_not_fatal(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given 100 records, one answered "abc" and one scored 1.7 / When the check runs
    code, monitor = _check_with_unusable_numbers(small_baseline, tmp_path)
    # Then the job succeeds, and the two scores make their rows invalid
    assert code == 0
    assert monitor["data_quality"]["invalid_score_rows"] == 2
    assert monitor["capture"]["valid_rows"] == 98


def test_values_that_are_not_numbers_are_counted_not_fatal(small_baseline: Path, tmp_path: Path) -> None:
    # Given 100 records, among the 98 with a usable score one amount "abc" and one amount "NULL"
    # When the check runs
    code, monitor = _check_with_unusable_numbers(small_baseline, tmp_path)
    # Then the job succeeds; of the 98 rows, one amount is non-numeric and one is missing
    assert code == 0
    assert monitor["data_quality"]["features"]["amount"]["non_numeric_rate"] == pytest.approx(
        1 / 98, abs=1e-9
    )
    assert monitor["data_quality"]["features"]["amount"]["missing_rate"] == pytest.approx(1 / 98, abs=1e-9)


def _check_with_missing_and_out_of_range(baseline: Path, work: Path) -> tuple[dict, dict]:
    """The check on 100 rows where 10 have no amount and 10 have a count of 50 (training max: 8).

    Returns (monitor.json's per-feature data quality, violations.json).
    """
    frame, scores = small_split(100, seed=6)
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[:9, "amount"] = ""
    frame.loc[10:19, "count"] = 50
    write_capture(work / "capture", capture_lines(feature_rows(frame), scores))
    _, monitor, violations = run_check(baseline, work)
    return monitor["data_quality"]["features"], violations


def test_missing_values_are_a_data_quality_figure(small_baseline: Path, tmp_path: Path) -> None:
    # Given 100 rows where 10 have no amount / When the check runs
    features, violations = _check_with_missing_and_out_of_range(small_baseline, tmp_path)
    # Then the share is reported and breaks its limit (5 %)
    assert features["amount"]["missing_rate"] == 0.1
    assert ("missing_rate_increase", "amount") in violated(violations)


def test_out_of_range_values_are_a_data_quality_figure(small_baseline: Path, tmp_path: Path) -> None:
    # Given 100 rows where 10 have a count of 50 (training max: 8) / When the check runs
    features, violations = _check_with_missing_and_out_of_range(small_baseline, tmp_path)
    # Then the share is reported and breaks its limit (5 %)
    assert features["count"]["out_of_range_rate"] == 0.1
    assert ("out_of_range_rate", "count") in violated(violations)


# =========================================================================== ground truth


def _live_quality_of_4_labelled_records(baseline: Path, work: Path) -> dict:
    """monitor.json's live quality for 6 captured records scored 0.9, 0.8, 0.3, 0.1, 0.6, 0.2, the
    first 4 labelled later 1, 0, 1, 0 by event id; one more label for an event never captured."""
    scores = [0.9, 0.8, 0.3, 0.1, 0.6, 0.2]
    rows = ["100,1,0"] * 6
    write_capture(work / "capture", capture_lines(rows, scores))
    labels = {event_id(0): 1, event_id(1): 0, event_id(2): 1, event_id(3): 0, "event-unknown": 1}
    write_ground_truth(work / "ground-truth", labels)
    _, monitor, _ = run_check(baseline, work, "--min-rows", "1")
    return monitor["live_quality"]


def test_ground_truth_is_joined_by_event_id(small_baseline: Path, tmp_path: Path) -> None:
    # Given 6 captured records, 4 of them labelled later; one label for an event never captured
    # When the check runs
    quality = _live_quality_of_4_labelled_records(small_baseline, tmp_path)
    # Then only the 4 labelled records count, and the stray label is counted as unmatched
    assert quality["labelled_rows"] == 4
    assert quality["unmatched_ground_truth"] == 1


def test_ground_truth_joined_by_event_id_gives_the_right_auc(small_baseline: Path, tmp_path: Path) -> None:
    # Given 6 captured records, 4 of them labelled later / When the check runs
    quality = _live_quality_of_4_labelled_records(small_baseline, tmp_path)
    # Then AUC: of the (fraud, legit) pairs (0.9, 0.8), (0.9, 0.1), (0.3, 0.8), (0.3, 0.1), 3 are
    # ordered right: 3/4
    assert quality["auc"] == 0.75


def test_ground_truth_joined_by_event_id_gives_the_right_recall(small_baseline: Path, tmp_path: Path) -> None:
    # Given 6 captured records, 4 of them labelled later / When the check runs
    quality = _live_quality_of_4_labelled_records(small_baseline, tmp_path)
    # Then recall at 0.5: 0.9 caught, 0.3 missed: 1/2
    assert quality["recall"] == 0.5


def _live_quality_with_model_monitors_layout(baseline: Path, work: Path) -> dict:
    """monitor.json's live quality for a record captured with an inferenceId and labelled 1 in Model
    Monitor's layout by that id, a second labelled 0 by its eventId, BASE64-encoded, and on line 3 a
    label 2 for a third event."""
    first = drift.format_capture_record("100,1,0", "0.9", "e1", INFERENCE_TIME, inference_id="claim-7")
    second = drift.format_capture_record("100,1,0", "0.2", "e2", INFERENCE_TIME)
    write_capture(work / "capture", [first, second])
    encoded = base64.b64encode(b"0").decode()
    truth = [
        {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "claim-7"}},
        {"groundTruthData": {"data": encoded, "encoding": "BASE64"}, "eventMetadata": {"eventId": "e2"}},
        {"eventId": "e3", "label": 2},
    ]
    (work / "ground-truth").mkdir()
    (work / "ground-truth" / "gt.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth))
    _, monitor, _ = run_check(baseline, work, "--min-rows", "1")
    return monitor["live_quality"]


def test_model_monitors_ground_truth_layout_joins_by_inference_id_or_event_id(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given a record labelled in Model Monitor's layout by its inferenceId, and a second labelled by
    # its eventId, BASE64-encoded / When the check runs
    quality = _live_quality_with_model_monitors_layout(small_baseline, tmp_path)
    # Then both records are labelled (fraud scored 0.9 above legit 0.2: AUC 1)
    assert (quality["labelled_rows"], quality["auc"]) == (2, 1.0)


def test_a_ground_truth_label_other_than_0_or_1_is_listed(small_baseline: Path, tmp_path: Path) -> None:
    # Given ground truth whose third line labels an event 2 / When the check runs
    quality = _live_quality_with_model_monitors_layout(small_baseline, tmp_path)
    # Then the bad label is listed with its file and line
    assert quality["ground_truth_issues"] == ["gt.jsonl:3: label 2 is not 0 or 1"]


# =========================================================================== drift studies


def test_no_false_alarms_on_traffic_drawn_like_the_training_data(
    synthetic_baseline: Path, tmp_path: Path
) -> None:
    # Given 40 independent samples of 2,000 policies from the training distribution, with labels
    alarms = []
    for repeat in range(REPEATS):
        work = tmp_path / f"r{repeat}"
        frame = synthetic_split(LIVE_ROWS, seed=1_000 + repeat)
        send_traffic(work, frame, model_scores(frame), labels=True)
        # When each is checked at the default thresholds
        code, monitor, violations = run_check(synthetic_baseline, work)
        assert (code, monitor["status"] in ("ok", "violations")) == (0, True)
        alarms.append(violations["count"] > 0)
    # Then fewer than 5 % of the checks raise any violation
    assert sum(alarms) / REPEATS < 0.05, alarms


def test_a_feature_shifted_by_one_standard_deviation_alarms_on_that_feature_only(
    synthetic_baseline: Path, tmp_path: Path
) -> None:
    # Given live traffic whose annual premium is 1 training standard deviation higher
    baseline = json.loads((synthetic_baseline / drift.BASELINE_FILE).read_text())
    frame = synthetic_split(LIVE_ROWS, seed=77)
    frame["policy_annual_premium"] += baseline["features"]["policy_annual_premium"]["std"]
    send_traffic(tmp_path, frame, model_scores(frame))
    # When the check runs
    _, monitor, violations = run_check(synthetic_baseline, tmp_path)
    # Then PSI and KS of that feature, and nothing else, break their limits
    assert violated(violations) == {("psi", "policy_annual_premium"), ("ks", "policy_annual_premium")}
    assert monitor["status"] == "violations"
    assert monitor["feature_drift"]["policy_annual_premium"]["psi"] > 0.2


def test_scores_shifted_by_one_in_log_odds_raise_prediction_drift(
    synthetic_baseline: Path, tmp_path: Path
) -> None:
    # Given the same kind of policies, but every score 1 higher in log-odds (riskier-looking traffic)
    frame = synthetic_split(LIVE_ROWS, seed=78)
    shifted = np.round(1.0 / (1.0 + np.exp(-(logit(model_scores(frame)) + 1.0))), 6)
    send_traffic(tmp_path, frame, shifted)
    # When the check runs
    _, monitor, violations = run_check(synthetic_baseline, tmp_path)
    # Then the prediction drift is flagged, and no feature is
    assert ("prediction_psi", None) in violated(violations)
    assert not any(metric in ("psi", "ks") for metric, _ in violated(violations))
    assert (
        monitor["prediction_drift"]["predicted_positive_rate"]
        > monitor["prediction_drift"]["baseline_predicted_positive_rate"]
    )


def test_a_tripled_fraud_rate_raises_the_label_rate_violation(
    synthetic_baseline: Path, tmp_path: Path
) -> None:
    # Given 2,000 policies resampled so that fraud is 3x the training rate, with their labels
    baseline = json.loads((synthetic_baseline / drift.BASELINE_FILE).read_text())
    pool = synthetic_split(40_000, seed=79)
    rng = np.random.RandomState(79)
    fraud_rows = round(3 * baseline["label_rate"] * LIVE_ROWS)
    picked = np.r_[
        rng.choice(np.flatnonzero(pool[LABEL] == 1), fraud_rows, replace=False),
        rng.choice(np.flatnonzero(pool[LABEL] == 0), LIVE_ROWS - fraud_rows, replace=False),
    ]
    frame = pool.iloc[rng.permutation(picked)].reset_index(drop=True)
    send_traffic(tmp_path, frame, model_scores(frame), labels=True)
    # When the check runs
    _, monitor, violations = run_check(synthetic_baseline, tmp_path)
    # Then the live fraud rate is 3x the baseline's and breaks the 2x limit
    assert monitor["live_quality"]["label_rate_ratio"] == pytest.approx(3.0, abs=0.01)
    assert ("label_rate_ratio", None) in violated(violations)


def test_more_predicted_fraud_among_women_raises_bias_drift(small_baseline: Path, tmp_path: Path) -> None:
    # Given 3,000 rows where women's fraud rate (and so their predicted fraud) is 40 % instead of 10 %
    frame, scores = small_split(3_000, seed=8)
    women = np.flatnonzero(frame[FACET] == 1)
    rng = np.random.RandomState(8)
    fraud = rng.rand(women.size) < 0.4
    frame.loc[women, "fraud"] = fraud.astype(int)
    scores[women] = np.round(np.where(fraud, rng.beta(5, 2, women.size), rng.beta(1, 8, women.size)), 6)
    send_traffic(tmp_path, frame, scores)
    # When the check runs
    _, monitor, violations = run_check(small_baseline, tmp_path)
    # Then women are predicted favourable (not fraud) far less often: DPPL > 0.1 and DI < 0.8
    live = monitor["bias_drift"]["live"]
    assert live["DPPL"] > 0.1
    assert live["DI"] < 0.8
    assert {("dppl", FACET), ("di", FACET)} <= violated(violations)


def test_too_little_traffic_reports_drift_figures_without_judging_them(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given 50 records whose amounts are far off (PSI would be huge)
    frame, scores = small_split(50, seed=9)
    frame["amount"] += 100
    send_traffic(tmp_path, frame, scores)
    # When the check runs with the default minimum of 1,000 rows
    _, monitor, violations = run_check(small_baseline, tmp_path)
    # Then the figure is there but raises nothing, and the status says why
    assert monitor["feature_drift"]["amount"]["psi"] > 1
    assert monitor["feature_drift"]["amount"]["judged"] is False
    assert not any(metric == "psi" for metric, _ in violated(violations))
    assert monitor["status"] in ("insufficient traffic", "violations")


def _check_with_shifted_amounts(baseline: Path, work: Path) -> tuple[dict, dict]:
    """The check with a PSI limit of 0.15 on traffic whose amounts moved by +1 std: (monitor, violations)."""
    frame, scores = small_split(2_000, seed=10)
    frame["amount"] += 20
    send_traffic(work, frame, scores)
    _, monitor, violations = run_check(baseline, work, "--psi-threshold", "0.15")
    return monitor, violations


def test_each_violation_names_metric_feature_value_and_threshold(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given traffic with amounts shifted by +1 std / When checked with a stricter PSI limit
    monitor, violations = _check_with_shifted_amounts(small_baseline, tmp_path)
    # Then the PSI violation is fully described
    [psi] = [v for v in violations["violations"] if v["metric"] == "psi"]
    assert psi == {
        "metric": "psi",
        "feature": "amount",
        "value": monitor["feature_drift"]["amount"]["psi"],
        "threshold": 0.15,
        "rule": "value > threshold",
    }


def test_monitor_json_carries_the_same_violations_as_violations_json(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given traffic with amounts shifted by +1 std / When checked with a stricter PSI limit
    monitor, violations = _check_with_shifted_amounts(small_baseline, tmp_path)
    # Then monitor.json and violations.json list the same entries
    assert monitor["violations"] == violations["violations"]


# =========================================================================== publishing


def test_the_publisher_receives_the_figures_in_the_environments_namespace(
    small_baseline: Path, tmp_path: Path
) -> None:
    # Given 2,000 records like the baseline and a fake publisher
    frame, scores = small_split(2_000, seed=11)
    send_traffic(tmp_path, frame, scores)
    publisher = FakePublisher()
    # When the check runs with --publish for dev
    extra = ["--publish", "--environment", "dev", "--metrics-namespace", "Fraud/Monitoring"]
    code, monitor, _ = run_check(small_baseline, tmp_path, *extra, publisher=publisher)
    # Then one call carries every figure to Fraud/Monitoring/dev, per feature with a Feature dimension
    assert code == 0
    [call] = publisher.calls
    assert call["Namespace"] == "Fraud/Monitoring/dev"
    data = {
        (d["MetricName"], tuple((x["Name"], x["Value"]) for x in d.get("Dimensions", []))): d
        for d in call["MetricData"]
    }
    assert data[("psi", (("Feature", "amount"),))]["Value"] == monitor["feature_drift"]["amount"]["psi"]
    assert data[("ks", (("Feature", "count"),))]["Value"] == monitor["feature_drift"]["count"]["ks"]
    assert data[("di", (("Facet", FACET),))]["Value"] == monitor["bias_drift"]["live"]["DI"]
    assert data[("rows", ())]["Value"] == 2_000
    assert data[("violations", ())]["Value"] == 0
    assert monitor["published"] == {"namespace": "Fraud/Monitoring/dev", "metrics": len(data), "calls": 1}


def test_metric_data_goes_out_in_batches_of_at_most_1000() -> None:
    # Given 2,500 data points
    data = [{"MetricName": "psi", "Value": float(i)} for i in range(2_500)]
    publisher = FakePublisher()
    # When they are published / Then three calls carry 1,000, 1,000 and 500, in order
    assert drift.publish_metrics(publisher, "N/dev", data) == 3
    assert [len(c["MetricData"]) for c in publisher.calls] == [1000, 1000, 500]
    assert [d for c in publisher.calls for d in c["MetricData"]] == data


def test_a_boto3_cloudwatch_client_is_a_publisher_as_it_is() -> None:
    # Given a real CloudWatch client whose calls are stubbed (nothing leaves the machine)
    client = boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    data = [
        {"MetricName": "psi", "Value": 0.3, "Unit": "None", "Dimensions": [{"Name": "Feature", "Value": "a"}]}
    ]
    with Stubber(client) as stub:
        stub.add_response("put_metric_data", {}, {"Namespace": "N/dev", "MetricData": data})
        # When the figures are published / Then botocore accepts the request as valid
        assert drift.publish_metrics(client, "N/dev", data) == 1
        stub.assert_no_pending_responses()


def test_publishing_without_an_environment_is_a_usage_error(small_baseline: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_check(small_baseline, tmp_path, "--publish")
    assert exit_info.value.code == 2


def test_no_traffic_still_publishes_zero_rows_so_an_alarm_can_see_silence(
    small_baseline: Path, tmp_path: Path
) -> None:
    publisher = FakePublisher()
    run_check(small_baseline, tmp_path, "--publish", "--environment", "prod", publisher=publisher)
    names = {d["MetricName"]: d["Value"] for d in publisher.calls[0]["MetricData"]}
    assert names == {"rows": 0, "malformed_lines": 0, "violations": 0}


# =========================================================================== standalone


def test_the_script_runs_alone_without_the_repository(tmp_path: Path) -> None:
    # Given training data, scores and capture written as the pipeline writes them
    frame, scores = small_split(500, seed=12)
    make_baseline(tmp_path / "inputs", frame, scores)  # writes the inputs (and a baseline we ignore)
    write_capture(tmp_path / "capture", capture_lines(feature_rows(frame), scores))
    inputs = tmp_path / "inputs"
    baseline_argv = [
        "baseline",
        "--train-dir", str(inputs / "train"),
        "--headers-file", str(inputs / "headers.json"),
        "--scores-file", str(inputs / "scores.csv"),
        "--output-dir", str(tmp_path / "standalone-baseline"),
        "--threshold", "0.5",
        "--facet", FACET,
    ]  # fmt: skip
    check_argv = [
        "check",
        "--baseline", str(tmp_path / "standalone-baseline"),
        "--capture-dir", str(tmp_path / "capture"),
        "--output-dir", str(tmp_path / "standalone-monitor"),
    ]  # fmt: skip
    # When both subcommands run with the repository off sys.path
    for argv in (baseline_argv, check_argv):
        completed = run_standalone(Path(drift.__file__), tmp_path, *argv)
        # Then they complete
        assert completed.returncode == 0, completed.stdout + completed.stderr
    monitor = json.loads((tmp_path / "standalone-monitor" / drift.MONITOR_FILE).read_text())
    assert monitor["capture"]["valid_rows"] == 500


def test_scores_of_a_transform_over_several_instances_are_read_in_part_order(tmp_path: Path) -> None:
    (tmp_path / "test-part-00001.csv.out").write_text("0.3\n0.4\n")
    (tmp_path / "test-part-00000.csv.out").write_text("0.1\n0.2\n")
    assert drift.read_score_file(tmp_path, 4).tolist() == [0.1, 0.2, 0.3, 0.4]


def test_an_output_folder_without_scores_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(drift.DriftError, match=r"no \.out file found"):
        drift.read_score_file(tmp_path, 4)
