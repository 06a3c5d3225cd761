"""Approval decisions: which events to act on, what the evidence says, and acting on it.

:func:`decide` is pure and is what the local pipeline run calls in-process. :func:`review_package`
is the unit made idempotent by the handler: it re-reads the package (the event body is never
trusted for metrics), loads the evidence, decides, and then either updates the approval status or
notifies a reviewer, and writes the package's model card with the decision and its reasons.

Fail-closed policy. Evidence that is missing from the package, absent from S3, not JSON, or
holding NaN/inf/non-numbers rejects the package, with every reason in ApprovalDescription.
Rejecting (rather than leaving it pending) is deliberate: the cause is in the files, so a retry
would read the same files; a Rejected package is visible in the registry with its reason, while a
silently pending one looks like a reviewer who has not got round to it. A human can still
approve a Rejected version after fixing the evidence. Transient AWS errors (throttling,
AccessDenied, 5xx) are *not* turned into rejections: they propagate, Lambda retries, and the
package stays pending until the evidence can actually be read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.approval.gates import evaluate_gates
from lambdas.approval.model_card import CARD_STATUS, card_json, card_name
from lambdas.approval.models import OUTCOME_BY_STATUS, ApprovalSettings, Decision, GateThresholds
from lambdas.constants import STATUS_APPROVED, STATUS_PENDING, STATUS_REJECTED
from lambdas.shared.dispatch import package_to_act_on
from lambdas.shared.notify import Notifier
from lambdas.shared.observability import logger
from lambdas.shared.registry import EvidenceUnavailableError, ModelPackage, RegistryAdapter
from lambdas.shared.text import printable

#: Gate rows per log line and per stored result: a report can hold thousands of facet values,
#: and the result is stored in a DynamoDB item (400 KB limit) for duplicate deliveries.
MAX_LOGGED_GATES = 200
MAX_RESULT_GATES = 50


def decide(
    *,
    evaluation: Any,
    bias_report: Any,
    thresholds: GateThresholds,
    auto_approve: bool,
    evidence_problems: Iterable[str] = (),
) -> Decision:
    """Decide a package's fate from its parsed evidence documents. Pure: no I/O.

    Any failed gate or evidence problem rejects; all gates passing approves when
    ``auto_approve`` is set and otherwise leaves the package pending for a human.

    Examples
    --------
    >>> decide(evaluation={}, bias_report=None, auto_approve=True,
    ...        thresholds=GateThresholds(min_auc=0.8, min_recall=0.6, max_abs_dppl=0.1)).status
    'Rejected'
    """
    problems = tuple(evidence_problems)
    gates = evaluate_gates(evaluation, bias_report, thresholds)
    if problems or not all(gate.passed for gate in gates):
        status = STATUS_REJECTED
    elif auto_approve:
        status = STATUS_APPROVED
    else:
        status = STATUS_PENDING
    return Decision(status=status, gates=gates, evidence_problems=problems)


@dataclass(frozen=True)
class Evidence:
    """The parsed evidence documents, ``None`` where unavailable, and why."""

    evaluation: Any
    bias_report: Any
    problems: tuple[str, ...]


def _read(registry: RegistryAdapter, uri: str | None, field: str) -> tuple[Any, list[str]]:
    if uri is None:
        return None, [f"{field}.S3Uri is not set on the package"]
    try:
        return registry.read_json(uri), []
    except EvidenceUnavailableError as error:
        return None, [f"{field} unreadable: {printable(error.uri, 200)}: {error.reason}"]


def load_evidence(package: ModelPackage, registry: RegistryAdapter) -> Evidence:
    """Read evaluation.json and analysis.json named by the package's ModelMetrics."""
    evaluation, quality_problems = _read(
        registry, package.quality_statistics_uri, "ModelMetrics.ModelQuality.Statistics"
    )
    bias_report, bias_problems = _read(registry, package.bias_report_uri, "ModelMetrics.Bias.Report")
    return Evidence(evaluation, bias_report, (*quality_problems, *bias_problems))


def review_message(package: ModelPackage, decision: Decision) -> tuple[str, str]:
    """Subject and body of the notification asking a human to review a passing package."""
    subject = printable(f"Model awaiting approval: {package.group_name} v{package.version}", 100)
    lines = [
        "A model package passed every approval gate and awaits a manual decision",
        "(AUTO_APPROVE is off for this environment).",
        "",
        f"Package ARN: {package.arn}",
        f"Group: {package.group_name}    Version: {package.version}",
        "",
        decision.gate_table(),
        "",
        f"Evaluation report: {package.quality_statistics_uri}",
        f"Bias report:       {package.bias_report_uri}",
        "",
        "Approve or reject it in the SageMaker Model Registry, or with:",
        f"  aws sagemaker update-model-package --model-package-arn {package.arn} \\",
        "    --model-approval-status Approved --approval-description '<reason>'",
    ]
    return subject, "\n".join(lines)


def _act(
    package: ModelPackage,
    decision: Decision,
    settings: ApprovalSettings,
    registry: RegistryAdapter,
    notifier: Notifier,
) -> None:
    """Write the model card, then notify a reviewer or set the status.

    The card comes first: if writing it fails, the invocation is retried while the package is
    still pending, so no decision is ever applied without its card.
    """
    registry.write_model_card(
        card_name(package),
        card_json(package, decision),
        CARD_STATUS[decision.status],
        settings.model_card_kms_key_arn,
    )
    if decision.status == STATUS_PENDING:
        subject, message = review_message(package, decision)
        notifier.publish(settings.notify_topic_arn, subject, message)
        return
    registry.update_approval(package.arn, decision.status, decision.approval_description())


def review_package(
    *,
    request: Mapping[str, str],
    settings: ApprovalSettings,
    registry: RegistryAdapter,
    notifier: Notifier,
) -> dict[str, Any]:
    """Decide and act on one pending package; the returned dict is stored for duplicate events.

    ``request`` is :func:`shared.dispatch.idempotency_key`'s payload. Only the package ARN is used
    from it: the group, status and evidence come from DescribeModelPackage.
    """
    arn = request["model_package_arn"]
    package, skipped = package_to_act_on(
        arn, registry, group_name=settings.model_package_group_name, status=STATUS_PENDING
    )
    if package is None:
        return skipped
    evidence = load_evidence(package, registry)
    decision = decide(
        evaluation=evidence.evaluation,
        bias_report=evidence.bias_report,
        thresholds=settings.thresholds,
        auto_approve=settings.auto_approve,
        evidence_problems=evidence.problems,
    )
    _act(package, decision, settings, registry, notifier)
    outcome = OUTCOME_BY_STATUS[decision.status]
    logger.info(
        "approval decision",
        extra={
            "outcome": outcome.value,
            "evidence_problems": list(decision.evidence_problems),
            "gates": [gate.as_dict() for gate in decision.gates[:MAX_LOGGED_GATES]],
            "gate_count": len(decision.gates),
        },
    )
    return {
        "model_package_arn": package.arn,
        "outcome": outcome.value,
        "status": decision.status,
        "evidence_problems": list(decision.evidence_problems),
        "failed_gates": [gate.describe() for gate in decision.failed_gates[:MAX_RESULT_GATES]],
        "gates": [gate.as_dict() for gate in decision.gates[:MAX_RESULT_GATES]],
        "failed_gate_count": len(decision.failed_gates),
    }
