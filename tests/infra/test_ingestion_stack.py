"""Ingestion stack: a file landed in S3 starts the ingestion pipeline, whose role grants exactly that.

Every ``env`` test runs once per environment on the synthesized templates. The role tests play
one landing through the synthesized definition: the rule's parameters are resolved against the
Object Created event the local run builds (``pipeline_def.local.landing``), every step's
arguments are resolved with the local executor's expressions, and the synthesized policy must
allow each S3 object, listing and Feature Store call that run makes, and nothing next to them.
The rule's event pattern is matched by EventBridge's TestEventPattern on a moto server. The last
tests build one environment with ``ingestion.enabled: false``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Template

from infra.application import new_app
from infra.stage import MlopsStage
from lambdas import constants as c
from pipeline_def.config import load_environments, read_context
from pipeline_def.config.ingestion import LANDED_SUFFIXES
from pipeline_def.definition.checks import iter_steps
from pipeline_def.definition.render import (
    fill,
    ingestion_package,
    package_digest,
    package_key_prefix,
    render_ingestion,
    variables_in,
)
from pipeline_def.definition.render_worker import Definitions
from pipeline_def.local.executor import resolve_parameters
from pipeline_def.local.expressions import Context, resolve
from pipeline_def.local.landing import object_created_event, resolve_path
from pipeline_def.names import INCOMING_FOLDER, PREFIX, REJECTED_FOLDER
from pipeline_def.schema import FEATURE_GROUPS
from tests.infra.synth_support import (
    Synthesized,
    allows,
    as_list,
    key_import,
    only_resource,
    resources_of,
    role_statements,
)

EXECUTION_ID = "k3v9x2m4q8z1"
LANDED_NAME = "claims-2026-12-01.csv"
GROUPS = tuple(group.name for group in FEATURE_GROUPS)


# --- Helpers -----------------------------------------------------------------------------------
def template(env: Synthesized) -> dict[str, Any]:
    return env.json("ingestion")


def pipeline_props(env: Synthesized) -> dict[str, Any]:
    return only_resource(template(env), "AWS::SageMaker::Pipeline")["Properties"]


def definition_sub(env: Synthesized) -> tuple[str, dict[str, Any]]:
    body, variables = pipeline_props(env)["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    return body, variables


def definition(env: Synthesized) -> dict[str, Any]:
    body, _ = definition_sub(env)
    values = {
        "ArtifactBucket": env.config.artifact_bucket_name,
        "PipelineRoleArn": "role",
        "KmsKeyArn": "key",
    }
    return json.loads(fill(body, values))


def role_id(env: Synthesized, prefix: str) -> str:
    (found,) = [k for k in resources_of(template(env), "AWS::IAM::Role") if k.startswith(prefix)]
    return found


def statements_of(env: Synthesized, prefix: str) -> list[dict[str, Any]]:
    return role_statements(template(env), role_id(env, prefix))


def rules(env: Synthesized) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in resources_of(template(env), "AWS::Events::Rule").items()}


def landing_rule(env: Synthesized, group: str) -> dict[str, Any]:
    return rules(env)[next(k for k in rules(env) if k.startswith(f"{group.capitalize()}LandedRule"))]


def rule_parameters(rule: dict[str, Any]) -> dict[str, str]:
    (target,) = rule["Targets"]
    return {p["Name"]: p["Value"] for p in target["SageMakerPipelineParameters"]["PipelineParameterList"]}


def landing_event(env: Synthesized, group: str, name: str = LANDED_NAME) -> dict[str, Any]:
    key = f"{INCOMING_FOLDER}/{group}/{name}"
    when = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    return object_created_event(env.config.data_bucket_name, key, 1024, when, env.config.region)


@dataclasses.dataclass
class Landing:
    """What one run for a landed file asks of S3 and Feature Store, by the synthesized definition."""

    get: set[str] = dataclasses.field(default_factory=set)
    put: set[str] = dataclasses.field(default_factory=set)
    listed: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    deleted: set[str] = dataclasses.field(default_factory=set)
    feature_groups: set[str] = dataclasses.field(default_factory=set)


def s3_arn(uri: str) -> str:
    return "arn:aws:s3:::" + uri.removeprefix("s3://")


def argument(arguments: list[str], flag: str) -> str:
    return arguments[arguments.index(flag) + 1]


def play_landing(env: Synthesized, group: str) -> Landing:
    """Resolve every processing step for a file landed for ``group``, as the run would."""
    document = definition(env)
    event = landing_event(env, group)
    overrides = {
        name: resolve_path(event, value) for name, value in rule_parameters(landing_rule(env, group)).items()
    }
    ctx = Context(
        parameters=resolve_parameters(document, overrides),
        execution={"PipelineExecutionId": EXECUTION_ID},
    )
    landing = Landing()
    for step in iter_steps(document):
        if step["Type"] != "Processing":
            continue
        request = resolve(step["Arguments"], ctx, step["Name"])
        ctx.properties[step["Name"]] = request
        for item in request.get("ProcessingInputs", []):
            uri = item["S3Input"]["S3Uri"]
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            landing.listed.add((bucket, key))
            landing.get.add(s3_arn(uri if not uri.endswith("/") else uri + "pipeline_def/schema.py"))
            if item["InputName"] == "parts":
                landing.get.add(s3_arn(f"{uri.rstrip('/')}/part-00001.csv"))
        for item in request.get("ProcessingOutputConfig", {}).get("Outputs", []):
            landing.put.add(s3_arn(f"{item['S3Output']['S3Uri'].rstrip('/')}/report.json"))
        arguments = request["AppSpecification"]["ContainerArguments"]
        if arguments[0] == "quarantine":
            source, rejected = argument(arguments, "--source-uri"), argument(arguments, "--rejected-prefix")
            landing.deleted.add(s3_arn(source))
            bucket, _, key = f"{rejected}/{LANDED_NAME}".removeprefix("s3://").partition("/")
            landing.listed.add((bucket, key))
        if arguments[0] == "put":
            landing.feature_groups.add(argument(arguments, "--feature-group-name"))
    return landing


def may_list(statements: list[dict[str, Any]], bucket: str, prefix: str) -> bool:
    """A ListBucket statement on the bucket whose ``s3:prefix`` condition admits ``prefix``."""
    for statement in statements:
        if (
            "s3:ListBucket" not in as_list(statement["Action"])
            or statement["Resource"] != f"arn:aws:s3:::{bucket}"
        ):
            continue
        patterns = as_list(statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix", []))
        if any(fnmatchcase(prefix, pattern) for pattern in patterns):
            return True
    return False


def client(moto_url: str, service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def delivered(moto_url: str, rule: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether EventBridge delivers ``event`` to a target of a rule with ``rule``'s pattern.

    (moto does not implement TestEventPattern; PutEvents through a rule to a queue is the real path.)
    """
    events, sqs = client(moto_url, "events"), client(moto_url, "sqs")
    name = f"landing-{uuid.uuid4().hex[:12]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=name, EventPattern=json.dumps(rule["EventPattern"]))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    answer = events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event["resources"],
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0
    return bool(sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages"))


# --- The pipeline and its package -------------------------------------------------------------
def test_pipeline_has_the_ingestion_pipeline_name(env: Synthesized) -> None:
    assert pipeline_props(env)["PipelineName"] == env.config.pipeline.ingestion_pipeline_name


def test_pipeline_body_is_the_rendered_ingestion_definition(env: Synthesized) -> None:
    body, _ = definition_sub(env)
    assert body == render_ingestion(env.config.pipeline, env.config.ingestion)


def test_pipeline_body_substitutes_exactly_the_variables_it_uses(env: Synthesized) -> None:
    body, variables = definition_sub(env)
    assert set(variables) == variables_in(body) == {"PipelineRoleArn", "ArtifactBucket", "KmsKeyArn"}
    assert variables["KmsKeyArn"] == key_import(env, f"alias/{env.config.prefix}")


def test_pipeline_runs_as_its_own_execution_role(env: Synthesized) -> None:
    role = {"Fn::GetAtt": [role_id(env, "ExecutionRole"), "Arn"]}
    _, variables = definition_sub(env)
    assert pipeline_props(env)["RoleArn"] == role
    assert variables["PipelineRoleArn"] == role


def test_package_goes_to_its_digest_prefix_encrypted_and_before_the_pipeline(env: Synthesized) -> None:
    deployment_id, deployment = next(iter(resources_of(template(env), "Custom::CDKBucketDeployment").items()))
    props = deployment["Properties"]
    assert props["DestinationBucketName"] == env.config.artifact_bucket_name
    assert props["DestinationBucketKeyPrefix"] == package_key_prefix(package_digest()) + "/"
    assert props["SystemMetadata"]["sse"] == "aws:kms"
    assert deployment_id in only_resource(template(env), "AWS::SageMaker::Pipeline")["DependsOn"]


def test_package_asset_holds_exactly_the_package_files(env: Synthesized) -> None:
    props = only_resource(template(env), "Custom::CDKBucketDeployment")["Properties"]
    (object_key,) = props["SourceObjectKeys"]
    asset_dir = Path(env.outdir) / f"asset.{object_key.removesuffix('.zip')}"
    shipped = {
        p.relative_to(asset_dir).as_posix(): p.read_bytes() for p in asset_dir.rglob("*") if p.is_file()
    }
    assert shipped == ingestion_package()


def test_definition_runs_the_job_from_the_deployed_package(env: Synthesized) -> None:
    prefix = f"s3://{env.config.artifact_bucket_name}/{package_key_prefix(package_digest())}/"
    uris = {
        item["S3Input"]["S3Uri"]
        for step in iter_steps(definition(env))
        for item in step.get("Arguments", {}).get("ProcessingInputs", [])
        if item["InputName"] in ("package", "code")
    }
    assert uris == {prefix, prefix + "pipeline_def/data/ingest/job.py"}


# --- One rule per group --------------------------------------------------------------------------
@pytest.mark.parametrize("group", GROUPS)
def test_landing_rule_starts_the_pipeline_with_the_events_bucket_key_time_and_its_group(
    env: Synthesized, group: str
) -> None:
    (target,) = landing_rule(env, group)["Targets"]
    assert target["Arn"] == {
        "Fn::Join": [
            "",
            [
                f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:pipeline/",
                {"Ref": next(iter(resources_of(template(env), "AWS::SageMaker::Pipeline")))},
            ],
        ]
    }
    assert rule_parameters(landing_rule(env, group)) == env.config.ingestion.rule_parameters(group)
    assert target["RoleArn"] == {"Fn::GetAtt": [role_id(env, "StartRole"), "Arn"]}


@pytest.mark.parametrize("group", GROUPS)
def test_landing_rule_supplies_every_parameter_the_definition_has_no_default_for(
    env: Synthesized, group: str
) -> None:
    document = definition(env)
    required = {p["Name"] for p in document["Parameters"] if "DefaultValue" not in p}
    declared = {p["Name"]: p for p in document["Parameters"]}
    supplied = rule_parameters(landing_rule(env, group))
    assert required <= set(supplied) <= set(declared)
    assert supplied["FeatureGroup"] in declared["FeatureGroup"]["EnumValues"]


@pytest.mark.parametrize("group", GROUPS)
def test_event_paths_resolve_to_the_landed_object(env: Synthesized, group: str) -> None:
    event = landing_event(env, group)
    resolved = {n: resolve_path(event, v) for n, v in rule_parameters(landing_rule(env, group)).items()}
    assert resolved == {
        "InputBucket": env.config.data_bucket_name,
        "InputKey": f"{INCOMING_FOLDER}/{group}/{LANDED_NAME}",
        "LandedAt": "2026-12-01T06:30:00Z",
        "FeatureGroup": group,
    }


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("suffix", LANDED_SUFFIXES)
def test_eventbridge_matches_a_file_landed_for_the_group(
    dev: Synthesized, moto_url: str, group: str, suffix: str
) -> None:
    event = landing_event(dev, group, f"batch-01{suffix}")
    assert delivered(moto_url, landing_rule(dev, group), event)


@pytest.mark.parametrize(
    "where",
    [
        "other group",
        "rejected copy",
        "report next to it",
        "other bucket",
        "not created",
    ],
)
def test_eventbridge_ignores_what_is_not_a_landing_of_the_group(
    dev: Synthesized, moto_url: str, where: str
) -> None:
    rule = landing_rule(dev, "claims")
    event = landing_event(dev, "claims")
    detail = event["detail"]
    if where == "other group":
        detail["object"]["key"] = f"{INCOMING_FOLDER}/customers/{LANDED_NAME}"
    elif where == "rejected copy":
        detail["object"]["key"] = f"{REJECTED_FOLDER}/claims/{EXECUTION_ID}/{LANDED_NAME}"
    elif where == "report next to it":
        detail["object"]["key"] = f"{INCOMING_FOLDER}/claims/{LANDED_NAME}.report.json"
    elif where == "other bucket":
        detail["bucket"]["name"] = dev.config.artifact_bucket_name
    else:
        event["detail-type"] = "Object Deleted"
    assert not delivered(moto_url, rule, event)


def test_start_role_only_starts_this_pipeline(env: Synthesized) -> None:
    statements = statements_of(env, "StartRole")
    (pipeline_id,) = resources_of(template(env), "AWS::SageMaker::Pipeline")
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        (
            "sagemaker:StartPipelineExecution",
            {
                "Fn::Join": [
                    "",
                    [
                        f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:pipeline/",
                        {"Ref": pipeline_id},
                    ],
                ]
            },
        )
    ]
    trust = resources_of(template(env), "AWS::IAM::Role")[role_id(env, "StartRole")]["Properties"]
    (principal,) = trust["AssumeRolePolicyDocument"]["Statement"]
    assert principal["Principal"] == {"Service": "events.amazonaws.com"}
    assert principal["Condition"] == {"StringEquals": {"aws:SourceAccount": env.config.account}}


