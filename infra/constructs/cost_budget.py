"""The environment's monthly cost budget, alerting the operators' topic."""

from __future__ import annotations

import aws_cdk.aws_budgets as budgets
import aws_cdk.aws_sns as sns
from constructs import Construct

from pipeline_def.config import BudgetSettings

#: The cost-allocation tag the budget filters on; the stage puts it on every resource it can.
BUDGET_TAG_KEY = "env"


def tag_filter(key: str, value: str) -> str:
    """AWS Budgets' spelling of "resources tagged key=value" for user-defined tags.

    Examples
    --------
    >>> tag_filter("env", "dev")
    'user:env$dev'
    """
    return f"user:{key}${value}"


class CostBudget(Construct):
    """An ``AWS::Budgets::Budget`` of the environment's tagged costs, in USD per calendar month.

    Two alerts go to the operators' topic: the costs so far passed ``actual_alert_percent`` of
    the limit, and AWS forecasts the month to end above ``forecast_alert_percent`` of it. The
    filter only sees costs once the ``env`` tag is activated as a cost-allocation tag in Billing
    (README, "Operations"); until then the budget reads zero.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: BudgetSettings,
        budget_name: str,
        env_name: str,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                # Named, unlike other resources: the alert quotes it, and operators must recognise it.
                budget_name=budget_name,
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=settings.monthly_limit_usd, unit="USD"),
                cost_filters={"TagKeyValue": [tag_filter(BUDGET_TAG_KEY, env_name)]},
            ),
            notifications_with_subscribers=[
                self._alert("ACTUAL", settings.actual_alert_percent, topic),
                self._alert("FORECASTED", settings.forecast_alert_percent, topic),
            ],
        )

    @staticmethod
    def _alert(
        kind: str, percent: int, topic: sns.ITopic
    ) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
        return budgets.CfnBudget.NotificationWithSubscribersProperty(
            notification=budgets.CfnBudget.NotificationProperty(
                notification_type=kind,
                comparison_operator="GREATER_THAN",
                threshold=percent,
                threshold_type="PERCENTAGE",
            ),
            subscribers=[
                budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)
            ],
        )
