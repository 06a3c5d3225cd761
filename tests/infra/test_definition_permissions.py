"""Each pipeline role covers what its pipeline definition makes SageMaker do with it.

Two pipelines: training (the pipeline stack) and monitoring (the monitoring stack), each with
its own execution role (``ExecutionRole`` in its stack). The definition is the synthesized
``PipelineDefinitionBody`` (``pipeline_def.definition.render`` / ``render_monitoring`` output),
filled with the environment's real artifact bucket. Its real role and key ARNs exist only after
deployment, so the tests walk the definition's structure: each job step's type, each S3 URI,
each image and each role field, then ask the synthesized policy whether an unconditional Allow
covers the request SageMaker makes. Job and model names are generated at run time: the samples
below follow SageMaker's schemes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline_def.definition.checks import iter_steps
from pipeline_def.definition.render import fill
from tests.infra.synth_support import (
    Synthesized,
    allows,
    as_list,
    only_resource,
    resources_of,
    role_statements,
)

EXECUTION_ID = "k3v9x2m4q8z1"
ROLE_SENTINEL = "role-of-the-definition"
#: The stacks holding a pipeline: training and monitoring.
PIPELINE_STACKS = ("pipeline", "monitoring")
#: Step type -> resource type -> what SageMaker needs the role to do with the step's resources.
STEP_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "Processing": {
        "processing-job": ("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob", "AddTags")
    },
    "Tuning": {
        "hyper-parameter-tuning-job": (
            "CreateHyperParameterTuningJob",
            "DescribeHyperParameterTuningJob",
            "ListTrainingJobsForHyperParameterTuningJob",
            "StopHyperParameterTuningJob",
            "AddTags",
        ),
        "training-job": ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "AddTags"),
    },
    "Transform": {
        "transform-job": ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "AddTags")
    },
    "Model": {"model": ("CreateModel", "DescribeModel", "AddTags")},
    "RegisterModel": {"model-package": ("CreateModelPackage", "DescribeModelPackage", "AddTags")},
}
#: Prefixes of the artifact bucket the pipeline reads or writes (per-execution outputs, tuning
#: output, job scripts): the walk below must find at least these, or it is not looking. (Spot
#: training runs without checkpoints, see pipeline_def.definition.builder, so there is no checkpoints/.)
EXPECTED_PREFIXES = {"fraud-detection/runs", "fraud-detection/tuning", "fraud-detection/code"}
IMAGE_KEYS = ("ImageUri", "TrainingImage", "Image")
_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)"
)


def definition(env: Synthesized, kind: str = "pipeline") -> dict[str, Any]:
    props = only_resource(env.json(kind), "AWS::SageMaker::Pipeline")["Properties"]
    body, _ = props["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    values = {
        "ArtifactBucket": env.config.artifact_bucket_name,
        "PipelineRoleArn": ROLE_SENTINEL,
        "KmsKeyArn": "key-of-the-definition",
        "ArtifactKmsKeyArn": "artifact-key-of-the-definition",
    }
    return json.loads(fill(body, values))


def execution_role_id(env: Synthesized, kind: str = "pipeline") -> str:
    (found,) = [k for k in resources_of(env.json(kind), "AWS::IAM::Role") if k.startswith("ExecutionRole")]
    return found


def execution_role_statements(env: Synthesized, kind: str = "pipeline") -> list[dict[str, Any]]:
    return role_statements(env.json(kind), execution_role_id(env, kind))


def walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) pair in a JSON document, depth first; list items have key None."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield None, value
            yield from walk(value)


def sample_arns(env: Synthesized, step: dict[str, Any], resource_type: str) -> list[str]:
    """ARNs SageMaker gives the step's resources of ``resource_type``, following its naming schemes."""
    base = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:"
    name = step["Name"]
    # Processing and transform jobs and models: pipelines-<execution-id>-<step>-<random>.
    generated = f"pipelines-{EXECUTION_ID}-{name}-Xq7Lr2"
    # Tuning jobs: at most 32 generated characters, no pipelines- prefix; their training jobs are
    # named <tuning-job>-<NNN>-<hash>.
    tuning = f"{EXECUTION_ID}-{name[:7]}-a1B2c3D4e5"[:32]
    names = {
        "hyper-parameter-tuning-job": [tuning],
        "training-job": [f"{tuning}-001-9f8e7d6c", f"{tuning}-012-0a1b2c3d"],
        "model-package": [f"{step['Arguments'].get('ModelPackageGroupName')}/{n}" for n in (1, 27)],
    }.get(resource_type, [generated])
    return [f"{base}{resource_type}/{n}" for n in names]


