"""Specification of the approval function, run in-process against a moto server.

The handler builds its own boto3 clients from the environment (``AWS_ENDPOINT_URL`` points at
moto), exactly as the local pipeline run calls it; the tests arrange and inspect state through
their own clients.
"""

from __future__ import annotations

import io
import json

import pytest

from lambdas.approval import handler as approval_handler
from lambdas.approval.handler import handler
from lambdas.shared.events import MalformedEventError
from lambdas.shared.registry import client_environment
from lambdas.shared.settings import ConfigurationError
from tests.lambdas.lambda_support import (
    APPROVED,
    APPROVED_EVENT,
    NOT_UPLOADED,
    PENDING,
    REJECTED,
    TABLE,
    ApiCallRecorder,
    Aws,
    FakeLambdaContext,
    ReviewerInbox,
    bias_report,
    evaluation_report,
    facet_entry,
    load_event,
    state_change_event,
)

pytestmark = pytest.mark.long_module(6)

GOOD_EVALUATION = evaluation_report(auc=0.91, recall=0.72)
GOOD_BIAS = bias_report()


def _pending_package(aws: Aws, *, evaluation: object = GOOD_EVALUATION, bias: object = GOOD_BIAS) -> str:
    return aws.register_package(evaluation=evaluation, bias=bias)


