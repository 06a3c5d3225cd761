"""Pipeline stack: the definition, its role, the job scripts, the registry group and the schedule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sagemaker import image_uris

from pipeline_def.definition.builder import Deployment, get_pipeline, quiet_sdk
from pipeline_def.definition.render import VARIABLES, code_key_prefix, fill, scripts_digest
from pipeline_def.names import SCRIPT_NAMES, XGBOOST_VERSION
from tests.infra.synth_support import (
    Synthesized,
    as_list,
    key_import,
    only_resource,
    policy_statements,
    resources_allowing,
    resources_of,
)

TEST_VALUES = {
    "PipelineRoleArn": "arn:aws:iam::123456789012:role/test-pipeline-role",
    "ArtifactBucket": "test-artifact-bucket",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/test-key",
    "ArtifactKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/test-artifact-key",
}


def pipeline_props(env: Synthesized) -> dict[str, Any]:
    return only_resource(env.json("pipeline"), "AWS::SageMaker::Pipeline")["Properties"]


def definition_sub(env: Synthesized) -> tuple[str, dict[str, Any]]:
    body, variables = pipeline_props(env)["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    return body, variables


def role_id(env: Synthesized, prefix: str) -> str:
    (found,) = [k for k in resources_of(env.json("pipeline"), "AWS::IAM::Role") if k.startswith(prefix)]
    return found


def statements_of(env: Synthesized, role_prefix: str) -> list[dict[str, Any]]:
    """Statements in the role's inline policies and in policies attached to it."""
    template = env.json("pipeline")
    role = role_id(env, role_prefix)
    attached = {
        k
        for k, v in resources_of(template, "AWS::IAM::Policy").items()
        if {"Ref": role} in v["Properties"]["Roles"]
    }
    return [
        s for logical_id, s in policy_statements(template) if logical_id == role or logical_id in attached
    ]


def schedule(env: Synthesized) -> dict[str, Any]:
    return only_resource(env.json("pipeline"), "AWS::Scheduler::Schedule")["Properties"]


def test_pipeline_has_the_settings_name(env: Synthesized) -> None:
    assert pipeline_props(env)["PipelineName"] == env.config.pipeline.pipeline_name


def built_definition(env: Synthesized) -> dict[str, Any]:
    """What the SageMaker SDK builds from the environment's settings with TEST_VALUES deployed."""
    digest = scripts_digest()
    deployment = Deployment(
        role_arn=TEST_VALUES["PipelineRoleArn"],
        artifact_bucket=TEST_VALUES["ArtifactBucket"],
        kms_key_arn=TEST_VALUES["KmsKeyArn"],
        artifact_kms_key_arn=TEST_VALUES["ArtifactKmsKeyArn"],
        code_uri=f"s3://{TEST_VALUES['ArtifactBucket']}/{code_key_prefix(digest)}",
    )
    with quiet_sdk():
        return json.loads(get_pipeline(env.config.pipeline, deployment, code_version=digest).definition())


def test_pipeline_body_after_sub_is_what_the_sdk_builds(env: Synthesized) -> None:
    # Given the synthesized body with its Fn::Sub variables filled in as CloudFormation would
    body, _ = definition_sub(env)
    deployed = json.loads(fill(body, TEST_VALUES))

    # Then it is the builder's own definition for the same values (as parsed JSON: the renderer
    # sorts keys and indents, the SDK does not)
    assert deployed == built_definition(env)


def test_pipeline_body_substitutes_exactly_the_definition_variables(env: Synthesized) -> None:
    _, variables = definition_sub(env)
    assert sorted(variables) == sorted(VARIABLES)


def test_pipeline_body_gets_the_execution_role(env: Synthesized) -> None:
    # Given the body's Fn::Sub variables
    _, variables = definition_sub(env)
    # Then the role is the stack's execution role
    assert variables["PipelineRoleArn"] == {"Fn::GetAtt": [role_id(env, "ExecutionRole"), "Arn"]}


def test_pipeline_body_gets_the_artifact_bucket(env: Synthesized) -> None:
    # Given the body's Fn::Sub variables
    _, variables = definition_sub(env)
    # Then the bucket is the environment's artifact bucket
    assert variables["ArtifactBucket"] == env.config.artifact_bucket_name


