"""cdk-nag registration and acknowledgments: every finding is fixed by design or acknowledged here.

cdk-nag 3.x runs as a CDK policy-validation plugin: an unacknowledged finding makes ``synth``
fail and writes ``validation-report.json`` into the cloud assembly. Each acknowledgment names
one finding (rule id plus, for IAM wildcards, the exact action or resource) and why it stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def enable_checks(app: cdk.App) -> None:
    """Run the AWS Solutions rule pack over every stage of ``app`` at synth."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Accept one finding on ``scope`` and everything below it, with the reason on record."""
    acknowledge_all(scope, {finding: reason})


def acknowledge_all(scope: IConstruct, reasons: Mapping[str, str]) -> None:
    """Accept each finding of ``reasons`` on ``scope`` with its reason, in one call to CDK.

    Why one call: each call into CDK is a round trip to jsii's Node.js process, and a synth of
    the app acknowledges about 300 findings.
    """
    acknowledgments = [cdk.Acknowledgment(id=finding, reason=reason) for finding, reason in reasons.items()]
    if acknowledgments:
        cdk.Validations.of(scope).acknowledge(*acknowledgments)


def acknowledge_wildcard_resources(
    scope: IConstruct, statements: Iterable[iam.PolicyStatement], reason: str
) -> None:
    """Acknowledge ``AwsSolutions-IAM5`` for each wildcard resource of ``statements`` on ``scope``.

    Callers group statements by the one reason that justifies their wildcards, so a new
    wildcard needs a new, explicit reason. ``Resource: "*"`` is acknowledged on its own with
    :func:`acknowledge_unscoped_actions`.
    """
    wildcards = (
        resource
        for statement in statements
        for resource in statement.resources
        if "*" in resource and resource != "*"
    )
    acknowledge_all(scope, {f"AwsSolutions-IAM5[Resource::{resource}]": reason for resource in wildcards})


def acknowledge_unscoped_actions(scope: IConstruct, actions: str) -> None:
    """Acknowledge ``Resource: "*"`` for actions that have no resource-level permissions."""
    acknowledge(
        scope,
        "AwsSolutions-IAM5[Resource::*]",
        f"{actions} support no resource-level permissions, so IAM only accepts Resource '*' for them.",
    )
