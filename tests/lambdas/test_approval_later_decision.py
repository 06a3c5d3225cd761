"""Specification of issue 14: a decision taken in the registry after the review updates the model card.

The approval rule also delivers Approved and Rejected events. The function's own decision comes
back that way and is recognised on the card; a reviewer's later decision is added to the card
(who, when, their note), keeping the gates and verdicts of the function's review. The approval
status itself is never touched on these events.

moto 5.2.5 reports LastModifiedBy after an update as its fixed Studio user profile
("fake-user-profile-name"); the IAM-identity and no-identity cases run against the in-memory
registry, through the same logic.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.approval.handler import handler
from lambdas.approval.later_decision import record_decision
from lambdas.approval.logic import review_package
from lambdas.approval.model_card import card_name
from lambdas.approval.models import ApprovalSettings
from lambdas.shared.registry import ModelPackage
from lambdas.shared.settings import load_settings
from lambdas.shared.text import TRUNCATION_MARKER
from tests.lambdas.lambda_support import (
    APPROVED,
    GROUP,
    PENDING,
    REJECTED,
    TABLE,
    ApiCallRecorder,
    Aws,
    FakeLambdaContext,
    InMemoryRegistry,
    RecordingNotifier,
    ReviewerInbox,
    bias_report,
    evaluation_report,
    state_change_event,
)

pytestmark = pytest.mark.long_module(7)

MOTO_USER = "fake-user-profile-name"
METADATA = {"data_cutoff_time": "2026-10-31T23:59:59Z", "code_version": "3f9c2a1"}
NOTE = "Reviewed by the fraud team: the AUC shortfall is within noise on this month's data."


def _reviewed(aws: Aws, context: FakeLambdaContext, *, auc: float = 0.91) -> str:
    """A package reviewed by the function on its pending event; returns its ARN."""
    arn = aws.register_package(evaluation=evaluation_report(auc=auc), bias=bias_report(), metadata=METADATA)
    handler(state_change_event(arn, PENDING), context)
    return arn


def _status_event(aws: Aws, arn: str) -> dict[str, Any]:
    """The event SageMaker emits for the package's current status, stamped with its LastModifiedTime."""
    package = aws.package(arn)
    status = package["ModelApprovalStatus"]
    return state_change_event(arn, status, last_modified=package["LastModifiedTime"].isoformat())


def _decide(aws: Aws, arn: str, status: str, note: str = NOTE) -> dict[str, Any]:
    """A reviewer sets the status in the registry; returns the event that follows."""
    aws.sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription=note
    )
    return _status_event(aws, arn)


def _card(aws: Aws, arn: str) -> dict[str, Any]:
    return aws.sagemaker.describe_model_card(
        ModelCardName=card_name(ModelPackage.model_validate(aws.package(arn)))
    )


def _content(aws: Aws, arn: str) -> dict[str, Any]:
    return json.loads(_card(aws, arn)["Content"])


def _details(aws: Aws, arn: str) -> dict[str, Any]:
    return _content(aws, arn)["additional_information"]["custom_details"]


# --- The function's own decision coming back ---------------------------------------------------
@pytest.mark.parametrize(("auc", "status"), [(0.91, APPROVED), (0.5, REJECTED)], ids=["approved", "rejected"])
def test_its_own_decision_coming_back_is_ignored(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, auc: float, status: str
) -> None:
    # Given a package the function approved (AUTO_APPROVE) or rejected
    arn = _reviewed(aws, lambda_context, auc=auc)

    # When the Approved/Rejected event of its own update comes back
    result = handler(_status_event(aws, arn), lambda_context)

    # Then the function recognises its decision on the card and does nothing
    assert result["outcome"] == "ignored"
    assert result["reason"].startswith("own decision: model card fraud-detection-v1-")
    assert result["reason"].endswith(f"already records {status} with this description")


