"""Clarify's bias metrics, checked against hand computations from their documented definitions.

The hand-made table (14 rows) has these confusion counts, with "positive" = favourable = not fraud:

    facet a (9 rows): TP=3 FN=1 FP=2 TN=3 -> n_a(1)=4  n_a(0)=5  n̂_a(1)=5  n̂_a(0)=4
    facet d (5 rows): TP=1 FN=2 FP=1 TN=1 -> n_d(1)=3  n_d(0)=2  n̂_d(1)=2  n̂_d(0)=3

The expected values below are derived from these counts in the comments and do not call
the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_def.scripts import bias_shap

OUTCOMES_A = ["TP"] * 3 + ["FN"] * 1 + ["FP"] * 2 + ["TN"] * 3
OUTCOMES_D = ["TP"] * 1 + ["FN"] * 2 + ["FP"] * 1 + ["TN"] * 1


def table(outcomes_a: list[str], outcomes_d: list[str]) -> bias_shap.BiasInputs:
    """Rows from confusion outcomes: TP/FN are observed acceptances and TP/FP predicted ones."""
    outcomes = outcomes_a + outcomes_d
    accepted = np.array([o in ("TP", "FN") for o in outcomes])
    return bias_shap.BiasInputs(
        facet=np.array([False] * len(outcomes_a) + [True] * len(outcomes_d)),
        labels=np.where(accepted, 0, 1),  # fraud = 0 is the favourable label
        accepted=accepted,
        predicted=np.array([o in ("TP", "FP") for o in outcomes]),
    )


@pytest.fixture
def hand_table() -> bias_shap.BiasInputs:
    return table(OUTCOMES_A, OUTCOMES_D)


def value_of(metric: str, inputs: bias_shap.BiasInputs) -> float | None:
    [entry] = bias_shap.metric_entries([bias_shap.METRICS[metric]], inputs)
    return entry["value"]  # type: ignore[return-value]


# P_a = (4/9, 5/9) and P_d = (3/5, 2/5) over fraud = (0, 1).
P_A, P_D = np.array([4 / 9, 5 / 9]), np.array([3 / 5, 2 / 5])
MIX = (P_A + P_D) / 2

EXPECTED = {
    "CI": (9 - 5) / 14,  # (n_a - n_d) / n
    "DPL": 4 / 9 - 3 / 5,  # n_a(1)/n_a - n_d(1)/n_d
    "KL": 4 / 9 * math.log((4 / 9) / (3 / 5)) + 5 / 9 * math.log((5 / 9) / (2 / 5)),
    "JS": 0.5 * (sum(P_A * np.log(P_A / MIX)) + sum(P_D * np.log(P_D / MIX))),
    "LP": math.sqrt(2) * 7 / 45,  # both label values differ by |4/9 - 3/5| = 7/45
    "TVD": 7 / 45,  # ½ (7/45 + 7/45)
    "KS": 7 / 45,
    "DPPL": 5 / 9 - 2 / 5,  # n̂_a(1)/n_a - n̂_d(1)/n_d
    "DI": (2 / 5) / (5 / 9),  # q̂_d / q̂_a
    "DCA": 4 / 5 - 3 / 2,  # n_a(1)/n̂_a(1) - n_d(1)/n̂_d(1)
    "DCR": 2 / 3 - 5 / 4,  # n_d(0)/n̂_d(0) - n_a(0)/n̂_a(0)
    "RD": 3 / 4 - 1 / 3,  # TP/(TP+FN): a minus d
    "SD": 1 / 2 - 3 / 5,  # TN/(TN+FP): d minus a
    "DAR": 3 / 5 - 1 / 2,  # TP/n̂(1): a minus d
    "DRR": 1 / 3 - 3 / 4,  # TN/n̂(0): d minus a
    "AD": 6 / 9 - 2 / 5,  # (TP+TN)/n: a minus d
    "TE": 2 / 1 - 1 / 2,  # FN/FP: d minus a
    # b = ŷ - y + 1 is 1 for TP/TN (7 rows), 2 for FP (3), 0 for FN (3); mean 1, so
    # GE = (3 · (2² - 1) + 3 · (0 - 1)) / (14 · 2 · 1) = 6 / 28
    "GE": 6 / 28,
}


@pytest.mark.parametrize(("metric", "expected"), sorted(EXPECTED.items()))
def test_metric_matches_its_definition_on_the_hand_table(
    metric: str, expected: float, hand_table: bias_shap.BiasInputs
) -> None:
    assert value_of(metric, hand_table) == pytest.approx(expected, abs=1e-12)


def test_class_imbalance_of_a_known_female_share() -> None:
    # Given 1,000 rows of which 370 are in facet d
    facet = np.zeros(1000, dtype=bool)
    facet[:370] = True
    # Then CI = (630 - 370) / 1000
    assert bias_shap.class_imbalance(facet) == pytest.approx(0.26, abs=1e-15)


# ---------------------------------------------------------------- conditional demographic disparity


def test_cddl_weights_each_subgroups_disparity_by_its_size() -> None:
    # Group 1 (4 rows): d accepted, d rejected, a accepted, a accepted
    #   DD_1 = d's share of rejections (1/1) - d's share of acceptances (1/3) = 2/3
    # Group 2 (6 rows): d accepted, a accepted x2, a rejected x3
    #   DD_2 = 0/3 - 1/3 = -1/3
    # CDD = (4 · 2/3 + 6 · (-1/3)) / 10 = 1/15
    facet = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    accepted = np.array([1, 0, 1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
    group = np.array([1, 1, 1, 1, 2, 2, 2, 2, 2, 2])
    assert bias_shap.conditional_demographic_disparity(facet, accepted, group) == pytest.approx(1 / 15)


def test_cddl_counts_a_subgroup_without_rejections_as_a_zero_rejection_share() -> None:
    # Group 1 as above (DD_1 = 2/3, 4 rows); group 3 (2 rows): d accepted, a accepted
    #   DD_3 = 0 (no rejections) - 1/2 = -1/2;  CDD = (4 · 2/3 + 2 · (-1/2)) / 6 = 5/18
    facet = np.array([1, 1, 0, 0, 1, 0], dtype=bool)
    accepted = np.array([1, 0, 1, 1, 1, 1], dtype=bool)
    group = np.array(["g1", "g1", "g1", "g1", "g3", "g3"])
    assert bias_shap.conditional_demographic_disparity(facet, accepted, group) == pytest.approx(5 / 18)


def test_cddpl_is_cdd_on_the_predicted_labels() -> None:
    # Same table as the first CDD test, but the labels are now predictions
    inputs = bias_shap.BiasInputs(
        facet=np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool),
        labels=np.zeros(10),
        accepted=np.ones(10, dtype=bool),
        predicted=np.array([1, 0, 1, 1, 1, 1, 1, 0, 0, 0], dtype=bool),
        group=np.array([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]),
    )
    assert value_of("CDDPL", inputs) == pytest.approx(1 / 15)


# ---------------------------------------------------------------- flip test


def test_flip_test_counts_unfavourable_flips_minus_favourable_flips() -> None:
    # Facet a (3 rows, so k = 1) at x = 0 (accepted), 10 (rejected), 20 (accepted).
    # Facet d: x = 0.1 rejected  -> nearest a accepted: F+
    #          x = 10.2 accepted -> nearest a rejected: F-
    #          x = 19.9 rejected -> nearest a accepted: F+
    #          x = 0.2 accepted  -> nearest a accepted: no flip
    # FT = (2 - 1) / 4
    features = np.array([[0.0], [10.0], [20.0], [0.1], [10.2], [19.9], [0.2]])
    facet = np.array([0, 0, 0, 1, 1, 1, 1], dtype=bool)
    predicted = np.array([1, 0, 1, 0, 1, 0, 1], dtype=bool)
    assert bias_shap.flip_test(features, facet, predicted) == pytest.approx(1 / 4)


def test_flip_test_takes_a_majority_of_five_neighbours_when_facet_a_has_ten_rows() -> None:
    # Facet a at x = 0..9; only x = 5 is accepted. A d member at x = 5 is rejected.
    # Its single nearest neighbour is accepted (a flip with k = 1), but only 1 of its
    # 5 nearest (3, 4, 5, 6, 7) is, so the majority says rejected: no flip, FT = 0.
    features = np.array([[float(x)] for x in range(10)] + [[5.0]])
    facet = np.array([False] * 10 + [True])
    predicted = np.array([x == 5 for x in range(10)] + [False])
    assert bias_shap.flip_test(features, facet, predicted) == 0.0


def test_flip_test_on_a_capped_sample_is_repeatable() -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(3_000, 4))
    facet = rng.random(3_000) < 0.5
    predicted = features[:, 0] + 0.3 * facet > 0
    first = bias_shap.flip_test(features, facet, predicted, max_rows=200)
    assert bias_shap.flip_test(features, facet, predicted, max_rows=200) == first


# ---------------------------------------------------------------- degenerate inputs


def test_an_empty_facet_gives_null_values_not_an_exception() -> None:
    inputs = dataclasses.replace(table(OUTCOMES_A, []), group=np.zeros(len(OUTCOMES_A)))
    entries = bias_shap.metric_entries(bias_shap.select_metrics("all", bias_shap.PRE_TRAINING), inputs)
    assert all(e["value"] is None and "undefined" in str(e["error"]) for e in entries)


def test_disparate_impact_is_null_when_facet_a_has_no_predicted_acceptances() -> None:
    # q̂_a = 0, so q̂_d / q̂_a divides by zero
    inputs = table(["FN", "TN"], ["TP", "FN"])
    assert value_of("DI", inputs) is None


def test_treatment_equality_is_null_when_a_facet_has_no_false_positives() -> None:
    inputs = table(OUTCOMES_A, ["TP", "FN", "TN"])  # FP_d = 0, so FN_d / FP_d is undefined
    assert value_of("TE", inputs) is None


def test_generalized_entropy_is_null_when_every_prediction_is_a_false_rejection() -> None:
    inputs = table(["FN", "FN"], ["FN"])  # b = 0 for every row, so its mean is 0
    assert value_of("GE", inputs) is None


def test_kl_is_null_when_a_label_value_of_facet_a_never_occurs_in_facet_d() -> None:
    inputs = table(["TP", "FP"], ["TP", "TP"])  # P_d(fraud) = 0 < P_a(fraud): KL is infinite
    assert value_of("KL", inputs) is None


def test_cddl_without_a_group_variable_is_null_with_clarifys_error_text(
    hand_table: bias_shap.BiasInputs,
) -> None:
    [entry] = bias_shap.metric_entries([bias_shap.PRE_TRAINING["CDDL"]], hand_table)
    assert entry == {
        "name": "CDDL",
        "description": "Conditional Demographic Disparity in Labels (CDDL)",
        "value": None,
        "error": "Group variable is empty or not provided",
    }


def test_degenerate_entries_serialise_as_strict_json() -> None:
    inputs = table(["FN", "FN"], [])
    entries = bias_shap.metric_entries(bias_shap.select_metrics("all", bias_shap.POST_TRAINING), inputs)
    text = json.dumps(entries, allow_nan=False)
    assert '"value": null' in text


BOUNDED_BY_ONE = {"CI", "DPL", "TVD", "KS", "DPPL", "RD", "SD", "DAR", "DRR", "AD", "FT", "CDDL", "CDDPL"}

rows = st.lists(
    st.tuples(st.booleans(), st.sampled_from(["TP", "FN", "FP", "TN"]), st.integers(0, 2)), max_size=12
)


@settings(max_examples=150, deadline=None)
@given(rows)
def test_every_metric_is_null_or_finite_for_any_table(table_rows: list[tuple[bool, str, int]]) -> None:
    # Any table, including empty facets and one-class labels, gives finite numbers or null, never an exception
    in_d = [outcome for is_d, outcome, _ in table_rows if is_d]
    in_a = [outcome for is_d, outcome, _ in table_rows if not is_d]
    inputs = dataclasses.replace(
        table(in_a, in_d),
        group=np.array(
            [g for is_d, _, g in table_rows if not is_d] + [g for is_d, _, g in table_rows if is_d]
        ),
        features=np.arange(len(table_rows), dtype=np.float64).reshape(-1, 1),
    )
    entries = bias_shap.metric_entries(list(bias_shap.METRICS.values()), inputs)
    for entry in entries:
        value = entry["value"]
        assert value is None or math.isfinite(value)
        if value is not None and entry["name"] in BOUNDED_BY_ONE:
            assert -1.0 <= value <= 1.0, entry


# ---------------------------------------------------------------- selecting metrics


def test_all_selects_every_metric_in_alphabetical_order() -> None:
    names = [m.name for m in bias_shap.select_metrics("all", bias_shap.PRE_TRAINING)]
    assert names == ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]


def test_a_list_selects_only_the_named_metrics() -> None:
    names = [m.name for m in bias_shap.select_metrics(["DPL", "CI"], bias_shap.PRE_TRAINING)]
    assert names == ["CI", "DPL"]


def test_an_unknown_metric_name_is_an_error_naming_it_and_the_allowed_names() -> None:
    with pytest.raises(ValueError, match=r"unknown bias metric\(s\) XYZ; allowed: AD, CDDPL, .*TE, or 'all'"):
        bias_shap.select_metrics(["DPPL", "XYZ"], bias_shap.POST_TRAINING)


def test_a_post_training_name_is_not_a_pre_training_metric() -> None:
    with pytest.raises(ValueError, match="DPPL"):
        bias_shap.select_metrics(["DPPL"], bias_shap.PRE_TRAINING)
