"""The execution role of a pipeline that runs processing jobs only (monitoring, ingestion).

The training pipeline's role (:mod:`infra.constructs.pipeline_role`) covers tuning, models,
transforms and the registry; these pipelines need none of that, so they get a role of their own
built from the same statements: their processing jobs, the pipeline's experiment, the objects
they read and write (per bucket and prefix), the project key through S3 and for job volumes, the
images they pull, their logs, and whatever their job calls besides (``extra``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
from constructs import Construct

from infra import policies
from infra.compliance import acknowledge_unscoped_actions, acknowledge_wildcard_resources
from infra.constructs.pipeline_role import (
    EXPERIMENT_ACTIONS,
    NAMED_JOB_ACTIONS,
    NETWORK_UNSCOPED,
    NETWORK_WILDCARD_REASON,
    PIPELINE_JOB_PREFIX,
    network_interface_statements,
)
from pipeline_def.config import PipelineSettings


@dataclass(frozen=True, kw_only=True)
class ObjectAccess:
    """What the jobs do under key prefixes (each ending with ``/``) of one bucket.

    Listing is granted on the prefixes read or deleted: SageMaker lists an ``S3Prefix`` input,
    and a job that checks a copy before deleting lists the prefix of the copy (``list_only``).
    """

    bucket_name: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    list_only: tuple[str, ...] = ()

    def statements(self, scope: Construct) -> list[iam.PolicyStatement]:
        bucket = self.bucket_name
        found = [
            policies.s3_objects(scope, bucket, prefixes, actions)
            for prefixes, actions in (
                (self.read, ["s3:GetObject"]),
                (self.write, ["s3:AbortMultipartUpload", "s3:PutObject"]),
                (self.delete, ["s3:DeleteObject"]),
            )
            if prefixes
        ]
        listed = tuple(dict.fromkeys((*self.read, *self.delete, *self.list_only)))
        return found + (policies.s3_list(scope, bucket, listed) if listed else [])


class ProcessingPipelineRole(Construct):
    """SageMaker Pipelines assumes it to start the pipeline's processing jobs, and passes it to them.

    Jobs of a run are ``pipelines-<execution id>-...``; ``job_name_prefix``, if given, names
    jobs started outside a run (``<prefix>-monitor-``). ``objects_reason`` says why the object wildcards
    are the narrowest possible (keys generated per run or by whoever writes the inputs);
    ``extra`` statements (metrics, Feature Store) must not hold wildcards, and ``extra_unscoped``
    names the actions among them that need ``Resource: "*"``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        pipeline_name: str,
        job_name_prefix: str | None = None,
        key: kms.IKey,
        objects: Sequence[ObjectAccess],
        objects_reason: str,
        image_uris: Sequence[str],
        extra: Sequence[iam.PolicyStatement] = (),
        extra_unscoped: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                policies.SAGEMAKER, conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"SageMaker pipeline {pipeline_name} and its processing jobs",
        )
        arn = policies.sagemaker_arn
        jobs = iam.PolicyStatement(
            actions=list(NAMED_JOB_ACTIONS["processing-job"]),
            resources=[
                arn(stack, "processing-job", f"{prefix}*")
                for prefix in (PIPELINE_JOB_PREFIX, *([job_name_prefix] if job_name_prefix else []))
            ],
        )
        # Pipelines records each execution in an experiment named after the pipeline (the
        # definition's PipelineExperimentConfig), with one trial per execution.
        experiments = iam.PolicyStatement(
            actions=list(EXPERIMENT_ACTIONS),
            resources=[
                arn(stack, "experiment", pipeline_name),
                arn(stack, "experiment-trial", "*"),
                arn(stack, "experiment-trial-component", f"{PIPELINE_JOB_PREFIX}*"),
            ],
        )
        object_statements = [s for access in objects for s in access.statements(self)]
        logs = policies.sagemaker_logs(stack, "/aws/sagemaker/ProcessingJobs")
        statements = [
            jobs,
            experiments,
            policies.pass_role_to_sagemaker(self.role.role_arn),
            *object_statements,
            # Inputs, outputs and the job code are SSE-KMS objects of the project key; the job's
            # volume is encrypted with it too (a grant SageMaker creates for the instance).
            policies.kms_via(self, key.key_arn, ["kms:Decrypt", "kms:GenerateDataKey"], ["s3"]),
            policies.kms_create_grant(key),
            *policies.ecr_pull(self, image_uris),
            logs,
            *extra,
        ]
        unscoped = "ecr:GetAuthorizationToken" + (f" and {extra_unscoped}" if extra_unscoped else "")
        network: list[iam.PolicyStatement] = []
        if settings.subnet_ids:
            network, unscoped_network = network_interface_statements(stack, settings)
            statements += [*network, unscoped_network]
            unscoped += NETWORK_UNSCOPED
        # A separate policy resource: the role passes itself to its jobs (iam:PassRole on its own
        # ARN), which an inline policy of the role cannot reference.
        for statement in statements:
            self.role.add_to_principal_policy(statement)
        acknowledge_wildcard_resources(
            self.role,
            [jobs],
            f"SageMaker Pipelines names the jobs of {pipeline_name} at run time (pipelines-<execution-id>-"
            "<step>-...)"
            + (f"; a job outside the pipeline uses {job_name_prefix}" if job_name_prefix else "")
            + "; limited to those name prefixes.",
        )
        acknowledge_wildcard_resources(
            self.role,
            [experiments],
            "Pipelines records each execution as a trial named after the execution id (unknown before the "
            "run) whose component is the generated pipelines-* job; the experiment itself is named exactly.",
        )
        acknowledge_wildcard_resources(self.role, object_statements, objects_reason)
        acknowledge_wildcard_resources(
            self.role,
            [logs],
            "SageMaker writes the processing jobs' logs to /aws/sagemaker/ProcessingJobs with a stream named "
            "after the generated job; the wildcard covers that log group only.",
        )
        if network:
            acknowledge_wildcard_resources(self.role, network, NETWORK_WILDCARD_REASON)
        acknowledge_unscoped_actions(self.role, unscoped)
