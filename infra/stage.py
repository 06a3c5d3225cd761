"""One ``cdk.Stage`` per environment: the stateful data stack, then the stateless stacks.

Order: data (keys, buckets) -> operations (operators' topic, failure alerts, budget) -> ingestion
(when ``ingestion.enabled``) and pipeline -> approval -> monitoring; the later stacks point their
dead-letter alarms at the operators' topic, so it exists first, and monitoring uses the job
scripts the pipeline stack uploads and the reviewers' topic and idempotency table of the
approval stack.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.stacks.approval_stack import ApprovalStack
from infra.stacks.data_stack import DataStack
from infra.stacks.ingestion_stack import IngestionStack
from infra.stacks.monitoring_stack import MonitoringStack
from infra.stacks.operations_stack import OperationsStack
from infra.stacks.pipeline_stack import PipelineStack
from pipeline_def.config import EnvironmentConfig
from pipeline_def.definition.render_worker import Definitions

#: Resource types whose Tags are create-only: a tag edit in cdk.json would make CloudFormation
#: replace them, which fails for these named resources. They carry fixed tags of their own
#: (``EnvironmentConfig.fixed_tags``, see ``FeatureGroup``).
CREATE_ONLY_TAG_TYPES = ("AWS::SageMaker::FeatureGroup",)


class MlopsStage(cdk.Stage):
    """Everything one environment deploys, in its own account and region, tagged.

    Stack names start with the environment prefix (``fraud-mlops-dev-data``...): resource names
    CloudFormation generates start with them too, which the key policy relies on (EventBridge
    rules, and the log groups CloudWatch Logs encrypts with the key).

    Built in two parts: the constructor adds the foundation (data, operations), which needs no
    pipeline definition; :meth:`add_workloads` adds the stacks that embed definitions and those
    that depend on them. An app of several environments builds every foundation first, while
    the definitions are still rendering (``infra.application.add_environments``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, env=cdk.Environment(account=config.account, region=config.region), **kwargs
        )
        self.config = config
        # Strong (Fn::ImportValue): CloudFormation refuses to delete the data stack, or replace its
        # key, while the stateless stacks still use it. Set explicitly, not left to a default.
        cdk.CrossStackReferences.of(self).consume(cdk.ReferenceStrength.STRONG)
        self.data = DataStack(self, "Data", config=config, stack_name=f"{config.prefix}-data")
        self.operations = OperationsStack(
            self, "Operations", config=config, key=self.data.key, stack_name=f"{config.prefix}-operations"
        )
        self.operations.add_stack_dependency(self.data)
        for key, value in config.all_tags.items():
            cdk.Tags.of(self).add(key, value, exclude_resource_types=list(CREATE_ONLY_TAG_TYPES))
        self.ingestion: IngestionStack | None = None

    def add_workloads(self, definitions: Definitions) -> None:
        """The pipelines' stacks (ingestion, pipeline, monitoring) and approval, in dependency order."""
        config = self.config
        if config.ingestion.enabled:
            self.ingestion = IngestionStack(
                self,
                "Ingestion",
                config=config,
                key=self.data.key,
                alarm_topic=self.operations.topic,
                definitions=definitions,
                stack_name=f"{config.prefix}-ingestion",
            )
            self.ingestion.add_stack_dependency(self.operations)
        self.pipeline = PipelineStack(
            self,
            "Pipeline",
            config=config,
            key=self.data.key,
            artifact_key=self.data.artifact_key,
            alarm_topic=self.operations.topic,
            definitions=definitions,
            stack_name=f"{config.prefix}-pipeline",
        )
        self.approval = ApprovalStack(
            self,
            "Approval",
            config=config,
            key=self.data.key,
            artifact_key=self.data.artifact_key,
            alarm_topic=self.operations.topic,
            model_execution_role=self.pipeline.model_execution_role,
            stack_name=f"{config.prefix}-approval",
        )
        self.monitoring = MonitoringStack(
            self,
            "Monitoring",
            config=config,
            key=self.data.key,
            alarm_topic=self.operations.topic,
            reviewers_topic=self.approval.topic,
            idempotency_table=self.approval.idempotency_table,
            definitions=definitions,
            stack_name=f"{config.prefix}-monitoring",
        )
        self.pipeline.add_stack_dependency(self.operations)
        self.approval.add_stack_dependency(self.pipeline)
        self.monitoring.add_stack_dependency(self.approval)

    @property
    def stacks(self) -> tuple[cdk.Stack, ...]:
        optional = (self.ingestion,) if self.ingestion is not None else ()
        return (self.data, self.operations, *optional, self.pipeline, self.approval, self.monitoring)
