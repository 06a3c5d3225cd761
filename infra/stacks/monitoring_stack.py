"""The deployed model, watched: the monitoring pipeline, its schedule, its alarms and retraining.

::

    EventBridge Scheduler (monitoring.expression; state = monitoring.enabled)
      │ StartPipelineExecution
      ▼
    <prefix>-fraud-monitoring: FraudMonitor (drift.py check, XGBoost image, own role)
      reads  fraud-detection/monitoring/baseline/     deployed package's baseline.json (deploy function)
             fraud-detection/data-capture/<endpoint>/ the endpoint's captured requests
             fraud-detection/ground-truth/            labels that arrived later
      writes fraud-detection/monitoring/reports/<execution id>/
      puts   figures to CloudWatch, namespace FraudDetection/Monitoring/<env>
      │
      ▼
    one alarm per alarm rule ──▶ reviewers' topic (operators' in a deploying environment)
    failed or stopped monitoring runs ──▶ operators' topic (RunFailureAlert)
      │ rules marked retrain: "CloudWatch Alarm State Change" to ALARM
      ▼
    RetrainRule ─▶ retrain function (reserved concurrency 1) ─ cool-down ─▶ StartPipelineExecution
                                                                            of the training pipeline

Why a stack of its own rather than constructs in the pipeline or approval stack: it reads from
both (the job scripts the pipeline stack uploads, the reviewers' topic and idempotency table of
the approval stack), so it is deployed after them; and the whole of monitoring can be updated,
or destroyed and recreated, without touching the training pipeline, the registry functions or
the data. Only what belongs to the data's owner lives in the data stack: the capture lifecycle
rule on the artifact bucket. The stack name starts with the environment prefix, as the key
policy expects of the log groups and of the rule whose dead-letter queue it encrypts.

A deploying environment of cross-account promotion monitors its own endpoint, but it approves
nothing (no reviewers' topic) and its own training pipeline feeds no deployment: its alarms
notify the operators and nothing retrains there; retraining happens in the registry environment.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_dynamodb as dynamodb
import aws_cdk.aws_events as events
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
from constructs import Construct

from infra import policies
from infra.constructs.encrypted_queue import dead_letter_queue
from infra.constructs.monitoring_alarms import MonitoringAlarms
from infra.constructs.pipeline_schedule import PipelineSchedule
from infra.constructs.processing_role import ObjectAccess, ProcessingPipelineRole
from infra.constructs.registry_lambda import RegistryLambda, powertools_layer
from infra.constructs.run_failure_alert import RunFailureAlert
from infra.constructs.sagemaker_pipeline import SageMakerPipeline
from infra.constructs.seed_objects import SeedObjects
from infra.retention import log_retention
from infra.stacks.data_stack import removal_policy_of
from lambdas import constants as c
from pipeline_def.config import DATA_CAPTURE_PREFIX, EnvironmentConfig, ScheduleConfig
from pipeline_def.definition.render import scripts_digest
from pipeline_def.definition.render_worker import Definitions
from pipeline_def.names import (
    GROUND_TRUTH_FOLDER,
    MONITORING_BASELINE_FOLDER,
    MONITORING_REPORTS_FOLDER,
    PREFIX,
)

#: Two alarms going off together must not both pass the cool-down check and start two runs:
#: with one concurrent execution, the second invocation waits (Lambda keeps retrying a throttled
#: asynchronous event) until the first has recorded its start.
RETRAIN_CONCURRENCY = 1


def retrain_pattern(alarm_arns: list[str]) -> events.EventPattern:
    """These alarms entering the ALARM state (not OK or INSUFFICIENT_DATA)."""
    return events.EventPattern(
        source=[c.ALARM_EVENT_SOURCE],
        detail_type=[c.ALARM_EVENT_DETAIL_TYPE],
        resources=alarm_arns,
        detail={"state": {"value": [c.ALARM_TRIGGER_STATE]}},
    )


class MonitoringStack(cdk.Stack):
    """Composes the monitoring pipeline, its role, schedule and seeds, the alarms and the retrain function.

    The project key comes from :class:`DataStack`, the operators' topic (dead-letter alarms) from
    :class:`OperationsStack`, and the reviewers' topic and the idempotency table from
    :class:`ApprovalStack` (``reviewers_topic`` is ``None`` in a deploying environment). The
    training pipeline and the buckets are known by their configured names.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        reviewers_topic: sns.ITopic | None,
        idempotency_table: dynamodb.ITable,
        definitions: Definitions,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._config = config
        self._key = key
        settings, monitoring = config.pipeline, config.monitoring
        bucket = config.artifact_bucket_name
        definition = definitions.monitoring(settings, monitoring, digest=scripts_digest())
        namespace = monitoring.metrics_namespace(config.name)
        self.execution_role = ProcessingPipelineRole(
            self,
            "ExecutionRole",
            settings=settings,
            pipeline_name=settings.monitoring_pipeline_name,
            job_name_prefix=f"{settings.prefix}-monitor-",
            key=key,
            objects=[
                ObjectAccess(
                    bucket_name=bucket,
                    # The three inputs, and every version of the job scripts (the pipeline
                    # stack's code_key_prefix).
                    read=(*self.input_prefixes, f"{PREFIX}/code/"),
                    write=(f"{PREFIX}/{MONITORING_REPORTS_FOLDER}/",),
                )
            ],
            objects_reason="The monitoring job reads what the deploy function, the endpoint's data capture "
            "and the label feed write under generated keys, and writes its report per execution; the "
            "wildcards are limited to those prefixes and the job scripts' prefix of this environment's "
            "artifact bucket.",
            image_uris=policies.image_uris_in(definition),
            extra=[policies.metrics_in_namespace(namespace)],
            extra_unscoped=f"cloudwatch:PutMetricData (limited to {namespace})",
        ).role
        self.seeds = SeedObjects(
            self,
            "InputSeeds",
            bucket=s3.Bucket.from_bucket_attributes(
                self, "ArtifactBucket", bucket_name=bucket, encryption_key=key
            ),
            key=key,
            key_prefix=f"{PREFIX}/",
            folders=tuple(prefix.removeprefix(f"{PREFIX}/") for prefix in self.input_prefixes),
            log_retention=log_retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        pipeline = SageMakerPipeline(
            self,
            "Pipeline",
            pipeline_name=settings.monitoring_pipeline_name,
            description="Fraud detection monitoring: data quality, feature and prediction drift, bias drift "
            "and live quality of the deployed model",
            definition=definition,
            role=self.execution_role,
            artifact_bucket_name=bucket,
            key=key,
        )
        pipeline.node.add_dependency(self.seeds)
        self.pipeline = pipeline.pipeline
        self.schedule = PipelineSchedule(
            self,
            "Schedule",
            schedule=ScheduleConfig(
                enabled=monitoring.enabled, expression=monitoring.expression, time_zone=monitoring.time_zone
            ),
            pipeline_arn=pipeline.pipeline_arn,
            parameters={},
            key=key,
            alarm_topic=alarm_topic,
            description=f"Starts {settings.monitoring_pipeline_name}",
        )
        self.alert_dead_letter_queue = dead_letter_queue(
            self, "FailedAlerts", key=key, alarm_topic=alarm_topic
        )
        self.failure_alert = RunFailureAlert(
            self,
            "RunFailureAlert",
            pipeline_name=settings.monitoring_pipeline_name,
            pipeline_arn=pipeline.pipeline_arn,
            key=key,
            topic=alarm_topic,
            dead_letter_queue=self.alert_dead_letter_queue,
            advice="The deployed model was not checked by this run, and no alarm changed on its account; "
            "the failing step's reason is on the execution's steps (a capture or baseline it could not "
            "read, or the job's own error).",
        )
        self.alarms = MonitoringAlarms(
            self,
            "Alarms",
            monitoring=monitoring,
            prefix=config.prefix,
            env_name=config.name,
            topic=reviewers_topic or alarm_topic,
        )
        self.retrain: RegistryLambda | None = None
        self.retrain_rule: events.Rule | None = None
        if reviewers_topic is not None and self.alarms.retrain_alarms:
            self.retrain = self._retrain_function(reviewers_topic, idempotency_table, alarm_topic)
            self.retrain_rule = events.Rule(
                self,
                "RetrainRule",
                description=f"Monitoring alarms of {config.prefix} that retrain -> retrain Lambda",
                event_pattern=retrain_pattern([alarm.alarm_arn for alarm in self.alarms.retrain_alarms]),
            )
            self.retrain.trigger_on(self.retrain_rule, dead_letter_queue=self.retrain_dead_letter_queue)

    @property
    def input_prefixes(self) -> tuple[str, ...]:
        """The monitoring job's three inputs (each ends with ``/``, as in the definition)."""
        return (
            f"{PREFIX}/{MONITORING_BASELINE_FOLDER}/",
            f"{DATA_CAPTURE_PREFIX}{self._config.pipeline.endpoint_name}/",
            f"{PREFIX}/{GROUND_TRUTH_FOLDER}/",
        )

    def _retrain_function(
        self, topic: sns.ITopic, idempotency_table: dynamodb.ITable, alarm_topic: sns.ITopic
    ) -> RegistryLambda:
        config = self._config
        training = policies.sagemaker_arn(self, "pipeline", config.pipeline.pipeline_name)
        self.retrain_dead_letter_queue = dead_letter_queue(
            self, "FailedRetrains", key=self._key, alarm_topic=alarm_topic
        )
        environment = config.retrain_environment(
            idempotency_table=idempotency_table.table_name,
            topic_arn=topic.topic_arn,
            alarm_names=self.alarms.retrain_alarm_names,
        )
        return RegistryLambda(
            self,
            "Retrain",
            code_root=c.ASSET_ROOT,
            handler=c.RETRAIN_HANDLER,
            description=f"Starts {config.pipeline.pipeline_name} when a monitoring alarm asks, once per "
            f"{config.monitoring.cool_down_hours} h",
            environment=environment.variables(),
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"],
                    resources=[training],
                ),
                iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
                policies.idempotency_records(idempotency_table.table_arn),
                # The key behind the topic and the idempotency table.
                policies.kms_use(self._key),
            ],
            layer=powertools_layer(self, "PowertoolsLayer"),
            key=self._key,
            failure_queue=self.retrain_dead_letter_queue,
            log_retention=log_retention(config.log_retention_days),
            removal_policy=removal_policy_of(config),
            timeout=cdk.Duration.minutes(1),
            reserved_concurrent_executions=RETRAIN_CONCURRENCY,
        )