def test_undeliverable_starts_and_alerts_go_to_the_alarmed_dead_letter_queue(env: Synthesized) -> None:
    (queue_id,) = resources_of(template(env), "AWS::SQS::Queue")
    queue_arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    for props in rules(env).values():
        (target,) = props["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": queue_arn}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 3
    (policy,) = resources_of(template(env), "AWS::SQS::QueuePolicy").values()
    senders = [
        s["Condition"]["ArnEquals"]["aws:SourceArn"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert sorted(json.dumps(s) for s in senders) == sorted(
        json.dumps({"Fn::GetAtt": [rule_id, "Arn"]}) for rule_id in rules(env)
    )
    (alarm,) = resources_of(template(env), "AWS::CloudWatch::Alarm").values()
    assert json.dumps({"Fn::GetAtt": [queue_id, "QueueName"]}) in json.dumps(
        alarm["Properties"]["Dimensions"]
    )
    (action,) = alarm["Properties"]["AlarmActions"]
    assert "OperatorsTopic" in action["Fn::ImportValue"]


# --- The execution role, played against one landing ------------------------------------------
@pytest.mark.parametrize("group", GROUPS)
def test_role_may_read_every_object_the_run_reads(env: Synthesized, group: str) -> None:
    statements = statements_of(env, "ExecutionRole")
    landing = play_landing(env, group)
    assert len(landing.get) >= 4  # the landed file, the package, the job, the parts
    assert [arn for arn in sorted(landing.get) if not allows(statements, "s3:GetObject", arn)] == []


@pytest.mark.parametrize("group", GROUPS)
def test_role_may_write_every_output_of_the_run(env: Synthesized, group: str) -> None:
    statements = statements_of(env, "ExecutionRole")
    landing = play_landing(env, group)
    assert len(landing.put) == 4  # report, parts, rejected, put summaries
    assert [arn for arn in sorted(landing.put) if not allows(statements, "s3:PutObject", arn)] == []


@pytest.mark.parametrize("group", GROUPS)
def test_role_may_list_what_sagemaker_and_the_quarantine_list(env: Synthesized, group: str) -> None:
    statements = statements_of(env, "ExecutionRole")
    landing = play_landing(env, group)
    assert [(b, p) for b, p in sorted(landing.listed) if not may_list(statements, b, p)] == []


@pytest.mark.parametrize("group", GROUPS)
def test_role_deletes_only_the_landed_file(env: Synthesized, group: str) -> None:
    statements = statements_of(env, "ExecutionRole")
    landing = play_landing(env, group)
    data, artifacts = env.config.data_bucket_name, env.config.artifact_bucket_name
    assert landing.deleted == {f"arn:aws:s3:::{data}/{INCOMING_FOLDER}/{group}/{LANDED_NAME}"}
    assert all(allows(statements, "s3:DeleteObject", arn) for arn in landing.deleted)
    for elsewhere in (
        f"{data}/{REJECTED_FOLDER}/{group}/x.csv",
        f"{data}/offline-store/x",
        f"{artifacts}/{PREFIX}/x",
    ):
        assert not allows(statements, "s3:DeleteObject", f"arn:aws:s3:::{elsewhere}")
    assert not any(a.startswith("s3:DeleteObjectVersion") for s in statements for a in as_list(s["Action"]))


def test_role_can_neither_overwrite_landed_files_nor_read_other_data(env: Synthesized) -> None:
    statements = statements_of(env, "ExecutionRole")
    data, artifacts = env.config.data_bucket_name, env.config.artifact_bucket_name
    assert not allows(statements, "s3:PutObject", f"arn:aws:s3:::{data}/{INCOMING_FOLDER}/claims/x.csv")
    for other in (f"{data}/offline-store/claims/x.parquet", f"{artifacts}/{PREFIX}/runs/x/train.csv"):
        assert not allows(statements, "s3:GetObject", f"arn:aws:s3:::{other}")


@pytest.mark.parametrize("group", GROUPS)
def test_role_puts_records_into_exactly_the_configured_feature_groups(env: Synthesized, group: str) -> None:
    statements = statements_of(env, "ExecutionRole")
    landing = play_landing(env, group)
    configured = env.config.pipeline.feature_group_names
    assert landing.feature_groups == {configured[group]}
    base = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:feature-group/"
    granted = {
        r for s in statements if "sagemaker:PutRecord" in as_list(s["Action"]) for r in as_list(s["Resource"])
    }
    assert granted == {base + name for name in configured.values()}


def test_role_runs_only_processing_jobs_and_nothing_of_training_or_the_registry(env: Synthesized) -> None:
    actions = {a for s in statements_of(env, "ExecutionRole") for a in as_list(s["Action"])}
    sagemaker = {a for a in actions if a.startswith("sagemaker:")}
    assert {"sagemaker:CreateProcessingJob", "sagemaker:PutRecord"} <= sagemaker
    forbidden = ("Training", "Tuning", "Transform", "Model", "Pipeline", "FeatureGroup")
    assert [a for a in sagemaker if any(word in a for word in forbidden) and a != "sagemaker:PutRecord"] == []
    assert not any(a.startswith(("athena:", "glue:", "dynamodb:", "sns:")) for a in actions)


def test_role_cannot_use_the_artifact_key(env: Synthesized) -> None:
    key = key_import(env, f"alias/{env.config.prefix}-artifacts")
    assert key not in [r for s in statements_of(env, "ExecutionRole") for r in as_list(s["Resource"])]


# --- Failed runs reach the operators ----------------------------------------------------------
def test_failed_or_stopped_runs_are_sent_to_the_operators_topic(env: Synthesized) -> None:
    rule = rules(env)[next(k for k in rules(env) if k.startswith("RunFailureAlertRule"))]
    assert rule["EventPattern"]["detail"]["currentPipelineExecutionStatus"] == list(c.PIPELINE_ALERT_STATUSES)
    (pipeline_id,) = resources_of(template(env), "AWS::SageMaker::Pipeline")
    assert json.dumps({"Ref": pipeline_id}) in json.dumps(rule["EventPattern"]["detail"]["pipelineArn"])
    (target,) = rule["Targets"]
    assert "OperatorsTopic" in target["Arn"]["Fn::ImportValue"]


def test_failure_message_uses_only_placeholders_it_defines(env: Synthesized) -> None:
    rule = rules(env)[next(k for k in rules(env) if k.startswith("RunFailureAlertRule"))]
    (target,) = rule["Targets"]
    transformer = target["InputTransformer"]
    placeholders = set(re.findall(r"<([^<>]+)>", transformer["InputTemplate"]))
    assert placeholders == set(transformer["InputPathsMap"])
    assert f"s3://{env.config.data_bucket_name}/{REJECTED_FOLDER}/" in transformer["InputTemplate"]


def test_alert_role_publishes_only_to_the_operators_topic_through_sns(env: Synthesized) -> None:
    statements = statements_of(env, "RunFailureAlertRole")
    (publish,) = [s for s in statements if "sns:Publish" in as_list(s["Action"])]
    assert "OperatorsTopic" in publish["Resource"]["Fn::ImportValue"]
    (kms,) = [s for s in statements if s is not publish]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"sns.{env.config.region}.amazonaws.com"}}


