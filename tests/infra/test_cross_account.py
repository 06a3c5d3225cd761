"""Cross-account promotion in the synthesized templates: dev's registry, staging's and prod's deployers.

The app is synthesized once more with a test-local context (the repository's cdk.json plus
``accounts`` blocks: dev promotes to staging and prod), exactly as ``app.py`` would, cdk-nag
included; the default synth (no ``accounts`` block, the ``synthesized`` fixture) is the baseline.
"""

from __future__ import annotations

import copy
import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from lambdas import constants as c
from pipeline_def.config import Reader
from tests.infra.synth_support import (
    STACK_KINDS,
    Synthesized,
    allows,
    as_list,
    cfn_lint,
    key_with_alias,
    only_resource,
    read_json,
    resources_of,
    role_statements,
    synthesize_app,
)

DEV, STAGING, PROD = "111111111111", "222222222222", "333333333333"
DEPLOYING = {"staging": STAGING, "prod": PROD}
DEV_GROUP = "fraud-mlops-dev-fraud-detection"
DEV_BUCKET = f"fraud-mlops-dev-artifacts-{DEV}"
DEV_PACKAGES = f"arn:aws:sagemaker:us-east-1:{DEV}:model-package/{DEV_GROUP}/*"
ROOTS = [f"arn:aws:iam::{STAGING}:root", f"arn:aws:iam::{PROD}:root"]
#: What promotion adds to and removes from the default templates, by logical id (pattern).
ADDED = {
    ("dev", "approval"): {"PromotionEventsRole*", "PromotionEventsRoleDefaultPolicy*", "PromotionRule*"},
    ("staging", "approval"): {"RegistryEventsPolicy"},
    ("prod", "approval"): {"RegistryEventsPolicy"},
    ("staging", "pipeline"): {"RegistryModelArtifacts*"},
    ("prod", "pipeline"): {"RegistryModelArtifacts*"},
}
#: A deploying environment approves nothing: the approval function, its rule and topic are gone; and
#: it retrains nothing (its own training pipeline feeds no deployment): the retrain function goes.
REMOVED_FROM_DEPLOYING = {
    "approval": {"Approval*", "PendingRule*", "Subscriber*"},
    "monitoring": {"Retrain*", "FailedRetrains*"},
}
DEV_ARTIFACT_KEY_ALIAS = "alias/fraud-mlops-dev-artifacts"
#: How a deploying account's roles may use dev's artifact key: by its alias, to decrypt through S3.
DEV_ARTIFACT_KEY_CONDITION = {
    "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
    "ForAnyValue:StringEquals": {"kms:ResourceAliases": DEV_ARTIFACT_KEY_ALIAS},
}
#: What the deploying accounts read in dev's artifact bucket: model artifacts and drift baselines.
DEV_READABLE = [
    f"arn:aws:s3:::{DEV_BUCKET}/fraud-detection/tuning/*",
    f"arn:aws:s3:::{DEV_BUCKET}/fraud-detection/runs/*/drift-baseline/*",
]


def promotion_context(context: Reader) -> Reader:
    """The repository's context with dev promoting to staging and prod (reviewers only in dev)."""
    data = copy.deepcopy(dict(context.data))
    environments = data["environments"]
    environments["dev"]["accounts"] = {"promoteTo": ["staging", "prod"]}
    for name in DEPLOYING:
        environments[name]["accounts"] = {"registryEnvironment": "dev"}
        environments[name]["notifications"]["reviewers"] = []
    return Reader(data, context.path)


