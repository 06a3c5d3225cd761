"""The registry side: approval and deploy Lambdas fed by Model Package State Change events.

::

    Model Registry: "SageMaker Model Package State Change" of this environment's group only
      │ ModelApprovalStatus = PendingManualApproval           │ ModelApprovalStatus = Approved
      ▼                                                       ▼
    PendingRule ─▶ approval Lambda                          ApprovedRule ─▶ deploy Lambda
                   gates ─▶ Approved ──(new event)──────────▲               (endpoint)
                         ─▶ Rejected (no rule matches)
                         ─▶ left pending, SNS to a reviewer ─▶ human approves ─(new event)─┘

The approval Lambda's own update emits Approved or Rejected, which the pending rule does not
match, so it never re-triggers itself (the handlers also ignore other statuses).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_dynamodb as dynamodb
import aws_cdk.aws_events as events
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sns as sns
from constructs import Construct

from infra import policies
from infra.compliance import acknowledge_wildcard_resources
from infra.constructs.encrypted_queue import dead_letter_queue
from infra.constructs.endpoint_alarms import EndpointRollbackAlarms
from infra.constructs.registry_lambda import RegistryLambda, powertools_layer
from infra.constructs.subscriptions import subscribe
from infra.retention import log_retention
from infra.stacks.data_stack import removal_policy_of
from lambdas import constants as c
from pipeline_def.config import EnvironmentConfig
from pipeline_def.names import PREFIX

_PACKAGES_REASON = (
    "The registry numbers package versions at run time (model-package/<group>/<version>); limited to this "
    "environment's model package group."
)
_EVIDENCE_REASON = (
    "The gates read evaluation.json and analysis.json, written under per-execution keys "
    "(fraud-detection/runs/<execution-id>/...); read-only and limited to the pipeline's run prefix."
)
_CARDS_REASON = (
    "The approval function writes one model card per package version, named <group>-v<version>-<hash> at "
    "decision time; limited to this environment's group prefix."
)
_RELEASES_REASON = (
    "The deploy Lambda names each release's model and endpoint config <group>-v<version>-<hash> at release "
    "time; limited to this environment's name prefix, with which the endpoint's name also starts."
)


def package_state_pattern(group_name: str, status: str) -> events.EventPattern:
    """State changes of one model package group's packages that reached ``status``."""
    return events.EventPattern(
        source=[c.EVENT_SOURCE],
        detail_type=[c.EVENT_DETAIL_TYPE],
        detail={"ModelPackageGroupName": [group_name], "ModelApprovalStatus": [status]},
    )


