"""The dead-letter queues of this project: KMS-encrypted, TLS-only, two weeks of retention, alarmed.

Every queue's alarm notifies the operators' topic: a message in a dead-letter queue is a failure
nobody would otherwise see (a scheduled run that never started, an event no function handled).
"""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_cloudwatch_actions as cloudwatch_actions
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sns as sns
import aws_cdk.aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge

#: SQS publishes its metrics every five minutes; one period with a visible message is enough.
ALARM_PERIOD = cdk.Duration.minutes(5)


def dead_letter_queue(
    scope: Construct, construct_id: str, *, key: kms.IKey, alarm_topic: sns.ITopic
) -> sqs.Queue:
    """A queue that only ever receives what could not be delivered, kept for the maximum 14 days.

    Anything in it is a failure nobody has looked at yet (a scheduled run that never started, a
    registry event no function handled), so an alarm (``<construct_id>Alarm``) goes off as soon as
    one message is visible, notifies ``alarm_topic`` (the operators'), and stays in alarm until
    the queue is drained.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=cdk.Duration.hours(1),
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        "This queue is itself a dead-letter queue (of a schedule, rule targets or a Lambda's failed "
        "asynchronous invocations); nothing consumes it automatically, so a DLQ behind it would only "
        "move the same messages again.",
    )
    alarm = cloudwatch.Alarm(
        scope,
        f"{construct_id}Alarm",
        alarm_description=f"Messages are waiting in the dead-letter queue {construct_id}: failed deliveries "
        "to inspect and re-drive.",
        metric=queue.metric_approximate_number_of_messages_visible(
            period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
        ),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
    return queue
