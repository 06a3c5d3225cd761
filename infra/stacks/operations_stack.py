"""The operators' side: who hears about failures and costs, and the failure alerts themselves.

::

    SageMaker: "Pipeline Execution Status Change" of this environment's pipeline, Failed or Stopped
      │
      ▼
    PipelineFailedRule ─▶ failure-alert Lambda ─ ListPipelineExecutionSteps ─▶ failing step, reason,
                                                 quality gate or infrastructure
                          │
                          ▼
    OperatorsTopic (KMS) ◀─ dead-letter alarms of every stack (schedule, registry functions, this one)
                         ◀─ monthly cost budget (actual and forecast alerts)
      │
      ▼ subscriptions from cdk.json (notifications.operators)

Deployed right after the data stack, so the pipeline and approval stacks can point their alarms
at the topic. The pipeline's ARN is known from its configured name, so the rule needs nothing
from the pipeline stack.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_events as events
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sns as sns
from constructs import Construct

from infra import policies
from infra.compliance import acknowledge_wildcard_resources
from infra.constructs.cost_budget import CostBudget
from infra.constructs.encrypted_queue import dead_letter_queue
from infra.constructs.registry_lambda import RegistryLambda, powertools_layer
from infra.constructs.run_failure_alert import pipeline_failure_pattern
from infra.constructs.subscriptions import subscribe
from infra.retention import log_retention
from infra.stacks.data_stack import removal_policy_of
from lambdas import constants as c
from lambdas.environment import PipelineFailureEnvironment
from pipeline_def.config import EnvironmentConfig
from pipeline_def.names import STEP_FAIL

_EXECUTIONS_REASON = (
    "SageMaker names each pipeline execution at run time (pipeline/<name>/execution/<id>); read-only and "
    "limited to this environment's pipeline."
)


class OperationsStack(cdk.Stack):
    """Composes the operators' topic, its subscribers, the budget and the failure alerts."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, key: kms.IKey, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._config = config
        self._key = key
        self.topic = self._operators_topic()
        self.subscriptions = subscribe(self, self.topic, config.notifications.operators)
        self.pipeline_arn = policies.sagemaker_arn(self, "pipeline", config.pipeline.pipeline_name)
        self.dead_letter_queue = dead_letter_queue(self, "FailedAlerts", key=key, alarm_topic=self.topic)
        self.failure_alerts = self._failure_alerts()
        self.failure_rule = events.Rule(
            self,
            "PipelineFailedRule",
            description=f"Failed or stopped runs of {config.pipeline.pipeline_name} -> failure alerts",
            event_pattern=pipeline_failure_pattern(self.pipeline_arn),
        )
        self.failure_alerts.trigger_on(self.failure_rule, dead_letter_queue=self.dead_letter_queue)
        self.budget = self._budget()

    def _operators_topic(self) -> sns.Topic:
        """KMS-encrypted, TLS-only; CloudWatch alarms and AWS Budgets of this account may publish."""
        topic = sns.Topic(
            self,
            "OperatorsTopic",
            display_name=f"{self._config.prefix} operations",
            master_key=self._key,
            enforce_ssl=True,
        )
        for sid, principal, source_arn in (
            ("AllowCloudWatchAlarmsOfThisAccount", "cloudwatch.amazonaws.com", policies.alarms_arn(self)),
            (
                "AllowBudgetsOfThisAccount",
                "budgets.amazonaws.com",
                f"arn:{self.partition}:budgets::{self.account}:*",
            ),
        ):
            topic.add_to_resource_policy(
                policies.service_may_publish(
                    self, topic.topic_arn, sid=sid, principal=principal, source_arn=source_arn
                )
            )
        return topic

    def _failure_alerts(self) -> RegistryLambda:
        executions = iam.PolicyStatement(
            actions=["sagemaker:DescribePipelineExecution", "sagemaker:ListPipelineExecutionSteps"],
            resources=[
                policies.sagemaker_arn(self, "pipeline", f"{self._config.pipeline.pipeline_name}/execution/*")
            ],
        )
        environment = PipelineFailureEnvironment(
            operators_topic_arn=self.topic.topic_arn,
            pipeline_arn=self.pipeline_arn,
            quality_gate_step=STEP_FAIL,
        )
        function = RegistryLambda(
            self,
            "FailureAlerts",
            code_root=c.ASSET_ROOT,
            handler=c.PIPELINE_FAILURE_HANDLER,
            description=f"Tells the operators why a run of {self._config.pipeline.pipeline_name} failed",
            environment=environment.variables(),
            statements=[
                executions,
                iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]),
                policies.kms_use(self._key),
            ],
            layer=powertools_layer(self, "PowertoolsLayer"),
            key=self._key,
            failure_queue=self.dead_letter_queue,
            log_retention=log_retention(self._config.log_retention_days),
            removal_policy=removal_policy_of(self._config),
            timeout=cdk.Duration.minutes(1),
        )
        acknowledge_wildcard_resources(function.role, [executions], _EXECUTIONS_REASON)
        return function

    def _budget(self) -> CostBudget | None:
        settings = self._config.budget
        if settings is None:
            return None
        budget = CostBudget(
            self,
            "CostBudget",
            settings=settings,
            budget_name=f"{self._config.prefix}-monthly-cost",
            env_name=self._config.name,
            topic=self.topic,
        )
        # AWS Budgets checks that it may publish when the budget is created.
        budget.node.add_dependency(self.topic)
        return budget