def test_pipeline_body_gets_the_project_key_imported_from_the_data_stack(env: Synthesized) -> None:
    # Given the body's Fn::Sub variables
    _, variables = definition_sub(env)
    # Then the key ARN is the data stack's project key
    assert variables["KmsKeyArn"] == key_import(env, f"alias/{env.config.prefix}")


def test_pipeline_body_gets_the_artifact_key_imported_from_the_data_stack(env: Synthesized) -> None:
    # Given the body's Fn::Sub variables
    _, variables = definition_sub(env)
    # Then the model artifacts and the drift baseline are encrypted with the artifact key
    assert variables["ArtifactKmsKeyArn"] == key_import(env, f"alias/{env.config.prefix}-artifacts")


@pytest.mark.parametrize(
    ("role_prefix", "actions", "services"),
    [
        (
            "ExecutionRole",
            ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            ["s3.{region}.amazonaws.com", "sagemaker.{region}.amazonaws.com"],
        ),
        ("ModelExecutionRole", "kms:Decrypt", "s3.{region}.amazonaws.com"),
    ],
)
def test_role_uses_the_artifact_key_only_through_s3_or_sagemaker(
    env: Synthesized, role_prefix: str, actions: Any, services: Any
) -> None:
    # Given the statements of the role that name the artifact key
    key = key_import(env, f"alias/{env.config.prefix}-artifacts")
    found = [s for s in statements_of(env, role_prefix) if key in as_list(s["Resource"])]
    # Then there is one, limited by kms:ViaService: the pipeline writes and reads model artifacts
    # and the drift baseline through S3 (SageMaker checks the output key), endpoints only read
    region = env.config.region
    via = (
        [v.format(region=region) for v in services]
        if isinstance(services, list)
        else services.format(region=region)
    )
    assert [(s["Action"], s["Condition"]) for s in found] == [
        (actions, {"StringEquals": {"kms:ViaService": via}})
    ]


def test_pipeline_runs_as_the_execution_role(env: Synthesized) -> None:
    assert pipeline_props(env)["RoleArn"] == {"Fn::GetAtt": [role_id(env, "ExecutionRole"), "Arn"]}


def test_pipeline_waits_for_the_job_scripts_and_the_model_package_group(env: Synthesized) -> None:
    template = env.json("pipeline")
    pipeline = only_resource(template, "AWS::SageMaker::Pipeline")
    deployment = next(iter(resources_of(template, "Custom::CDKBucketDeployment")))
    group = next(iter(resources_of(template, "AWS::SageMaker::ModelPackageGroup")))
    assert {deployment, group} <= set(pipeline["DependsOn"])


def test_job_scripts_go_to_the_digest_prefix_of_the_artifact_bucket(env: Synthesized) -> None:
    deployment = only_resource(env.json("pipeline"), "Custom::CDKBucketDeployment")["Properties"]
    assert deployment["DestinationBucketName"] == env.config.artifact_bucket_name
    assert deployment["DestinationBucketKeyPrefix"] == code_key_prefix(scripts_digest()) + "/"
    assert deployment["SystemMetadata"]["sse"] == "aws:kms"


def test_job_scripts_asset_holds_exactly_the_three_scripts(env: Synthesized) -> None:
    deployment = only_resource(env.json("pipeline"), "Custom::CDKBucketDeployment")["Properties"]
    (object_key,) = deployment["SourceObjectKeys"]
    asset_dir = Path(env.outdir) / f"asset.{object_key.removesuffix('.zip')}"
    assert sorted(p.name for p in asset_dir.iterdir()) == sorted(SCRIPT_NAMES)


def test_definition_points_at_the_deployed_scripts(env: Synthesized) -> None:
    body, _ = definition_sub(env)
    prefix = f"s3://${{ArtifactBucket}}/{code_key_prefix(scripts_digest())}/"
    for script in SCRIPT_NAMES:
        assert prefix + script in body


def test_model_package_group_has_the_settings_name(env: Synthesized) -> None:
    env.template("pipeline").has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup",
        {"ModelPackageGroupName": env.config.pipeline.model_package_group_name},
    )