def s3_keys(document: dict[str, Any], bucket: str) -> set[str]:
    """Object keys (samples under each prefix) the definition reads or writes in ``bucket``."""
    root = f"s3://{bucket}/"
    keys = set()
    for key, value in walk(document):
        if isinstance(value, str) and value.startswith(root):
            keys.add(f"{value.removeprefix(root)}/part-00000")
        elif key == "Std:Join":
            first = value["Values"][0]
            if isinstance(first, str) and first.startswith(root):
                keys.add(f"{first.removeprefix(root)}/{EXECUTION_ID}/output/part-00000")
    return keys


def test_definition_uses_every_step_type_these_tests_know(env: Synthesized) -> None:
    types = {step["Type"] for step in iter_steps(definition(env))} - {"Condition", "Fail"}
    assert types == set(STEP_PERMISSIONS)


@pytest.mark.parametrize("step_type", STEP_PERMISSIONS)
def test_role_may_create_describe_and_tag_what_each_step_creates(env: Synthesized, step_type: str) -> None:
    statements = execution_role_statements(env)
    steps = [step for step in iter_steps(definition(env)) if step["Type"] == step_type]
    missing = [
        (step["Name"], f"sagemaker:{action}", arn)
        for step in steps
        for resource_type, actions in STEP_PERMISSIONS[step_type].items()
        for arn in sample_arns(env, step, resource_type)
        for action in actions
        if not allows(statements, f"sagemaker:{action}", arn)
    ]
    assert steps
    assert missing == []


def test_role_may_register_into_the_definitions_model_package_group(env: Synthesized) -> None:
    groups = {
        step["Arguments"]["ModelPackageGroupName"]
        for step in iter_steps(definition(env))
        if step["Type"] == "RegisterModel"
    }
    base = f"arn:aws:sagemaker:{env.config.region}:{env.config.account}:"
    assert groups
    for group in groups:
        assert allows(
            execution_role_statements(env),
            "sagemaker:DescribeModelPackageGroup",
            f"{base}model-package-group/{group}",
        )


def test_definition_reads_and_writes_the_expected_artifact_prefixes(env: Synthesized) -> None:
    keys = s3_keys(definition(env), env.config.artifact_bucket_name)
    assert {"/".join(key.split("/")[:2]) for key in keys} >= EXPECTED_PREFIXES


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:PutObject"])
def test_role_may_read_and_write_every_artifact_key_of_the_definition(env: Synthesized, action: str) -> None:
    bucket = env.config.artifact_bucket_name
    keys = s3_keys(definition(env), bucket)
    statements = execution_role_statements(env)
    assert [k for k in sorted(keys) if not allows(statements, action, f"arn:aws:s3:::{bucket}/{k}")] == []


@pytest.mark.parametrize("kind", PIPELINE_STACKS)
def test_definition_touches_no_other_bucket(env: Synthesized, kind: str) -> None:
    uris = {v for _, v in walk(definition(env, kind)) if isinstance(v, str) and v.startswith("s3://")}
    assert uris
    assert {uri.split("/")[2] for uri in uris} == {env.config.artifact_bucket_name}


@pytest.mark.parametrize("kind", PIPELINE_STACKS)
@pytest.mark.parametrize(
    "action", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
)
def test_role_may_pull_every_image_of_the_definition(env: Synthesized, kind: str, action: str) -> None:
    images = {v for k, v in walk(definition(env, kind)) if k in IMAGE_KEYS and isinstance(v, str)}
    repositories = {
        f"arn:aws:ecr:{m['region']}:{m['account']}:repository/{m['repo']}"
        for m in (_IMAGE.match(image) for image in images)
        if m
    }
    statements = execution_role_statements(env, kind)
    assert len(repositories) == len(images) >= 1  # one image today: every job runs sagemaker-xgboost
    assert [r for r in sorted(repositories) if not allows(statements, action, r)] == []


@pytest.mark.parametrize("kind", PIPELINE_STACKS)
def test_role_may_get_an_ecr_token(env: Synthesized, kind: str) -> None:
    assert allows(execution_role_statements(env, kind), "ecr:GetAuthorizationToken", "*")


@pytest.mark.parametrize("kind", PIPELINE_STACKS)
def test_every_role_of_the_definition_is_the_pipeline_role(env: Synthesized, kind: str) -> None:
    roles = {v for k, v in walk(definition(env, kind)) if isinstance(k, str) and k.endswith("RoleArn")}
    assert roles == {ROLE_SENTINEL}


