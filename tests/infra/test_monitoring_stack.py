"""Monitoring stack: the monitoring pipeline, its role, schedule and seeds, the alarms and retraining.

Every ``env`` test runs once per environment on the synthesized templates; the last ones build
the monitoring stack alone (``Template.from_stack``) for an environment that does not retrain.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_dynamodb as dynamodb
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sns as sns
import pytest
from aws_cdk.assertions import Match, Template

from infra.application import new_app
from infra.constructs.seed_objects import SEED_OBJECT_NAME, SEED_TEXT
from infra.stacks.monitoring_stack import MonitoringStack
from lambdas import constants as c
from pipeline_def.config import MonitoringSettings, Reader
from pipeline_def.definition.checks import iter_steps
from pipeline_def.definition.render import fill, render_monitoring, variables_in
from pipeline_def.definition.render_worker import Definitions
from tests.infra.synth_support import (
    Synthesized,
    allows,
    as_list,
    grants_of,
    key_import,
    only_resource,
    resources_allowing,
    resources_of,
    role_statements,
)


# --- Helpers -----------------------------------------------------------------------------------
def template(env: Synthesized) -> dict[str, Any]:
    return env.json("monitoring")


def pipeline_props(env: Synthesized) -> dict[str, Any]:
    return only_resource(template(env), "AWS::SageMaker::Pipeline")["Properties"]


def definition_sub(env: Synthesized) -> tuple[str, dict[str, Any]]:
    body, variables = pipeline_props(env)["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    return body, variables


def role_id(env: Synthesized, prefix: str) -> str:
    (found,) = [k for k in resources_of(template(env), "AWS::IAM::Role") if k.startswith(prefix)]
    return found


def statements_of(env: Synthesized, prefix: str) -> list[dict[str, Any]]:
    return role_statements(template(env), role_id(env, prefix))


def exported(env: Synthesized, kind: str, value: Any) -> dict[str, str]:
    """How the monitoring stack refers to ``value`` (a Ref or GetAtt) of another stack: its import."""
    (name,) = [o["Export"]["Name"] for o in env.json(kind)["Outputs"].values() if o["Value"] == value]
    return {"Fn::ImportValue": name}


def reviewers_topic(env: Synthesized) -> dict[str, str]:
    (topic_id,) = resources_of(env.json("approval"), "AWS::SNS::Topic")
    return exported(env, "approval", {"Ref": topic_id})


def drift_alarms(env: Synthesized) -> dict[str, dict[str, Any]]:
    """Alarm name -> properties of the alarms on the monitoring figures (not the dead-letter ones)."""
    namespace = env.config.monitoring.metrics_namespace(env.config.name)
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources_of(template(env), "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == namespace
    }


def retrain_function(env: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in resources_of(template(env), "AWS::Lambda::Function").items()
        if v["Properties"]["Handler"] == c.RETRAIN_HANDLER
    ]
    return found


def retrain_variables(env: Synthesized) -> dict[str, Any]:
    _, props = retrain_function(env)
    return props["Environment"]["Variables"]


def schedule(env: Synthesized) -> dict[str, Any]:
    return only_resource(template(env), "AWS::Scheduler::Schedule")["Properties"]


def pipeline_arn(env: Synthesized, name: str) -> str:
    return f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:pipeline/{name}"


def s3_grants(env: Synthesized, action: str) -> set[str]:
    return resources_allowing(statements_of(env, "ExecutionRole"), action)


# --- The monitoring pipeline -------------------------------------------------------------------
def test_pipeline_has_the_monitoring_pipeline_name(env: Synthesized) -> None:
    assert pipeline_props(env)["PipelineName"] == env.config.pipeline.monitoring_pipeline_name


def test_pipeline_body_is_the_rendered_monitoring_definition(env: Synthesized) -> None:
    body, _ = definition_sub(env)
    assert body == render_monitoring(env.config.pipeline, env.config.monitoring)


def test_pipeline_body_substitutes_exactly_the_variables_it_uses(env: Synthesized) -> None:
    # cfn-lint warns on unused Fn::Sub variables: the monitoring job names no artifact key
    body, variables = definition_sub(env)
    assert set(variables) == variables_in(body) == {"PipelineRoleArn", "ArtifactBucket", "KmsKeyArn"}


def test_pipeline_body_gets_the_bucket_and_the_project_key(env: Synthesized) -> None:
    _, variables = definition_sub(env)
    assert (variables["ArtifactBucket"], variables["KmsKeyArn"]) == (
        env.config.artifact_bucket_name,
        key_import(env, f"alias/{env.config.prefix}"),
    )


def test_pipeline_and_its_job_run_as_the_monitoring_role(env: Synthesized) -> None:
    # Given the monitoring stack's own execution role (not the training pipeline's)
    role = {"Fn::GetAtt": [role_id(env, "ExecutionRole"), "Arn"]}
    _, variables = definition_sub(env)
    # Then the pipeline runs as it and passes it to its job
    assert (pipeline_props(env)["RoleArn"], variables["PipelineRoleArn"]) == (role, role)


def test_pipeline_waits_for_the_seed_objects(env: Synthesized) -> None:
    pipeline = only_resource(template(env), "AWS::SageMaker::Pipeline")
    (deployment,) = resources_of(template(env), "Custom::CDKBucketDeployment")
    assert deployment in pipeline["DependsOn"]


# --- The schedule --------------------------------------------------------------------------------
def test_schedule_state_follows_monitoring_enabled(synthesized: dict[str, Synthesized]) -> None:
    states = {name: schedule(s)["State"] for name, s in synthesized.items()}
    assert states == {
        name: "ENABLED" if s.config.monitoring.enabled else "DISABLED" for name, s in synthesized.items()
    }
    assert states == {"dev": "DISABLED", "staging": "ENABLED", "prod": "ENABLED"}


def test_schedule_uses_the_monitoring_expression_and_time_zone(env: Synthesized) -> None:
    props = schedule(env)
    assert (props["ScheduleExpression"], props["ScheduleExpressionTimezone"]) == (
        env.config.monitoring.expression,
        env.config.monitoring.time_zone,
    )


def test_schedule_starts_the_monitoring_pipeline_with_its_defaults(env: Synthesized) -> None:
    pipeline_id = next(iter(resources_of(template(env), "AWS::SageMaker::Pipeline")))
    target = schedule(env)["Target"]
    base = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:pipeline/"
    assert target["Arn"] == {"Fn::Join": ["", [base, {"Ref": pipeline_id}]]}
    assert "SageMakerPipelineParameters" not in target


def test_schedule_role_may_only_start_the_monitoring_pipeline(env: Synthesized) -> None:
    sagemaker = [s for s in statements_of(env, "ScheduleRole") if "sagemaker" in json.dumps(s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in sagemaker] == [
        ("sagemaker:StartPipelineExecution", schedule(env)["Target"]["Arn"])
    ]


# --- The monitoring role -------------------------------------------------------------------------
def test_monitoring_role_has_no_athena_glue_or_feature_store_action(env: Synthesized) -> None:
    actions = {a.lower() for s in statements_of(env, "ExecutionRole") for a in as_list(s["Action"])}
    assert {a for a in actions if a.startswith(("athena:", "glue:", "sagemaker-featurestore"))} == set()
    assert {a for a in actions if "featuregroup" in a or "record" in a} == set()


def test_monitoring_role_touches_neither_the_data_bucket_nor_the_offline_store(env: Synthesized) -> None:
    text = json.dumps(statements_of(env, "ExecutionRole"))
    assert env.config.data_bucket_name not in text
    assert "feature-store" not in text


def test_monitoring_role_reads_only_the_three_inputs_and_the_job_scripts(env: Synthesized) -> None:
    root = f"arn:aws:s3:::{env.config.artifact_bucket_name}/fraud-detection"
    assert s3_grants(env, "s3:GetObject") == {
        f"{root}/monitoring/baseline/*",
        f"{root}/data-capture/{env.config.pipeline.endpoint_name}/*",
        f"{root}/ground-truth/*",
        f"{root}/code/*",
    }


def test_monitoring_role_writes_only_its_reports(env: Synthesized) -> None:
    root = f"arn:aws:s3:::{env.config.artifact_bucket_name}/fraud-detection"
    assert s3_grants(env, "s3:PutObject") == {f"{root}/monitoring/reports/*"}


def test_monitoring_role_runs_only_monitoring_jobs(env: Synthesized) -> None:
    base = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:processing-job/"
    assert s3_grants(env, "sagemaker:CreateProcessingJob") == {
        f"{base}pipelines-*",
        f"{base}{env.config.prefix}-monitor-*",
    }


def test_monitoring_role_cannot_start_other_jobs_or_pipelines(env: Synthesized) -> None:
    statements = statements_of(env, "ExecutionRole")
    base = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:"
    assert not allows(statements, "sagemaker:CreateTrainingJob", f"{base}training-job/pipelines-x")
    assert not allows(statements, "sagemaker:CreateModel", f"{base}model/pipelines-x")
    assert not allows(
        statements, "sagemaker:StartPipelineExecution", pipeline_arn(env, env.config.pipeline.pipeline_name)
    )


def test_monitoring_role_uses_the_project_key_only_through_s3_and_for_job_volumes(env: Synthesized) -> None:
    key = key_import(env, f"alias/{env.config.prefix}")
    on_key = [s for s in statements_of(env, "ExecutionRole") if key in as_list(s["Resource"])]
    assert [(s["Action"], s["Condition"]) for s in on_key] == [
        (
            ["kms:Decrypt", "kms:GenerateDataKey"],
            {"StringEquals": {"kms:ViaService": f"s3.{env.config.region}.amazonaws.com"}},
        ),
        ("kms:CreateGrant", {"Bool": {"kms:GrantIsForAWSResource": "true"}}),
    ]


def test_monitoring_role_cannot_use_the_artifact_key(env: Synthesized) -> None:
    key = key_import(env, f"alias/{env.config.prefix}-artifacts")
    assert key not in [r for s in statements_of(env, "ExecutionRole") for r in as_list(s["Resource"])]


def test_monitoring_role_publishes_metrics_only_to_the_environments_namespace(env: Synthesized) -> None:
    puts = [
        (s["Resource"], s["Condition"])
        for s in statements_of(env, "ExecutionRole")
        if "cloudwatch:PutMetricData" in as_list(s["Action"])
    ]
    namespace = env.config.monitoring.metrics_namespace(env.config.name)
    assert puts == [("*", {"StringEquals": {"cloudwatch:namespace": namespace}})]


# --- Seed objects and capture retention ----------------------------------------------------------
def seed_keys(env: Synthesized) -> set[str]:
    """Object keys the seed deployment writes: the files of its source assets, under its prefix."""
    props = only_resource(template(env), "Custom::CDKBucketDeployment")["Properties"]
    prefix = props["DestinationBucketKeyPrefix"]
    keys = set()
    for object_key in props["SourceObjectKeys"]:
        asset = Path(env.outdir) / f"asset.{object_key.removesuffix('.zip')}"
        keys |= {f"{prefix}{p.relative_to(asset)}" for p in asset.rglob("*") if p.is_file()}
    return keys


def test_seeds_are_a_readme_in_each_input_prefix_of_the_monitoring_job(env: Synthesized) -> None:
    # Given the monitoring job's inputs (the job script excepted: the pipeline stack uploads it)
    body, _ = definition_sub(env)
    document = json.loads(fill(body, {"ArtifactBucket": "b", "PipelineRoleArn": "r", "KmsKeyArn": "k"}))
    (step,) = iter_steps(document)
    prefixes = {
        i["S3Input"]["S3Uri"].removeprefix("s3://b/")
        for i in step["Arguments"]["ProcessingInputs"]
        if i["InputName"] != "code"
    }
    # Then each holds exactly one seed README, so no input is ever empty
    assert len(prefixes) == 3
    assert seed_keys(env) == {f"{prefix}{SEED_OBJECT_NAME}" for prefix in prefixes}


def test_seeds_are_kms_encrypted_never_pruned_and_kept_on_delete(env: Synthesized) -> None:
    (data_key,) = [
        a["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        for a in resources_of(env.json("data"), "AWS::KMS::Alias").values()
        if a["Properties"]["AliasName"] == f"alias/{env.config.prefix}"
    ]
    Template.from_json(template(env)).has_resource_properties(
        "Custom::CDKBucketDeployment",
        {
            "DestinationBucketName": env.config.artifact_bucket_name,
            "DestinationBucketKeyPrefix": "fraud-detection/",
            "Prune": False,
            "RetainOnDelete": True,
            "SystemMetadata": {"sse": "aws:kms", "sse-kms-key-id": exported(env, "data", {"Ref": data_key})},
        },
    )


def test_artifact_bucket_expires_data_capture_after_the_configured_days(env: Synthesized) -> None:
    env.template("data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": env.config.artifact_bucket_name,
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        {
                            "Id": "ExpireDataCapture",
                            "Prefix": "fraud-detection/data-capture/",
                            "ExpirationInDays": env.config.monitoring.capture_retention_days,
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                            "ObjectSizeGreaterThan": Match.any_value(),
                            "Status": "Enabled",
                        }
                    ]
                )
            },
        },
    )


def test_capture_expiry_spares_the_seed_readme_only(env: Synthesized) -> None:
    # Given the capture rule's size filter (a lifecycle filter cannot leave one key out)
    bucket = next(
        b["Properties"]
        for b in resources_of(env.json("data"), "AWS::S3::Bucket").values()
        if b["Properties"]["BucketName"] == env.config.artifact_bucket_name
    )
    (rule,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r["Id"] == "ExpireDataCapture"]
    # Then it is a string of digits (CloudFormation's type) and exactly the README's size: every
    # larger object (any capture file) expires, the README stays
    assert rule["ObjectSizeGreaterThan"] == str(len(SEED_TEXT.encode()))


# --- Alarms --------------------------------------------------------------------------------------
def test_one_alarm_per_alarm_rule(env: Synthesized) -> None:
    monitoring = env.config.monitoring
    assert sorted(drift_alarms(env)) == sorted(
        monitoring.alarm_name(env.config.prefix, rule) for rule in monitoring.alarm_rules
    )


def test_each_alarm_watches_its_rules_figure_in_the_environments_namespace(env: Synthesized) -> None:
    monitoring, assertions = env.config.monitoring, env.template("monitoring")
    for rule in monitoring.alarm_rules:
        dimensions = (
            [{"Name": rule.dimension[0], "Value": rule.dimension[1]}] if rule.dimension else Match.absent()
        )
        assertions.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "AlarmName": monitoring.alarm_name(env.config.prefix, rule),
                "Namespace": f"FraudDetection/Monitoring/{env.config.name}",
                "MetricName": rule.metric,
                "Dimensions": dimensions,
                "Statistic": rule.statistic,
            },
        )


def test_each_alarm_compares_its_figure_with_the_rules_threshold(env: Synthesized) -> None:
    monitoring, alarms = env.config.monitoring, drift_alarms(env)
    found = {
        rule.name: alarms[monitoring.alarm_name(env.config.prefix, rule)] for rule in monitoring.alarm_rules
    }
    assert {name: (a["ComparisonOperator"], a["Threshold"]) for name, a in found.items()} == {
        rule.name: (rule.comparison, rule.threshold) for rule in monitoring.alarm_rules
    }


def test_each_alarm_judges_one_hourly_datapoint_and_missing_data_is_not_breaching(env: Synthesized) -> None:
    for alarm in drift_alarms(env).values():
        assert (
            alarm["Period"],
            alarm["EvaluationPeriods"],
            alarm["DatapointsToAlarm"],
            alarm["TreatMissingData"],
        ) == (MonitoringSettings.ALARM_PERIOD_SECONDS, 1, 1, "notBreaching")


def test_each_alarm_carries_its_rules_description(env: Synthesized) -> None:
    monitoring, alarms = env.config.monitoring, drift_alarms(env)
    for rule in monitoring.alarm_rules:
        assert alarms[monitoring.alarm_name(env.config.prefix, rule)]["AlarmDescription"] == rule.description


def test_each_alarm_notifies_the_reviewers(env: Synthesized) -> None:
    alarms = drift_alarms(env).values()
    assert [a["AlarmActions"] for a in alarms] == [[reviewers_topic(env)]] * len(alarms)


# --- Retraining ----------------------------------------------------------------------------------
def retrain_rule(env: Synthesized) -> dict[str, Any]:
    (found,) = [
        v for k, v in resources_of(template(env), "AWS::Events::Rule").items() if k.startswith("RetrainRule")
    ]
    return found["Properties"]


def test_retrain_rule_matches_exactly_the_retrain_alarms_entering_alarm(env: Synthesized) -> None:
    # Given the alarms whose rule retrains, by logical id
    monitoring = env.config.monitoring
    ids = {
        a["Properties"].get("AlarmName"): k
        for k, a in resources_of(template(env), "AWS::CloudWatch::Alarm").items()
    }
    retrain = [ids[monitoring.alarm_name(env.config.prefix, r)] for r in monitoring.alarm_rules if r.retrain]
    # Then the rule's pattern names those alarms' ARNs, and only their change to ALARM
    assert retrain
    assert retrain_rule(env)["EventPattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [{"Fn::GetAtt": [alarm_id, "Arn"]} for alarm_id in retrain],
        "detail": {"state": {"value": ["ALARM"]}},
    }


def test_retrain_rule_targets_the_function_with_retries_then_a_dead_letter_queue(env: Synthesized) -> None:
    function_id, _ = retrain_function(env)
    (target,) = retrain_rule(env)["Targets"]
    queues = set(resources_of(template(env), "AWS::SQS::Queue"))
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] in queues


def test_retrain_function_runs_one_invocation_at_a_time(env: Synthesized) -> None:
    # Two alarms at once must not both pass the cool-down check
    env.template("monitoring").has_resource_properties(
        "AWS::Lambda::Function", {"Handler": c.RETRAIN_HANDLER, "ReservedConcurrentExecutions": 1}
    )


def test_retrain_function_environment_is_the_configs_retrain_environment(env: Synthesized) -> None:
    # Given the retrain environment the config builds, with the approval stack's table and topic
    monitoring = env.config.monitoring
    (table_id,) = resources_of(env.json("approval"), "AWS::DynamoDB::Table")
    expected = env.config.retrain_environment(
        idempotency_table="<table>",
        topic_arn="<topic>",
        alarm_names=tuple(
            monitoring.alarm_name(env.config.prefix, r) for r in monitoring.alarm_rules if r.retrain
        ),
    ).variables()
    imports = {"<table>": exported(env, "approval", {"Ref": table_id}), "<topic>": reviewers_topic(env)}
    # Then the function's variables are exactly those
    assert retrain_variables(env) == {k: imports.get(v, v) for k, v in expected.items()}


def test_retrain_function_gets_every_variable_it_requires(env: Synthesized) -> None:
    assert set(c.RETRAIN_REQUIRED_ENV) <= set(retrain_variables(env))


def test_retrain_function_starts_runs_with_the_schedules_parameters(env: Synthesized) -> None:
    # Given the parameters the training schedule passes
    scheduled = only_resource(env.json("pipeline"), "AWS::Scheduler::Schedule")["Properties"]
    parameters = scheduled["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"]
    # Then a retraining run passes the same ones
    assert json.loads(retrain_variables(env)[c.ENV_PIPELINE_PARAMETERS]) == {
        p["Name"]: p["Value"] for p in parameters
    }


def test_retrain_role_lists_and_starts_only_the_training_pipeline(env: Synthesized) -> None:
    _, props = retrain_function(env)
    statements = role_statements(template(env), props["Role"]["Fn::GetAtt"][0])
    training = pipeline_arn(env, env.config.pipeline.pipeline_name)
    assert grants_of(statements, "sagemaker:") == {
        ("sagemaker:ListPipelineExecutions", training),
        ("sagemaker:StartPipelineExecution", training),
    }


def test_retrain_role_publishes_only_to_the_reviewers(env: Synthesized) -> None:
    _, props = retrain_function(env)
    statements = role_statements(template(env), props["Role"]["Fn::GetAtt"][0])
    assert [s["Resource"] for s in statements if "sns:Publish" in as_list(s["Action"])] == [
        reviewers_topic(env)
    ]


# --- An environment whose alarms only notify -----------------------------------------------------
@pytest.fixture(scope="module")
def notify_only(context: Reader, dev: Synthesized) -> Template:
    """dev's monitoring stack with ``retrainOnAlarm: false``, alone in an app with stand-in dependencies."""
    config = dataclasses.replace(
        dev.config, monitoring=dataclasses.replace(dev.config.monitoring, retrain_on_alarm=False)
    )
    app = new_app(context)
    environment = cdk.Environment(account=config.account, region=config.region)
    deps = cdk.Stack(app, "Deps", env=environment)
    topic = sns.Topic(deps, "Topic")
    stack = MonitoringStack(
        app,
        "Monitoring",
        env=environment,
        config=config,
        key=kms.Key(deps, "Key"),
        alarm_topic=topic,
        reviewers_topic=topic,
        idempotency_table=dynamodb.Table(
            deps, "Table", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)
        ),
        definitions=Definitions(),
    )
    return Template.from_stack(stack)