def test_schedule_targets_this_pipeline(env: Synthesized) -> None:
    pipeline_id = next(iter(resources_of(env.json("pipeline"), "AWS::SageMaker::Pipeline")))
    arn = schedule(env)["Target"]["Arn"]
    assert arn == {
        "Fn::Join": [
            "",
            [f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:pipeline/", {"Ref": pipeline_id}],
        ]
    }


def test_schedule_passes_the_environments_pipeline_parameters(env: Synthesized) -> None:
    settings = env.config.pipeline
    parameters = schedule(env)["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "MinAuc": str(settings.min_auc),
        "MinRecall": str(settings.min_recall),
        "ModelApprovalStatus": settings.model_approval_status,
    }


def test_schedule_parameters_exist_in_the_definition(env: Synthesized) -> None:
    body, _ = definition_sub(env)
    declared = {p["Name"] for p in json.loads(fill(body, TEST_VALUES))["Parameters"]}
    passed = {
        p["Name"] for p in schedule(env)["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"]
    }
    assert passed <= declared


def test_schedule_uses_the_configured_expression_and_time_zone(env: Synthesized) -> None:
    props = schedule(env)
    assert (props["ScheduleExpression"], props["ScheduleExpressionTimezone"]) == (
        env.config.schedule.expression,
        env.config.schedule.time_zone,
    )


def test_schedule_state_follows_the_config(synthesized: dict[str, Synthesized]) -> None:
    assert {name: schedule(s)["State"] for name, s in synthesized.items()} == {
        "dev": "DISABLED",
        "staging": "ENABLED",
        "prod": "ENABLED",
    }


def test_schedule_retries_then_dead_letters_to_an_encrypted_queue(env: Synthesized) -> None:
    target = schedule(env)["Target"]
    queue_id = next(iter(resources_of(env.json("pipeline"), "AWS::SQS::Queue")))
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert "KmsMasterKeyId" in only_resource(env.json("pipeline"), "AWS::SQS::Queue")["Properties"]


def test_schedule_role_may_only_start_this_pipeline(env: Synthesized) -> None:
    sagemaker = [s for s in statements_of(env, "ScheduleRole") if "sagemaker" in json.dumps(s["Action"])]
    assert sagemaker == [
        {
            "Action": "sagemaker:StartPipelineExecution",
            "Effect": "Allow",
            "Resource": schedule(env)["Target"]["Arn"],
        }
    ]


def test_schedule_role_is_assumable_only_by_scheduler_of_this_account(env: Synthesized) -> None:
    role = env.json("pipeline")["Resources"][role_id(env, "ScheduleRole")]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": env.config.account}},
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
        }
    ]


def test_execution_role_passes_only_itself_and_only_to_sagemaker(env: Synthesized) -> None:
    passes = [s for s in statements_of(env, "ExecutionRole") if "iam:PassRole" in as_list(s["Action"])]
    assert passes == [
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [role_id(env, "ExecutionRole"), "Arn"]},
        }
    ]


def test_execution_role_s3_access_is_limited_to_the_project_prefixes(env: Synthesized) -> None:
    artifacts, data = env.config.artifact_bucket_name, env.config.data_bucket_name
    s3_resources = {
        r
        for s in statements_of(env, "ExecutionRole")
        if any(a.startswith("s3:") for a in as_list(s["Action"]))
        for r in as_list(s["Resource"])
    }
    assert s3_resources == {
        f"arn:aws:s3:::{artifacts}",
        f"arn:aws:s3:::{artifacts}/fraud-detection/*",
        f"arn:aws:s3:::{artifacts}/athena-results/*",
        f"arn:aws:s3:::{data}",
        f"arn:aws:s3:::{data}/feature-store/*",
    }


def test_execution_role_queries_only_this_environments_tables_and_workgroup(env: Synthesized) -> None:
    settings, account, region = env.config.pipeline, env.config.account, env.config.region
    resources = {
        r
        for s in statements_of(env, "ExecutionRole")
        if any(a.startswith(("glue:", "athena:")) for a in as_list(s["Action"]))
        for r in as_list(s["Resource"])
    }
    db = settings.glue_database
    assert resources == {
        f"arn:aws:glue:{region}:{account}:catalog",
        f"arn:aws:glue:{region}:{account}:database/{db}",
        f"arn:aws:glue:{region}:{account}:table/{db}/{settings.offline_table('claims')}",
        f"arn:aws:glue:{region}:{account}:table/{db}/{settings.offline_table('customers')}",
        f"arn:aws:athena:{region}:{account}:workgroup/{settings.athena_workgroup}",
    }


def sagemaker_resources_for(env: Synthesized, action: str) -> set[str]:
    """Every resource of the execution role's statements that allow ``action``."""
    return resources_allowing(statements_of(env, "ExecutionRole"), action)


def sagemaker_base(env: Synthesized) -> str:
    return f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:"


