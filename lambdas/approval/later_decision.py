"""Recording a decision taken in the registry after the function's review on the model card.

The approval function reviews a package once, when it is PendingManualApproval, and writes the
card. A reviewer may later approve a package the gates rejected, or reject one the function
approved; without this, the card would keep showing the function's review as if it stood. So
Approved and Rejected events reach the function too, and :func:`record_decision`:

* re-reads the package (never trusting the event) and acts only if it is still in the event's
  status, in the configured group and account (:func:`shared.dispatch.package_to_act_on`);
* ignores the function's own decision coming back as an event: the card, written before the
  status, already records that status and that ApprovalDescription ("own decision");
* otherwise adds the decision to the card: who (LastModifiedBy), when (LastModifiedTime), their
  note (ApprovalDescription, made printable and cut), keeping the gates and their verdicts.

It never calls UpdateModelPackage: the human's decision is the package's status, and stays so.
A package without a card (registered as Approved, or before the function existed) or with a card
whose content is not the JSON the function writes is left alone, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lambdas.approval.model_card import CARD_STATUS, card_name, records, with_later_decision
from lambdas.approval.models import ApprovalSettings, LaterDecision, Outcome
from lambdas.shared.dispatch import ignored, package_to_act_on
from lambdas.shared.observability import logger
from lambdas.shared.registry import RegistryAdapter


def read_card(registry: RegistryAdapter, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The card's content as a mapping, or ``None`` with the reason it cannot be updated."""
    text = registry.read_model_card(name)
    if text is None:
        return None, f"no model card {name}: the function never reviewed this package"
    try:
        content = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        content = None
    if not isinstance(content, dict):
        return None, f"model card {name} does not hold the JSON the function writes; left as it is"
    return content, None


def record_decision(
    *, request: Mapping[str, str], settings: ApprovalSettings, registry: RegistryAdapter
) -> dict[str, Any]:
    """Add a later Approved/Rejected decision to the package's card; the result is stored for duplicates.

    ``request`` is :func:`shared.dispatch.idempotency_key`'s payload: the ARN and the status the
    event announced (the package must still be in it), keyed with its LastModifiedTime.
    """
    arn, status = request["model_package_arn"], request["model_approval_status"]
    package, skipped = package_to_act_on(
        arn, registry, group_name=settings.model_package_group_name, status=status
    )
    if package is None:
        return skipped
    name = card_name(package)
    content, problem = read_card(registry, name)
    if content is None:
        return ignored(arn, str(problem))
    if records(content, status, package.approval_description):
        return ignored(arn, f"own decision: model card {name} already records {status} with this description")
    decision = LaterDecision.of(package)
    card = json.dumps(with_later_decision(content, decision), sort_keys=True)
    registry.write_model_card(name, card, CARD_STATUS[status], settings.model_card_kms_key_arn)
    result = {
        "model_package_arn": arn,
        "outcome": Outcome.DECISION_RECORDED.value,
        "status": status,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at,
        "model_card": name,
    }
    logger.info("later decision recorded on the model card", extra=result)
    return result