def test_without_retraining_no_function_and_no_rule(notify_only: Template) -> None:
    notify_only.resource_count_is("AWS::Lambda::Function", 1)  # the seed deployment's provider only
    rules = notify_only.find_resources("AWS::Events::Rule")
    assert [k for k in rules if not k.startswith("RunFailureAlertRule")] == []


def test_without_retraining_every_rule_still_has_its_alarm(notify_only: Template, dev: Synthesized) -> None:
    notify_only.resource_properties_count_is(
        "AWS::CloudWatch::Alarm",
        {"Namespace": "FraudDetection/Monitoring/dev"},
        len(dev.config.monitoring.alarm_rules),
    )


# --- Failed monitoring runs reach the operators ------------------------------------------------
def test_failed_or_stopped_monitoring_runs_are_sent_to_the_operators_topic(env: Synthesized) -> None:
    rules = resources_of(template(env), "AWS::Events::Rule")
    (rule,) = [v["Properties"] for k, v in rules.items() if k.startswith("RunFailureAlertRule")]
    (pipeline_id,) = resources_of(template(env), "AWS::SageMaker::Pipeline")
    assert rule["EventPattern"]["detail"]["currentPipelineExecutionStatus"] == list(c.PIPELINE_ALERT_STATUSES)
    assert json.dumps({"Ref": pipeline_id}) in json.dumps(rule["EventPattern"]["detail"]["pipelineArn"])
    (target,) = rule["Targets"]
    assert target["Arn"] == exported(env, "operations", {"Ref": operators_topic_id(env)})
    transformer = target["InputTransformer"]
    assert set(re.findall(r"<([^<>]+)>", transformer["InputTemplate"])) == set(transformer["InputPathsMap"])


def test_the_failure_alert_role_only_publishes_to_the_operators_topic(env: Synthesized) -> None:
    statements = statements_of(env, "RunFailureAlertRole")
    assert sorted(a for s in statements for a in as_list(s["Action"])) == [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sns:Publish",
    ]
    (publish,) = [s for s in statements if "sns:Publish" in as_list(s["Action"])]
    assert publish["Resource"] == exported(env, "operations", {"Ref": operators_topic_id(env)})
    (kms,) = [s for s in statements if s is not publish]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"sns.{env.config.region}.amazonaws.com"}}


def operators_topic_id(env: Synthesized) -> str:
    (topic_id,) = resources_of(env.json("operations"), "AWS::SNS::Topic")
    return topic_id
