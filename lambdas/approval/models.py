"""Types of the approval function: its settings, gate thresholds, gate results and decision."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from lambdas.constants import (
    DEFAULT_AUTO_APPROVE,
    DEFAULT_DI_MAX,
    DEFAULT_DI_MIN,
    ENV_AUTO_APPROVE,
    ENV_DI_MAX,
    ENV_DI_MIN,
    ENV_IDEMPOTENCY_TABLE,
    ENV_MAX_ABS_DPPL,
    ENV_MIN_AUC,
    ENV_MIN_RECALL,
    ENV_MODEL_CARD_KMS_KEY_ARN,
    ENV_MODEL_PACKAGE_GROUP_NAME,
    ENV_NOTIFY_TOPIC_ARN,
    STATUS_APPROVED,
    STATUS_PENDING,
    STATUS_REJECTED,
)
from lambdas.shared.events import GroupName
from lambdas.shared.registry import ModelPackage
from lambdas.shared.settings import EnvBool, TableName, TopicArn
from lambdas.shared.text import clip, printable

#: UpdateModelPackage's limit on ApprovalDescription.
MAX_APPROVAL_DESCRIPTION = 1024
#: IAM ARNs and Studio user profile names are far shorter; anything longer is cut.
MAX_IDENTITY_CHARS = 256

# Bounds are validated so a typo in cdk.json (MIN_AUC=75) fails loudly instead of rejecting
# every model, and NaN never becomes a threshold that every comparison silently fails.
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
LowerDiBound = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
UpperDiBound = Annotated[float, Field(ge=1.0, allow_inf_nan=False)]
KmsKeyArn = Annotated[
    str, Field(pattern=r"^arn:aws[a-z\-]*:kms:[a-z0-9\-]{1,32}:[0-9]{12}:key/[a-zA-Z0-9\-]{1,128}$")
]


class GateThresholds(BaseModel):
    """The bounds a model must meet; one set per environment.

    ``di_min <= 1 <= di_max`` is enforced so that a perfectly fair model (DI = 1) always passes.

    Examples
    --------
    >>> GateThresholds(min_auc=0.8, min_recall=0.6, max_abs_dppl=0.1)
    GateThresholds(min_auc=0.8, min_recall=0.6, di_min=0.8, di_max=1.25, max_abs_dppl=0.1)
    """

    model_config = ConfigDict(frozen=True)

    min_auc: Probability
    min_recall: Probability
    di_min: LowerDiBound = DEFAULT_DI_MIN
    di_max: UpperDiBound = DEFAULT_DI_MAX
    max_abs_dppl: Probability


class ApprovalSettings(BaseModel):
    """The approval function's environment; see lambdas/constants.py for the variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model_package_group_name: GroupName = Field(alias=ENV_MODEL_PACKAGE_GROUP_NAME)
    idempotency_table: TableName = Field(alias=ENV_IDEMPOTENCY_TABLE)
    notify_topic_arn: TopicArn = Field(alias=ENV_NOTIFY_TOPIC_ARN)
    auto_approve: EnvBool = Field(default=DEFAULT_AUTO_APPROVE, alias=ENV_AUTO_APPROVE)
    min_auc: Probability = Field(alias=ENV_MIN_AUC)
    min_recall: Probability = Field(alias=ENV_MIN_RECALL)
    di_min: LowerDiBound = Field(default=DEFAULT_DI_MIN, alias=ENV_DI_MIN)
    di_max: UpperDiBound = Field(default=DEFAULT_DI_MAX, alias=ENV_DI_MAX)
    max_abs_dppl: Probability = Field(alias=ENV_MAX_ABS_DPPL)
    model_card_kms_key_arn: KmsKeyArn | None = Field(default=None, alias=ENV_MODEL_CARD_KMS_KEY_ARN)

    @property
    def thresholds(self) -> GateThresholds:
        return GateThresholds(
            min_auc=self.min_auc,
            min_recall=self.min_recall,
            di_min=self.di_min,
            di_max=self.di_max,
            max_abs_dppl=self.max_abs_dppl,
        )