# --- The data stack opens the landing prefix ---------------------------------------------------
def data_bucket(env: Synthesized) -> dict[str, Any]:
    buckets = resources_of(env.json("data"), "AWS::S3::Bucket").values()
    return next(
        b["Properties"] for b in buckets if b["Properties"].get("BucketName") == env.config.data_bucket_name
    )


def lifecycle_rule(props: dict[str, Any], rule_id: str) -> dict[str, Any] | None:
    return next((r for r in props["LifecycleConfiguration"]["Rules"] if r["Id"] == rule_id), None)


def test_data_bucket_sends_its_events_to_eventbridge(env: Synthesized) -> None:
    assert data_bucket(env)["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert resources_of(env.json("data"), "Custom::S3BucketNotifications") == {}


def test_landed_files_and_run_files_expire_after_the_configured_days(env: Synthesized) -> None:
    days = env.config.ingestion.incoming_retention_days
    landed = lifecycle_rule(data_bucket(env), "ExpireLandedFiles")
    assert landed is not None
    assert (landed["Prefix"], landed["ExpirationInDays"], landed["Status"]) == (
        f"{INCOMING_FOLDER}/",
        days,
        "Enabled",
    )
    artifacts = next(
        b["Properties"]
        for b in resources_of(env.json("data"), "AWS::S3::Bucket").values()
        if b["Properties"].get("BucketName") == env.config.artifact_bucket_name
    )
    runs = lifecycle_rule(artifacts, "ExpireIngestionRuns")
    assert runs is not None
    assert (runs["Prefix"], runs["ExpirationInDays"]) == (f"{PREFIX}/ingestion/", days)
    assert lifecycle_rule(data_bucket(env), "ExpireRejected") is None  # rejected files wait for people


# --- Switched off ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def disabled() -> MlopsStage:
    context = read_context()
    (config,) = [c for c in load_environments(context) if c.name == "dev"]
    config = dataclasses.replace(config, ingestion=dataclasses.replace(config.ingestion, enabled=False))
    stage = MlopsStage(new_app(context), "dev", config=config)
    stage.add_workloads(Definitions())
    return stage


def test_disabled_ingestion_deploys_no_stack(disabled: MlopsStage) -> None:
    assert disabled.ingestion is None
    assert [s.stack_name for s in disabled.stacks if s.stack_name.endswith("-ingestion")] == []


def test_disabled_ingestion_leaves_the_data_bucket_quiet(disabled: MlopsStage) -> None:
    data = Template.from_stack(disabled.data).to_json()
    bucket = next(
        b["Properties"]
        for b in resources_of(data, "AWS::S3::Bucket").values()
        if b["Properties"].get("BucketName") == disabled.config.data_bucket_name
    )
    assert "NotificationConfiguration" not in bucket
    assert lifecycle_rule(bucket, "ExpireLandedFiles") is None