@pytest.fixture(scope="module")
def promoted(context: Reader, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    outdir = tmp_path_factory.mktemp("cdk.out.promotion")
    _, stages = synthesize_app(outdir, promotion_context(context))
    return {
        name: Synthesized(config=stage.config, stage=stage, assembly=stage.synth(), outdir=outdir)
        for name, stage in stages.items()
    }


def matching(ids: set[str], patterns: set[str]) -> set[str]:
    return {logical_id for logical_id in ids if any(fnmatchcase(logical_id, p) for p in patterns)}


def resource_with_prefix(
    template: dict[str, Any], prefix: str, resource_type: str | None = None
) -> tuple[str, dict[str, Any]]:
    found = [
        (k, v)
        for k, v in template["Resources"].items()
        if k.startswith(prefix) and resource_type in (None, v["Type"])
    ]
    assert len(found) == 1, f"expected one resource starting with {prefix}, found {[k for k, _ in found]}"
    return found[0]


def function_environment(template: dict[str, Any], handler: str) -> dict[str, Any]:
    functions = [
        f
        for f in resources_of(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler
    ]
    assert len(functions) == 1
    return functions[0]["Properties"]["Environment"]["Variables"]


def deploy_role_statements(promoted: dict[str, Synthesized], name: str) -> list[dict[str, Any]]:
    template = promoted[name].json("approval")
    role_id, _ = resource_with_prefix(template, "DeployRole", "AWS::IAM::Role")
    return role_statements(template, role_id)


def statements_naming(document: dict[str, Any], principal: str) -> list[dict[str, Any]]:
    return [s for s in document["Statement"] if principal in as_list(s.get("Principal", {}).get("AWS", []))]


# --- Nothing changes without the block ---------------------------------------------------------
@pytest.mark.parametrize("kind", STACK_KINDS)
def test_default_templates_have_no_promotion_resources(env: Synthesized, kind: str) -> None:
    # Given the repository's cdk.json (no accounts block)
    template = env.json(kind)
    # Then no event bus policy, promotion rule or registry access exists
    assert resources_of(template, "AWS::Events::EventBusPolicy") == {}
    assert matching(set(template["Resources"]), {"Promotion*", "Registry*"}) == set()
    for group in resources_of(template, "AWS::SageMaker::ModelPackageGroup").values():
        assert "ModelPackageGroupPolicy" not in group["Properties"]


def test_default_deploy_function_accepts_only_its_own_account(env: Synthesized) -> None:
    variables = function_environment(env.json("approval"), c.DEPLOY_HANDLER)
    assert c.ENV_REGISTRY_ACCOUNT not in variables
    assert variables[c.ENV_MODEL_PACKAGE_GROUP_NAME] == env.config.pipeline.model_package_group_name


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
@pytest.mark.parametrize("kind", STACK_KINDS)
def test_promotion_adds_and_removes_exactly_its_own_resources(
    synthesized: dict[str, Synthesized], promoted: dict[str, Synthesized], name: str, kind: str
) -> None:
    # Given the default templates as the baseline
    baseline = set(synthesized[name].json(kind)["Resources"])
    # When promotion is switched on
    ids = set(promoted[name].json(kind)["Resources"])
    # Then only the promotion's resources appear, and only the approval side of a deployer goes
    removed = REMOVED_FROM_DEPLOYING.get(kind, set()) if name != "dev" else set()
    assert ids - baseline == matching(ids, ADDED.get((name, kind), set()))
    assert baseline - ids == matching(baseline, removed)


# --- dev: the registry ----------------------------------------------------------------------------
def test_dev_group_policy_lets_the_deploying_accounts_read_and_deploy_its_packages(
    promoted: dict[str, Synthesized],
) -> None:
    group = only_resource(promoted["dev"].json("pipeline"), "AWS::SageMaker::ModelPackageGroup")
    statements = group["Properties"]["ModelPackageGroupPolicy"]["Statement"]
    granted = {
        (action, statement["Resource"])
        for statement in statements
        for action in as_list(statement["Action"])
        if statement["Principal"] == {"AWS": ROOTS} and statement["Effect"] == "Allow"
    }
    assert granted == {
        (
            "sagemaker:DescribeModelPackageGroup",
            f"arn:aws:sagemaker:us-east-1:{DEV}:model-package-group/{DEV_GROUP}",
        ),
        ("sagemaker:CreateModel", DEV_PACKAGES),
        ("sagemaker:DescribeModelPackage", DEV_PACKAGES),
        ("sagemaker:ListModelPackages", DEV_PACKAGES),
    }
    assert len(statements) == 2


def test_dev_artifact_bucket_lets_the_deploying_accounts_get_model_artifacts_and_baselines_only(
    promoted: dict[str, Synthesized],
) -> None:
    template = promoted["dev"].json("data")
    _, policy = resource_with_prefix(template, "ArtifactsBucketPolicy")
    for root in ROOTS:
        granted = statements_naming(policy["Properties"]["PolicyDocument"], root)
        assert [(s["Action"], sorted(s["Resource"])) for s in granted] == [
            ("s3:GetObject", sorted(DEV_READABLE))
        ]


def test_dev_feature_data_stays_closed_to_the_deploying_accounts(promoted: dict[str, Synthesized]) -> None:
    # Given dev's data stack with promotion on
    template = promoted["dev"].json("data")
    _, data_policy = resource_with_prefix(template, "DataBucketPolicy")
    # Then the data bucket (offline store) names no other account, and no grant reaches a run's
    # data (its splits, evaluation, predictions): of the runs, only the drift baselines
    for root in ROOTS:
        assert statements_naming(data_policy["Properties"]["PolicyDocument"], root) == []
    _, artifacts = resource_with_prefix(template, "ArtifactsBucketPolicy")
    resources = [
        r for s in artifacts["Properties"]["PolicyDocument"]["Statement"] for r in as_list(s["Resource"])
    ]
    runs = [r for r in resources if isinstance(r, str) and "/runs" in r]
    assert runs == [f"arn:aws:s3:::{DEV_BUCKET}/fraud-detection/runs/*/drift-baseline/*"]
    assert not any(isinstance(r, str) and "offline-store" in r for r in resources)


def test_dev_project_key_grants_the_deploying_accounts_nothing(promoted: dict[str, Synthesized]) -> None:
    # Given dev's project key (data, feature store, queues, topics, logs)
    _, key = key_with_alias(promoted["dev"].json("data"), "alias/fraud-mlops-dev")
    # Then its policy names neither deploying account, in any statement
    policy = json.dumps(key["Properties"]["KeyPolicy"])
    assert [account for account in (STAGING, PROD) if account in policy] == []


def test_dev_artifact_key_lets_the_deploying_accounts_decrypt_only_through_s3(
    promoted: dict[str, Synthesized],
) -> None:
    # Given dev's artifact key (model artifacts and drift baselines only)
    _, key = key_with_alias(promoted["dev"].json("data"), DEV_ARTIFACT_KEY_ALIAS)
    granted = [s for root in ROOTS for s in statements_naming(key["Properties"]["KeyPolicy"], root)]
    # Then one statement lets both accounts decrypt, through S3, objects of those prefixes only
    assert len({id(s) for s in granted}) == 1
    statement = granted[0]
    assert statement["Principal"] == {"AWS": ROOTS}
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::{DEV_BUCKET}", *DEV_READABLE]},
    }


def test_dev_forwards_approved_packages_of_its_group_to_each_deploying_bus(
    promoted: dict[str, Synthesized],
) -> None:
    template = promoted["dev"].json("approval")
    _, rule = resource_with_prefix(template, "PromotionRule", "AWS::Events::Rule")
    assert rule["Properties"]["EventPattern"] == {
        "source": [c.EVENT_SOURCE],
        "detail-type": [c.EVENT_DETAIL_TYPE],
        "detail": {"ModelPackageGroupName": [DEV_GROUP], "ModelApprovalStatus": [c.STATUS_APPROVED]},
    }
    role_id, _ = resource_with_prefix(template, "PromotionEventsRole", "AWS::IAM::Role")
    buses = [f"arn:aws:events:us-east-1:{account}:event-bus/default" for account in (STAGING, PROD)]
    targets = rule["Properties"]["Targets"]
    assert [t["Arn"] for t in targets] == buses
    assert all(t["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]} and "DeadLetterConfig" in t for t in targets)


def test_dev_forwarding_role_may_only_put_events_on_those_buses(promoted: dict[str, Synthesized]) -> None:
    template = promoted["dev"].json("approval")
    role_id, role = resource_with_prefix(template, "PromotionEventsRole", "AWS::IAM::Role")
    statements = role_statements(template, role_id)
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        (
            "events:PutEvents",
            [f"arn:aws:events:us-east-1:{account}:event-bus/default" for account in (STAGING, PROD)],
        )
    ]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": DEV}}


def test_dev_still_approves_its_own_packages(promoted: dict[str, Synthesized]) -> None:
    template = promoted["dev"].json("approval")
    assert function_environment(template, c.APPROVAL_HANDLER)[c.ENV_MODEL_PACKAGE_GROUP_NAME] == DEV_GROUP


# --- staging and prod: the deployers -------------------------------------------------------------
@pytest.mark.parametrize("name", DEPLOYING)
def test_deploying_bus_accepts_sagemaker_package_events_from_dev_only(
    promoted: dict[str, Synthesized], name: str
) -> None:
    policy = only_resource(promoted[name].json("approval"), "AWS::Events::EventBusPolicy")["Properties"]
    statement = policy["Statement"]
    assert policy["EventBusName"] == "default"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{DEV}:root"}
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == f"arn:aws:events:us-east-1:{DEPLOYING[name]}:event-bus/default"
    assert statement["Condition"] == {
        "StringEquals": {"events:source": c.EVENT_SOURCE, "events:detail-type": c.EVENT_DETAIL_TYPE}
    }


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploying_rule_matches_approved_packages_of_dev_group_from_dev_account(
    promoted: dict[str, Synthesized], name: str
) -> None:
    _, rule = resource_with_prefix(promoted[name].json("approval"), "ApprovedRule", "AWS::Events::Rule")
    assert rule["Properties"]["EventPattern"] == {
        "source": [c.EVENT_SOURCE],
        "detail-type": [c.EVENT_DETAIL_TYPE],
        "account": [DEV],
        "detail": {"ModelPackageGroupName": [DEV_GROUP], "ModelApprovalStatus": [c.STATUS_APPROVED]},
    }


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploying_environment_has_no_approval_function(promoted: dict[str, Synthesized], name: str) -> None:
    template = promoted[name].json("approval")
    handlers = [f["Properties"]["Handler"] for f in resources_of(template, "AWS::Lambda::Function").values()]
    assert handlers == [c.DEPLOY_HANDLER]
    assert resources_of(template, "AWS::SNS::Topic") == {}


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploy_function_accepts_dev_account_and_group(promoted: dict[str, Synthesized], name: str) -> None:
    variables = function_environment(promoted[name].json("approval"), c.DEPLOY_HANDLER)
    assert variables[c.ENV_REGISTRY_ACCOUNT] == DEV
    assert variables[c.ENV_MODEL_PACKAGE_GROUP_NAME] == DEV_GROUP


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploy_role_may_describe_and_deploy_dev_packages_only(
    promoted: dict[str, Synthesized], name: str
) -> None:
    statements = deploy_role_statements(promoted, name)
    package = f"arn:aws:sagemaker:us-east-1:{DEV}:model-package/{DEV_GROUP}/3"
    own = f"arn:aws:sagemaker:us-east-1:{DEPLOYING[name]}:model-package/fraud-mlops-{name}-fraud-detection/3"
    assert allows(statements, "sagemaker:DescribeModelPackage", package)
    assert allows(statements, "sagemaker:CreateModel", package)
    assert not allows(statements, "sagemaker:DescribeModelPackage", own)
    assert not allows(statements, "sagemaker:UpdateModelPackage", package)


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploy_role_may_create_models_named_after_dev_group(
    promoted: dict[str, Synthesized], name: str
) -> None:
    statements = deploy_role_statements(promoted, name)
    account = DEPLOYING[name]
    assert allows(
        statements,
        "sagemaker:CreateModel",
        f"arn:aws:sagemaker:us-east-1:{account}:model/{DEV_GROUP}-v3-0a1b2c3d",
    )
    assert allows(
        statements,
        "sagemaker:CreateEndpoint",
        f"arn:aws:sagemaker:us-east-1:{account}:endpoint/fraud-mlops-{name}-fraud-detection",
    )


@pytest.mark.parametrize("name", DEPLOYING)
def test_model_role_reads_dev_model_artifacts_through_its_alias(
    promoted: dict[str, Synthesized], name: str
) -> None:
    template = promoted[name].json("pipeline")
    _, policy = resource_with_prefix(template, "RegistryModelArtifacts")
    model_role, _ = resource_with_prefix(template, "ModelExecutionRole", "AWS::IAM::Role")
    assert policy["Properties"]["Roles"] == [{"Ref": model_role}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements[0] == {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": f"arn:aws:s3:::{DEV_BUCKET}/fraud-detection/tuning/*",
    }
    assert statements[1]["Action"] == "kms:Decrypt"
    assert statements[1]["Resource"] == f"arn:aws:kms:us-east-1:{DEV}:key/*"
    assert statements[1]["Condition"] == DEV_ARTIFACT_KEY_CONDITION


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploy_role_reads_dev_drift_baselines_through_its_artifact_key(
    promoted: dict[str, Synthesized], name: str
) -> None:
    # Given the deploying environment's deploy role
    statements = deploy_role_statements(promoted, name)
    # Then it reads the drift baselines of dev's runs, not its own bucket's and not dev's run data
    runs = f"arn:aws:s3:::{DEV_BUCKET}/fraud-detection/runs/k3v9x2m4q8z1"
    own = f"arn:aws:s3:::fraud-mlops-{name}-artifacts-{DEPLOYING[name]}/fraud-detection/runs/k3v9x2m4q8z1"
    assert allows(statements, "s3:GetObject", f"{runs}/drift-baseline/baseline.json")
    assert not allows(statements, "s3:GetObject", f"{runs}/dataset/train/train.csv")
    assert not allows(statements, "s3:GetObject", f"{own}/drift-baseline/baseline.json")


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploy_role_decrypts_only_with_dev_artifact_key_through_s3(
    promoted: dict[str, Synthesized], name: str
) -> None:
    # Given the deploying environment's deploy role
    statements = deploy_role_statements(promoted, name)
    # Then its only conditional decrypt is with dev's artifact key (by alias), through S3
    decrypts = [s for s in statements if s["Action"] == "kms:Decrypt" and "Condition" in s]
    assert [(s["Resource"], s["Condition"]) for s in decrypts] == [
        (f"arn:aws:kms:us-east-1:{DEV}:key/*", DEV_ARTIFACT_KEY_CONDITION)
    ]


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploying_monitoring_alarms_notify_the_operators(
    promoted: dict[str, Synthesized], name: str
) -> None:
    # Given a deploying environment (no reviewers' topic: it approves nothing)
    env = promoted[name]
    operators = next(iter(resources_of(env.json("operations"), "AWS::SNS::Topic")))
    exports = env.json("operations")["Outputs"].values()
    (export,) = [o["Export"]["Name"] for o in exports if o["Value"] == {"Ref": operators}]
    # Then every monitoring alarm (drift and dead letters alike) notifies the operators
    alarms = resources_of(env.json("monitoring"), "AWS::CloudWatch::Alarm").values()
    assert alarms
    assert [a["Properties"]["AlarmActions"] for a in alarms] == [[{"Fn::ImportValue": export}]] * len(alarms)


@pytest.mark.parametrize("name", DEPLOYING)
def test_deploying_group_has_no_resource_policy(promoted: dict[str, Synthesized], name: str) -> None:
    group = only_resource(promoted[name].json("pipeline"), "AWS::SageMaker::ModelPackageGroup")
    assert "ModelPackageGroupPolicy" not in group["Properties"]


# --- Compliance of the promotion templates -------------------------------------------------------
def test_promotion_synthesizes_without_unacknowledged_findings(promoted: dict[str, Synthesized]) -> None:
    outdir = next(iter(promoted.values())).outdir
    assert read_json(outdir / "validation-report.json")["pluginReports"] == []


def test_every_promotion_acknowledgment_gives_a_specific_reason(promoted: dict[str, Synthesized]) -> None:
    outdir = next(iter(promoted.values())).outdir
    for metadata in Path(outdir).glob("assembly-*/*.metadata.json"):
        for entries in read_json(metadata).values():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    assert all(len(reason) >= 60 for reason in entry["data"].values())


@pytest.mark.parametrize(
    ("name", "kind"),
    [("dev", "data"), ("dev", "pipeline"), ("dev", "approval"), ("dev", "monitoring")]
    + [(name, kind) for name in DEPLOYING for kind in ("pipeline", "approval", "monitoring")],
)
def test_promotion_template_passes_cfn_lint(promoted: dict[str, Synthesized], name: str, kind: str) -> None:
    env = promoted[name]
    assert cfn_lint(env.template_path(kind), env.config.region) == []