@dataclass(frozen=True)
class GateResult:
    """One check of one metric against its bound.

    ``value`` is ``None`` when no usable number was found; ``problem`` then says why, and the gate
    has failed: missing evidence never counts as a pass.
    """

    name: str
    value: float | None
    bound: str
    passed: bool
    problem: str | None = None

    def describe(self) -> str:
        """One line, e.g. ``AUC=0.7100 (needs >= 0.75)`` or ``DI[sex=1]: missing (needs in [0.8, 1.25])``."""
        shown = f"={self.value:.4f}" if self.value is not None else f": {self.problem}"
        return f"{self.name}{shown} (needs {self.bound})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "gate": self.name,
            "value": self.value,
            "bound": self.bound,
            "passed": self.passed,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class Decision:
    """What to do with a package, and the gate results that justify it."""

    status: str
    gates: tuple[GateResult, ...]
    evidence_problems: tuple[str, ...] = ()

    @property
    def failed_gates(self) -> tuple[GateResult, ...]:
        return tuple(gate for gate in self.gates if not gate.passed)

    def approval_description(self) -> str:
        """The ApprovalDescription: every failure reason, cut safely to 1024 characters."""
        if self.status == STATUS_REJECTED:
            reasons = [*(f"evidence {p}" for p in self.evidence_problems)]
            reasons += [gate.describe() for gate in self.failed_gates]
            text = f"Rejected by approval gates ({len(reasons)} failure(s)): " + "; ".join(reasons)
        elif self.status == STATUS_APPROVED:
            text = f"Approved automatically: all {len(self.gates)} gates passed: " + "; ".join(
                gate.describe() for gate in self.gates
            )
        else:
            text = f"All {len(self.gates)} gates passed; awaiting manual review."
        return clip(text, MAX_APPROVAL_DESCRIPTION)

    def gate_table(self, max_rows: int = 200) -> str:
        """A fixed-width table of the gates for the reviewer's notification."""
        rows = [f"{'gate':<48} {'value':>10}  {'needs':<20} result"]
        for gate in self.gates[:max_rows]:
            value = f"{gate.value:.4f}" if gate.value is not None else "-"
            rows.append(f"{gate.name:<48} {value:>10}  {gate.bound:<20} {'pass' if gate.passed else 'FAIL'}")
        if len(self.gates) > max_rows:
            rows.append(f"... and {len(self.gates) - max_rows} more gates (see the function's logs)")
        return "\n".join(rows)


@dataclass(frozen=True)
class LaterDecision:
    """An approval status set in the registry after the function's review, as the card records it.

    Every field is printable ASCII and bounded: the note and the identity come from whoever
    called UpdateModelPackage, so they can hold anything (control characters, kilobytes of text).
    """

    status: str
    decided_by: str | None
    note: str
    decided_at: str | None

    @classmethod
    def of(cls, package: ModelPackage) -> LaterDecision:
        """The package's current status, with who set it (LastModifiedBy), when, and their note."""
        who = package.last_modified_by_name
        when = package.last_modified_time
        return cls(
            status=package.approval_status or "",
            decided_by=printable(who, MAX_IDENTITY_CHARS) if who else None,
            note=shown_description(package.approval_description),
            decided_at=when.isoformat() if when else None,
        )


def shown_description(description: str | None) -> str:
    """An ApprovalDescription as the card shows it: one printable line, at most 1024 characters."""
    return printable(description or "", MAX_APPROVAL_DESCRIPTION)


class Outcome(StrEnum):
    """What the approval function did with an event."""

    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING_REVIEW = "pending_review"
    DECISION_RECORDED = "decision_recorded"
    IGNORED = "ignored"


OUTCOME_BY_STATUS = {
    STATUS_APPROVED: Outcome.APPROVED,
    STATUS_REJECTED: Outcome.REJECTED,
    STATUS_PENDING: Outcome.PENDING_REVIEW,
}
