"""The model card the approval function writes for every decision it makes.

The registry's approval status says *what* was decided; the card says *why*, next to the model:
intended use, the data the model was trained on (cut-off, feature groups), what built it (code
version, image), every gate with its value, bound and verdict, and who decided. Content follows
SageMaker's model card JSON schema (docs.aws.amazon.com/sagemaker/latest/dg/model-cards.html).

One card per package version, named from the package (:func:`card_name`); each decision writes a
new card version, so a package rejected, fixed and reviewed again keeps both stories. A decision
taken later in the registry (a reviewer approving a package the gates rejected, say) is added to
the latest card by :func:`with_later_decision`: the gates and their verdicts stay as the function
found them, and the card says who decided otherwise, when, and why.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from lambdas.approval.models import Decision, GateResult, LaterDecision, shown_description
from lambdas.constants import MODEL_CARD_GROUP_CHARS, STATUS_APPROVED, STATUS_PENDING, STATUS_REJECTED
from lambdas.shared.documents import dig
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


def recorded_status(content: Mapping[str, Any]) -> tuple[Any, Any]:
    """The approval status and ApprovalDescription the card says the package has."""
    details = dig(content, "model_package_details")
    return dig(details, "model_approval_status"), dig(details, "approval_description")


def records(content: Mapping[str, Any], status: str, description: str | None) -> bool:
    """Whether the card already says the package is ``status`` with this ApprovalDescription.

    True for the function's own decision coming back as an event (it writes the card before the
    status), and for a decision already recorded. The description is compared as given and as
    the card shows a reviewer's note (printable, cut), so both kinds of record are recognised.
    """
    recorded, recorded_description = recorded_status(content)
    return recorded == status and recorded_description in {description or "", shown_description(description)}


def _section(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as a mapping to update, replacing whatever else an edit left there."""
    if not isinstance(parent.get(key), dict):
        parent[key] = {}
    return parent[key]


def _decider(decision: LaterDecision) -> str:
    who = decision.decided_by or "a reviewer SageMaker did not name"
    return f"{who}, in the Model Registry, after the approval function's review"


def with_later_decision(content: Mapping[str, Any], decision: LaterDecision) -> dict[str, Any]:
    """The card's content with a later decision recorded; the gates and their verdicts are kept.

    ``function_review`` keeps what the function itself decided (set once: a second later
    decision does not overwrite it with the first one).
    """
    updated = copy.deepcopy(dict(content))
    package_details = _section(updated, "model_package_details")
    package_details |= {"model_approval_status": decision.status, "approval_description": decision.note}
    details = _section(_section(updated, "additional_information"), "custom_details")
    review = f"{details.get('decision')}: {details.get('approver')}"
    details.setdefault("function_review", clip(review, MAX_DETAIL_CHARS))
    details |= {
        "decision": decision.status,
        "approver": _decider(decision),
        "decided_by": decision.decided_by or "not recorded",
        "decided_at": decision.decided_at or "not recorded",
        "decision_note": decision.note,
    }
    return updated