def test_its_own_decision_coming_back_writes_no_card_version(
    aws: Aws, approval_env: ReviewerInbox, approval_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given a package the function approved
    arn = _reviewed(aws, lambda_context)
    calls_before = len(approval_calls.calls)

    # When its own Approved event comes back
    handler(_status_event(aws, arn), lambda_context)

    # Then it only read the package and the card
    assert [name for name, _ in approval_calls.calls[calls_before:]] == [
        "DescribeModelPackage",
        "DescribeModelCard",
    ]
    assert _card(aws, arn)["ModelCardVersion"] == 1


# --- A reviewer's later decision ---------------------------------------------------------------
@pytest.fixture
def overruled_rejection(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> dict[str, Any]:
    """A package the gates rejected (AUC 0.5), then approved by a reviewer with a note."""
    arn = _reviewed(aws, lambda_context, auc=0.5)
    result = handler(_decide(aws, arn, APPROVED), lambda_context)
    return result | {"arn": arn}


def test_a_reviewers_approval_after_a_rejection_is_recorded(overruled_rejection: dict[str, Any]) -> None:
    assert overruled_rejection["outcome"] == "decision_recorded"


def test_the_card_then_says_approved(aws: Aws, overruled_rejection: dict[str, Any]) -> None:
    # Given the reviewer's approval / Then the card's status and its package details say Approved
    arn = overruled_rejection["arn"]
    assert _card(aws, arn)["ModelCardStatus"] == "Approved"
    assert _content(aws, arn)["model_package_details"]["model_approval_status"] == APPROVED


def test_the_card_names_the_reviewer_and_their_note(aws: Aws, overruled_rejection: dict[str, Any]) -> None:
    details = _details(aws, overruled_rejection["arn"])
    assert (details["decision"], details["decided_by"], details["decision_note"]) == (
        APPROVED,
        MOTO_USER,
        NOTE,
    )


def test_the_card_says_when_the_reviewer_decided(aws: Aws, overruled_rejection: dict[str, Any]) -> None:
    arn = overruled_rejection["arn"]
    assert _details(aws, arn)["decided_at"] == aws.package(arn)["LastModifiedTime"].isoformat()


def test_the_card_keeps_the_gates_and_their_verdicts(aws: Aws, overruled_rejection: dict[str, Any]) -> None:
    # Given the reviewer's approval of a package whose AUC failed its gate
    content = _content(aws, overruled_rejection["arn"])

    # Then the card still shows the failed gate and what the function had decided
    metrics = content["evaluation_details"][0]["metric_groups"][0]["metric_data"]
    [auc] = [metric for metric in metrics if metric["name"] == "AUC"]
    assert auc["notes"] == "needs >= 0.8: FAIL"
    assert content["additional_information"]["custom_details"]["function_review"] == (
        "Rejected: approval function: rejected by its gates"
    )


def test_the_card_keeps_the_training_details_of_the_review(
    aws: Aws, overruled_rejection: dict[str, Any]
) -> None:
    # The card is updated from its own content, not rebuilt from the package (whose metadata an
    # update may not return: moto drops it)
    observations = _content(aws, overruled_rejection["arn"])["training_details"]["training_observations"]
    assert "Training data cut-off: 2026-10-31T23:59:59Z" in observations


def test_the_functions_review_stays_as_the_first_card_version(
    aws: Aws, overruled_rejection: dict[str, Any]
) -> None:
    # Given the reviewer's decision recorded / Then version 1 of the card is still the function's review
    name = card_name(ModelPackage.model_validate(aws.package(overruled_rejection["arn"])))
    first = aws.sagemaker.describe_model_card(ModelCardName=name, ModelCardVersion=1)
    assert first["ModelCardStatus"] == "Draft"
    assert "decided_by" not in json.loads(first["Content"])["additional_information"]["custom_details"]


def test_recording_a_decision_never_changes_the_approval_status(
    aws: Aws, approval_env: ReviewerInbox, approval_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given a package the gates rejected, approved by a reviewer
    arn = _reviewed(aws, lambda_context, auc=0.5)
    event = _decide(aws, arn, APPROVED)
    updates_before = len(approval_calls.named("UpdateModelPackage"))

    # When the reviewer's Approved event is handled
    handler(event, lambda_context)

    # Then the function made no UpdateModelPackage, and the reviewer's status and note stand
    package = aws.package(arn)
    assert len(approval_calls.named("UpdateModelPackage")) == updates_before
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == (APPROVED, NOTE)


def test_a_reviewers_rejection_after_the_functions_approval_is_recorded(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a package the function approved, which a reviewer then rejects
    arn = _reviewed(aws, lambda_context)
    note = "Rejected: trained on a feature group later found to leak the label."

    # When the reviewer's Rejected event is handled
    result = handler(_decide(aws, arn, REJECTED, note), lambda_context)

    # Then the card is a draft again, saying who rejected it and why
    details = _details(aws, arn)
    assert result["outcome"] == "decision_recorded"
    assert _card(aws, arn)["ModelCardStatus"] == "Draft"
    assert (details["decision"], details["decision_note"]) == (REJECTED, note)


def test_a_reviewers_approval_of_a_package_left_for_them_is_recorded(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a passing package left pending for a human (AUTO_APPROVE=false)
    monkeypatch.setenv("AUTO_APPROVE", "false")
    arn = _reviewed(aws, lambda_context)

    # When the reviewer approves it
    handler(_decide(aws, arn, APPROVED, "Looks good."), lambda_context)

    # Then the card, PendingReview until now, is Approved and names the reviewer
    assert _card(aws, arn)["ModelCardStatus"] == "Approved"
    assert _details(aws, arn)["approver"].startswith(MOTO_USER)


def test_a_reviewers_approval_notifies_nobody(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a rejected package (no notice sent for a rejection) / When a reviewer approves it
    arn = _reviewed(aws, lambda_context, auc=0.5)
    handler(_decide(aws, arn, APPROVED), lambda_context)

    # Then the reviewers' topic stayed quiet: they made the decision
    assert approval_env.messages() == []


def test_the_result_says_who_decided(overruled_rejection: dict[str, Any]) -> None:
    assert (overruled_rejection["status"], overruled_rejection["decided_by"]) == (APPROVED, MOTO_USER)


# --- Duplicates and late events ----------------------------------------------------------------
def test_a_duplicate_decision_event_returns_the_stored_result(
    aws: Aws, approval_env: ReviewerInbox, approval_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given a reviewer's approval event handled once
    arn = _reviewed(aws, lambda_context, auc=0.5)
    event = _decide(aws, arn, APPROVED)
    first = handler(event, lambda_context)
    card_updates = len(approval_calls.named("UpdateModelCard"))

    # When EventBridge delivers it again
    second = handler(event, lambda_context)

    # Then the stored result comes back and the card is not written again
    assert second == first
    assert len(approval_calls.named("UpdateModelCard")) == card_updates


def test_a_redelivery_after_the_record_expired_is_recognised_on_the_card(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a reviewer's decision recorded, and the idempotency records gone (24 h later)
    arn = _reviewed(aws, lambda_context, auc=0.5)
    event = _decide(aws, arn, APPROVED, "note with a tab\there")
    handler(event, lambda_context)
    for record in aws.idempotency_records():
        aws.dynamodb.delete_item(TableName=TABLE, Key={"id": record["id"]})

    versions = _card(aws, arn)["ModelCardVersion"]

    # When the same event is re-driven / Then the card already records it: nothing is written
    assert handler(event, lambda_context)["outcome"] == "ignored"
    assert _card(aws, arn)["ModelCardVersion"] == versions


def test_an_approved_event_for_a_package_rejected_since_is_ignored(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a reviewer's approval whose event is late: the package was rejected again meanwhile
    arn = _reviewed(aws, lambda_context, auc=0.5)
    event = _decide(aws, arn, APPROVED)
    aws.sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=REJECTED, ApprovalDescription="no"
    )

    # When the late Approved event is handled / Then it is out of date, and the card is left alone
    result = handler(event, lambda_context)
    assert result["reason"].startswith("package is now 'Rejected'")
    assert _card(aws, arn)["ModelCardVersion"] == 1


# --- Hostile notes -----------------------------------------------------------------------------
@pytest.fixture
def hostile_note(aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext) -> dict[str, Any]:
    """A reviewer's approval whose note holds control characters, escape codes and 10 KB of text."""
    arn = _reviewed(aws, lambda_context, auc=0.5)
    note = "ok\x00\r\n\x1b[2J\x07" + "é" * 10_240
    handler(_decide(aws, arn, APPROVED, note), lambda_context)
    return _details(aws, arn)


def test_a_hostile_note_is_one_printable_line_on_the_card(hostile_note: dict[str, Any]) -> None:
    note = hostile_note["decision_note"]
    assert (note.isascii(), note.isprintable()) == (True, True)
    assert note.startswith("ok\\x00\\r\\n\\x1b[2J\\x07")


def test_a_hostile_note_is_cut_to_1024_characters_with_a_marker(hostile_note: dict[str, Any]) -> None:
    note = hostile_note["decision_note"]
    assert len(note) == 1024
    assert note.endswith(TRUNCATION_MARKER)


# --- With the in-memory registry: identities moto does not report -----------------------------
ARN = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/3"


def _registry_after_review(approval_variables: dict[str, str]) -> InMemoryRegistry:
    """The fake registry holding a package the function rejected (AUC 0.5), with its card."""
    registry = InMemoryRegistry(
        packages={
            ARN: {
                "ModelPackageArn": ARN,
                "ModelPackageGroupName": GROUP,
                "ModelPackageVersion": 3,
                "ModelApprovalStatus": PENDING,
                "ModelMetrics": {
                    "ModelQuality": {"Statistics": {"S3Uri": "s3://evidence/evaluation.json"}},
                    "Bias": {"Report": {"S3Uri": "s3://evidence/analysis.json"}},
                },
            }
        },
        documents={
            "s3://evidence/evaluation.json": json.dumps(evaluation_report(auc=0.5)).encode(),
            "s3://evidence/analysis.json": json.dumps(bias_report()).encode(),
        },
    )
    request = {"model_package_arn": ARN, "model_approval_status": PENDING}
    settings = load_settings(ApprovalSettings)
    review_package(request=request, settings=settings, registry=registry, notifier=RecordingNotifier())
    return registry


def _approve_as(registry: InMemoryRegistry, last_modified_by: dict[str, Any] | None) -> dict[str, Any]:
    """A reviewer approves in the fake registry; the function records it; returns the card's details."""
    registry.packages[ARN] |= {
        "ModelApprovalStatus": APPROVED,
        "ApprovalDescription": NOTE,
        "LastModifiedTime": "2026-11-03T09:15:00+00:00",
        **({"LastModifiedBy": last_modified_by} if last_modified_by is not None else {}),
    }
    request = {"model_package_arn": ARN, "model_approval_status": APPROVED}
    record_decision(request=request, settings=load_settings(ApprovalSettings), registry=registry)
    content = json.loads(registry.read_model_card(next(iter(registry.model_cards))) or "{}")
    return content["additional_information"]["custom_details"]


def test_an_iam_identity_is_named_when_there_is_no_studio_user(approval_variables: dict[str, str]) -> None:
    # Given a reviewer who approved through the API with an IAM role
    role = "arn:aws:sts::123456789012:assumed-role/ml-reviewer/alice"
    registry = _registry_after_review(approval_variables)

    # When the decision is recorded / Then the card names that identity
    details = _approve_as(registry, {"IamIdentity": {"Arn": role, "PrincipalId": "AROAEXAMPLE:alice"}})
    assert details["decided_by"] == role


def test_a_studio_user_is_preferred_to_the_iam_identity(approval_variables: dict[str, str]) -> None:
    registry = _registry_after_review(approval_variables)
    details = _approve_as(
        registry,
        {"UserProfileName": "alice", "IamIdentity": {"Arn": "arn:aws:sts::123456789012:assumed-role/x/y"}},
    )
    assert details["decided_by"] == "alice"


def test_a_decision_sagemaker_names_nobody_for_is_still_recorded(approval_variables: dict[str, str]) -> None:
    # Given an approval whose LastModifiedBy SageMaker left out
    registry = _registry_after_review(approval_variables)

    # When it is recorded / Then the card says the identity was not recorded
    details = _approve_as(registry, None)
    assert (details["decided_by"], details["approver"].startswith("a reviewer SageMaker did not name")) == (
        "not recorded",
        True,
    )


def test_a_hostile_identity_is_printable_and_short(approval_variables: dict[str, str]) -> None:
    registry = _registry_after_review(approval_variables)
    details = _approve_as(registry, {"UserProfileName": "eve\n\x1b[31m" + "x" * 5000})
    assert details["decided_by"].isprintable()
    assert len(details["decided_by"]) <= 256


def test_the_decision_time_comes_from_the_package(approval_variables: dict[str, str]) -> None:
    registry = _registry_after_review(approval_variables)
    assert _approve_as(registry, None)["decided_at"] == "2026-11-03T09:15:00+00:00"


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '"a string"'], ids=["text", "list", "string"])
def test_a_card_that_is_not_the_functions_json_is_left_alone(
    approval_variables: dict[str, str], content: str
) -> None:
    # Given a card someone replaced with other content
    registry = _registry_after_review(approval_variables)
    name = next(iter(registry.model_cards))
    registry.model_cards[name].append((content, "Draft"))

    # When a reviewer's approval is handled
    registry.packages[ARN] |= {"ModelApprovalStatus": APPROVED, "ApprovalDescription": NOTE}
    request = {"model_package_arn": ARN, "model_approval_status": APPROVED}
    result = record_decision(request=request, settings=load_settings(ApprovalSettings), registry=registry)

    # Then it is ignored with the reason, and no version is added
    assert result["reason"].endswith("does not hold the JSON the function writes; left as it is")
    assert len(registry.model_cards[name]) == 2


def test_a_card_whose_sections_were_edited_into_other_types_still_records_the_decision(
    approval_variables: dict[str, str],
) -> None:
    # Given a card whose package details and custom details are no longer objects
    registry = _registry_after_review(approval_variables)
    name = next(iter(registry.model_cards))
    registry.model_cards[name].append(
        (json.dumps({"model_package_details": "edited", "additional_information": []}), "Draft")
    )

    # When a reviewer's approval is recorded / Then the card holds the decision all the same
    details = _approve_as(registry, {"UserProfileName": "alice"})
    assert (details["decision"], details["decided_by"]) == (APPROVED, "alice")
