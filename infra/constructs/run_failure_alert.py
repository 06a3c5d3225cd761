"""Failed or stopped runs of a pipeline, told to the operators' topic by EventBridge directly.

The training pipeline has the failure-alert function (operations stack), which reads the failing
step and tells the quality gate from infrastructure. The monitoring and ingestion pipelines end in
fewer ways, each named in the message, so a rule with an input transformer is enough: the run's
execution ARN, its status and where to look.
"""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_events as events
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sns as sns
import aws_cdk.aws_sqs as sqs
from constructs import Construct

from infra import policies
from infra.constructs.role_target import RoleTarget, events_role
from lambdas import constants as c

#: An alert that cannot be delivered within an hour goes to the dead-letter queue.
ALERT_MAX_EVENT_AGE = cdk.Duration.hours(1)
ALERT_RETRY_ATTEMPTS = 3


def pipeline_failure_pattern(pipeline_arn: str) -> events.EventPattern:
    """Runs of one pipeline that ended Failed or Stopped."""
    return events.EventPattern(
        source=[c.EVENT_SOURCE],
        detail_type=[c.PIPELINE_EVENT_DETAIL_TYPE],
        detail={
            "currentPipelineExecutionStatus": list(c.PIPELINE_ALERT_STATUSES),
            "pipelineArn": [pipeline_arn],
        },
    )


class RunFailureAlert(Construct):
    """A rule on one pipeline's failed runs -> ``topic``: publish-only role, retries, dead-letter queue.

    ``advice`` ends the message (what a failure of this pipeline means and where to look); it must
    not contain angle brackets, which EventBridge would read as placeholders.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        pipeline_arn: str,
        key: kms.IKey,
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        advice: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if "<" in advice or ">" in advice:
            raise ValueError(f"{pipeline_name}: the alert text may not contain < or > ({advice!r})")
        self.role = events_role(
            self, "Role", description=f"EventBridge tells the operators of failed {pipeline_name} runs"
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn])
        )
        # The topic is encrypted with the project key; SNS asks KMS on the publisher's behalf.
        self.role.add_to_principal_policy(
            policies.kms_via(self, key.key_arn, ["kms:Decrypt", "kms:GenerateDataKey"], ["sns"])
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Failed or stopped runs of {pipeline_name} -> operators' topic",
            event_pattern=pipeline_failure_pattern(pipeline_arn),
        )
        execution = events.EventField.from_path("$.detail.pipelineExecutionArn")
        status = events.EventField.from_path("$.detail.currentPipelineExecutionStatus")
        self.rule.add_target(
            RoleTarget(
                topic.topic_arn,
                role=self.role,
                dead_letter_queue=dead_letter_queue,
                max_event_age=ALERT_MAX_EVENT_AGE,
                retry_attempts=ALERT_RETRY_ATTEMPTS,
                message=events.RuleTargetInput.from_text(
                    f"{pipeline_name} run {execution} ended {status}. {advice}"
                ),
            )
        )
