"""A model that calls every claim genuine: step 7's real output, judged by the real approval gates.

DI and DPPL compare acceptance rates, so a model that flags nobody scores DI = 1 and DPPL = 0 and
passed every bias gate before the predicted-positive rates became evidence. Here the job script
computes the analysis from all-negative scores and the approval logic decides on that file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lambdas.approval.logic import decide
from lambdas.approval.models import GateThresholds
from pipeline_def.scripts import bias_shap
from tests.lambdas.lambda_support import evaluation_report
from tests.scripts.bias_shap_fixtures import ClarifyCase

THRESHOLDS = GateThresholds(min_auc=0.75, min_recall=0.0, di_min=0.8, di_max=1.25, max_abs_dppl=0.1)


def test_the_gates_reject_a_model_that_flags_nobody(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    # Given step 7's analysis of a model whose every score is below the threshold
    never = clarify_case.write_scores("never-flags.out", np.full(len(clarify_case.frame), 0.001))
    inputs = bias_shap.Inputs(clarify_case.config, clarify_case.dataset, never, clarify_case.model)
    analysis = bias_shap.analyze(inputs, tmp_path)

    # When the approval function decides, even with a recall bound of 0 and auto-approve on
    decision = decide(
        evaluation=evaluation_report(), bias_report=analysis, thresholds=THRESHOLDS, auto_approve=True
    )

    # Then the bias gates alone pass, and the predicted-positive gate rejects the model
    failed = {gate.name for gate in decision.failed_gates}
    assert decision.status == "Rejected"
    assert failed == {"flagged[customer_gender_female=1]"}


def test_the_same_gates_pass_the_real_models_scores(clarify_case: ClarifyCase, tmp_path: Path) -> None:
    # Given step 7's analysis of the fixture model's own scores (so the rejection above is specific)
    analysis = bias_shap.analyze(clarify_case.inputs, tmp_path)

    # When decided / Then the predicted-positive gate passes
    decision = decide(
        evaluation=evaluation_report(), bias_report=analysis, thresholds=THRESHOLDS, auto_approve=True
    )
    assert "flagged[customer_gender_female=1]" not in {gate.name for gate in decision.failed_gates}
