"""Specification of the pure approval decision, ``approval.logic.decide`` (no AWS involved)."""

from __future__ import annotations

import math

import pytest

from lambdas.approval.logic import decide
from lambdas.approval.models import MAX_APPROVAL_DESCRIPTION, Decision, GateThresholds
from tests.lambdas.lambda_support import bias_report, evaluation_report, facet_entry

THRESHOLDS = GateThresholds(min_auc=0.8, min_recall=0.6, di_min=0.8, di_max=1.25, max_abs_dppl=0.1)


def _decide(evaluation: object = None, bias: object = None, *, auto_approve: bool = True) -> Decision:
    return decide(
        evaluation=evaluation_report() if evaluation is None else evaluation,
        bias_report=bias_report() if bias is None else bias,
        thresholds=THRESHOLDS,
        auto_approve=auto_approve,
    )


def test_good_evidence_with_auto_approve_is_approved() -> None:
    # Given metrics and bias inside every bound, and AUTO_APPROVE on
    # When the decision is made
    decision = _decide(auto_approve=True)

    # Then the package is approved
    assert decision.status == "Approved"


def test_good_evidence_without_auto_approve_stays_pending() -> None:
    # Given the same evidence but AUTO_APPROVE off
    # When the decision is made
    decision = _decide(auto_approve=False)

    # Then a human decides
    assert decision.status == "PendingManualApproval"


@pytest.mark.parametrize(
    ("evaluation", "bias", "reason"),
    [
        (evaluation_report(auc=0.79), None, "AUC=0.7900 (needs >= 0.8)"),
        (evaluation_report(recall=0.55), None, "recall=0.5500 (needs >= 0.6)"),
        (
            None,
            bias_report({"customer_gender_female": [facet_entry(di=0.7)]}),
            "DI[customer_gender_female=1]=0.7000",
        ),
        (
            None,
            bias_report({"customer_gender_female": [facet_entry(di=1.3)]}),
            "DI[customer_gender_female=1]=1.3000",
        ),
        (
            None,
            bias_report({"customer_gender_female": [facet_entry(dppl=0.15)]}),
            "DPPL[customer_gender_female=1]=0.15",
        ),
        (
            None,
            bias_report({"customer_gender_female": [facet_entry(dppl=-0.15)]}),
            "DPPL[customer_gender_female=1]=-0.15",
        ),
    ],
    ids=["auc-below", "recall-below", "di-below", "di-above", "dppl-above", "dppl-negative-above"],
)
def test_a_gate_outside_its_bound_rejects_with_the_value_and_bound(
    evaluation: object, bias: object, reason: str
) -> None:
    # Given evidence with exactly one metric out of bounds
    # When the decision is made, even with AUTO_APPROVE on
    decision = _decide(evaluation, bias, auto_approve=True)

    # Then the package is rejected and the description names the gate, its value and bound
    assert decision.status == "Rejected"
    assert reason in decision.approval_description()


def test_values_exactly_on_the_bounds_pass() -> None:
    # Given every metric exactly at its bound
    evaluation = evaluation_report(auc=0.8, recall=0.6)
    bias = bias_report({"f": [facet_entry(di=0.8, dppl=0.1), facet_entry("0", di=1.25, dppl=-0.1)]})

    # When the decision is made
    decision = _decide(evaluation, bias)

    # Then bounds are inclusive
    assert decision.status == "Approved"


def test_every_facet_and_value_is_gated_whatever_its_name() -> None:
    # Given a report with two facets, the second one unfair on one of its values
    bias = bias_report(
        {
            "customer_gender_female": [facet_entry("1")],
            "policy_state_region": [facet_entry("north"), facet_entry("south", di=0.5)],
        }
    )

    # When the decision is made
    decision = _decide(bias=bias)

    # Then the unfair value of the facet nobody hard-coded rejects the package
    assert [gate.name for gate in decision.failed_gates] == ["DI[policy_state_region=south]"]


@pytest.mark.parametrize(
    ("bias", "problem"),
    [
        (bias_report({}), "post_training_bias_metrics.facets missing or empty"),
        ({"version": "1.0"}, "post_training_bias_metrics.facets missing or empty"),
        (bias_report({"f": []}), "no values"),
        (bias_report({"f": [facet_entry(di=None)]}), "DI[f=1]: missing"),
        (bias_report({"f": [facet_entry(dppl=None)]}), "DPPL[f=1]: missing"),
    ],
    ids=["empty-facets", "no-post-training-section", "facet-without-values", "no-di", "no-dppl"],
)
def test_missing_bias_evidence_fails_closed(bias: object, problem: str) -> None:
    # Given a bias report lacking what the gates need
    # When the decision is made
    decision = _decide(bias=bias)

    # Then it is rejected, saying what was missing
    assert decision.status == "Rejected"
    assert problem in decision.approval_description()


@pytest.mark.parametrize(
    "bad_value",
    [math.nan, math.inf, -math.inf, "0.95", None, True, [0.9], {"value": 0.9}, 10**400],
    ids=["nan", "inf", "-inf", "string", "null", "bool", "list", "object", "huge-int"],
)
def test_a_metric_that_is_not_a_finite_number_fails_closed(bad_value: object) -> None:
    # Given an AUC that is not a usable number
    # When the decision is made
    decision = _decide(evaluation_report(auc=bad_value))

    # Then the AUC gate fails, with no value recorded
    assert [(gate.name, gate.value) for gate in decision.failed_gates] == [("AUC", None)]


