"""The registry side: approval and deploy Lambdas fed by Model Package State Change events.

::

    Model Registry: "SageMaker Model Package State Change" of this environment's group only
      │ ModelApprovalStatus = PendingManualApproval,          │ ModelApprovalStatus = Approved
      │   Approved or Rejected                                ▼
      ▼                                                     ApprovedRule ─▶ deploy Lambda
    PendingRule ─▶ approval Lambda                                          (endpoint, and the
                   gates ─▶ Approved ──(new event)──────────▲                package's drift
                         ─▶ Rejected                        │                baseline copied to
                         ─▶ left pending, SNS to a reviewer ─▶ human approves  monitoring/baseline/)
                   a later Approved/Rejected: records the decision on the model card

The approval rule delivers all three statuses (``APPROVAL_TRIGGER_STATUSES``): a pending package
is gated, and a reviewer's later Approved or Rejected is recorded on the package's model card; the
function's own update comes back too, is recognised on the card as its own decision, and ignored.
The deploy function also copies the deployed package's drift baseline to the monitoring job's
baseline folder. The reviewers' topic also takes the monitoring stack's alarms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_dynamodb as dynamodb
import aws_cdk.aws_events as events
import aws_cdk.aws_events_targets as targets
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
from infra.stacks.data_stack import DRIFT_BASELINE_KEYS, artifact_key_alias, removal_policy_of
from lambdas import constants as c
from pipeline_def.config import EnvironmentConfig, PeerEnvironment
from pipeline_def.names import MONITORING_BASELINE_FOLDER, PREFIX

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
_REGISTRY_PACKAGES_REASON = (
    "Cross-account promotion: the registry environment numbers its package versions at run time "
    "(model-package/<group>/<version>); limited to that one group of the registry's account."
)
#: Release names keep at least this much of the group (63 characters less the longest suffix).
_RELEASE_GROUP_CHARS = 40
_BASELINE_SOURCE_REASON = (
    "The deploy function copies the deployed package's drift baseline, which each run writes under "
    "fraud-detection/runs/<execution-id>/drift-baseline/; read-only, limited to those folders."
)
_REGISTRY_BASELINE_KEY_REASON = (
    "Cross-account promotion: the registry environment's artifact key id is generated in its own account; "
    "the wildcard is limited to that account's keys carrying the artifact key's alias, and to decryption "
    "through S3 (the drift baseline copy)."
)
_BASELINE_TARGET_REASON = (
    "The deploy function writes the deployed package's drift baseline into the monitoring job's baseline "
    "folder (fraud-detection/monitoring/baseline/); write-only, limited to that folder."
)
_RELEASES_REASON = (
    "The deploy Lambda names each release's model and endpoint config <group>-v<version>-<hash> at release "
    "time; limited to this environment's name prefix, with which the endpoint's name also starts."
)


def package_state_pattern(
    group_name: str, statuses: Sequence[str], *, account: str | None = None
) -> events.EventPattern:
    """State changes of one model package group's packages that reached one of ``statuses``.

    With ``account`` (a deploying environment of cross-account promotion) only events that the
    registry's account emitted, and forwarded to this account's default bus, match.
    """
    return events.EventPattern(
        source=[c.EVENT_SOURCE],
        detail_type=[c.EVENT_DETAIL_TYPE],
        account=[account] if account else None,
        detail={"ModelPackageGroupName": [group_name], "ModelApprovalStatus": list(statuses)},
    )


class ApprovalStack(cdk.Stack):
    """Composes the two registry Lambdas, their rules, the idempotency table and the reviewers' topic.

    The topic's subscribers are ``notifications.reviewers`` of cdk.json; the approval function
    writes each package's model card, encrypted with the project's key. ``artifact_key`` is the
    data stack's key of model artifacts and drift baselines, which the deploy function decrypts
    when it copies the deployed package's baseline for the monitoring job.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        artifact_key: kms.IKey,
        alarm_topic: sns.ITopic,
        model_execution_role: iam.IRole,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._config = config
        self._key = key
        self._artifact_key = artifact_key
        self._removal_policy = removal_policy_of(config)
        self.idempotency_table = self._idempotency_table()
        registry = config.registry
        # A deploying environment (accounts.registryEnvironment) approves nothing: no reviewers' topic.
        self.topic: sns.Topic | None = None
        self.reviewer_subscriptions: list[sns.Subscription] = []
        if registry is None:
            self.topic = sns.Topic(
                self,
                "ApprovalTopic",
                display_name=f"{config.prefix} model approvals",
                master_key=key,
                enforce_ssl=True,
            )
            self.reviewer_subscriptions = subscribe(self, self.topic, config.notifications.reviewers)
            # The monitoring stack's alarms notify the reviewers; the explicit topic policy that
            # enforce_ssl writes replaces SNS's default one, so CloudWatch needs its own statement.
            self.topic.add_to_resource_policy(
                policies.service_may_publish(
                    self,
                    self.topic.topic_arn,
                    sid="AllowCloudWatchAlarmsOfThisAccount",
                    principal="cloudwatch.amazonaws.com",
                    source_arn=policies.alarms_arn(self),
                )
            )
        self.dead_letter_queue = dead_letter_queue(self, "FailedEvents", key=key, alarm_topic=alarm_topic)
        self._layer = powertools_layer(self, "PowertoolsLayer")
        self.rollback_alarms = self._rollback_alarms()
        self.approval = self._approval_function(self.topic) if self.topic is not None else None
        self.deploy = self._deploy_function(model_execution_role)
        if self.rollback_alarms:
            self._let_model_role_read_alarms(model_execution_role)
        group = config.pipeline.model_package_group_name
        self.pending_rule: events.Rule | None = None
        if self.approval is not None:
            self.pending_rule = events.Rule(
                self,
                "PendingRule",
                description=f"New {group} packages awaiting approval -> approval Lambda",
                event_pattern=package_state_pattern(group, c.APPROVAL_TRIGGER_STATUSES),
            )
        deployed_group = (registry or config.pipeline).model_package_group_name
        self.approved_rule = events.Rule(
            self,
            "ApprovedRule",
            description=f"Approved {deployed_group} packages -> deploy Lambda",
            event_pattern=package_state_pattern(
                deployed_group, [c.DEPLOY_TRIGGER_STATUS], account=registry.account if registry else None
            ),
        )
        if self.approval is not None and self.pending_rule is not None:
            self.approval.trigger_on(self.pending_rule, dead_letter_queue=self.dead_letter_queue)
        self.deploy.trigger_on(self.approved_rule, dead_letter_queue=self.dead_letter_queue)
        self.promotion_rule = self._forward_approved_packages(group) if config.promote_to else None
        self.registry_events_policy = self._accept_registry_events(registry) if registry else None

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

    def _approval_function(self, topic: sns.Topic) -> RegistryLambda:
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
            environment=self._approval_environment(topic),
            statements=[
                packages,
                evidence,
                listing,
                iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
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
        registry = self._config.registry
        packages = (
            self._registry_packages(registry)
            if registry
            else self._packages("sagemaker:DescribeModelPackage")
        )
        releases = self._releases()
        baseline_source, baseline_key = self._baseline_source()
        baseline_target = policies.s3_objects(
            self,
            self._config.artifact_bucket_name,
            [f"{PREFIX}/{MONITORING_BASELINE_FOLDER}/"],
            ["s3:PutObject"],
        )
        deployed_group = (registry or self._config.pipeline).model_package_group_name
        function = self._function(
            "Deploy",
            handler=c.DEPLOY_HANDLER,
            description=f"Deploys approved {deployed_group} packages to "
            f"{self._config.pipeline.endpoint_name}",
            environment=self._deploy_environment(model_role),
            statements=[
                packages,
                releases,
                policies.kms_create_grant(self._key),
                policies.pass_role_to_sagemaker(model_role.role_arn),
                baseline_source,
                baseline_key,
                baseline_target,
                *([self._describe_alarms()] if self.rollback_alarms else []),
                *self._state_and_key(),
            ],
            timeout=cdk.Duration.minutes(2),
        )
        acknowledge_wildcard_resources(
            function.role, [packages], _REGISTRY_PACKAGES_REASON if registry else _PACKAGES_REASON
        )
        acknowledge_wildcard_resources(function.role, [releases], _RELEASES_REASON)
        acknowledge_wildcard_resources(function.role, [baseline_source], _BASELINE_SOURCE_REASON)
        acknowledge_wildcard_resources(function.role, [baseline_target], _BASELINE_TARGET_REASON)
        if registry:
            acknowledge_wildcard_resources(function.role, [baseline_key], _REGISTRY_BASELINE_KEY_REASON)
        return function

    def _baseline_source(self) -> tuple[iam.PolicyStatement, iam.PolicyStatement]:
        """Read the deployed package's drift baseline: where the package was trained, with its key.

        Its own bucket and artifact key, or (cross-account promotion) the registry's, whose bucket
        and artifact key policies allow this account the same folders, through S3 only.
        """
        registry = self._config.registry
        bucket = registry.artifact_bucket_name if registry else self._config.artifact_bucket_name
        read = iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[policies.s3_arn(self, bucket, DRIFT_BASELINE_KEYS)]
        )
        if registry:
            key = policies.peer_key_decrypt_through_s3(
                self, registry.account, artifact_key_alias(registry.prefix)
            )
        else:
            key = policies.kms_via(self, self._artifact_key.key_arn, ["kms:Decrypt"], ["s3"])
        return read, key

    def _registry_packages(self, registry: PeerEnvironment) -> iam.PolicyStatement:
        """Cross-account promotion: the registry's packages, read and deployed from here.

        The registry's group policy allows this account the same actions on the same packages.
        """
        return iam.PolicyStatement(
            actions=["sagemaker:CreateModel", "sagemaker:DescribeModelPackage"],
            resources=[
                self.format_arn(
                    service="sagemaker",
                    account=registry.account,
                    resource="model-package",
                    resource_name=f"{registry.model_package_group_name}/*",
                )
            ],
        )

    def _forward_approved_packages(self, group: str) -> events.Rule:
        """Cross-account promotion: Approved packages of this group go to each deploying account's bus.

        The target role may put events on those default buses only, and only EventBridge of
        this account may assume it; their bus policies accept this account's events.
        """
        config = self._config
        role = iam.Role(
            self,
            "PromotionEventsRole",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            description=f"Forwards approved {group} packages to the accounts that deploy them",
        )
        rule = events.Rule(
            self,
            "PromotionRule",
            description=f"Approved {group} packages -> "
            + ", ".join(f"{peer.name} ({peer.account})" for peer in config.promote_to),
            event_pattern=package_state_pattern(group, [c.DEPLOY_TRIGGER_STATUS]),
        )
        for peer in config.promote_to:
            bus = events.EventBus.from_event_bus_arn(
                self,
                f"{peer.name.capitalize()}DefaultBus",
                self.format_arn(
                    service="events", account=peer.account, resource="event-bus", resource_name="default"
                ),
            )
            rule.add_target(
                targets.EventBus(
                    bus,
                    role=role,
                    dead_letter_queue=self.dead_letter_queue,
                )
            )
        return rule

    def _accept_registry_events(self, registry: PeerEnvironment) -> events.CfnEventBusPolicy:
        """Cross-account promotion: the registry's account may put its package state changes here.

        Only SageMaker's Model Package State Change events, on this account's default bus, where
        the approved rule picks those of the registry's group.
        """
        return events.CfnEventBusPolicy(
            self,
            "RegistryEventsPolicy",
            event_bus_name="default",
            statement_id=f"{self._config.prefix}-from-{registry.name}-registry",
            statement={
                "Sid": f"{self._config.prefix}-from-{registry.name}-registry",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{self.partition}:iam::{registry.account}:root"},
                "Action": "events:PutEvents",
                "Resource": self.format_arn(service="events", resource="event-bus", resource_name="default"),
                "Condition": {
                    "StringEquals": {
                        "events:source": c.EVENT_SOURCE,
                        "events:detail-type": c.EVENT_DETAIL_TYPE,
                    }
                },
            },
        )

    def _approval_environment(self, topic: sns.Topic) -> dict[str, str]:
        environment = self._config.approval_environment(
            idempotency_table=self.idempotency_table.table_name, topic_arn=topic.topic_arn
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
        return [policies.idempotency_records(self.idempotency_table.table_arn), policies.kms_use(self._key)]

    def _releases(self) -> iam.PolicyStatement:
        """Models, endpoint configs and the endpoint, all named with the environment prefix.

        A deploying environment of cross-account promotion names models and endpoint configs after
        the registry's group (``<group, cut>-v<version>-<hash>``, see deploy.models.resource_name):
        those names are allowed too, from the first characters any cut keeps.
        """
        names = f"{self._config.prefix}-*"
        registry = self._config.registry
        promoted = (
            [
                policies.sagemaker_arn(
                    self, kind, f"{registry.model_package_group_name[:_RELEASE_GROUP_CHARS].rstrip('-')}*"
                )
                for kind in ("model", "endpoint-config")
            ]
            if registry
            else []
        )
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
                *(
                    policies.sagemaker_arn(self, kind, names)
                    for kind in ("model", "endpoint-config", "endpoint")
                ),
                *promoted,
            ],
        )
