"""A Lambda function fed by EventBridge rules, with its role, encrypted logs and failure handling.

The registry functions (approval, deploy), the failure alerts and the retrain function are all
built with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
import aws_cdk.aws_events as events
import aws_cdk.aws_events_targets as targets
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_logs as logs
import aws_cdk.aws_sqs as sqs
import aws_cdk.aws_ssm as ssm
from constructs import Construct

from infra.compliance import acknowledge_unscoped_actions

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
#: Powertools for AWS Lambda (Python) v3 as the public layer AWS publishes from account 017000801446:
#: ``arn:aws:lambda:<region>:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:<n>``.
#: The layer number <n> of a release is not derivable offline, so the layer is pinned by the
#: release itself: Powertools writes ``/aws/service/powertools/python/<arch>/<runtime>/<version>``
#: (a public SSM parameter holding that ARN) for every release, and CloudFormation resolves it at
#: deploy time. Synth stays offline and the layer is exactly the version in requirements.txt
#: (a test keeps the two equal). See docs.aws.amazon.com/powertools/python/latest (Lambda layer).
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_LAYER_PARAMETER = (
    f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{POWERTOOLS_VERSION}"
)
#: Lambda retries failed asynchronous invocations twice, then hands the event to the failure queue.
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = cdk.Duration.hours(6)
#: EventBridge retries delivery to Lambda, then puts the event in the rule target's DLQ.
TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = cdk.Duration.hours(2)


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    """The pinned public Powertools layer, resolved by CloudFormation (see POWERTOOLS_LAYER_PARAMETER)."""
    arn = ssm.StringParameter.value_for_string_parameter(scope, POWERTOOLS_LAYER_PARAMETER)
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)


def asset_excludes(package: str) -> list[str]:
    """CDK glob excludes (the last matching pattern wins) keeping only ``<package>/**/*.py``.

    The asset is built from the folder holding ``package``, which also holds .venv, node_modules
    and cdk.out: excluding every top-level entry first means CDK skips those folders whole
    instead of walking them to fingerprint the asset. The package is then let back in, minus
    anything but Python source, caches, dot folders and tests, so the hash depends on the
    runtime code only.
    """
    return [
        "*",
        ".*",
        f"!{package}",
        f"!{package}/**",
        f"{package}/**/*.*",
        f"!{package}/**/*.py",
        "__pycache__",
        ".*",
        "tests",
    ]


def function_code(code_root: Path, handler: str) -> lambda_.Code:
    """The asset of the function whose entry point is ``handler``: its package as the one top folder.

    ``handler`` is a full name (``lambdas.approval.handler.handler``) that Lambda resolves from
    the asset root as ``code_root`` resolves it here, so the asset holds exactly the package the
    name starts with, and synth fails if the handler's module is not in it.
    """
    module, _, _ = handler.rpartition(".")
    package = module.partition(".")[0]
    if not (code_root / package / "__init__.py").is_file():
        raise ValueError(f"handler {handler!r}: {code_root / package} is not a package")
    if not (code_root / Path(*module.split("."))).with_suffix(".py").is_file():
        raise ValueError(f"handler {handler!r}: no module {module} under {code_root}")
    return lambda_.Code.from_asset(
        str(code_root), exclude=asset_excludes(package), ignore_mode=cdk.IgnoreMode.GLOB
    )


class RegistryLambda(Construct):
    """Function + log group + least-privilege role + async failure queue.

    The role is written here, not through ``grant_*`` helpers, so every statement is explicit:
    logs to its own group, send to the failure queue, decrypt with ``key``, plus ``statements``
    from the stack (which acknowledges their wildcards, if any, with its reasons). ``key``
    encrypts the log group (the key policy lets CloudWatch Logs use it for this environment's log
    groups) and the environment variables, which name tables, topics and roles.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_root: Path,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        statements: Sequence[iam.PolicyStatement],
        layer: lambda_.ILayerVersion,
        key: kms.IKey,
        failure_queue: sqs.IQueue,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        timeout: cdk.Duration,
        reserved_concurrent_executions: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, encryption_key=key, removal_policy=removal_policy
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
            inline_policies={
                "Function": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[self.log_group.log_group_arn],
                        ),
                        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[failure_queue.queue_arn]),
                        iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn]),
                        *statements,
                    ]
                )
            },
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=function_code(code_root, handler),
            layers=[layer],
            environment=dict(environment),
            environment_encryption=key,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout,
            memory_size=256,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        # L1 on purpose: the L2 destination grants sqs/kms with wildcard actions; the role above
        # already holds exactly sqs:SendMessage on this queue.
        self.async_config = lambda_.CfnEventInvokeConfig(
            self,
            "AsyncConfig",
            function_name=self.function.function_name,
            qualifier="$LATEST",
            maximum_retry_attempts=ASYNC_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=int(ASYNC_MAX_EVENT_AGE.to_seconds()),
            destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=failure_queue.queue_arn)
            ),
        )
        self.async_config.node.add_dependency(self.role)
        acknowledge_unscoped_actions(
            self.role, "xray:PutTraceSegments and xray:PutTelemetryRecords (added by CDK for active tracing)"
        )

    def trigger_on(self, rule: events.Rule, *, dead_letter_queue: sqs.IQueue) -> None:
        """Invoke this function for the rule's events, with EventBridge retries and a DLQ."""
        rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=dead_letter_queue,
                retry_attempts=TARGET_RETRY_ATTEMPTS,
                max_event_age=TARGET_MAX_EVENT_AGE,
            )
        )
