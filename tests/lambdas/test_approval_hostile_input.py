"""Specification of the approval function under hostile input, run against a moto server.

Three ways an approval used to go wrong: evidence outside what its metric can be was compared
with the bar and passed (an AUC of 5.0 is above any minimum); a package set back to
PendingManualApproval after a rejection got the stored Rejected result for 24 hours instead of a
new review; and an ARN of another account, region or partition was reported as a package that
"no longer exists".
"""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.approval.handler import handler
from tests.lambdas.lambda_support import (
    APPROVED,
    GROUP,
    PENDING,
    REJECTED,
    ApiCallRecorder,
    Aws,
    FakeLambdaContext,
    ReviewerInbox,
    bias_report,
    evaluation_report,
    facet_entry,
    state_change_event,
)

GOOD_BIAS = bias_report()


def _bias_with(**metrics: Any) -> dict[str, Any]:
    return bias_report({"customer_gender_female": [facet_entry(**metrics)]})


@pytest.mark.parametrize(
    ("evaluation", "bias", "reason"),
    [
        (evaluation_report(auc=5.0), GOOD_BIAS, "AUC: outside [0, 1] (5.0)"),
        (evaluation_report(recall=7.0), GOOD_BIAS, "recall: outside [0, 1] (7.0)"),
        (evaluation_report(auc=1.0000001), GOOD_BIAS, "AUC: outside [0, 1] (1.0000001)"),
        (evaluation_report(recall=-0.2), GOOD_BIAS, "recall: outside [0, 1] (-0.2)"),
        (evaluation_report(), _bias_with(di=-1.0), "DI[customer_gender_female=1]: outside [0, inf) (-1.0)"),
        (
            evaluation_report(),
            _bias_with(dppl=-3.0),
            "DPPL[customer_gender_female=1]: outside [-1, 1] (-3.0)",
        ),
        (
            evaluation_report(),
            _bias_with(flagged=(1.5, 0.03)),
            "flagged[customer_gender_female=1]: facet_d: outside [0, 1] (1.5)",
        ),
    ],
    ids=["auc-5", "recall-7", "auc-just-above-1", "negative-recall", "negative-di", "dppl-3", "rate-1.5"],
)
def test_evidence_outside_its_metrics_range_is_rejected_with_the_reason(
    aws: Aws,
    approval_env: ReviewerInbox,
    lambda_context: FakeLambdaContext,
    evaluation: object,
    bias: object,
    reason: str,
) -> None:
    # Given a pending package whose evidence holds a value its metric cannot take, and AUTO_APPROVE=true
    arn = aws.register_package(evaluation=evaluation, bias=bias)

    # When the registry's pending event is handled
    result = handler(state_change_event(arn, PENDING), lambda_context)

    # Then the value is an error, never a pass: Rejected, with the value and the range in the description
    assert result["outcome"] == "rejected"
    assert aws.package(arn)["ModelApprovalStatus"] == REJECTED
    assert reason in aws.package(arn)["ApprovalDescription"]


def _changed_at(aws: Aws, arn: str) -> str:
    """The package's LastModifiedTime, as its state change event carries it (moto: CreationTime first)."""
    package = aws.package(arn)
    return package.get("LastModifiedTime", package["CreationTime"]).isoformat()


def _set_pending_again(aws: Aws, arn: str) -> str:
    """What a human does after fixing the evidence; returns the package's new LastModifiedTime."""
    aws.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=PENDING)
    return _changed_at(aws, arn)


def test_a_package_set_back_to_pending_after_a_rejection_is_reviewed_again(
    aws: Aws, approval_env: ReviewerInbox, lambda_context: FakeLambdaContext
) -> None:
    # Given a package rejected for a broken evaluation report
    arn = aws.register_package(evaluation=b"{not json", bias=GOOD_BIAS)
    handler(state_change_event(arn, PENDING, last_modified=_changed_at(aws, arn)), lambda_context)
    assert aws.package(arn)["ModelApprovalStatus"] == REJECTED
    # ... whose report is then fixed in place, and which a human sets back to PendingManualApproval
    uri = aws.package(arn)["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    aws.put_evidence_at(uri, evaluation_report())
    again = _set_pending_again(aws, arn)

    # When the new pending event arrives, within the 24 hours the first result is kept
    result = handler(state_change_event(arn, PENDING, last_modified=again), lambda_context)

    # Then the package is reviewed again, on the fixed evidence, instead of replaying "rejected"
    assert result["outcome"] == "approved"
    assert aws.package(arn)["ModelApprovalStatus"] == APPROVED


def test_a_late_copy_of_the_first_pending_event_still_replays_the_stored_result(
    aws: Aws, approval_env: ReviewerInbox, approval_calls: ApiCallRecorder, lambda_context: FakeLambdaContext
) -> None:
    # Given a package rejected on its first pending event
    arn = aws.register_package(evaluation=evaluation_report(auc=0.5), bias=GOOD_BIAS)
    event = state_change_event(arn, PENDING, last_modified=_changed_at(aws, arn))
    first = handler(event, lambda_context)

    # When EventBridge delivers a copy of that same event again
    second = handler(event, lambda_context)

    # Then the copy gets the stored result and nothing is updated twice
    assert second == first
    assert len(approval_calls.named("UpdateModelPackage")) == 1


@pytest.mark.parametrize(
    ("arn", "reason"),
    [
        (
            f"arn:aws:sagemaker:us-east-1:999999999999:model-package/{GROUP}/1",
            "package ARN is of another account 999999999999 (this function's: 123456789012)",
        ),
        (
            f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{GROUP}/1",
            "package ARN is of another region eu-west-1 (this function's: us-east-1)",
        ),
        (
            f"arn:aws-cn:sagemaker:us-east-1:123456789012:model-package/{GROUP}/1",
            "package ARN is of another partition aws-cn (this function's: aws)",
        ),
    ],
    ids=["account", "region", "partition"],
)
def test_an_arn_of_another_account_region_or_partition_is_reported_as_such(
    aws: Aws,
    approval_env: ReviewerInbox,
    approval_calls: ApiCallRecorder,
    lambda_context: FakeLambdaContext,
    arn: str,
    reason: str,
) -> None:
    # Given a pending event of the configured group whose package ARN is not of this account and region
    event = state_change_event(arn, PENDING)

    # When it is handled
    result = handler(event, lambda_context)

    # Then the result names what differs, not "package no longer exists", and nothing is described
    assert result == {"model_package_arn": arn, "outcome": "ignored", "reason": reason}
    assert approval_calls.calls == []
