"""An EventBridge Scheduler schedule that starts one SageMaker pipeline."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_scheduler as scheduler
import aws_cdk.aws_sns as sns
from constructs import Construct

from infra.constructs.encrypted_queue import dead_letter_queue
from pipeline_def.config import ScheduleConfig

#: Give up on a start after an hour or three retries; the DLQ keeps what failed.
MAX_EVENT_AGE_SECONDS = 3600
MAX_RETRY_ATTEMPTS = 3


class PipelineSchedule(Construct):
    """Schedule + its own role (start this pipeline only) + an encrypted dead-letter queue.

    ``events_targets`` has no SageMaker pipeline target, so this is Scheduler's universal
    ``SageMakerPipelineParameters`` target; without ``parameters`` a run takes the definition's
    defaults.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        schedule: ScheduleConfig,
        pipeline_arn: str,
        parameters: Mapping[str, str],
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        account = cdk.Stack.of(self).account
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", key=key, alarm_topic=alarm_topic)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            description=description,
            inline_policies={
                "StartPipeline": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["sagemaker:StartPipelineExecution"], resources=[pipeline_arn]
                        ),
                        iam.PolicyStatement(
                            actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.queue_arn]
                        ),
                        iam.PolicyStatement(
                            actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]
                        ),
                    ]
                )
            },
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description=description,
            schedule_expression=schedule.expression,
            schedule_expression_timezone=schedule.time_zone,
            state="ENABLED" if schedule.enabled else "DISABLED",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=pipeline_arn,
                role_arn=self.role.role_arn,
                sage_maker_pipeline_parameters=scheduler.CfnSchedule.SageMakerPipelineParametersProperty(
                    pipeline_parameter_list=[
                        scheduler.CfnSchedule.SageMakerPipelineParameterProperty(name=name, value=value)
                        for name, value in sorted(parameters.items())
                    ]
                )
                if parameters
                else None,
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
                    maximum_retry_attempts=MAX_RETRY_ATTEMPTS,
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letter_queue.queue_arn
                ),
            ),
        )
