"""One CloudWatch alarm per monitoring alarm rule (``MonitoringSettings.alarm_rules``).

The rules are data in ``pipeline_def.config.monitoring`` because the local monitor evaluates the
same ones; this construct turns each into an alarm on the figure ``drift.py check`` publishes to
``<METRICS_NAMESPACE>/<env>``: one hourly period, one datapoint, missing data not breaching (the
job publishes a figure only when enough rows stand behind it, so "no figure" is never drift).
"""

from __future__ import annotations

import re

import aws_cdk as cdk
import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_cloudwatch_actions as cloudwatch_actions
import aws_cdk.aws_sns as sns
from constructs import Construct

from pipeline_def.config import AlarmRule, MonitoringSettings

_WORD = re.compile(r"[a-z0-9]+")


def comparison_operator(name: str) -> cloudwatch.ComparisonOperator:
    """The CDK member of a CloudWatch operator name (``GreaterThanThreshold`` -> GREATER_THAN_THRESHOLD)."""
    return cloudwatch.ComparisonOperator[re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()]


def rule_construct_id(rule: AlarmRule) -> str:
    """``feature-drift`` -> ``FeatureDrift``: ids follow the rule's name, so reordering replaces nothing."""
    return "".join(word.capitalize() for word in _WORD.findall(rule.name))


class MonitoringAlarms(Construct):
    """The alarms, each notifying ``topic``; ``retrain_alarms`` are those whose rule asks to retrain."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        monitoring: MonitoringSettings,
        prefix: str,
        env_name: str,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        namespace = monitoring.metrics_namespace(env_name)
        action = cloudwatch_actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for rule in monitoring.alarm_rules:
            alarm = cloudwatch.Alarm(
                self,
                rule_construct_id(rule),
                alarm_name=monitoring.alarm_name(prefix, rule),
                alarm_description=rule.description,
                metric=cloudwatch.Metric(
                    namespace=namespace,
                    metric_name=rule.metric,
                    dimensions_map=dict([rule.dimension]) if rule.dimension else None,
                    statistic=rule.statistic,
                    period=cdk.Duration.seconds(MonitoringSettings.ALARM_PERIOD_SECONDS),
                ),
                threshold=rule.threshold,
                comparison_operator=comparison_operator(rule.comparison),
                evaluation_periods=1,
                datapoints_to_alarm=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.alarms[rule.name] = alarm
        self.retrain_alarms = tuple(self.alarms[rule.name] for rule in monitoring.alarm_rules if rule.retrain)
        self.retrain_alarm_names = tuple(
            monitoring.alarm_name(prefix, rule) for rule in monitoring.alarm_rules if rule.retrain
        )