@pytest.mark.parametrize("evaluation", [{}, [], "text", 42, {"binary_classification_metrics": []}])
def test_an_evaluation_document_of_the_wrong_shape_fails_closed(evaluation: object) -> None:
    # Given an evaluation document that is not the Model Monitor layout
    # When the decision is made
    decision = _decide(evaluation)

    # Then both quality gates fail
    assert {gate.name for gate in decision.failed_gates} == {"AUC", "recall"}


def test_a_metric_listed_twice_is_ambiguous_and_fails_closed() -> None:
    # Given a facet value reporting DI twice with different values
    entry = facet_entry()
    entry["metrics"].append({"name": "DI", "value": 0.1})

    # When the decision is made
    decision = _decide(bias=bias_report({"f": [entry]}))

    # Then neither value is trusted
    assert decision.failed_gates[0].problem == "ambiguous (2 entries)"


def test_a_metric_clarify_could_not_compute_fails_closed_with_its_error() -> None:
    # Given a facet value whose DI Clarify reports as null with an error text
    entry = facet_entry(di=None)
    entry["metrics"].append({"name": "DI", "value": None, "error": "Facet d has no observations"})

    # When the decision is made
    decision = _decide(bias=bias_report({"f": [entry]}))

    # Then the gate fails and says why
    assert decision.failed_gates[0].problem == "not computed (Facet d has no observations)"


def test_evidence_problems_reject_even_when_every_gate_passes() -> None:
    # Given good documents but a reported evidence problem
    # When the decision is made
    decision = decide(
        evaluation=evaluation_report(),
        bias_report=bias_report(),
        thresholds=THRESHOLDS,
        auto_approve=True,
        evidence_problems=["ModelMetrics.Bias.Report unreadable: s3://b/k: object not found"],
    )

    # Then it is rejected with the problem in the description
    assert "object not found" in decision.approval_description()


def test_each_failure_reason_is_listed_in_the_description() -> None:
    # Given AUC, recall, DI and DPPL all out of bounds
    evaluation = evaluation_report(auc=0.5, recall=0.2)
    bias = bias_report({"customer_gender_female": [facet_entry(di=0.5, dppl=0.3)]})

    # When the decision is made
    description = _decide(evaluation, bias).approval_description()

    # Then the description lists all four, each with its value and bound
    for reason in ("AUC=0.5000 (needs >= 0.8)", "recall=0.2000 (needs >= 0.6)", "DI[", "DPPL["):
        assert reason in description


def test_the_description_is_cut_safely_to_the_api_limit() -> None:
    # Given a report with hundreds of failing facets with long, odd names
    facets = {f"facet-{i}-\n-{'é' * 50}": [facet_entry(di=0.1)] for i in range(300)}

    # When the description is produced
    description = _decide(bias=bias_report(facets)).approval_description()

    # Then it fits UpdateModelPackage's limit, is one printable ASCII line, and says it was cut
    assert len(description) <= MAX_APPROVAL_DESCRIPTION
    assert description.isascii()
    assert description.isprintable()
    assert description.endswith("[truncated]")


def test_thresholds_reject_a_lower_di_bound_above_parity() -> None:
    # Given DI_MIN above 1, which would fail a perfectly fair model
    # When / Then the thresholds refuse it
    with pytest.raises(ValueError, match="di_min"):
        GateThresholds(min_auc=0.8, min_recall=0.6, di_min=1.1, di_max=1.25, max_abs_dppl=0.1)


# --------------------------------------------------------------------------- a model that flags nobody


def _female(**entry: object) -> object:
    return bias_report({"customer_gender_female": [facet_entry(**entry)]})


def test_a_model_that_flags_nobody_is_rejected_although_di_and_dppl_look_perfect() -> None:
    # Given DI = 1 and DPPL = 0 because no claim in either facet is predicted fraud
    bias = _female(di=1.0, dppl=0.0, flagged=(0.0, 0.0))

    # When the decision is made
    decision = _decide(bias=bias)

    # Then it is rejected, and the reason names the predicted-positive gate
    assert decision.status == "Rejected"
    reason = "flagged[customer_gender_female=1]=0.0000 (needs > 0 in each facet)"
    assert reason in decision.approval_description()


def test_a_facet_with_no_predicted_positives_is_rejected() -> None:
    decision = _decide(bias=_female(flagged=(0.0, 0.04)))
    assert decision.status == "Rejected"


@pytest.mark.parametrize(
    ("flagged", "problem"),
    [
        (None, "facet_d: missing; facet_a: missing"),
        ((None, 0.03), "facet_d: missing"),
        ((0.03, "0.04"), "facet_a: not a number (str)"),
        ((1.5, 0.03), "facet_d: outside [0, 1] (1.5)"),
        ((0.03, -0.01), "facet_a: outside [0, 1] (-0.01)"),
        ((math.nan, 0.03), "facet_d: not a finite number (nan)"),
    ],
)
def test_missing_or_broken_predicted_positive_rates_fail_closed(flagged: object, problem: str) -> None:
    # Given evidence without usable rates (an older or tampered analysis.json)
    decision = _decide(bias=_female(flagged=flagged))

    # Then the model is never approved, and the problem is named
    assert decision.status == "Rejected"
    assert problem in decision.approval_description()