def test_execution_role_sagemaker_resources_are_generated_names_of_this_environment(env: Synthesized) -> None:
    settings, base = env.config.pipeline, sagemaker_base(env)
    group = settings.model_package_group_name
    allowed = {
        "processing-job": {"pipelines-*", f"{settings.prefix}-*"},
        "transform-job": {"pipelines-*", f"{settings.prefix}-*"},
        # Tuning jobs get generated names without a prefix, and name their training jobs after them.
        "hyper-parameter-tuning-job": {"*"},
        "training-job": {"*"},
        "model": {"pipelines-*"},
        "model-package-group": {group},
        "model-package": {f"{group}/*"},
        "experiment": {settings.pipeline_name},
        "experiment-trial": {"*"},
        "experiment-trial-component": {"pipelines-*"},
    }
    found = {
        tuple(resource.removeprefix(base).split("/", 1))
        for statement in statements_of(env, "ExecutionRole")
        for resource in as_list(statement["Resource"])
        if isinstance(resource, str) and resource.startswith(base)
    }
    assert found == {(kind, name) for kind, names in allowed.items() for name in names}


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        ("sagemaker:CreateHyperParameterTuningJob", "hyper-parameter-tuning-job"),
        ("sagemaker:DescribeHyperParameterTuningJob", "hyper-parameter-tuning-job"),
        ("sagemaker:StopHyperParameterTuningJob", "hyper-parameter-tuning-job"),
        ("sagemaker:ListTrainingJobsForHyperParameterTuningJob", "hyper-parameter-tuning-job"),
        ("sagemaker:CreateTrainingJob", "training-job"),
        ("sagemaker:DescribeTrainingJob", "training-job"),
        ("sagemaker:StopTrainingJob", "training-job"),
    ],
)
def test_execution_role_reaches_tuning_and_training_jobs_of_any_name_in_this_account_and_region(
    env: Synthesized, action: str, kind: str
) -> None:
    # Pipelines names a tuning job with at most 32 generated characters, no pipelines- prefix.
    assert sagemaker_resources_for(env, action) == {f"{sagemaker_base(env)}{kind}/*"}


def test_execution_role_tags_tuning_and_training_jobs(env: Synthesized) -> None:
    base = sagemaker_base(env)
    assert {f"{base}hyper-parameter-tuning-job/*", f"{base}training-job/*"} <= sagemaker_resources_for(
        env, "sagemaker:AddTags"
    )


@pytest.mark.parametrize("action", ["sagemaker:CreateModel", "sagemaker:DescribeModel"])
def test_execution_role_reaches_only_the_models_pipelines_creates(env: Synthesized, action: str) -> None:
    # Not <prefix>-*: those are the deploy function's live models.
    assert sagemaker_resources_for(env, action) == {f"{sagemaker_base(env)}model/pipelines-*"}


def test_execution_role_cannot_delete_models(env: Synthesized) -> None:
    assert sagemaker_resources_for(env, "sagemaker:DeleteModel") == set()


def test_model_execution_role_reads_models_and_writes_data_capture_only(env: Synthesized) -> None:
    artifacts = env.config.artifact_bucket_name
    s3 = {
        (a, r)
        for s in statements_of(env, "ModelExecutionRole")
        for a in as_list(s["Action"])
        if a.startswith("s3:")
        for r in as_list(s["Resource"])
    }
    assert s3 == {
        ("s3:GetObject", f"arn:aws:s3:::{artifacts}/fraud-detection/tuning/*"),
        ("s3:PutObject", f"arn:aws:s3:::{artifacts}/fraud-detection/data-capture/*"),
        ("s3:GetBucketLocation", f"arn:aws:s3:::{artifacts}"),
    }


def test_model_execution_role_pulls_only_the_serving_image(env: Synthesized) -> None:
    # Given the registry of the pipeline's XGBoost image in the environment's region
    image = image_uris.retrieve("xgboost", env.config.region, version=XGBOOST_VERSION)
    registry, _, path = image.partition("/")
    account, region = registry.split(".")[0], registry.split(".")[3]
    repository = path.split(":")[0]

    # Then the endpoint role pulls exactly that repository
    pulls = [
        s for s in statements_of(env, "ModelExecutionRole") if "ecr:BatchGetImage" in as_list(s["Action"])
    ]
    assert [s["Resource"] for s in pulls] == [f"arn:aws:ecr:{region}:{account}:repository/{repository}"]
