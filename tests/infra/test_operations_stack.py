"""Operations: encrypted logs and variables, failure alerts, dead-letter alarms, subscriptions, budget.

Every test runs once per environment (the ``env`` fixture) on the synthesized templates.
"""

from __future__ import annotations

from typing import Any

import pytest

from lambdas import constants as c
from pipeline_def.config import Subscriber
from pipeline_def.names import STEP_FAIL
from tests.infra.synth_support import (
    Synthesized,
    allows,
    as_list,
    key_import,
    key_with_alias,
    only_resource,
    resources_of,
    role_statements,
)

#: Stacks that hold log groups and Lambda functions.
STACKS_WITH_LOGS = ("operations", "pipeline", "approval", "monitoring")
#: The project's own functions (the BucketDeployment provider's is the library's, with no variables).
OWN_HANDLERS = {c.APPROVAL_HANDLER, c.DEPLOY_HANDLER, c.PIPELINE_FAILURE_HANDLER, c.RETRAIN_HANDLER}


# --- Helpers -----------------------------------------------------------------------------------
def project_key(env: Synthesized) -> dict[str, str]:
    """How the other stacks refer to the data stack's project key ARN: the import of its export."""
    return key_import(env, f"alias/{env.config.prefix}")


def key_statement(env: Synthesized, principal: str) -> dict[str, Any]:
    _, key = key_with_alias(env.json("data"), f"alias/{env.config.prefix}")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (found,) = [s for s in statements if s["Principal"] == {"Service": principal}]
    return found


def operators_topic_id(env: Synthesized) -> str:
    (topic_id,) = resources_of(env.json("operations"), "AWS::SNS::Topic")
    return topic_id


def operators_topic_import(env: Synthesized) -> dict[str, str]:
    """How the pipeline and approval stacks refer to the operators' topic."""
    exports = env.json("operations")["Outputs"].values()
    (name,) = [o["Export"]["Name"] for o in exports if o["Value"] == {"Ref": operators_topic_id(env)}]
    return {"Fn::ImportValue": name}


def failure_function(env: Synthesized) -> tuple[str, dict[str, Any]]:
    functions = resources_of(env.json("operations"), "AWS::Lambda::Function").items()
    (found,) = [
        (k, v["Properties"]) for k, v in functions if v["Properties"]["Handler"] == c.PIPELINE_FAILURE_HANDLER
    ]
    return found


def pipeline_arn(env: Synthesized) -> str:
    config = env.config
    return f"arn:aws:sagemaker:{config.region}:{config.account}:pipeline/{config.pipeline.pipeline_name}"


def subscriptions(env: Synthesized, kind: str) -> set[Subscriber]:
    return {
        Subscriber(protocol=s["Properties"]["Protocol"], endpoint=s["Properties"]["Endpoint"])
        for s in resources_of(env.json(kind), "AWS::SNS::Subscription").values()
    }


# --- Item 2: logs and variables encrypted with the project's key --------------------------------
@pytest.mark.parametrize("kind", STACKS_WITH_LOGS)
def test_every_log_group_is_encrypted_with_the_project_key(env: Synthesized, kind: str) -> None:
    # Given the stack's log groups (functions, and the job scripts' deployment provider)
    groups = resources_of(env.json(kind), "AWS::Logs::LogGroup").values()
    # Then each names the data stack's key
    assert groups
    assert [g["Properties"].get("KmsKeyId") for g in groups] == [project_key(env)] * len(groups)