class ApprovalStack(cdk.Stack):
    """Composes the two registry Lambdas, their rules, the idempotency table and the reviewers' topic.

    The topic's subscribers are ``notifications.reviewers`` of cdk.json; the approval function
    writes each package's model card, encrypted with the project's key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        model_execution_role: iam.IRole,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._config = config
        self._key = key
        self._removal_policy = removal_policy_of(config)
        self.idempotency_table = self._idempotency_table()
        self.topic = sns.Topic(
            self,
            "ApprovalTopic",
            display_name=f"{config.prefix} model approvals",
            master_key=key,
            enforce_ssl=True,
        )
        self.reviewer_subscriptions = subscribe(self, self.topic, config.notifications.reviewers)
        self.dead_letter_queue = dead_letter_queue(self, "FailedEvents", key=key, alarm_topic=alarm_topic)
        self._layer = powertools_layer(self, "PowertoolsLayer")
        self.rollback_alarms = self._rollback_alarms()
        self.approval = self._approval_function()
        self.deploy = self._deploy_function(model_execution_role)
        if self.rollback_alarms:
            self._let_model_role_read_alarms(model_execution_role)
        group = config.pipeline.model_package_group_name
        self.pending_rule = events.Rule(
            self,
            "PendingRule",
            description=f"New {group} packages awaiting approval -> approval Lambda",
            event_pattern=package_state_pattern(group, c.APPROVAL_TRIGGER_STATUS),
        )
        self.approved_rule = events.Rule(
            self,
            "ApprovedRule",
            description=f"Approved {group} packages -> deploy Lambda",
            event_pattern=package_state_pattern(group, c.DEPLOY_TRIGGER_STATUS),
        )
        self.approval.trigger_on(self.pending_rule, dead_letter_queue=self.dead_letter_queue)
        self.deploy.trigger_on(self.approved_rule, dead_letter_queue=self.dead_letter_queue)

    def _idempotency_table(self) -> dynamodb.Table:
        """Powertools idempotency records; the key and TTL names are the Lambdas' contract."""
        return dynamodb.Table(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(
                name=c.IDEMPOTENCY_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            time_to_live_attribute=c.IDEMPOTENCY_TTL_ATTRIBUTE,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=self._removal_policy,
        )

    def _function(self, construct_id: str, **kwargs: Any) -> RegistryLambda:
        return RegistryLambda(
            self,
            construct_id,
            code_root=c.ASSET_ROOT,
            layer=self._layer,
            key=self._key,
            failure_queue=self.dead_letter_queue,
            log_retention=log_retention(self._config.log_retention_days),
            removal_policy=self._removal_policy,
            **kwargs,
        )

    def _rollback_alarms(self) -> tuple[cloudwatch.Alarm, ...]:
        """The endpoint alarms SageMaker watches during a blue/green update, if the environment wants them."""
        deployment = self._config.endpoint.deployment
        if not deployment.rollback_alarms:
            return ()
        return EndpointRollbackAlarms(
            self,
            "EndpointAlarms",
            endpoint_name=self._config.pipeline.endpoint_name,
            variant_name=c.PRODUCTION_VARIANT_NAME,
            max_model_latency_ms=deployment.max_model_latency_ms,
        ).alarms

    def _describe_alarms(self) -> iam.PolicyStatement:
        """SageMaker requires cloudwatch:DescribeAlarms on the auto-rollback alarms of an UpdateEndpoint.

        See docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html.
        """
        return iam.PolicyStatement(
            actions=["cloudwatch:DescribeAlarms"],
            resources=[alarm.alarm_arn for alarm in self.rollback_alarms],
        )

    def _let_model_role_read_alarms(self, model_role: iam.IRole) -> None:
        """The endpoint's execution role reads the rollback alarms too.

        AWS's guardrails page asks the "execution role" for DescribeAlarms without saying whether it
        means the caller of UpdateEndpoint or the role the endpoint runs with, so both have it
        (read-only, on these alarms only). The policy lives here, next to the alarms, because the
        role's own stack is deployed before this one.
        """
        iam.Policy(
            self,
            "ModelRoleRollbackAlarms",
            roles=[model_role],
            statements=[self._describe_alarms()],
        )

    def _approval_function(self) -> RegistryLambda:
        packages = self._packages("sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage")
        evidence = policies.s3_objects(
            self, self._config.artifact_bucket_name, [f"{PREFIX}/runs/"], ["s3:GetObject"]
        )
        # Without ListBucket, S3 answers a missing key with AccessDenied (which the function treats as
        # transient and retries) instead of NoSuchKey (missing evidence: fail closed at once).
        listing = iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[policies.s3_arn(self, self._config.artifact_bucket_name)],
            conditions={"StringLike": {"s3:prefix": f"{PREFIX}/runs/*"}},
        )
        cards = self._model_cards()
        group = self._config.pipeline.model_package_group_name
        function = self._function(
            "Approval",
            handler=c.APPROVAL_HANDLER,
            description=f"Quality and bias gates for new {group} packages",
            environment=self._approval_environment(),
            statements=[
                packages,
                evidence,
                listing,
                iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]),
                cards,
                policies.kms_create_grant(self._key),
                *self._state_and_key(),
            ],
            timeout=cdk.Duration.minutes(1),
        )
        acknowledge_wildcard_resources(function.role, [packages], _PACKAGES_REASON)
        acknowledge_wildcard_resources(function.role, [evidence], _EVIDENCE_REASON)
        acknowledge_wildcard_resources(function.role, [cards], _CARDS_REASON)
        return function

    def _deploy_function(self, model_role: iam.IRole) -> RegistryLambda:
        packages = self._packages("sagemaker:DescribeModelPackage")
        releases = self._releases()
        function = self._function(
            "Deploy",
            handler=c.DEPLOY_HANDLER,
            description=f"Deploys approved {self._config.pipeline.model_package_group_name} packages to "
            f"{self._config.pipeline.endpoint_name}",
            environment=self._deploy_environment(model_role),
            statements=[
                packages,
                releases,
                policies.kms_create_grant(self._key),
                policies.pass_role_to_sagemaker(model_role.role_arn),
                *([self._describe_alarms()] if self.rollback_alarms else []),
                *self._state_and_key(),
            ],
            timeout=cdk.Duration.minutes(2),
        )
        acknowledge_wildcard_resources(function.role, [packages], _PACKAGES_REASON)
        acknowledge_wildcard_resources(function.role, [releases], _RELEASES_REASON)
        return function

    def _approval_environment(self) -> dict[str, str]:
        environment = self._config.approval_environment(
            idempotency_table=self.idempotency_table.table_name, topic_arn=self.topic.topic_arn
        )
        return dataclasses.replace(environment, model_card_kms_key_arn=self._key.key_arn).variables()

    def _model_cards(self) -> iam.PolicyStatement:
        """Create, read and version the model cards of this group's packages (see model_card.card_name)."""
        prefix = self._config.pipeline.model_package_group_name[: c.MODEL_CARD_GROUP_CHARS].rstrip("-")
        return iam.PolicyStatement(
            actions=["sagemaker:CreateModelCard", "sagemaker:DescribeModelCard", "sagemaker:UpdateModelCard"],
            resources=[policies.sagemaker_arn(self, "model-card", f"{prefix}-v*")],
        )

    def _deploy_environment(self, model_role: iam.IRole) -> dict[str, str]:
        return self._config.deploy_environment(
            artifact_bucket=self._config.artifact_bucket_name,
            idempotency_table=self.idempotency_table.table_name,
            model_role_arn=model_role.role_arn,
            kms_key_arn=self._key.key_arn,
            rollback_alarm_names=tuple(alarm.alarm_name for alarm in self.rollback_alarms),
        ).variables()

    def _packages(self, *actions: str) -> iam.PolicyStatement:
        group = self._config.pipeline.model_package_group_name
        return iam.PolicyStatement(
            actions=list(actions), resources=[policies.sagemaker_arn(self, "model-package", f"{group}/*")]
        )

    def _state_and_key(self) -> list[iam.PolicyStatement]:
        """Both functions: idempotency records, and the key behind the table, topic and queue."""
        return [
            iam.PolicyStatement(
                actions=[
                    "dynamodb:DeleteItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                resources=[self.idempotency_table.table_arn],
            ),
            policies.kms_use(self._key),
        ]

    def _releases(self) -> iam.PolicyStatement:
        """Models, endpoint configs and the endpoint, all named with the environment prefix."""
        names = f"{self._config.prefix}-*"
        return iam.PolicyStatement(
            actions=[
                "sagemaker:AddTags",
                "sagemaker:CreateEndpoint",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateModel",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:ListTags",
                "sagemaker:UpdateEndpoint",
            ],
            resources=[
                policies.sagemaker_arn(self, kind, names) for kind in ("model", "endpoint-config", "endpoint")
            ],
        )
