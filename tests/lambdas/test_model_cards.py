"""Specification of the model cards the approval function writes, against a moto server.

Every decision the function makes (approved, rejected, left for a human) writes a version of
the package's model card, so the registry shows why a version was approved or not.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.approval.handler import handler
from lambdas.approval.model_card import card_name
from lambdas.shared.registry import ModelPackage
from tests.lambdas.lambda_support import (
    KMS_KEY_ARN,
    PENDING,
    Aws,
    FakeLambdaContext,
    ReviewerInbox,
    bias_report,
    evaluation_report,
    state_change_event,
)

METADATA = {
    "data_cutoff_time": "2026-10-31T23:59:59Z",
    "feature_groups": "fraud-mlops-dev-claims,fraud-mlops-dev-customers",
    "code_version": "3f9c2a1",
    "xgboost_image_tag": "3.0-5",
    "xgboost_version": "3.0.5",
    "encoding_version": "1",
}


def _decide(aws: Aws, context: FakeLambdaContext, *, auc: float = 0.91) -> tuple[str, dict[str, Any]]:
    """Register a package, hand its pending event to the function, return its ARN and card."""
    arn = aws.register_package(evaluation=evaluation_report(auc=auc), bias=bias_report(), metadata=METADATA)
    handler(state_change_event(arn, PENDING), context)
    return arn, aws.sagemaker.describe_model_card(ModelCardName=_card_name(aws, arn))


def _card_name(aws: Aws, arn: str) -> str:
    return card_name(ModelPackage.model_validate(aws.package(arn)))


def _content(card: dict[str, Any]) -> dict[str, Any]:
    return json.loads(card["Content"])


def test_an_approved_package_gets_an_approved_card_with_its_gates(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a passing package and AUTO_APPROVE=true / When the function decides
    arn, card = _decide(aws, lambda_context)

    # Then the card is Approved, names the package, and lists AUC with its value and bound
    content = _content(card)
    [auc] = [
        m for m in content["evaluation_details"][0]["metric_groups"][0]["metric_data"] if m["name"] == "AUC"
    ]
    assert card["ModelCardStatus"] == "Approved"
    assert content["model_package_details"]["model_package_arn"] == arn
    assert auc == {"name": "AUC", "type": "number", "value": 0.91, "notes": "needs >= 0.8: pass"}


def test_a_rejected_package_gets_a_draft_card_with_the_failed_gate(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a package whose AUC misses the bar / When the function decides
    _, card = _decide(aws, lambda_context, auc=0.5)

    # Then the card is a draft whose evaluation says why it was rejected, and who decided
    content = _content(card)
    assert card["ModelCardStatus"] == "Draft"
    assert "AUC=0.5000 (needs >= 0.8)" in content["evaluation_details"][0]["evaluation_observation"]
    assert content["additional_information"]["custom_details"]["approver"].endswith("rejected by its gates")


def test_a_package_left_for_a_human_gets_a_card_pending_review(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a passing package in an environment where a human approves / When the function decides
    monkeypatch.setenv("AUTO_APPROVE", "false")
    _, card = _decide(aws, lambda_context)

    # Then the card awaits review and says who is to decide
    assert card["ModelCardStatus"] == "PendingReview"
    assert _content(card)["additional_information"]["custom_details"]["approver"].startswith(
        "awaiting a human"
    )


def test_the_card_records_the_training_data_cut_off_feature_groups_and_code_version(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a package registered with the pipeline's metadata / When the function decides
    _, card = _decide(aws, lambda_context)

    # Then the training details carry what the data and code were
    observations = _content(card)["training_details"]["training_observations"]
    assert "Training data cut-off: 2026-10-31T23:59:59Z" in observations
    assert "Feature groups: fraud-mlops-dev-claims,fraud-mlops-dev-customers" in observations
    assert "Code version: 3f9c2a1" in observations


def test_the_card_states_the_intended_use(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given any decision / Then the card says what the model is for, and that a person decides
    _, card = _decide(aws, lambda_context)
    assert "a person decides every claim" in _content(card)["intended_uses"]["intended_uses"]


def test_the_card_is_encrypted_with_the_configured_key(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function deployed with the project's key for its model cards / When it decides
    monkeypatch.setenv("MODEL_CARD_KMS_KEY_ARN", KMS_KEY_ARN)
    _, card = _decide(aws, lambda_context)

    # Then the card is encrypted with that key
    assert card["SecurityConfig"] == {"KmsKeyId": KMS_KEY_ARN}


def test_a_package_reviewed_again_gets_a_new_card_version(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a package rejected once, whose evidence is fixed and which is set back to pending
    arn, _ = _decide(aws, lambda_context, auc=0.5)
    uri = aws.package(arn)["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    aws.put_evidence_at(uri, evaluation_report())
    aws.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=PENDING)
    changed = aws.package(arn)["LastModifiedTime"].isoformat()

    # When the new pending event is handled
    handler(state_change_event(arn, PENDING, last_modified=changed), lambda_context)

    # Then the card's latest version is Approved, and the first one still says Draft
    name = _card_name(aws, arn)
    latest = aws.sagemaker.describe_model_card(ModelCardName=name)
    first = aws.sagemaker.describe_model_card(ModelCardName=name, ModelCardVersion=1)
    assert (latest["ModelCardVersion"] > 1, latest["ModelCardStatus"]) == (True, "Approved")
    assert first["ModelCardStatus"] == "Draft"


def test_the_card_records_the_encoding_version_of_the_training_data(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a package registered with the encoding version / When the function decides
    _, card = _decide(aws, lambda_context)

    # Then a reader can tell how raw records became the model's features
    observations = _content(card)["training_details"]["training_observations"]
    assert "encoding version 1" in observations