@pytest.mark.parametrize("kind", ["operations", "approval", "monitoring"])
def test_every_functions_variables_are_encrypted_with_the_project_key(env: Synthesized, kind: str) -> None:
    # Given the project's own functions in the stack
    functions = [
        f["Properties"]
        for f in resources_of(env.json(kind), "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] in OWN_HANDLERS
    ]
    # Then their environment variables are encrypted with the data stack's key
    assert functions
    assert [f.get("KmsKeyArn") for f in functions] == [project_key(env)] * len(functions)


def test_the_key_lets_cloudwatch_logs_encrypt_only_this_environments_log_groups(env: Synthesized) -> None:
    # Given the key policy's statement for the regional logs service
    statement = key_statement(env, f"logs.{env.config.region}.amazonaws.com")
    # Then it is limited, by the encryption context, to log groups named after this environment
    log_groups = f"arn:aws:logs:{env.config.region}:{env.config.account}:log-group:{env.config.prefix}-*"
    assert statement["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}}
    assert {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"} <= set(statement["Action"])


@pytest.mark.parametrize(
    ("principal", "source"),
    [
        ("cloudwatch.amazonaws.com", "arn:aws:cloudwatch:{region}:{account}:alarm:*"),
        ("budgets.amazonaws.com", "arn:aws:budgets::{account}:*"),
    ],
)
def test_the_key_lets_alarms_and_budgets_of_this_account_publish_to_encrypted_topics(
    env: Synthesized, principal: str, source: str
) -> None:
    # Given the key policy's statement for the publishing service
    statement = key_statement(env, principal)
    # Then it may get a data key, on behalf of this account's alarms or budgets only
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": env.config.account},
        "ArnLike": {"aws:SourceArn": source.format(region=env.config.region, account=env.config.account)},
    }


# --- Item 3: failed runs reach the operators -----------------------------------------------------
def test_failed_or_stopped_runs_of_this_pipeline_reach_the_failure_function(env: Synthesized) -> None:
    # Given the operations stack's rule
    rule = only_resource(env.json("operations"), "AWS::Events::Rule")["Properties"]
    function_id, _ = failure_function(env)
    # Then it matches this environment's pipeline ending Failed or Stopped, and targets the function
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
        "detail": {
            "currentPipelineExecutionStatus": ["Failed", "Stopped"],
            "pipelineArn": [pipeline_arn(env)],
        },
    }
    assert [t["Arn"] for t in rule["Targets"]] == [{"Fn::GetAtt": [function_id, "Arn"]}]


def test_the_rules_pipeline_is_the_deployed_pipeline(env: Synthesized) -> None:
    # Given the pipeline stack's pipeline / Then the rule's ARN names it
    pipeline = only_resource(env.json("pipeline"), "AWS::SageMaker::Pipeline")["Properties"]
    assert pipeline_arn(env).endswith(f":pipeline/{pipeline['PipelineName']}")


def test_the_failure_function_gets_the_topic_the_pipeline_and_the_quality_gate_step(env: Synthesized) -> None:
    # Given the failure function's variables
    _, props = failure_function(env)
    # Then the quality gate is the definition's Fail step, passed in because lambdas may not import it
    assert props["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": c.PIPELINE_FAILURE_SERVICE_NAME,
        c.ENV_OPERATORS_TOPIC_ARN: {"Ref": operators_topic_id(env)},
        c.ENV_PIPELINE_ARN: pipeline_arn(env),
        c.ENV_QUALITY_GATE_STEP: STEP_FAIL,
    }


def failure_function_statements(env: Synthesized) -> list[dict[str, Any]]:
    _, props = failure_function(env)
    return role_statements(env.json("operations"), props["Role"]["Fn::GetAtt"][0])


def test_the_failure_function_reads_only_this_pipelines_executions(env: Synthesized) -> None:
    # Given the failure function's role and an execution of this environment's pipeline
    statements = failure_function_statements(env)
    execution = f"{pipeline_arn(env)}/execution/k4q2bd8c1m7z"
    # Then it reads this pipeline's executions, not another's
    assert allows(statements, "sagemaker:ListPipelineExecutionSteps", execution)
    assert allows(statements, "sagemaker:DescribePipelineExecution", execution)
    assert not allows(
        statements, "sagemaker:ListPipelineExecutionSteps", execution.replace("fraud-detection", "x")
    )


def test_the_failure_function_publishes_only_to_operators(env: Synthesized) -> None:
    # Given the failure function's role
    statements = failure_function_statements(env)
    # Then the operators' topic is the only one it may publish to
    assert [s["Resource"] for s in statements if "sns:Publish" in as_list(s["Action"])] == [
        {"Ref": operators_topic_id(env)}
    ]


@pytest.mark.parametrize("kind", ["operations", "pipeline", "approval", "monitoring"])
def test_every_dead_letter_alarm_notifies_the_operators(env: Synthesized, kind: str) -> None:
    # Given the stack's dead-letter alarms (the schedule's, the registry functions', the failure alerts')
    alarms = [
        a["Properties"]
        for a in resources_of(env.json(kind), "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    ]
    topic = {"Ref": operators_topic_id(env)} if kind == "operations" else operators_topic_import(env)
    # Then each one's action is the operators' topic
    assert alarms
    assert [a["AlarmActions"] for a in alarms] == [[topic]] * len(alarms)


def test_the_operators_topic_is_kms_encrypted(env: Synthesized) -> None:
    # Given the operators' topic / Then it is encrypted with the project's key
    topic = env.json("operations")["Resources"][operators_topic_id(env)]["Properties"]
    assert topic["KmsMasterKeyId"] == project_key(env)


@pytest.mark.parametrize(
    ("principal", "source"),
    [
        ("cloudwatch.amazonaws.com", "arn:aws:cloudwatch:{region}:{account}:alarm:*"),
        ("budgets.amazonaws.com", "arn:aws:budgets::{account}:*"),
    ],
)
def test_the_operators_topic_lets_only_this_accounts_alarms_and_budgets_publish(
    env: Synthesized, principal: str, source: str
) -> None:
    # Given the topic policy's statement for the service
    policy = only_resource(env.json("operations"), "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    (statement,) = [s for s in policy["Statement"] if s.get("Principal") == {"Service": principal}]
    # Then it may publish, with aws:SourceAccount and aws:SourceArn naming this account
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sns:Publish")
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": env.config.account},
        "ArnLike": {"aws:SourceArn": source.format(region=env.config.region, account=env.config.account)},
    }


def test_the_operators_topic_refuses_publishing_without_tls(env: Synthesized) -> None:
    # Given the topic policy / Then a Deny covers every publisher without TLS
    policy = only_resource(env.json("operations"), "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )


def test_operators_are_subscribed_from_cdk_json(env: Synthesized) -> None:
    # Given the environment's notifications.operators / Then they are the operators' topic's subscribers
    assert subscriptions(env, "operations") == set(env.config.notifications.operators)


def test_reviewers_are_subscribed_to_the_approval_topic_from_cdk_json(env: Synthesized) -> None:
    # Given the environment's notifications.reviewers / Then they are the approval topic's subscribers
    assert subscriptions(env, "approval") == set(env.config.notifications.reviewers)


# --- Item 4: a monthly budget per environment ----------------------------------------------------
def test_the_budget_is_the_environments_monthly_limit_on_its_env_tag(env: Synthesized) -> None:
    # Given the environment's budget
    budget = only_resource(env.json("operations"), "AWS::Budgets::Budget")["Properties"]["Budget"]
    # Then it is a monthly cost budget of the configured dollars, on costs tagged env=<environment>
    assert (budget["BudgetType"], budget["TimeUnit"]) == ("COST", "MONTHLY")
    assert budget["BudgetLimit"] == {"Amount": env.config.budget.monthly_limit_usd, "Unit": "USD"}
    assert budget["CostFilters"] == {"TagKeyValue": [f"user:env${env.config.name}"]}


def test_the_budget_alerts_the_operators_on_actual_and_forecast_costs(env: Synthesized) -> None:
    # Given the budget's notifications
    props = only_resource(env.json("operations"), "AWS::Budgets::Budget")["Properties"]
    alerts = {
        n["Notification"]["NotificationType"]: (n["Notification"]["Threshold"], n["Subscribers"])
        for n in props["NotificationsWithSubscribers"]
    }
    topic = [{"SubscriptionType": "SNS", "Address": {"Ref": operators_topic_id(env)}}]
    # Then the actual and forecast thresholds of cdk.json notify the operators' topic
    assert alerts == {
        "ACTUAL": (env.config.budget.actual_alert_percent, topic),
        "FORECASTED": (env.config.budget.forecast_alert_percent, topic),
    }


def test_the_budget_is_created_after_the_topic_policy_that_lets_it_publish(env: Synthesized) -> None:
    # Given the budget / Then CloudFormation creates it once the topic policy exists
    (policy_id,) = resources_of(env.json("operations"), "AWS::SNS::TopicPolicy")
    assert policy_id in only_resource(env.json("operations"), "AWS::Budgets::Budget")["DependsOn"]
