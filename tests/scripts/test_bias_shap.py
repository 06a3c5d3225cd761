"""run_clarify end to end: Clarify's config in, Clarify's output layout out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline_def import schema
from pipeline_def.scripts import bias_shap
from tests.scripts.bias_shap_fixtures import ClarifyCase
from tests.scripts.script_fixtures import run_standalone

FACET = "customer_gender_female"
FEATURES = schema.dataset_columns()[1:]


def metrics_of(analysis: dict[str, Any], section: str) -> dict[str, Any]:
    [facet_block] = analysis[section]["facets"][FACET]
    return {m["name"]: m["value"] for m in facet_block["metrics"]}


def run(case: ClarifyCase, tmp_path: Path, config: dict[str, Any], predictions: Path | None = None) -> dict:
    inputs = bias_shap.Inputs(
        case.write_config(f"config-{tmp_path.name}.json", config),
        case.dataset,
        predictions or case.predictions,
        case.model,
    )
    return bias_shap.analyze(inputs, tmp_path / "out")


def test_analysis_json_has_clarifys_bias_layout(clarify_output: tuple[dict, Path]) -> None:
    analysis, out = clarify_output
    written = json.loads((out / "analysis.json").read_text())
    assert written == analysis
    assert written["version"] == "1.0"
    for section in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        assert written[section]["label"] == "fraud"
        assert written[section]["label_value_or_threshold"] == "0"
        [facet_block] = written[section]["facets"][FACET]
        assert facet_block["value_or_threshold"] == "1"
        assert all(set(m) >= {"name", "description", "value"} for m in facet_block["metrics"])


def test_all_lists_every_clarify_metric_alphabetically(clarify_output: tuple[dict, Path]) -> None:
    analysis, _ = clarify_output
    assert list(metrics_of(analysis, "pre_training_bias_metrics")) == [
        "CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD",
    ]  # fmt: skip
    assert list(metrics_of(analysis, "post_training_bias_metrics")) == [
        "AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE",
    ]  # fmt: skip


def test_class_imbalance_reflects_the_known_female_share(clarify_output: tuple[dict, Path]) -> None:
    # The generated split has exactly 240 women among 600 rows: CI = (360 - 240) / 600
    analysis, _ = clarify_output
    assert metrics_of(analysis, "pre_training_bias_metrics")["CI"] == pytest.approx(0.2, abs=1e-12)


def test_dppl_uses_scores_above_the_probability_threshold_as_predicted_fraud(
    clarify_case: ClarifyCase, clarify_output: tuple[dict, Path]
) -> None:
    # Favourable prediction = not fraud = score <= threshold; DPPL = q̂_a - q̂_d
    analysis, _ = clarify_output
    not_flagged = clarify_case.scores <= clarify_case.threshold
    female = clarify_case.frame[FACET].to_numpy() == 1
    expected = not_flagged[~female].mean() - not_flagged[female].mean()
    assert metrics_of(analysis, "post_training_bias_metrics")["DPPL"] == pytest.approx(expected, abs=1e-12)


def explanations_of(analysis: dict[str, Any]) -> dict[str, Any]:
    return analysis["explanations"]["kernel_shap"]["label0"]


def test_explanations_keep_clarifys_kernel_shap_layout(clarify_output: tuple[dict, Path]) -> None:
    # Given the analysis, When its explanations are read under Clarify's kernel_shap key
    label0 = explanations_of(clarify_output[0])
    # Then they give a global value per feature and an expected value
    assert list(label0["global_shap_values"]) == list(FEATURES)
    assert isinstance(label0["expected_value"], float)


def test_explanations_say_they_are_tree_shap_in_log_odds(clarify_output: tuple[dict, Path]) -> None:
    # Given the analysis, When its explanations are read
    label0 = explanations_of(clarify_output[0])
    # Then they name the explainer that made them and its units
    assert "TreeSHAP" in label0["explainer"]
    assert label0["units"] == "log-odds"


def test_local_shap_values_have_one_row_per_input_row(
    clarify_case: ClarifyCase, clarify_output: tuple[dict, Path]
) -> None:
    _, out = clarify_output
    lines = (out / "explanations_shap" / "out.csv").read_text().splitlines()
    assert lines[0].split(",") == list(FEATURES)
    assert len(lines) - 1 == len(clarify_case.frame)


def test_global_shap_is_the_mean_of_the_absolute_local_values(clarify_output: tuple[dict, Path]) -> None:
    analysis, out = clarify_output
    local = np.loadtxt(out / "explanations_shap" / "out.csv", delimiter=",", skiprows=1)
    global_values = analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert np.allclose(list(global_values.values()), np.abs(local).mean(axis=0), atol=1e-6)


def test_a_prediction_count_that_differs_from_the_dataset_is_an_error(
    clarify_case: ClarifyCase, tmp_path: Path
) -> None:
    short = clarify_case.write_scores("short.out", clarify_case.scores[:-3])
    with pytest.raises(ValueError, match="has 597 predictions but the dataset has 600 rows"):
        run(clarify_case, tmp_path, clarify_case.config_dict(), predictions=short)


def test_scores_outside_zero_to_one_are_an_error(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    margins = clarify_case.write_scores("margins.out", clarify_case.scores * 4 - 2)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        run(clarify_case, tmp_path, clarify_case.config_dict(), predictions=margins)


def test_a_metric_list_computes_only_those_metrics(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    analysis = run(
        clarify_case, tmp_path, clarify_case.config_dict({"pre_training_bias": {"methods": ["DPL", "CI"]}})
    )
    assert list(metrics_of(analysis, "pre_training_bias_metrics")) == ["CI", "DPL"]
    assert set(analysis) == {"version", "job", "pre_training_bias_metrics"}


def test_an_unknown_metric_in_the_config_is_an_error(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown bias metric\(s\) DPX; allowed: AD, CDDPL"):
        run(clarify_case, tmp_path, clarify_case.config_dict({"post_training_bias": {"methods": ["DPX"]}}))


def test_an_unsupported_clarify_method_is_an_error(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unsupported Clarify method\(s\) \['pdp'\]"):
        run(clarify_case, tmp_path, clarify_case.config_dict({"pdp": {"features": ["customer_age"]}}))


def test_undefined_metrics_are_written_as_null(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    # Every score is above the threshold, so nobody is predicted favourable: q̂_a = 0 and DI divides by 0
    all_flagged = clarify_case.write_scores("all-flagged.out", np.ones(len(clarify_case.frame)))
    config = clarify_case.config_dict({"post_training_bias": {"methods": ["DI"]}})
    run(clarify_case, tmp_path, config, predictions=all_flagged)
    text = (tmp_path / "out" / "analysis.json").read_text()
    written = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    [di] = written["post_training_bias_metrics"]["facets"][FACET][0]["metrics"]
    assert di["value"] is None
    assert "error" in di


def test_local_shap_values_are_skipped_when_the_config_says_so(
    clarify_case: ClarifyCase, tmp_path: Path
) -> None:
    config = clarify_case.config_dict({"shap": {"agg_method": "mean_abs", "save_local_shap_values": False}})
    analysis = run(clarify_case, tmp_path, config)
    assert "global_shap_values" in analysis["explanations"]["kernel_shap"]["label0"]
    assert not (tmp_path / "out" / "explanations_shap").exists()


def test_config_headers_mean_a_csv_without_a_header_row(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    # Given Clarify's other convention: headers in the config, no header row in the file
    bare = tmp_path / "bare.csv"
    clarify_case.frame.to_csv(bare, index=False, header=False)
    raw = {
        **clarify_case.config_dict({"pre_training_bias": {"methods": ["CI"]}}),
        "headers": list(clarify_case.frame.columns),
    }
    config = clarify_case.write_config("with-headers.json", raw)
    # When analysed, Then the rows are the same as with the header row
    analysis = bias_shap.analyze(bias_shap.Inputs(config, bare), tmp_path / "out")
    expected = run(
        clarify_case,
        tmp_path / "headered",
        clarify_case.config_dict({"pre_training_bias": {"methods": ["CI"]}}),
    )
    assert analysis["pre_training_bias_metrics"] == expected["pre_training_bias_metrics"]


def test_config_headers_with_a_header_row_in_the_csv_is_an_error(
    clarify_case: ClarifyCase, tmp_path: Path
) -> None:
    # Clarify would read the header row as a record, so the local run refuses the combination
    headered = tmp_path / "headered.csv"
    clarify_case.frame.to_csv(headered, index=False)
    raw = {
        **clarify_case.config_dict({"pre_training_bias": {"methods": "all"}}),
        "headers": list(clarify_case.frame.columns),
    }
    config = clarify_case.write_config("both.json", raw)
    with pytest.raises(ValueError, match="a header row in a file whose config also gives 'headers'"):
        bias_shap.analyze(bias_shap.Inputs(config, headered), tmp_path / "out")


# --------------------------------------------------------------------------- predicted positives


def test_predicted_positive_rates_are_each_facets_share_of_flagged_rows(
    clarify_case: ClarifyCase, clarify_output: tuple[dict, Path]
) -> None:
    analysis, _ = clarify_output
    [entry] = analysis["post_training_bias_metrics"]["facets"][FACET]
    female = clarify_case.frame[FACET].to_numpy() == 1
    flagged = clarify_case.scores > clarify_case.threshold
    rates = entry["predicted_positive_rate"]
    assert rates["facet_d"] == pytest.approx(flagged[female].mean(), abs=1e-12)
    assert rates["facet_a"] == pytest.approx(flagged[~female].mean(), abs=1e-12)
    assert (rates["rows_d"], rates["rows_a"]) == (int(female.sum()), int((~female).sum()))


def test_a_model_that_flags_nobody_has_zero_predicted_positives_in_both_facets(
    clarify_case: ClarifyCase, tmp_path: Path
) -> None:
    # Given scores that never exceed the threshold (the model calls every claim genuine)
    never = clarify_case.write_scores("never.out", np.zeros(len(clarify_case.frame)))

    # When analysed
    config = clarify_case.config_dict({"post_training_bias": {"methods": ["DI", "DPPL"]}})
    analysis = run(clarify_case, tmp_path, config, predictions=never)

    # Then DI and DPPL look perfect, and the predicted-positive rates show why they must not count
    [entry] = analysis["post_training_bias_metrics"]["facets"][FACET]
    assert metrics_of(analysis, "post_training_bias_metrics") == {"DI": 1.0, "DPPL": 0.0}
    assert (entry["predicted_positive_rate"]["facet_d"], entry["predicted_positive_rate"]["facet_a"]) == (
        0.0,
        0.0,
    )


def test_pre_training_facets_carry_no_predicted_rates(clarify_output: tuple[dict, Path]) -> None:
    analysis, _ = clarify_output
    [entry] = analysis["pre_training_bias_metrics"]["facets"][FACET]
    assert "predicted_positive_rate" not in entry


# --------------------------------------------------------------------------- SHAP sample


def sample_of_fifty() -> np.ndarray:
    """A seeded sample capped at 50 rows from 1000 rows in two strata."""
    strata = np.array(["0|False"] * 900 + ["1|True"] * 100)
    return bias_shap.stratified_sample(strata, 50, seed=3)


def test_a_sample_never_exceeds_the_cap() -> None:
    # Given 1000 rows and a cap of 50, When sampled, Then 50 rows are chosen
    assert len(sample_of_fifty()) == 50


def test_a_sample_is_repeatable() -> None:
    # Given the same rows, cap and seed, When sampled twice, Then the same rows are chosen
    assert np.array_equal(sample_of_fifty(), sample_of_fifty())


def test_a_sample_keeps_each_strata_share() -> None:
    strata = np.array(["a"] * 700 + ["b"] * 200 + ["c"] * 100)
    chosen = bias_shap.stratified_sample(strata, 100, seed=0)
    assert [int((strata[chosen] == s).sum()) for s in "abc"] == [70, 20, 10]


def test_a_sample_keeps_a_row_of_a_rare_stratum() -> None:
    strata = np.array(["common"] * 9_999 + ["rare"])
    chosen = bias_shap.stratified_sample(strata, 10, seed=0)
    assert "rare" in set(strata[chosen])


def test_below_the_cap_every_row_is_explained_in_order() -> None:
    assert bias_shap.stratified_sample(np.array(list("abcab")), 5, seed=0).tolist() == [0, 1, 2, 3, 4]


def test_above_the_cap_shap_explains_a_recorded_sample(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    # Given more test rows than the SHAP cap
    inputs = bias_shap.Inputs(
        clarify_case.config, clarify_case.dataset, clarify_case.predictions, clarify_case.model
    )

    # When analysed with a cap of 120 rows
    analysis = bias_shap.analyze(inputs, tmp_path, bias_shap.Sampling(max_rows=120, seed=5))

    # Then SHAP covers 120 rows, says it sampled, and names each row it explained
    label0 = analysis["explanations"]["kernel_shap"]["label0"]
    assert (label0["rows_explained"], label0["rows_total"]) == (120, len(clarify_case.frame))
    assert label0["sample"] == {"method": "stratified by label and facet", "seed": 5}
    rows = np.loadtxt(tmp_path / "explanations_shap" / "rows.csv", dtype=int)
    assert len(rows) == 120 == len((tmp_path / "explanations_shap" / "out.csv").read_text().splitlines()) - 1


def test_above_the_cap_bias_still_uses_every_row(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    inputs = bias_shap.Inputs(
        clarify_case.config, clarify_case.dataset, clarify_case.predictions, clarify_case.model
    )
    sampled = bias_shap.analyze(inputs, tmp_path, bias_shap.Sampling(max_rows=120))
    full = bias_shap.analyze(inputs, tmp_path / "full")
    assert sampled["post_training_bias_metrics"] == full["post_training_bias_metrics"]


# --------------------------------------------------------------------------- command line


def _channels(case: ClarifyCase, root: Path) -> list[str]:
    """Lay the inputs out as SageMaker does (one folder per input) and return the arguments."""
    folders = {
        "config": case.config,
        "data": case.dataset,
        "predictions": case.predictions,
        "model": case.model,
    }
    for name, source in folders.items():
        (root / name).mkdir(parents=True)
        shutil.copyfile(source, root / name / source.name)
    return [
        "--config-dir", str(root / "config"), "--dataset-dir", str(root / "data"),
        "--predictions-dir", str(root / "predictions"), "--model-dir", str(root / "model"),
        "--output-dir", str(root / "output"),
    ]  # fmt: skip


def test_main_writes_the_analysis_from_channel_folders(
    clarify_case: ClarifyCase, clarify_output: tuple[dict, Path], tmp_path: Path
) -> None:
    assert bias_shap.main(_channels(clarify_case, tmp_path)) == 0
    written = json.loads((tmp_path / "output" / "analysis.json").read_text())
    assert written["post_training_bias_metrics"] == clarify_output[0]["post_training_bias_metrics"]


def test_main_fails_on_two_datasets_naming_both(
    clarify_case: ClarifyCase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a dataset folder with two CSVs (which one lines up with the predictions?)
    argv = _channels(clarify_case, tmp_path)
    shutil.copyfile(clarify_case.dataset, tmp_path / "data" / "other.csv")

    # When the job runs / Then it fails with exit 1, naming both files, and writes nothing
    assert bias_shap.main(argv) == 1
    assert "expected one dataset file (.csv), found other.csv, test.csv" in caplog.text
    assert not (tmp_path / "output" / "analysis.json").exists()


def test_main_fails_on_predictions_that_do_not_line_up(
    clarify_case: ClarifyCase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    argv = _channels(clarify_case, tmp_path)
    (tmp_path / "predictions" / clarify_case.predictions.name).write_text("0.1\n0.2\n")
    assert bias_shap.main(argv) == 1
    assert "has 2 predictions but the dataset has 600 rows" in caplog.text


def test_main_refuses_a_zero_shap_cap(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        bias_shap.main([*_channels(clarify_case, tmp_path), "--max-shap-rows", "0"])


def test_the_script_runs_alone_without_this_repository(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    # Given only the script file and the channel folders, as in the container
    argv = _channels(clarify_case, tmp_path / "channels")

    # When run with the repository off sys.path / Then it completes
    completed = run_standalone(Path(bias_shap.__file__), tmp_path, *argv)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "channels" / "output" / "analysis.json").is_file()


def test_a_transform_over_two_instances_is_read_in_part_order(
    clarify_case: ClarifyCase, tmp_path: Path
) -> None:
    # Given the same scores split over two outputs, as a transform of two test parts writes them
    one = tmp_path / "one"
    two = tmp_path / "two"
    argv_one, argv_two = _channels(clarify_case, one), _channels(clarify_case, two)
    lines = clarify_case.predictions.read_text().splitlines(keepends=True)
    (two / "predictions" / clarify_case.predictions.name).unlink()
    (two / "predictions" / "test-part-00000.csv.out").write_text("".join(lines[:250]))
    (two / "predictions" / "test-part-00001.csv.out").write_text("".join(lines[250:]))
    # When the job runs on each layout
    assert bias_shap.main(argv_one) == 0
    assert bias_shap.main(argv_two) == 0

    # Then the post-training metrics are the same
    def post(root: Path) -> Any:
        return json.loads((root / "output" / "analysis.json").read_text())["post_training_bias_metrics"]

    assert post(two) == post(one)
