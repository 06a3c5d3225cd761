"""The model card the approval function writes for every decision it makes.

The registry's approval status says *what* was decided; the card says *why*, next to the model:
intended use, the data the model was trained on (cut-off, feature groups), what built it (code
version, image), every gate with its value, bound and verdict, and who decided. Content follows
SageMaker's model card JSON schema (docs.aws.amazon.com/sagemaker/latest/dg/model-cards.html).

One card per package version, named from the package (:func:`card_name`); each decision writes a
new card version, so a package rejected, fixed and reviewed again keeps both stories.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lambdas.approval.models import Decision, GateResult
from lambdas.constants import MODEL_CARD_GROUP_CHARS, STATUS_APPROVED, STATUS_PENDING, STATUS_REJECTED
from lambdas.shared.registry import ModelPackage
from lambdas.shared.text import clip

#: Card status per decision: a rejected card stays a draft (an archived card can never change,
#: and a rejected package may be fixed and reviewed again).
CARD_STATUS = {STATUS_APPROVED: "Approved", STATUS_PENDING: "PendingReview", STATUS_REJECTED: "Draft"}
APPROVER = {
    STATUS_APPROVED: "approval function: every gate passed and this environment approves automatically",
    STATUS_PENDING: "awaiting a human reviewer (notified on the review topic); every gate passed",
    STATUS_REJECTED: "approval function: rejected by its gates",
}
INTENDED_USE = {
    "purpose_of_model": "Score insurance claims for the likelihood of fraud.",
    "intended_uses": "Rank claims so investigators look at the riskiest first; a person decides every claim.",
    "factors_affecting_model_efficiency": "Drift in claim patterns after the training data cut-off; "
    "changes to the feature groups' definitions.",
    "risk_rating": "High",
    "explanations_for_risk_rating": "Errors can delay honest customers' claims; bias across customer "
    "groups is gated (disparate impact, DPPL) before approval.",
}
#: SageMaker's limit on one custom detail value, and on gates listed (the card's size is bounded).
MAX_DETAIL_CHARS = 1024
MAX_CARD_GATES = 50


def card_name(package: ModelPackage) -> str:
    """``<group>-v<version>-<8 hex of the ARN>``, within SageMaker's 63-character name pattern.

    Examples
    --------
    >>> card_name(ModelPackage(ModelPackageArn="arn:x", ModelPackageGroupName="fraud", ModelPackageVersion=3))
    'fraud-v3-37a06272'
    """
    digest = hashlib.sha256(package.arn.encode()).hexdigest()[:8]
    group = (package.group_name or "package")[:MODEL_CARD_GROUP_CHARS].rstrip("-")
    return f"{group}-v{package.version or 0}-{digest}"


def _metric(gate: GateResult) -> dict[str, Any]:
    verdict = "pass" if gate.passed else "FAIL"
    if gate.value is None:
        return {
            "name": gate.name,
            "type": "string",
            "value": f"{gate.problem}",
            "notes": f"needs {gate.bound}: {verdict}",
        }
    return {
        "name": gate.name,
        "type": "number",
        "value": gate.value,
        "notes": f"needs {gate.bound}: {verdict}",
    }


def _training(package: ModelPackage) -> str:
    meta = package.customer_metadata
    return (
        f"Training data cut-off: {meta.get('data_cutoff_time', 'not recorded')}. "
        f"Feature groups: {meta.get('feature_groups', 'not recorded')}, raw records encoded by "
        f"encoding version {meta.get('encoding_version', 'not recorded')}. "
        f"Code version: {meta.get('code_version', 'not recorded')}; image sagemaker-xgboost "
        f"{meta.get('xgboost_image_tag', '?')} (xgboost {meta.get('xgboost_version', '?')}). "
        f"Pipeline execution: {meta.get('pipeline_execution_id', 'not recorded')}."
    )


def card_content(package: ModelPackage, decision: Decision) -> dict[str, Any]:
    """The card's content for ``decision`` on ``package``."""
    description = decision.approval_description()
    details = {
        key: clip(str(value), MAX_DETAIL_CHARS) for key, value in sorted(package.customer_metadata.items())
    }
    details |= {"decision": decision.status, "approver": APPROVER[decision.status]}
    return {
        "model_overview": {
            "model_description": f"Fraud detection model {package.group_name} version {package.version}.",
            "problem_type": "Binary Classification",
            "algorithm_type": "XGBoost",
        },
        "intended_uses": INTENDED_USE,
        "training_details": {"training_observations": _training(package)},
        "evaluation_details": [
            {
                "name": "Approval gates",
                "evaluation_observation": description,
                "metric_groups": [
                    {"name": "gates", "metric_data": [_metric(g) for g in decision.gates[:MAX_CARD_GATES]]}
                ],
            }
        ],
        "model_package_details": {
            "model_package_arn": package.arn,
            "model_package_group_name": package.group_name,
            "model_package_version": package.version,
            "model_approval_status": decision.status,
            "approval_description": description,
        },
        "additional_information": {"custom_details": details},
    }


def card_json(package: ModelPackage, decision: Decision) -> str:
    """The content as SageMaker takes it: a JSON string, keys sorted so a retry writes the same text."""
    return json.dumps(card_content(package, decision), sort_keys=True)
