"""run_clarify end to end: Clarify's config in, Clarify's output layout out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from pipeline_def import schema
from pipeline_def.local import clarify

if TYPE_CHECKING:  # conftest is not importable at run time (--import-mode=importlib); the type is for readers
    from conftest import ClarifyCase

FACET = "customer_gender_female"
FEATURES = schema.dataset_columns()[1:]


def metrics_of(analysis: dict[str, Any], section: str) -> dict[str, Any]:
    [facet_block] = analysis[section]["facets"][FACET]
    return {m["name"]: m["value"] for m in facet_block["metrics"]}


def run(case: ClarifyCase, tmp_path: Path, config: dict[str, Any], predictions: Path | None = None) -> dict:
    return clarify.run_clarify(
        case.write_config(f"config-{tmp_path.name}.json", config),
        case.dataset,
        predictions or case.predictions,
        case.model,
        tmp_path / "out",
    )


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


def test_explanations_keep_the_kernel_shap_key_and_say_they_are_tree_shap_in_log_odds(
    clarify_output: tuple[dict, Path],
) -> None:
    analysis, _ = clarify_output
    label0 = analysis["explanations"]["kernel_shap"]["label0"]
    assert list(label0["global_shap_values"]) == list(FEATURES)
    assert isinstance(label0["expected_value"], float)
    assert "TreeSHAP" in label0["local_explainer"]
    assert "log-odds" in label0["local_explainer"]


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
    assert set(analysis) == {"version", "pre_training_bias_metrics"}


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
    analysis = clarify.run_clarify(config, bare, None, None, tmp_path / "out")
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
        clarify.run_clarify(config, headered, None, None, tmp_path / "out")
