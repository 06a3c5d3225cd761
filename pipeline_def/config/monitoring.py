"""The ``monitoring`` block: when the deployed model is checked, against what, and what alarms do.

SageMaker Model Monitor is closed to new customers, so a second SageMaker pipeline runs our
``drift.py check`` on the endpoint's data capture (see :mod:`pipeline_def.definition.monitoring`).
This block says when it runs (an EventBridge Scheduler expression, checked like ``schedule``),
the thresholds the job judges with, and the CloudWatch alarms on the figures it publishes.

The alarms are data here (:class:`AlarmRule`), not code in the stack, because two places act on
them: the stack creates one CloudWatch alarm per rule, and the local monitor evaluates the same
rules on the figures the job wrote. An alarm marked ``retrain`` starts the training pipeline
(through the retrain function, at most once per ``coolDownHours``); every alarm notifies the
reviewers. Drift in the features, the scores or live quality is something retraining on newer
data addresses; bias drift and data-quality problems need a person first, so they only notify.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from pipeline_def.config.reader import ConfigError, Reader
from pipeline_def.config.schedule import schedule_expression, time_zone
from pipeline_def.names import METRICS_NAMESPACE
from pipeline_def.schema import SENSITIVE_FACET

_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")

GREATER = "GreaterThanThreshold"
GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
LESS = "LessThanThreshold"
#: CloudWatch comparison operator -> how the local monitor applies it.
COMPARISONS = {
    GREATER: lambda value, threshold: value > threshold,
    GREATER_OR_EQUAL: lambda value, threshold: value >= threshold,
    LESS: lambda value, threshold: value < threshold,
}


@dataclass(frozen=True, kw_only=True)
class DriftThresholds:
    """When a figure of ``drift.py check`` is a violation (the job's own arguments)."""

    KEYS: ClassVar[tuple[str, ...]] = (
        "psi",
        "ks",
        "dppl",
        "minAuc",
        "minRecall",
        "maxLabelRateRatio",
        "maxInvalidRate",
        "maxMissingIncrease",
        "maxOutOfRange",
        "minRows",
    )

    psi: float = 0.2
    ks: float = 0.1
    dppl: float = 0.1
    di_min: float = 0.8
    di_max: float = 1.25
    min_auc: float = 0.75
    min_recall: float = 0.5
    max_label_rate_ratio: float = 2.0
    max_invalid_rate: float = 0.01
    max_missing_increase: float = 0.05
    max_out_of_range: float = 0.05
    min_rows: int = 1000

    @classmethod
    def from_context(
        cls, block: Reader, *, min_auc: float, min_recall: float, di_min: float, di_max: float
    ) -> DriftThresholds:
        """Live AUC/recall default to the pipeline's gate and DI bounds are the approval gate's:
        the bar a live model is held to is the bar it was approved against."""
        d = cls()
        ratio = block.float("maxLabelRateRatio", low=1.0, high=1000.0, default=d.max_label_rate_ratio)
        if ratio == 1.0:
            raise ConfigError(f"{block.path}.maxLabelRateRatio: 1.0 is not allowed; allowed: above 1")
        return cls(
            psi=block.float("psi", low=0.0, high=100.0, default=d.psi),
            ks=block.float("ks", low=0.0, high=1.0, default=d.ks),
            dppl=block.float("dppl", low=0.0, high=1.0, default=d.dppl),
            di_min=di_min,
            di_max=di_max,
            min_auc=block.float("minAuc", low=0.0, high=1.0, default=min_auc),
            min_recall=block.float("minRecall", low=0.0, high=1.0, default=min_recall),
            max_label_rate_ratio=ratio,
            max_invalid_rate=block.float("maxInvalidRate", low=0.0, high=1.0, default=d.max_invalid_rate),
            max_missing_increase=block.float(
                "maxMissingIncrease", low=0.0, high=1.0, default=d.max_missing_increase
            ),
            max_out_of_range=block.float("maxOutOfRange", low=0.0, high=1.0, default=d.max_out_of_range),
            min_rows=block.int("minRows", low=1, high=100_000_000, default=d.min_rows),
        )

    def arguments(self) -> list[str]:
        """The thresholds as ``drift.py check`` arguments, in a fixed order."""
        values = {
            "--psi-threshold": self.psi,
            "--ks-threshold": self.ks,
            "--dppl-threshold": self.dppl,
            "--di-min": self.di_min,
            "--di-max": self.di_max,
            "--min-auc": self.min_auc,
            "--min-recall": self.min_recall,
            "--max-label-rate-ratio": self.max_label_rate_ratio,
            "--max-invalid-rate": self.max_invalid_rate,
            "--max-missing-increase": self.max_missing_increase,
            "--max-out-of-range": self.max_out_of_range,
            "--min-rows": self.min_rows,
        }
        return [part for flag, value in values.items() for part in (flag, str(value))]


@dataclass(frozen=True, kw_only=True)
class AlarmRule:
    """One CloudWatch alarm on a figure ``drift.py`` publishes (``metric_data``).

    ``dimension`` is ``(name, value)`` for per-facet figures; the alarm watches the Maximum (or
    Minimum, for lower bounds) of one datapoint per hour, and missing data is not breaching: the
    job publishes a figure only when enough rows stand behind it, so "no figure" is never drift.
    """

    name: str
    metric: str
    comparison: str
    threshold: float
    retrain: bool
    description: str
    dimension: tuple[str, str] | None = None

    @property
    def statistic(self) -> str:
        return "Minimum" if self.comparison == LESS else "Maximum"

    def breached(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)


@dataclass(frozen=True, kw_only=True)
class MonitoringSettings:
    """The ``monitoring`` block of one environment."""

    KEYS: ClassVar[tuple[str, ...]] = (
        "enabled",
        "expression",
        "timeZone",
        "instanceType",
        "coolDownHours",
        "retrainOnAlarm",
        "captureRetentionDays",
        "thresholds",
    )
    #: Hour-long alarm periods: a daily job's one datapoint raises the alarm once, then it clears.
    ALARM_PERIOD_SECONDS: ClassVar[int] = 3600

    enabled: bool
    expression: str
    time_zone: str
    instance_type: str
    cool_down_hours: int
    retrain_on_alarm: bool
    capture_retention_days: int
    thresholds: DriftThresholds

    @classmethod
    def from_context(
        cls, env: Reader, *, min_auc: float, min_recall: float, di_min: float, di_max: float
    ) -> MonitoringSettings:
        block = env.child("monitoring", keys=cls.KEYS)
        thresholds = block.child("thresholds", keys=DriftThresholds.KEYS, default={})
        return cls(
            enabled=block.bool("enabled"),
            expression=schedule_expression(block.str("expression"), f"{block.path}.expression"),
            time_zone=time_zone(block.str("timeZone", default="UTC"), f"{block.path}.timeZone"),
            instance_type=block.str("instanceType", pattern=_INSTANCE_TYPE, default="ml.m5.xlarge"),
            cool_down_hours=block.int("coolDownHours", low=1, high=24 * 90),
            retrain_on_alarm=block.bool("retrainOnAlarm"),
            capture_retention_days=block.int("captureRetentionDays", low=1, high=3653, default=30),
            thresholds=DriftThresholds.from_context(
                thresholds, min_auc=min_auc, min_recall=min_recall, di_min=di_min, di_max=di_max
            ),
        )

    @property
    def cool_down_seconds(self) -> int:
        return self.cool_down_hours * 3600

    def metrics_namespace(self, env_name: str) -> str:
        """drift.py publishes to ``<METRICS_NAMESPACE>/<env>``: one namespace per environment."""
        return f"{METRICS_NAMESPACE}/{env_name}"

    @property
    def alarm_rules(self) -> tuple[AlarmRule, ...]:
        t = self.thresholds
        facet = ("Facet", SENSITIVE_FACET)
        retrain = self.retrain_on_alarm
        return (
            AlarmRule(
                name="feature-drift",
                metric="max_feature_psi",
                comparison=GREATER,
                threshold=t.psi,
                retrain=retrain,
                description=f"The largest feature PSI against the deployed model's baseline exceeds {t.psi}.",
            ),
            AlarmRule(
                name="prediction-drift",
                metric="prediction_psi",
                comparison=GREATER,
                threshold=t.psi,
                retrain=retrain,
                description=f"The PSI of the endpoint's scores against the baseline's is above {t.psi}.",
            ),
            AlarmRule(
                name="live-auc",
                metric="auc",
                comparison=LESS,
                threshold=t.min_auc,
                retrain=retrain,
                description=f"AUC on traffic whose labels have arrived is below {t.min_auc}.",
            ),
            AlarmRule(
                name="live-recall",
                metric="recall",
                comparison=LESS,
                threshold=t.min_recall,
                retrain=retrain,
                description=f"Recall on traffic whose labels have arrived is below {t.min_recall}.",
            ),
            AlarmRule(
                name="bias-di-low",
                metric="di",
                comparison=LESS,
                threshold=t.di_min,
                retrain=False,
                dimension=facet,
                description=f"Disparate impact of live predictions ({SENSITIVE_FACET}) is below {t.di_min}.",
            ),
            AlarmRule(
                name="bias-di-high",
                metric="di",
                comparison=GREATER,
                threshold=t.di_max,
                retrain=False,
                dimension=facet,
                description=f"Disparate impact of live predictions ({SENSITIVE_FACET}) is above {t.di_max}.",
            ),
            AlarmRule(
                name="violations",
                metric="violations",
                comparison=GREATER_OR_EQUAL,
                threshold=1.0,
                retrain=False,
                description="The monitoring job reported at least one violation (data quality included).",
            ),
        )

    def alarm_name(self, prefix: str, rule: AlarmRule) -> str:
        return f"{prefix}-monitor-{rule.name}"
