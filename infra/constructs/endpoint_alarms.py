"""CloudWatch alarms on the real-time endpoint that SageMaker watches to roll a deployment back.

The deploy function passes their names in ``AutoRollbackConfiguration`` of UpdateEndpoint: if one
goes into ALARM during the blue/green baking period, SageMaker moves all traffic back to the old
fleet (docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
Both alarms read the endpoint's one variant, on both fleets, so a regression of the new model
shows while the old one still serves most traffic (canary).
"""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_cloudwatch as cloudwatch
from constructs import Construct

NAMESPACE = "AWS/SageMaker"
#: SageMaker publishes endpoint invocation metrics every minute.
PERIOD = cdk.Duration.minutes(1)
#: Two bad minutes in a row: a single slow or failed request does not roll back a release.
EVALUATION_PERIODS = 2
#: Invocation5XXErrors is 1 for a request the model answered with a 5xx and 0 otherwise, so its
#: average is the error rate.
MAX_ERROR_RATE = 0.01


class EndpointRollbackAlarms(Construct):
    """5xx error rate and p99 model latency of one endpoint variant.

    No data (an endpoint without traffic, or not created yet) is not a breach: it must not roll
    back a deployment, and the alarms exist before the deploy function first creates the endpoint.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        max_model_latency_ms: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self._dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}
        self.errors = self._alarm(
            "Invocation5XXErrors",
            statistic=cloudwatch.Stats.AVERAGE,
            threshold=MAX_ERROR_RATE,
            description=f"More than {MAX_ERROR_RATE:.0%} of {endpoint_name}'s invocations failed with a 5xx",
        )
        self.latency = self._alarm(
            "ModelLatency",
            statistic=cloudwatch.Stats.p(99),
            # ModelLatency is reported in microseconds.
            threshold=max_model_latency_ms * 1000,
            description=f"p99 model latency of {endpoint_name} above {max_model_latency_ms} ms",
        )

    def _alarm(
        self, metric_name: str, *, statistic: str, threshold: float, description: str
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            metric_name,
            alarm_description=f"{description}; rolls a deployment in progress back.",
            metric=cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=metric_name,
                dimensions_map=self._dimensions,
                statistic=statistic,
                period=PERIOD,
            ),
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=EVALUATION_PERIODS,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    @property
    def alarms(self) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm]:
        return (self.errors, self.latency)