def test_good_metrics_with_auto_approve_approve_the_package(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a pending package whose evidence passes every gate, and AUTO_APPROVE=true
    arn = _pending_package(aws)

    # When the registry's PendingManualApproval event reaches the handler
    result = handler(state_change_event(arn, PENDING), lambda_context)

    # Then the package is Approved, with the passing gates in its description
    package = aws.package(arn)
    assert result["outcome"] == "approved"
    assert package["ModelApprovalStatus"] == APPROVED
    assert package["ApprovalDescription"].startswith("Approved automatically: all 5 gates passed")


def _review_for_a_human(
    aws: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict]:
    """A passing package handled where a human approves: its ARN and the handler's result."""
    monkeypatch.setenv("AUTO_APPROVE", "false")
    arn = _pending_package(aws)
    return arn, handler(state_change_event(arn, PENDING), lambda_context)


def test_good_metrics_without_auto_approve_leave_it_pending(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a passing package in an environment where a human approves
    # When the event is handled
    arn, result = _review_for_a_human(aws, lambda_context, monkeypatch)

    # Then the status is untouched
    assert result["outcome"] == "pending_review"
    assert aws.package(arn)["ModelApprovalStatus"] == PENDING


def test_good_metrics_without_auto_approve_notify_a_reviewer(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a passing package in an environment where a human approves
    # When the event is handled
    arn, _ = _review_for_a_human(aws, lambda_context, monkeypatch)

    # Then one message with the gate table and ARN reaches the reviewer
    [message] = approval_env.messages()
    assert arn in message["Message"]
    assert "DI[customer_gender_female=1]" in message["Message"]
    assert (
        message["Subject"]
        == f"Model awaiting approval: fraud-detection v{aws.package(arn)['ModelPackageVersion']}"
    )


@pytest.mark.parametrize(
    ("evaluation", "bias", "reason"),
    [
        (evaluation_report(auc=0.7), GOOD_BIAS, "AUC=0.7000 (needs >= 0.8)"),
        (evaluation_report(recall=0.4), GOOD_BIAS, "recall=0.4000 (needs >= 0.6)"),
        (
            GOOD_EVALUATION,
            bias_report({"customer_gender_female": [facet_entry(di=0.62)]}),
            "DI[customer_gender_female=1]=0.6200 (needs in [0.8, 1.25])",
        ),
        (
            GOOD_EVALUATION,
            bias_report({"customer_gender_female": [facet_entry(di=1.4)]}),
            "DI[customer_gender_female=1]=1.4000 (needs in [0.8, 1.25])",
        ),
        (
            GOOD_EVALUATION,
            bias_report({"customer_gender_female": [facet_entry(dppl=-0.2)]}),
            "DPPL[customer_gender_female=1]=-0.2000 (needs |x| <= 0.1)",
        ),
    ],
    ids=["auc-below", "recall-below", "di-below", "di-above", "abs-dppl-above"],
)
def test_a_failed_gate_rejects_the_package_with_the_reason(
    aws: Aws,
    approval_env: ReviewerInbox,
    lambda_context: FakeLambdaContext,
    evaluation: object,
    bias: object,
    reason: str,
) -> None:
    # Given a pending package with one metric out of bounds
    arn = _pending_package(aws, evaluation=evaluation, bias=bias)

    # When the event is handled
    handler(state_change_event(arn, PENDING), lambda_context)

    # Then it is Rejected and ApprovalDescription gives the value and the bound
    package = aws.package(arn)
    assert package["ModelApprovalStatus"] == REJECTED
    assert reason in package["ApprovalDescription"]


@pytest.mark.parametrize(
    ("evaluation", "bias", "reason"),
    [
        (GOOD_EVALUATION, NOT_UPLOADED, "ModelMetrics.Bias.Report unreadable"),
        (NOT_UPLOADED, GOOD_BIAS, "ModelMetrics.ModelQuality.Statistics unreadable"),
        (b"{not json", GOOD_BIAS, "invalid JSON"),
        (
            b'{"binary_classification_metrics": {"auc": {"value": NaN}, "recall": {"value": 0.9}}}',
            GOOD_BIAS,
            "AUC: not a finite number (nan)",
        ),
        (GOOD_EVALUATION, b"\xff\xfe not utf-8", "not UTF-8 text"),
    ],
    ids=["missing-bias-report", "missing-evaluation", "bad-json", "nan-auc", "binary-garbage"],
)
def test_unusable_evidence_is_never_approved(
    aws: Aws,
    approval_env: ReviewerInbox,
    lambda_context: FakeLambdaContext,
    evaluation: object,
    bias: object,
    reason: str,
) -> None:
    # Given a pending package whose evidence is missing, unreadable or not finite, and AUTO_APPROVE=true
    arn = _pending_package(aws, evaluation=evaluation, bias=bias)

    # When the event is handled
    result = handler(state_change_event(arn, PENDING), lambda_context)

    # Then it fails closed: Rejected, with the reason recorded
    assert result["outcome"] == "rejected"
    assert reason in aws.package(arn)["ApprovalDescription"]


def test_a_package_registered_without_model_metrics_is_rejected(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a pending package registered with no ModelMetrics at all
    arn = aws.register_package(evaluation=None, bias=None, with_metrics=False)

    # When the event is handled
    handler(state_change_event(arn, PENDING), lambda_context)

    # Then it is rejected because the evidence is not declared
    assert "ModelMetrics.ModelQuality.Statistics.S3Uri is not set" in aws.package(arn)["ApprovalDescription"]


def test_the_gates_read_the_registry_not_the_event_body(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a failing package, and an event whose ModelMetrics point at passing evidence
    arn = _pending_package(aws, evaluation=evaluation_report(auc=0.5))
    event = state_change_event(arn, PENDING)
    event["detail"]["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] = aws.put_evidence(
        "evaluation.json", GOOD_EVALUATION
    )

    # When the event is handled
    handler(event, lambda_context)

    # Then the registry's evidence decides
    assert aws.package(arn)["ModelApprovalStatus"] == REJECTED


def test_a_duplicate_delivery_acts_once(
    aws: Aws, approval_env: ReviewerInbox, approval_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given a passing pending package
    arn = _pending_package(aws)
    event = state_change_event(arn, PENDING)

    # When EventBridge delivers the same event twice
    first = handler(event, lambda_context)
    second = handler(event, lambda_context)

    # Then one UpdateModelPackage is made and the duplicate replays the stored result
    assert len(approval_calls.named("UpdateModelPackage")) == 1
    assert second == first


def test_a_duplicate_delivery_notifies_the_reviewer_once(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a passing package awaiting a human
    monkeypatch.setenv("AUTO_APPROVE", "false")
    event = state_change_event(_pending_package(aws), PENDING)

    # When the event is delivered twice
    handler(event, lambda_context)
    handler(event, lambda_context)

    # Then the reviewer gets one message, not two
    assert len(approval_env.messages()) == 1


def test_the_idempotency_record_is_kept_in_dynamodb(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a pending package
    arn = _pending_package(aws)

    # When its event is handled
    handler(state_change_event(arn, PENDING), lambda_context)

    # Then one completed record keyed by the function and payload hash exists
    [record] = aws.idempotency_records()
    assert record["status"]["S"] == "COMPLETED"
    assert ".approval.logic.review_package#" in record["id"]["S"]


def test_an_event_of_another_group_is_ignored(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a pending package in a group this function does not own
    arn = aws.register_package(evaluation=GOOD_EVALUATION, bias=GOOD_BIAS, group="churn-model")

    # When its event arrives
    result = handler(state_change_event(arn, PENDING, group="churn-model"), lambda_context)

    # Then nothing changes and the result says why
    assert result["reason"] == "group 'churn-model' is not the configured group 'fraud-detection'"
    assert aws.package(arn)["ModelApprovalStatus"] == PENDING


@pytest.mark.parametrize("status", [APPROVED, REJECTED])
def test_a_decision_on_a_package_it_never_reviewed_changes_nothing(
    aws: Aws,
    approval_env: ReviewerInbox,
    approval_calls: ApiCallRecorder,
    lambda_context: FakeLambdaContext,
    status: str,
) -> None:
    # Given a package registered directly as Approved or Rejected: no review, so no model card
    arn = aws.register_package(evaluation=GOOD_EVALUATION, bias=GOOD_BIAS, status=status)

    # When its event reaches the function
    result = handler(state_change_event(arn, status), lambda_context)

    # Then it only reads: no status update, no card written, and the result says why
    assert result["outcome"] == "ignored"
    assert result["reason"].startswith("no model card fraud-detection-v1-")
    assert [name for name, _ in approval_calls.calls] == ["DescribeModelPackage", "DescribeModelCard"]


def test_a_late_pending_event_for_a_package_already_decided_is_ignored(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a failing package a human approved before the pending event arrived
    arn = _pending_package(aws, evaluation=evaluation_report(auc=0.1))
    aws.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=APPROVED)

    # When the out-of-date pending event is handled
    result = handler(state_change_event(arn, PENDING), lambda_context)

    # Then the human's decision stands
    assert result["reason"].startswith("package is now 'Approved'")
    assert aws.package(arn)["ModelApprovalStatus"] == APPROVED


def _handle_an_event_without_status(
    aws: Aws, lambda_context: FakeLambdaContext
) -> tuple[str, pytest.ExceptionInfo[MalformedEventError]]:
    """A pending package, and an event about it with the status missing handled: the documented error."""
    arn = _pending_package(aws)
    event = state_change_event(arn, PENDING)
    del event["detail"]["ModelApprovalStatus"]
    with pytest.raises(MalformedEventError) as raised:
        handler(event, lambda_context)
    return arn, raised


def test_a_malformed_event_raises_the_documented_error(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a pending package and an event about it with the status missing
    # When it is handled
    _, raised = _handle_an_event_without_status(aws, lambda_context)

    # Then the documented error names the missing field
    assert raised.match("ModelApprovalStatus")


def test_a_malformed_event_changes_nothing(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a pending package and an event about it with the status missing
    # When it is handled (and raises the documented error)
    arn, _ = _handle_an_event_without_status(aws, lambda_context)

    # Then the package and the idempotency table are untouched
    assert aws.package(arn)["ModelApprovalStatus"] == PENDING
    assert aws.idempotency_records() == []


def test_a_missing_setting_raises_a_configuration_error_naming_it(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function deployed without MIN_AUC
    monkeypatch.delenv("MIN_AUC")

    # When an event arrives / Then the error names the variable
    with pytest.raises(ConfigurationError, match="MIN_AUC"):
        handler(load_event(APPROVED_EVENT), lambda_context)


def test_every_log_line_carries_the_package_arn(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext, function_logs: io.StringIO
) -> None:
    # Given a pending package
    arn = _pending_package(aws)

    # When its event is handled
    handler(state_change_event(arn, PENDING), lambda_context)

    # Then every structured line written by the function names the package
    lines = [json.loads(line) for line in function_logs.getvalue().splitlines()]
    assert lines
    assert {line.get("model_package_arn") for line in lines} == {arn}


def test_an_in_process_caller_that_moves_to_another_endpoint_gets_new_clients(
    aws: Aws, approval_env: ReviewerInbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the handler's clients built for this moto server
    first = approval_handler.build_dependencies(TABLE, client_environment())

    # When the process points AWS_ENDPOINT_URL elsewhere (a local run starting a new moto)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    second = approval_handler.build_dependencies(TABLE, client_environment())

    # Then the handler will not reuse clients bound to the old endpoint
    assert second.registry is not first.registry
