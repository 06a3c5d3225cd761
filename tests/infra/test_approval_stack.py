"""Approval stack: registry events reach the right Lambda, once, with everything they need."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk.aws_lambda as lambda_
import pytest

from infra.constructs.registry_lambda import POWERTOOLS_LAYER_PARAMETER, POWERTOOLS_VERSION
from lambdas import constants as c
from tests.infra.synth_support import (
    Synthesized,
    allows,
    as_list,
    grants_of,
    key_import,
    only_resource,
    policy_statements,
    resources_of,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {"Approval": c.APPROVAL_HANDLER, "Deploy": c.DEPLOY_HANDLER}


def function(env: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in resources_of(env.json("approval"), "AWS::Lambda::Function").items()
        if v["Properties"]["Handler"] == FUNCTIONS[name]
    ]
    return found


def rule_for(env: Synthesized, name: str) -> dict[str, Any]:
    """The rule whose target is the function ``name`` (Approval or Deploy)."""
    function_id, _ = function(env, name)
    (found,) = [
        r["Properties"]
        for r in resources_of(env.json("approval"), "AWS::Events::Rule").values()
        if {"Fn::GetAtt": [function_id, "Arn"]} in [t["Arn"] for t in r["Properties"]["Targets"]]
    ]
    return found


def role_statements(env: Synthesized, name: str) -> list[dict[str, Any]]:
    _, props = function(env, name)
    role = props["Role"]["Fn::GetAtt"][0]
    template = env.json("approval")
    attached = {
        k
        for k, v in resources_of(template, "AWS::IAM::Policy").items()
        if {"Ref": role} in v["Properties"]["Roles"]
    }
    return [
        s for logical_id, s in policy_statements(template) if logical_id in attached or logical_id == role
    ]


def event(group: str, status: str) -> dict[str, Any]:
    return {
        "source": c.EVENT_SOURCE,
        "detail-type": c.EVENT_DETAIL_TYPE,
        "detail": {"ModelPackageGroupName": group, "ModelApprovalStatus": status},
    }


def matches(pattern: dict[str, Any], evt: dict[str, Any]) -> bool:
    """EventBridge matching for the exact-value patterns used here."""
    for key, expected in pattern.items():
        if isinstance(expected, dict):
            if not isinstance(evt.get(key), dict) or not matches(expected, evt[key]):
                return False
        elif evt.get(key) not in expected:
            return False
    return True


@pytest.mark.parametrize(
    ("target", "statuses"),
    [
        ("Approval", [c.STATUS_PENDING, c.STATUS_APPROVED, c.STATUS_REJECTED]),
        ("Deploy", [c.STATUS_APPROVED]),
    ],
)
def test_rule_sends_this_groups_statuses_to_its_function(
    env: Synthesized, target: str, statuses: list[str]
) -> None:
    rule = rule_for(env, target)
    function_id, _ = function(env, target)
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": [env.config.pipeline.model_package_group_name],
            "ModelApprovalStatus": statuses,
        },
    }
    assert [t["Arn"] for t in rule["Targets"]] == [{"Fn::GetAtt": [function_id, "Arn"]}]


def test_approval_rule_delivers_exactly_the_functions_trigger_statuses(env: Synthesized) -> None:
    # The approval function records a later decision (a reviewer's Approved or Rejected) on the
    # package's model card, so its rule delivers every status it handles, and no other.
    statuses = rule_for(env, "Approval")["EventPattern"]["detail"]["ModelApprovalStatus"]
    assert statuses == list(c.APPROVAL_TRIGGER_STATUSES)


@pytest.mark.parametrize("status", [c.STATUS_APPROVED, c.STATUS_REJECTED])
def test_a_later_decision_reaches_the_approval_function(env: Synthesized, status: str) -> None:
    pattern = rule_for(env, "Approval")["EventPattern"]
    assert matches(pattern, event(env.config.pipeline.model_package_group_name, status))


def test_other_groups_events_reach_no_function(env: Synthesized) -> None:
    for rule in resources_of(env.json("approval"), "AWS::Events::Rule").values():
        for status in (c.STATUS_PENDING, c.STATUS_APPROVED, c.STATUS_REJECTED):
            assert not matches(rule["Properties"]["EventPattern"], event("someone-elses-group", status))


@pytest.mark.parametrize("status", [c.STATUS_PENDING, c.STATUS_REJECTED])
def test_only_approved_packages_reach_the_deploy_function(env: Synthesized, status: str) -> None:
    pattern = rule_for(env, "Deploy")["EventPattern"]
    assert not matches(pattern, event(env.config.pipeline.model_package_group_name, status))


def test_rule_targets_retry_then_dead_letter(env: Synthesized) -> None:
    queue = next(k for k, v in resources_of(env.json("approval"), "AWS::SQS::Queue").items())
    for name in FUNCTIONS:
        (target,) = rule_for(env, name)["Targets"]
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_runs_the_newest_python_with_tracing(env: Synthesized, name: str) -> None:
    newest = max(
        (getattr(lambda_.Runtime, n).name for n in dir(lambda_.Runtime) if n.startswith("PYTHON_3_")),
        key=lambda runtime: int(runtime.split(".")[1]),
    )
    _, props = function(env, name)
    assert (props["Runtime"], props["TracingConfig"]) == (newest, {"Mode": "Active"})


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_uses_the_pinned_powertools_layer(env: Synthesized, name: str) -> None:
    _, props = function(env, name)
    (layer,) = props["Layers"]
    parameter = env.json("approval")["Parameters"][layer["Ref"]]
    assert parameter == {"Type": "AWS::SSM::Parameter::Value<String>", "Default": POWERTOOLS_LAYER_PARAMETER}


def test_powertools_layer_version_is_the_one_in_requirements() -> None:
    pins = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^aws-lambda-powertools==(\S+)$", pins, re.MULTILINE)[1] == POWERTOOLS_VERSION


def test_approval_function_gets_the_gates_of_the_environment(env: Synthesized) -> None:
    _, props = function(env, "Approval")
    variables = props["Environment"]["Variables"]
    config = env.config
    assert {
        k: variables[k]
        for k in (
            c.ENV_MODEL_PACKAGE_GROUP_NAME,
            c.ENV_AUTO_APPROVE,
            c.ENV_MIN_AUC,
            c.ENV_MIN_RECALL,
            c.ENV_DI_MIN,
            c.ENV_DI_MAX,
            c.ENV_MAX_ABS_DPPL,
        )
    } == {
        c.ENV_MODEL_PACKAGE_GROUP_NAME: config.pipeline.model_package_group_name,
        c.ENV_AUTO_APPROVE: str(config.approval.auto_approve).lower(),
        c.ENV_MIN_AUC: str(config.pipeline.min_auc),
        c.ENV_MIN_RECALL: str(config.pipeline.min_recall),
        c.ENV_DI_MIN: str(config.approval.di_min),
        c.ENV_DI_MAX: str(config.approval.di_max),
        c.ENV_MAX_ABS_DPPL: str(config.approval.max_abs_dppl),
    }


@pytest.mark.parametrize(
    ("name", "required"), [("Approval", c.APPROVAL_REQUIRED_ENV), ("Deploy", c.DEPLOY_REQUIRED_ENV)]
)
def test_function_gets_every_required_variable(
    env: Synthesized, name: str, required: tuple[str, ...]
) -> None:
    _, props = function(env, name)
    assert set(required) <= set(props["Environment"]["Variables"])


def test_deploy_function_gets_the_endpoint_of_the_environment(env: Synthesized) -> None:
    _, props = function(env, "Deploy")
    variables = props["Environment"]["Variables"]
    endpoint = env.config.endpoint
    assert (
        variables[c.ENV_ENDPOINT_NAME],
        variables[c.ENV_ENDPOINT_INSTANCE_TYPE],
        variables[c.ENV_ENDPOINT_INSTANCE_COUNT],
        variables[c.ENV_DATA_CAPTURE_SAMPLING_PERCENTAGE],
        variables[c.ENV_DATA_CAPTURE_S3_URI],
    ) == (
        env.config.pipeline.endpoint_name,
        endpoint.instance_type,
        str(endpoint.instance_count),
        str(endpoint.data_capture_sampling_percentage),
        f"s3://{env.config.artifact_bucket_name}/fraud-detection/data-capture",
    )


def test_deploy_function_publishes_the_baseline_where_the_monitoring_job_reads_it(env: Synthesized) -> None:
    # Given the monitoring job's baseline input (the monitoring stack's definition)
    body, _ = only_resource(env.json("monitoring"), "AWS::SageMaker::Pipeline")["Properties"][
        "PipelineDefinition"
    ]["PipelineDefinitionBody"]["Fn::Sub"]
    folder = f"s3://{env.config.artifact_bucket_name}/fraud-detection/monitoring/baseline/"
    assert "s3://${ArtifactBucket}/fraud-detection/monitoring/baseline/" in body
    # Then the deploy function copies the package's baseline.json into that folder
    assert deploy_variables(env)[c.ENV_MONITORING_BASELINE_URI] == f"{folder}{c.MONITORING_BASELINE_FILE}"


def deploy_variables(env: Synthesized) -> dict[str, Any]:
    _, props = function(env, "Deploy")
    return props["Environment"]["Variables"]


def endpoint_alarms(env: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"]
        for k, v in resources_of(env.json("approval"), "AWS::CloudWatch::Alarm").items()
        if v["Properties"].get("Namespace") == "AWS/SageMaker"
    }


def test_deploy_function_gets_the_traffic_routing_of_the_environment(env: Synthesized) -> None:
    deployment = env.config.endpoint.deployment
    variables = deploy_variables(env)
    assert (
        variables[c.ENV_TRAFFIC_ROUTING],
        variables[c.ENV_CANARY_SIZE_PERCENT],
        variables[c.ENV_TRAFFIC_WAIT_SECONDS],
    ) == (deployment.traffic_routing, str(deployment.canary_size_percent), str(deployment.wait_seconds))


def test_prod_shifts_a_canary_first_and_dev_all_at_once(synthesized: dict[str, Synthesized]) -> None:
    routing = {name: deploy_variables(s)[c.ENV_TRAFFIC_ROUTING] for name, s in synthesized.items()}
    assert (routing["dev"], routing["prod"]) == ("ALL_AT_ONCE", "CANARY")


def test_deploy_function_gets_the_environments_tags_as_cost_tags(env: Synthesized) -> None:
    assert json.loads(deploy_variables(env)[c.ENV_COST_TAGS]) == env.config.all_tags


def test_endpoint_alarms_exist_only_where_rollback_alarms_are_configured(
    synthesized: dict[str, Synthesized],
) -> None:
    counts = {name: len(endpoint_alarms(s)) for name, s in synthesized.items()}
    wanted = {
        name: 2 if s.config.endpoint.deployment.rollback_alarms else 0 for name, s in synthesized.items()
    }
    assert counts == wanted
    assert (counts["dev"], counts["prod"]) == (0, 2)


def test_deploy_function_rolls_back_on_exactly_the_endpoint_alarms(prod: Synthesized) -> None:
    # Given prod's endpoint alarms in template order (errors, then latency)
    errors, latency = ({"Ref": logical_id} for logical_id in endpoint_alarms(prod))

    # Then ROLLBACK_ALARM_NAMES is their comma-separated names (Ref of an alarm is its name)
    assert deploy_variables(prod)[c.ENV_ROLLBACK_ALARM_NAMES] == {"Fn::Join": ["", [errors, ",", latency]]}


def test_deploy_function_without_rollback_alarms_gets_an_empty_list(dev: Synthesized) -> None:
    assert deploy_variables(dev)[c.ENV_ROLLBACK_ALARM_NAMES] == ""


@pytest.mark.parametrize(
    ("metric", "statistic", "threshold"),
    [
        ("Invocation5XXErrors", ("Statistic", "Average"), 0.01),
        ("ModelLatency", ("ExtendedStatistic", "p99"), None),
    ],
)
def test_endpoint_alarms_watch_the_variant_of_the_environments_endpoint(
    prod: Synthesized, metric: str, statistic: tuple[str, str], threshold: float | None
) -> None:
    (alarm,) = [a for a in endpoint_alarms(prod).values() if a["MetricName"] == metric]
    latency_us = prod.config.endpoint.deployment.max_model_latency_ms * 1000
    assert {
        "Dimensions": alarm["Dimensions"],
        statistic[0]: alarm[statistic[0]],
        "Threshold": alarm["Threshold"],
        "ComparisonOperator": alarm["ComparisonOperator"],
        "TreatMissingData": alarm["TreatMissingData"],
    } == {
        "Dimensions": [
            {"Name": "EndpointName", "Value": prod.config.pipeline.endpoint_name},
            {"Name": "VariantName", "Value": c.PRODUCTION_VARIANT_NAME},
        ],
        statistic[0]: statistic[1],
        "Threshold": latency_us if threshold is None else threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }


def describe_alarm_resources(statements: list[dict[str, Any]]) -> list[Any]:
    return [
        r
        for s in statements
        if "cloudwatch:DescribeAlarms" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    ]


def test_deploy_role_may_describe_exactly_the_rollback_alarms(env: Synthesized) -> None:
    # SageMaker checks cloudwatch:DescribeAlarms on the alarms of an UpdateEndpoint's rollback config.
    arns = [{"Fn::GetAtt": [logical_id, "Arn"]} for logical_id in sorted(endpoint_alarms(env))]
    assert sorted(describe_alarm_resources(role_statements(env, "Deploy")), key=json.dumps) == arns


def test_model_execution_role_may_describe_exactly_the_rollback_alarms(prod: Synthesized) -> None:
    template = prod.json("approval")
    (policy,) = [
        v["Properties"]
        for v in resources_of(template, "AWS::IAM::Policy").values()
        if "Fn::ImportValue" in v["Properties"]["Roles"][0]
    ]
    assert "ModelExecutionRole" in policy["Roles"][0]["Fn::ImportValue"]
    assert sorted(describe_alarm_resources(policy["PolicyDocument"]["Statement"]), key=json.dumps) == [
        {"Fn::GetAtt": [logical_id, "Arn"]} for logical_id in sorted(endpoint_alarms(prod))
    ]


@pytest.mark.parametrize("kind", ["operations", "pipeline", "approval", "monitoring"])
def test_every_dead_letter_queue_alarms_on_a_visible_message(env: Synthesized, kind: str) -> None:
    template = env.json(kind)
    queues = set(resources_of(template, "AWS::SQS::Queue"))
    alarmed = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
        and alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["Properties"]["Threshold"] == 0
    }
    assert queues
    assert alarmed == queues


@pytest.mark.parametrize("name", FUNCTIONS)
def test_failed_async_invocations_go_to_the_encrypted_queue(env: Synthesized, name: str) -> None:
    function_id, _ = function(env, name)
    template = env.json("approval")
    queue = next(iter(resources_of(template, "AWS::SQS::Queue")))
    (config,) = [
        v["Properties"]
        for v in resources_of(template, "AWS::Lambda::EventInvokeConfig").values()
        if v["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}}
    assert config["MaximumRetryAttempts"] == 2
    assert "KmsMasterKeyId" in template["Resources"][queue]["Properties"]


def test_log_groups_keep_the_configured_retention(env: Synthesized) -> None:
    groups = resources_of(env.json("approval"), "AWS::Logs::LogGroup").values()
    assert {g["Properties"]["RetentionInDays"] for g in groups} == {env.config.log_retention_days}


def test_idempotency_table_matches_the_lambda_contract(env: Synthesized) -> None:
    props = only_resource(env.json("approval"), "AWS::DynamoDB::Table")["Properties"]
    assert props["KeySchema"] == [{"AttributeName": c.IDEMPOTENCY_PARTITION_KEY, "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [
        {"AttributeName": c.IDEMPOTENCY_PARTITION_KEY, "AttributeType": "S"}
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": c.IDEMPOTENCY_TTL_ATTRIBUTE, "Enabled": True}


def test_idempotency_table_is_kms_encrypted_with_point_in_time_recovery(env: Synthesized) -> None:
    props = only_resource(env.json("approval"), "AWS::DynamoDB::Table")["Properties"]
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_topic_is_kms_encrypted(env: Synthesized) -> None:
    assert "KmsMasterKeyId" in only_resource(env.json("approval"), "AWS::SNS::Topic")["Properties"]


def test_topic_lets_only_this_accounts_alarms_publish(env: Synthesized) -> None:
    # Given the reviewers' topic policy (the monitoring alarms notify the reviewers)
    policy = only_resource(env.json("approval"), "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    (statement,) = [
        s for s in policy["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    # Then CloudWatch may publish, for alarms of this account only
    config = env.config
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sns:Publish")
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": config.account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{config.region}:{config.account}:alarm:*"},
    }


def test_approval_role_may_update_and_read_only_its_groups_packages_and_their_cards(env: Synthesized) -> None:
    group = env.config.pipeline.model_package_group_name
    packages = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:model-package/{group}/*"
    cards = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:model-card/{group}-v*"
    assert grants_of(role_statements(env, "Approval"), "sagemaker:") == {
        ("sagemaker:DescribeModelPackage", packages),
        ("sagemaker:UpdateModelPackage", packages),
        ("sagemaker:CreateModelCard", cards),
        ("sagemaker:DescribeModelCard", cards),
        ("sagemaker:UpdateModelCard", cards),
    }


def test_approval_function_encrypts_model_cards_with_the_project_key(env: Synthesized) -> None:
    _, props = function(env, "Approval")
    assert props["Environment"]["Variables"][c.ENV_MODEL_CARD_KMS_KEY_ARN] == props["KmsKeyArn"]


def s3_statements(env: Synthesized, name: str) -> list[dict[str, Any]]:
    return [s for s in role_statements(env, name) if any(a.startswith("s3:") for a in as_list(s["Action"]))]


def test_approval_role_reads_only_pipeline_run_evidence(env: Synthesized) -> None:
    reads = [s for s in s3_statements(env, "Approval") if s["Action"] != "s3:ListBucket"]
    assert [(s["Action"], s["Resource"]) for s in reads] == [
        ("s3:GetObject", f"arn:aws:s3:::{env.config.artifact_bucket_name}/fraud-detection/runs/*")
    ]


def test_approval_role_lists_only_the_run_prefix_so_missing_evidence_is_no_such_key(env: Synthesized) -> None:
    # Without ListBucket S3 answers a missing key with AccessDenied, which the function retries.
    listing = [s for s in s3_statements(env, "Approval") if s["Action"] == "s3:ListBucket"]
    assert listing == [
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": "fraud-detection/runs/*"}},
            "Effect": "Allow",
            "Resource": f"arn:aws:s3:::{env.config.artifact_bucket_name}",
        }
    ]


def test_deploy_role_creates_resources_only_under_the_environment_prefix(env: Synthesized) -> None:
    base = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:"
    creates = [
        s for s in role_statements(env, "Deploy") if "sagemaker:CreateEndpoint" in as_list(s["Action"])
    ]
    assert creates
    for statement in creates:
        assert set(as_list(statement["Resource"])) == {
            f"{base}{kind}/{env.config.prefix}-*" for kind in ("model", "endpoint-config", "endpoint")
        }


def test_deploy_role_passes_only_the_model_execution_role(env: Synthesized) -> None:
    passes = [s for s in role_statements(env, "Deploy") if "iam:PassRole" in as_list(s["Action"])]
    assert len(passes) == 1
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert "Fn::ImportValue" in passes[0]["Resource"]


def test_deploy_role_reads_only_the_runs_drift_baselines(env: Synthesized) -> None:
    # Given an object of a run's drift-baseline folder, and one of its split data
    statements = role_statements(env, "Deploy")
    runs = f"arn:aws:s3:::{env.config.artifact_bucket_name}/fraud-detection/runs/k3v9x2m4q8z1"
    # Then the function may read the baseline it copies, and nothing else of the run
    assert allows(statements, "s3:GetObject", f"{runs}/drift-baseline/baseline.json")
    assert not allows(statements, "s3:GetObject", f"{runs}/dataset/train/train.csv")


def test_deploy_role_writes_only_the_monitoring_baseline_folder(env: Synthesized) -> None:
    writes = [
        (s["Action"], s["Resource"])
        for s in s3_statements(env, "Deploy")
        if "s3:PutObject" in as_list(s["Action"])
    ]
    assert writes == [
        (
            "s3:PutObject",
            f"arn:aws:s3:::{env.config.artifact_bucket_name}/fraud-detection/monitoring/baseline/*",
        )
    ]


def test_deploy_role_decrypts_with_the_artifact_key_only_through_s3(env: Synthesized) -> None:
    # Given the deploy role's statements on the data stack's artifact key
    key = key_import(env, f"alias/{env.config.prefix}-artifacts")
    found = [s for s in role_statements(env, "Deploy") if key in as_list(s["Resource"])]
    # Then it only decrypts (the drift baseline it copies), through S3
    assert [(s["Action"], s["Condition"]) for s in found] == [
        ("kms:Decrypt", {"StringEquals": {"kms:ViaService": f"s3.{env.config.region}.amazonaws.com"}})
    ]


def test_lambda_asset_holds_no_caches_or_tests(env: Synthesized) -> None:
    _, props = function(env, "Approval")
    asset_dir = Path(env.outdir) / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}"
    names = {p.name for p in asset_dir.rglob("*")}
    assert {"constants.py", "approval", "deploy", "shared"} <= names
    assert not {n for n in names if n in {"__pycache__", ".pytest_cache", "tests"} or n.endswith(".pyc")}