@pytest.mark.parametrize("kind", PIPELINE_STACKS)
def test_pipeline_role_may_pass_itself_to_the_jobs_of_the_definition(env: Synthesized, kind: str) -> None:
    # Given the value CloudFormation substitutes for ${PipelineRoleArn} (every role field, above)
    props = only_resource(env.json(kind), "AWS::SageMaker::Pipeline")["Properties"]
    _, variables = props["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    role = variables["PipelineRoleArn"]

    # Then the role may pass exactly that ARN, to SageMaker
    passes = [s for s in execution_role_statements(env, kind) if "iam:PassRole" in as_list(s["Action"])]
    assert [(s["Resource"], s["Condition"]) for s in passes] == [
        (role, {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
    ]


# --- The monitoring pipeline ---------------------------------------------------------------------
def processing_keys(document: dict[str, Any], bucket: str) -> tuple[set[str], set[str]]:
    """Sample object keys the processing steps read (inputs) and write (outputs) in ``bucket``."""
    root = f"s3://{bucket}/"
    reads, writes = set(), set()
    for step in iter_steps(document):
        arguments = step.get("Arguments", {})
        for item in arguments.get("ProcessingInputs", []):
            reads.add(f"{item['S3Input']['S3Uri'].removeprefix(root).rstrip('/')}/part-00000")
        for item in arguments.get("ProcessingOutputConfig", {}).get("Outputs", []):
            uri = item["S3Output"]["S3Uri"]
            first = uri if isinstance(uri, str) else uri["Std:Join"]["Values"][0]
            suffix = "" if isinstance(uri, str) else f"/{EXECUTION_ID}"
            writes.add(f"{first.removeprefix(root)}{suffix}/part-00000")
    return reads, writes


def test_monitoring_definition_runs_processing_steps_only(env: Synthesized) -> None:
    types = {step["Type"] for step in iter_steps(definition(env, "monitoring"))}
    assert types == {"Processing"}


@pytest.mark.parametrize("action", STEP_PERMISSIONS["Processing"]["processing-job"])
def test_monitoring_role_may_run_the_processing_jobs_of_its_definition(env: Synthesized, action: str) -> None:
    statements = execution_role_statements(env, "monitoring")
    steps = list(iter_steps(definition(env, "monitoring")))
    arns = [arn for step in steps for arn in sample_arns(env, step, "processing-job")]
    assert arns
    assert [arn for arn in arns if not allows(statements, f"sagemaker:{action}", arn)] == []


def test_monitoring_role_may_read_every_input_of_its_definition(env: Synthesized) -> None:
    bucket = env.config.artifact_bucket_name
    reads, _ = processing_keys(definition(env, "monitoring"), bucket)
    statements = execution_role_statements(env, "monitoring")
    assert len(reads) == 4  # baseline, capture, ground truth, the script
    assert [
        k for k in sorted(reads) if not allows(statements, "s3:GetObject", f"arn:aws:s3:::{bucket}/{k}")
    ] == []


def test_monitoring_role_may_not_overwrite_its_inputs(env: Synthesized) -> None:
    bucket = env.config.artifact_bucket_name
    reads, _ = processing_keys(definition(env, "monitoring"), bucket)
    statements = execution_role_statements(env, "monitoring")
    assert [
        k for k in sorted(reads) if allows(statements, "s3:PutObject", f"arn:aws:s3:::{bucket}/{k}")
    ] == []


def test_monitoring_role_may_write_every_output_of_its_definition(env: Synthesized) -> None:
    bucket = env.config.artifact_bucket_name
    _, writes = processing_keys(definition(env, "monitoring"), bucket)
    statements = execution_role_statements(env, "monitoring")
    assert writes
    assert [
        k for k in sorted(writes) if not allows(statements, "s3:PutObject", f"arn:aws:s3:::{bucket}/{k}")
    ] == []


def test_monitoring_role_may_publish_to_the_namespace_its_job_names(env: Synthesized) -> None:
    # Given the namespace drift.py publishes to: <--metrics-namespace>/<--environment>
    (step,) = iter_steps(definition(env, "monitoring"))
    arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    flag = {name: arguments[arguments.index(name) + 1] for name in ("--metrics-namespace", "--environment")}
    namespace = f"{flag['--metrics-namespace']}/{flag['--environment']}"
    # Then the role's one PutMetricData statement is limited to exactly that namespace
    puts = [
        s["Condition"]
        for s in execution_role_statements(env, "monitoring")
        if "cloudwatch:PutMetricData" in as_list(s["Action"])
    ]
    assert puts == [{"StringEquals": {"cloudwatch:namespace": namespace}}]
