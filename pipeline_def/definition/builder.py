"""The fraud-detection SageMaker pipeline: nine steps, gated by model quality.

::

    FraudDataProcess ──▶ FraudHyperParameterTuning ──▶ FraudEvalBestModel ──▶ FraudCheckEvaluation
     (Athena: latest        (built-in XGBoost,           (evaluation.json,       AUC ≥ MinAuc and
      record per policy,     Bayesian, 5 ranges,          threshold chosen        recall ≥ MinRecall
      join, stratified       validation:auc)              on validation)                │
      split)                                                                  ┌─────────┴──────────┐
                                                                           true                 false
                                                                              │                    │
      FraudCreateModel ─▶ FraudClarifyConfig ─▶ FraudTransform ─▶ FraudBiasExplainability ─▶
      (best job's          (analysis_config:      (batch scores      (bias_shap.py: bias
       artifact)            facet, threshold)      on test)           metrics + TreeSHAP)
        ─▶ FraudRegisterModel (ModelMetrics, PendingManualApproval)
                                                                     FraudModelBelowQualityBar
                                                                     (Fail, names the metrics)

This is the only module that touches the SageMaker SDK (2.x), so a port to SDK 3 stays local.
Building makes no AWS call: scripts are ``s3://`` URIs, every output path is explicit, the role
is a literal ARN and the region is concrete. Deployment-specific values (role, bucket, KMS key)
arrive as :class:`Deployment`; :mod:`pipeline_def.definition.render` builds with placeholders that
CloudFormation's ``Fn::Sub`` fills in.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
# The SDK logs "Not applying SDK defaults from location ..." at import unless a level is set.
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)

import boto3  # noqa: E402
from sagemaker import image_uris  # noqa: E402
from sagemaker.drift_check_baselines import DriftCheckBaselines  # noqa: E402
from sagemaker.estimator import Estimator  # noqa: E402
from sagemaker.inputs import TrainingInput, TransformInput  # noqa: E402,F401
from sagemaker.model import Model  # noqa: E402
from sagemaker.model_metrics import MetricsSource, ModelMetrics  # noqa: E402
from sagemaker.network import NetworkConfig  # noqa: E402
from sagemaker.processing import (  # noqa: E402
    ProcessingInput,
    ProcessingOutput,
    ScriptProcessor,
)
from sagemaker.transformer import Transformer  # noqa: E402
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter  # noqa: E402
from sagemaker.workflow.condition_step import ConditionStep  # noqa: E402
from sagemaker.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo  # noqa: E402
from sagemaker.workflow.execution_variables import ExecutionVariables  # noqa: E402
from sagemaker.workflow.fail_step import FailStep  # noqa: E402
from sagemaker.workflow.functions import Join, JsonGet  # noqa: E402
from sagemaker.workflow.model_step import ModelStep  # noqa: E402
from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString  # noqa: E402
from sagemaker.workflow.pipeline import Pipeline  # noqa: E402
from sagemaker.workflow.pipeline_context import PipelineSession  # noqa: E402
from sagemaker.workflow.properties import PropertyFile  # noqa: E402
from sagemaker.workflow.retry import (  # noqa: E402
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TransformStep, TuningStep  # noqa: E402

from pipeline_def.config import (  # noqa: E402
    IngestionSettings,
    MonitoringSettings,
    PipelineSettings,
)
from pipeline_def.definition.parameters import training_parameters  # noqa: E402
from pipeline_def.names import (  # noqa: E402
    AUC_PATH,
    CUTOFF_PATH,
    DATA_CAPTURE_FOLDER,
    DATASET_PROPERTY_FILE,
    DRIFT_BASELINE_FILE,
    EVALUATION_PROPERTY_FILE,
    GROUND_TRUTH_FOLDER,
    GROUP_VARIABLE,
    INGEST_REPORT_FILE,
    INGEST_STATUS_VALID,
    INGESTION_FOLDER,
    INGESTION_JOB,
    METRICS_NAMESPACE,
    MONITORING_BASELINE_FOLDER,
    MONITORING_REPORTS_FOLDER,
    PREFIX,
    RECALL_PATH,
    REJECTED_FOLDER,
    STEP_BIAS,
    STEP_CLARIFY_CONFIG,
    STEP_CONDITION,
    STEP_CREATE_MODEL,
    STEP_DRIFT_BASELINE,
    STEP_EVAL,
    STEP_FAIL,
    STEP_INGEST_CHECK,
    STEP_INGEST_PUT,
    STEP_INGEST_QUARANTINE,
    STEP_INGEST_REJECTED,
    STEP_INGEST_VALIDATE,
    STEP_MONITOR,
    STEP_PROCESS,
    STEP_REGISTER,
    STEP_TRANSFORM,
    STEP_TUNING,
    THRESHOLD_PATH,
    TUNING_FOLDER,
    XGBOOST_LIBRARY_VERSION,
    XGBOOST_VERSION,
)
from pipeline_def.schema import CLAIMS, CUSTOMERS, ENCODING_VERSION, LABEL, SENSITIVE_FACET  # noqa: E402


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """Values that only exist once the stacks are deployed (or a local run has made them up).

    ``code_uri`` is the S3 prefix holding the job scripts; its key contains their content
    digest so that a script change changes the definition and so redeploys the pipeline.
    """

    role_arn: str
    artifact_bucket: str
    kms_key_arn: str
    #: Encrypts what leaves the training account when packages are promoted (the model artifacts
    #: and the drift baseline): other accounts are granted this key, never the project key.
    artifact_kms_key_arn: str
    code_uri: str


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Parameters:
    """Pipeline parameters: what a scheduled or manual execution may override."""

    processing_instance_type: ParameterString
    processing_instance_count: ParameterInteger
    training_instance_type: ParameterString
    transform_instance_type: ParameterString
    explainability_instance_type: ParameterString
    explainability_max_rows: ParameterInteger
    max_tuning_jobs: ParameterInteger
    max_parallel_tuning_jobs: ParameterInteger
    min_auc: ParameterFloat
    min_recall: ParameterFloat
    data_cutoff_time: ParameterString
    validation_fraction: ParameterFloat
    test_fraction: ParameterFloat
    model_approval_status: ParameterString
    code_version: ParameterString

    @classmethod
    def defaults_from(cls, settings: PipelineSettings, code_version: str) -> Parameters:
        """The SDK's objects for :func:`training_parameters`, one field per parameter."""
        kinds = {"String": ParameterString, "Integer": ParameterInteger, "Float": ParameterFloat}
        fields = {}
        for p in training_parameters(settings, code_version):
            extra = {"enum_values": list(p.enum_values)} if p.enum_values else {}
            fields[_snake(p.name)] = kinds[p.type](p.name, p.default, **extra)
        return cls(**fields)

    def as_list(self) -> list:
        return list(vars(self).values())


def _offline_boto_session(region: str) -> boto3.Session:
    """A session that can never authenticate, so building cannot reach AWS by accident.

    Without explicit credentials, creating the SDK's clients walks botocore's credential chain
    and probes the EC2 instance-metadata endpoint: seconds of timeouts on every build.
    """
    return boto3.Session(
        region_name=region,
        aws_access_key_id="OFFLINE-PIPELINE-BUILD",
        aws_secret_access_key="OFFLINE-PIPELINE-BUILD",  # noqa: S106 - deliberately unusable
    )


@contextmanager
def _as_default_boto_session(session: boto3.Session) -> Iterator[None]:
    """Make ``session`` boto3's default while building.

    ``Estimator.__init__`` creates a TensorBoard helper with a bare ``boto3.client()``, which
    would otherwise walk the credential chain (and the metadata endpoint) on the default session.
    """
    previous = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = session
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = previous


@contextmanager
def quiet_sdk() -> Iterator[None]:
    """Hide the SDK's build-time chatter ("Popping out 'ProcessingJobName'...", "No Wait").

    Those messages describe the SDK's normal pipeline behaviour and bury real output.
    """
    sdk_logger = logging.getLogger("sagemaker")
    level = sdk_logger.level
    sdk_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="Running within a PipelineSession", category=UserWarning
            )
            yield
    finally:
        sdk_logger.setLevel(level)


@functools.lru_cache(maxsize=16)
def _pipeline_session(region: str, default_bucket: str) -> PipelineSession:
    """One offline session per region and bucket for the whole process.

    Creating it is 90% of a build (eight botocore clients and three validations of the SDK's
    config schema); synth and ``definitions`` build nine definitions, the tests hundreds. Builds
    run one after another and each step's arguments are captured when the step is made, so
    reusing the session shares no state between definitions.
    """
    session = PipelineSession(
        boto_session=_offline_boto_session(region),
        default_bucket=default_bucket,
        sagemaker_config={"SchemaVersion": "1.0"},
    )
    # An empty config makes every SDK default lookup return None at once: a user's
    # ~/.config/sagemaker/config.yaml cannot change the definition, and each lookup no
    # longer re-validates the config against its JSON schema (0.2 s each, ~100 of them).
    session.sagemaker_config = {}
    return session


@functools.cache
def _xgboost_image(region: str) -> str:
    """The pinned XGBoost image of ``region``, looked up once per process.

    Each SDK lookup parses botocore's endpoint list again: a build took 30 ms with it and takes
    16 ms without, in a process that renders several definitions (synth, the tests) for the same
    few regions.
    """
    return image_uris.retrieve("xgboost", region, version=XGBOOST_VERSION)


class _Builder:
    """Holds what every step shares (session, role, encryption, network) while steps are made."""

    def __init__(self, settings: PipelineSettings, deployment: Deployment, code_version: str) -> None:
        self.settings = settings
        self.deployment = deployment
        self.params = Parameters.defaults_from(settings, code_version)
        self.session = _pipeline_session(settings.region, deployment.artifact_bucket)
        self.xgboost_image = _xgboost_image(settings.region)
        self.network = (
            NetworkConfig(
                subnets=list(settings.subnet_ids),
                security_group_ids=list(settings.security_group_ids),
                encrypt_inter_container_traffic=True,
            )
            if settings.subnet_ids
            else NetworkConfig(encrypt_inter_container_traffic=True)
        )
        # Model steps are API calls, not jobs: SageMaker allows only step-level retries there.
        self.api_retry = [
            StepRetryPolicy(
                exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
                interval_seconds=10,
                backoff_rate=2.0,
                max_attempts=5,
            ),
        ]
        self.job_retry = [
            *self.api_retry,
            SageMakerJobStepRetryPolicy(
                exception_types=[
                    SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                    SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                    SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                ],
                interval_seconds=60,
                backoff_rate=2.0,
                max_attempts=4,
            ),
        ]
        self.cache = CacheConfig(enable_caching=True, expire_after="P30D")

    def s3(self, *parts: str) -> str:
        return "/".join(("s3:/", self.deployment.artifact_bucket, PREFIX, *parts))

    def run_s3(self, *parts: str) -> Join:
        """An S3 URI scoped to the current execution, so concurrent runs never share outputs."""
        return Join(on="/", values=[self.s3("runs"), ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])

    def code(self, script: str) -> str:
        return f"{self.deployment.code_uri.rstrip('/')}/{script}"

    def script_processor(
        self, job: str, instance_type=None, output_key: str | None = None
    ) -> ScriptProcessor:
        return ScriptProcessor(
            image_uri=self.xgboost_image,
            command=["python3"],
            role=self.deployment.role_arn,
            instance_type=instance_type or self.params.processing_instance_type,
            instance_count=self.params.processing_instance_count if instance_type is None else 1,
            base_job_name=f"{self.settings.prefix}-{job}",
            volume_kms_key=self.deployment.kms_key_arn,
            output_kms_key=output_key or self.deployment.kms_key_arn,
            network_config=self.network,
            sagemaker_session=self.session,
            max_runtime_in_seconds=3600,
        )


def _data_process_step(b: _Builder, dataset: PropertyFile) -> ProcessingStep:
    out = "/opt/ml/processing/output"
    outputs = [
        ProcessingOutput(output_name=name, source=f"{out}/{name}", destination=b.run_s3("dataset", name))
        for name in ("train", "validation", "test", "clarify", "metadata")
    ]
    args = b.script_processor("data-process").run(
        code=b.code("preprocess.py"),
        outputs=outputs,
        arguments=[
            "--region",
            b.settings.region,
            "--workgroup",
            b.settings.athena_workgroup,
            "--database",
            b.settings.glue_database,
            "--claims-table",
            b.settings.offline_table(CLAIMS.name),
            "--customers-table",
            b.settings.offline_table(CUSTOMERS.name),
            "--cutoff-time",
            b.params.data_cutoff_time,
            "--as-of",
            ExecutionVariables.START_DATETIME,
            "--validation-fraction",
            b.params.validation_fraction.to_string(),
            "--test-fraction",
            b.params.test_fraction.to_string(),
            "--seed",
            "42",
            "--min-test-positives",
            str(b.settings.min_test_positives),
            "--train-parts",
            str(b.settings.training_instance_count),
            "--test-parts",
            str(b.settings.transform_instance_count),
            "--output-dir",
            out,
        ],
    )
    return ProcessingStep(
        name=STEP_PROCESS,
        step_args=args,
        retry_policies=b.job_retry,
        property_files=[dataset],
        description="Latest feature record per policy from both groups, joined and split 70/15/15.",
    )


def _output_uri(step: ProcessingStep, name: str):
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


def _tuning_step(b: _Builder, data: ProcessingStep) -> TuningStep:
    estimator = Estimator(
        image_uri=b.xgboost_image,
        role=b.deployment.role_arn,
        instance_count=b.settings.training_instance_count,
        instance_type=b.params.training_instance_type,
        output_path=b.s3(TUNING_FOLDER),
        base_job_name=f"{b.settings.prefix}-train",
        volume_kms_key=b.deployment.kms_key_arn,
        output_kms_key=b.deployment.artifact_kms_key_arn,
        use_spot_instances=b.settings.use_spot_training,
        max_run=3600,
        # Spot without checkpoints on purpose: a shared checkpoint prefix would let one tuning
        # candidate resume another's model; these jobs run minutes, so a restart costs little.
        max_wait=7200 if b.settings.use_spot_training else None,
        subnets=list(b.settings.subnet_ids) or None,
        security_group_ids=list(b.settings.security_group_ids) or None,
        encrypt_inter_container_traffic=True,
        enable_network_isolation=True,
        sagemaker_session=b.session,
        hyperparameters={
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "num_round": 300,
            "early_stopping_rounds": 20,
            "tree_method": "hist",
        },
    )
    tuner = HyperparameterTuner(
        estimator=estimator,
        objective_metric_name="validation:auc",
        objective_type="Maximize",
        strategy="Bayesian",
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.01, 0.3, scaling_type="Logarithmic"),
            "max_depth": IntegerParameter(3, 8),
            "min_child_weight": ContinuousParameter(1, 10),
            "subsample": ContinuousParameter(0.5, 1.0),
            "alpha": ContinuousParameter(0.0, 2.0),
        },
        max_jobs=b.params.max_tuning_jobs,
        max_parallel_jobs=b.params.max_parallel_tuning_jobs,
        early_stopping_type="Auto",
        base_tuning_job_name="fraud-hpo",
    )
    # On several instances the built-in algorithm trains distributed (its collective over the
    # hosts): each instance reads its own part of the train split, and all of the validation split.
    sharded = "ShardedByS3Key" if b.settings.training_instance_count > 1 else "FullyReplicated"
    args = tuner.fit(
        inputs={
            "train": TrainingInput(
                s3_data=_output_uri(data, "train"), content_type="text/csv", distribution=sharded
            ),
            "validation": TrainingInput(s3_data=_output_uri(data, "validation"), content_type="text/csv"),
        }
    )
    return TuningStep(name=STEP_TUNING, step_args=args, retry_policies=b.job_retry)


def _best_model_uri(b: _Builder, tuning: TuningStep) -> Join:
    return tuning.get_top_model_s3_uri(
        top_k=0, s3_bucket=b.deployment.artifact_bucket, prefix=f"{PREFIX}/{TUNING_FOLDER}"
    )


def _evaluation_step(b: _Builder, data: ProcessingStep, tuning: TuningStep, report: PropertyFile):
    base = "/opt/ml/processing"
    args = b.script_processor("evaluate").run(
        code=b.code("evaluate.py"),
        inputs=[
            ProcessingInput(
                source=_best_model_uri(b, tuning), destination=f"{base}/model", input_name="model"
            ),
            ProcessingInput(
                source=_output_uri(data, "validation"),
                destination=f"{base}/validation",
                input_name="validation",
            ),
            ProcessingInput(source=_output_uri(data, "test"), destination=f"{base}/test", input_name="test"),
        ],
        outputs=[
            ProcessingOutput(
                output_name="evaluation", source=f"{base}/evaluation", destination=b.run_s3("evaluation")
            ),
        ],
        arguments=[
            "--model-dir",
            f"{base}/model",
            "--validation-dir",
            f"{base}/validation",
            "--test-dir",
            f"{base}/test",
            "--output-dir",
            f"{base}/evaluation",
        ],
    )
    return ProcessingStep(
        name=STEP_EVAL,
        step_args=args,
        property_files=[report],
        retry_policies=b.job_retry,
        cache_config=b.cache,
    )


def _model(b: _Builder, tuning: TuningStep) -> Model:
    return Model(
        image_uri=b.xgboost_image,
        model_data=_best_model_uri(b, tuning),
        role=b.deployment.role_arn,
        sagemaker_session=b.session,
        enable_network_isolation=True,
        vpc_config=(
            {"Subnets": list(b.settings.subnet_ids), "SecurityGroupIds": list(b.settings.security_group_ids)}
            if b.settings.subnet_ids
            else None
        ),
    )


def _clarify_config_step(b: _Builder, data, evaluation, create_model: ModelStep, transform) -> ProcessingStep:
    base = "/opt/ml/processing"
    args = b.script_processor("clarify-config").run(
        code=b.code("clarify_config.py"),
        inputs=[
            ProcessingInput(
                source=_output_uri(data, "clarify"), destination=f"{base}/input/dataset", input_name="dataset"
            ),
            ProcessingInput(
                source=_output_uri(data, "train"), destination=f"{base}/input/train", input_name="train"
            ),
            ProcessingInput(
                source=_output_uri(evaluation, "evaluation"),
                destination=f"{base}/input/evaluation",
                input_name="evaluation",
            ),
        ],
        outputs=[
            ProcessingOutput(
                output_name="config", source=f"{base}/output", destination=b.run_s3("clarify-config")
            )
        ],
        arguments=[
            "--model-name",
            create_model.properties.ModelName,
            "--instance-type",
            b.params.explainability_instance_type,
            "--dataset-dir",
            f"{base}/input/dataset",
            "--train-dir",
            f"{base}/input/train",
            "--evaluation-dir",
            f"{base}/input/evaluation",
            "--output-dir",
            f"{base}/output",
            "--label",
            LABEL,
            "--favorable-label",
            "0",
            "--facet",
            SENSITIVE_FACET,
            "--facet-value",
            "1",
            "--group-variable",
            GROUP_VARIABLE,
            "--predicted-label-dataset-uri",
            transform.properties.TransformOutput.S3OutputPath,
        ],
    )
    return ProcessingStep(
        name=STEP_CLARIFY_CONFIG, step_args=args, retry_policies=b.job_retry, cache_config=b.cache
    )


def _transform_step(b: _Builder, data: ProcessingStep, create_model: ModelStep) -> TransformStep:
    transformer = Transformer(
        model_name=create_model.properties.ModelName,
        instance_type=b.params.transform_instance_type,
        instance_count=b.settings.transform_instance_count,
        output_path=b.run_s3("transform"),
        accept="text/csv",
        assemble_with="Line",
        strategy="MultiRecord",
        max_payload=6,
        output_kms_key=b.deployment.kms_key_arn,
        volume_kms_key=b.deployment.kms_key_arn,
        base_transform_job_name=f"{b.settings.prefix}-transform",
        sagemaker_session=b.session,
    )
    args = transformer.transform(
        data=_output_uri(data, "test"),
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
    )
    return TransformStep(name=STEP_TRANSFORM, step_args=args, retry_policies=b.job_retry)


def _bias_step(b: _Builder, data, tuning, config: ProcessingStep, transform: TransformStep) -> ProcessingStep:
    """Step 7: our bias + TreeSHAP script in the XGBoost image (SageMaker Clarify is closed to new
    accounts). One instance: bias metrics compare the facets over every test row in one place."""
    base = "/opt/ml/processing"
    # input name -> (its S3 source, the script's argument for the folder it lands in)
    inputs = {
        "config": (_output_uri(config, "config"), "--config-dir"),
        "data": (_output_uri(data, "clarify"), "--dataset-dir"),
        "predictions": (transform.properties.TransformOutput.S3OutputPath, "--predictions-dir"),
        "model": (_best_model_uri(b, tuning), "--model-dir"),
    }
    args = b.script_processor("bias-explainability", b.params.explainability_instance_type).run(
        code=b.code("bias_shap.py"),
        inputs=[
            ProcessingInput(source=source, destination=f"{base}/input/{name}", input_name=name)
            for name, (source, _) in inputs.items()
        ],
        outputs=[
            ProcessingOutput(
                output_name="analysis_result",
                source=f"{base}/output",
                destination=b.run_s3("bias-explainability"),
            )
        ],
        arguments=[
            *(part for name, (_, flag) in inputs.items() for part in (flag, f"{base}/input/{name}")),
            "--output-dir",
            f"{base}/output",
            "--max-shap-rows",
            Join(on="", values=[b.params.explainability_max_rows]),  # arguments are strings
            "--seed",
            "0",
        ],
    )
    return ProcessingStep(name=STEP_BIAS, step_args=args, retry_policies=b.job_retry, cache_config=b.cache)


def _drift_baseline_step(b: _Builder, data, report: PropertyFile, transform: TransformStep) -> ProcessingStep:
    """The monitor's reference: the held-out test split scored by this model (drift.py baseline).

    Test rows, not training rows: scores of rows the model was fitted on are overconfident, and a
    baseline built from them would report prediction drift on the first day of every deployment.
    The split is stratified from the same data, so its feature distributions are the training
    data's. Registered with the package (DriftCheckBaselines), so the deploy function can hand the
    monitor the baseline of the model actually serving.
    """
    base = "/opt/ml/processing"
    threshold = JsonGet(step_name=STEP_EVAL, property_file=report, json_path=THRESHOLD_PATH)
    inputs = {
        "data": _output_uri(data, "test"),
        "metadata": _output_uri(data, "metadata"),
        "predictions": transform.properties.TransformOutput.S3OutputPath,
    }
    processor = b.script_processor(
        "drift-baseline", b.params.processing_instance_type, output_key=b.deployment.artifact_kms_key_arn
    )
    args = processor.run(
        code=b.code("drift.py"),
        inputs=[
            ProcessingInput(source=source, destination=f"{base}/input/{name}", input_name=name)
            for name, source in inputs.items()
        ],
        outputs=[
            ProcessingOutput(
                output_name="baseline", source=f"{base}/output", destination=b.run_s3("drift-baseline")
            )
        ],
        arguments=[
            "baseline",
            "--train-dir",
            f"{base}/input/data",
            "--headers-file",
            f"{base}/input/metadata/dataset.json",
            # The transform names each output after its input (test.csv -> test.csv.out, one per
            # part when the test split is written for several instances): the folder, in order.
            "--scores-file",
            f"{base}/input/predictions",
            "--threshold",
            Join(on="", values=[threshold]),  # arguments are strings
            "--facet",
            SENSITIVE_FACET,
            "--facet-value",
            "1",
            "--favourable-label",
            "0",
            "--output-dir",
            f"{base}/output",
        ],
    )
    return ProcessingStep(
        name=STEP_DRIFT_BASELINE, step_args=args, retry_policies=b.job_retry, cache_config=b.cache
    )


def _register_step(b: _Builder, tuning, evaluation, bias, baseline: ProcessingStep, dataset) -> ModelStep:
    analysis = Join(on="/", values=[_output_uri(bias, "analysis_result"), "analysis.json"])
    metrics = ModelMetrics(
        model_statistics=MetricsSource(
            content_type="application/json",
            s3_uri=Join(on="/", values=[_output_uri(evaluation, "evaluation"), "evaluation.json"]),
        ),
        bias=MetricsSource(content_type="application/json", s3_uri=analysis),
        explainability=MetricsSource(content_type="application/json", s3_uri=analysis),
    )
    baselines = DriftCheckBaselines(
        model_data_statistics=MetricsSource(
            content_type="application/json",
            s3_uri=Join(on="/", values=[_output_uri(baseline, "baseline"), DRIFT_BASELINE_FILE]),
        )
    )
    args = _model(b, tuning).register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge"],
        transform_instances=["ml.m5.xlarge", "ml.m5.2xlarge"],
        model_package_group_name=b.settings.model_package_group_name,
        approval_status=b.params.model_approval_status,
        model_metrics=metrics,
        drift_check_baselines=baselines,
        description="XGBoost auto-insurance claim fraud classifier (score = probability of fraud).",
        domain="MACHINE_LEARNING",
        task="CLASSIFICATION",
        framework="XGBOOST",
        framework_version=XGBOOST_VERSION.split("-")[0],
        customer_metadata_properties={
            "feature_groups": ",".join(b.settings.feature_group_names.values()),
            # The time 'latest' resolved to in this execution, read back from the data step.
            "data_cutoff_time": JsonGet(step_name=STEP_PROCESS, property_file=dataset, json_path=CUTOFF_PATH),
            "pipeline_execution_id": ExecutionVariables.PIPELINE_EXECUTION_ID,
            "code_version": b.params.code_version,
            # What trained the model and computed its evidence: the image tag and its xgboost.
            "xgboost_image_tag": XGBOOST_VERSION,
            "xgboost_version": XGBOOST_LIBRARY_VERSION,
            # How raw records became the features this model was trained on.
            "encoding_version": ENCODING_VERSION,
        },
    )
    return ModelStep(name=STEP_REGISTER, step_args=args, retry_policies=b.api_retry)


def _condition_step(b: _Builder, evaluation, report: PropertyFile, if_steps: list) -> ConditionStep:
    auc = JsonGet(step_name=evaluation.name, property_file=report, json_path=AUC_PATH)
    recall = JsonGet(step_name=evaluation.name, property_file=report, json_path=RECALL_PATH)
    fail = FailStep(
        name=STEP_FAIL,
        error_message=Join(
            on=" ",
            values=[
                "Model below the quality bar: AUC",
                auc,
                "(MinAuc",
                b.params.min_auc,
                "), recall",
                recall,
                "(MinRecall",
                b.params.min_recall,
                "). Nothing was registered.",
            ],
        ),
    )
    return ConditionStep(
        name=STEP_CONDITION,
        conditions=[
            ConditionGreaterThanOrEqualTo(left=auc, right=b.params.min_auc),
            ConditionGreaterThanOrEqualTo(left=recall, right=b.params.min_recall),
        ],
        if_steps=if_steps,
        else_steps=[fail],
    )


def get_pipeline(settings: PipelineSettings, deployment: Deployment, *, code_version: str) -> Pipeline:
    """Build the pipeline for one environment; no AWS call is made."""
    with quiet_sdk():
        b = _Builder(settings, deployment, code_version)
        with _as_default_boto_session(b.session.boto_session):
            return _assemble(b)


def _assemble(b: _Builder) -> Pipeline:
    report = PropertyFile(name=EVALUATION_PROPERTY_FILE, output_name="evaluation", path="evaluation.json")
    dataset = PropertyFile(name=DATASET_PROPERTY_FILE, output_name="metadata", path="dataset.json")
    data = _data_process_step(b, dataset)
    tuning = _tuning_step(b, data)
    evaluation = _evaluation_step(b, data, tuning, report)
    create_model = ModelStep(
        name=STEP_CREATE_MODEL,
        step_args=_model(b, tuning).create(instance_type=b.params.transform_instance_type),
        retry_policies=b.api_retry,
    )
    transform = _transform_step(b, data, create_model)
    config = _clarify_config_step(b, data, evaluation, create_model, transform)
    bias = _bias_step(b, data, tuning, config, transform)
    baseline = _drift_baseline_step(b, data, report, transform)
    register = _register_step(b, tuning, evaluation, bias, baseline, dataset)
    condition = _condition_step(
        b, evaluation, report, [create_model, config, transform, bias, baseline, register]
    )
    return Pipeline(
        name=b.settings.pipeline_name,
        parameters=b.params.as_list(),
        steps=[data, tuning, evaluation, condition],
        sagemaker_session=b.session,
    )


# ---------------------------------------------------------------------------------------------
# The monitoring pipeline: drift.py check on the endpoint's capture, on its own schedule.


def _monitor_step(
    b: _Builder, monitoring: MonitoringSettings, instance_type: ParameterString
) -> ProcessingStep:
    """Capture, late labels and the deployed package's baseline in; monitor.json and metrics out.

    The three S3 prefixes always hold an object (the stack seeds a README in each), because a
    processing input on an empty prefix fails the job: before the first deployment the check
    ends cleanly with "no model deployed", before the first request with "no traffic".
    """
    base = "/opt/ml/processing"
    # Trailing slashes: an S3 prefix "x/endpoint" would also match "x/endpoint-v2".
    inputs = {
        "baseline": (b.s3(MONITORING_BASELINE_FOLDER, ""), "--baseline"),
        "capture": (b.s3(DATA_CAPTURE_FOLDER, b.settings.endpoint_name, ""), "--capture-dir"),
        "ground-truth": (b.s3(GROUND_TRUTH_FOLDER, ""), "--ground-truth-dir"),
    }
    args = b.script_processor("monitor", instance_type).run(
        code=b.code("drift.py"),
        inputs=[
            ProcessingInput(source=source, destination=f"{base}/input/{name}", input_name=name)
            for name, (source, _) in inputs.items()
        ],
        outputs=[
            ProcessingOutput(
                output_name="report",
                source=f"{base}/output",
                destination=Join(
                    on="/",
                    values=[b.s3(MONITORING_REPORTS_FOLDER), ExecutionVariables.PIPELINE_EXECUTION_ID],
                ),
            )
        ],
        arguments=[
            "check",
            *(part for name, (_, flag) in inputs.items() for part in (flag, f"{base}/input/{name}")),
            "--output-dir",
            f"{base}/output",
            *monitoring.thresholds.arguments(),
            "--publish",
            "--metrics-namespace",
            METRICS_NAMESPACE,
            "--environment",
            b.settings.env_name,
            "--region",
            b.settings.region,
        ],
    )
    return ProcessingStep(
        name=STEP_MONITOR,
        step_args=args,
        retry_policies=b.job_retry,
        description="Data quality, feature and prediction drift, bias drift and live quality of the model.",
    )


def get_monitoring_pipeline(
    settings: PipelineSettings, monitoring: MonitoringSettings, deployment: Deployment, *, code_version: str
) -> Pipeline:
    """Build one environment's monitoring pipeline; no AWS call is made."""
    with quiet_sdk():
        b = _Builder(settings, deployment, code_version)
        with _as_default_boto_session(b.session.boto_session):
            instance_type = ParameterString("MonitoringInstanceType", monitoring.instance_type)
            return Pipeline(
                name=settings.monitoring_pipeline_name,
                parameters=[instance_type, b.params.code_version],
                steps=[_monitor_step(b, monitoring, instance_type)],
                sagemaker_session=b.session,
            )


# ---------------------------------------------------------------------------------------------
# The ingestion pipeline: a file landed under incoming/<group>/ into its feature group.

_PROCESSING = "/opt/ml/processing"
_PACKAGE_DIR = f"{_PROCESSING}/input/package"


@dataclass(frozen=True)
class _IngestionParameters:
    """What the S3 event's rule passes (bucket, key, time, group) and what an operator may size."""

    input_bucket: ParameterString
    input_key: ParameterString
    landed_at: ParameterString
    feature_group: ParameterString
    instance_type: ParameterString
    instance_count: ParameterInteger
    code_version: ParameterString

    @classmethod
    def defaults_from(cls, ingestion: IngestionSettings, code_version: str) -> _IngestionParameters:
        return cls(
            input_bucket=ParameterString("InputBucket"),
            input_key=ParameterString("InputKey"),
            landed_at=ParameterString("LandedAt", "now"),
            feature_group=ParameterString("FeatureGroup", enum_values=[CLAIMS.name, CUSTOMERS.name]),
            instance_type=ParameterString("IngestInstanceType", ingestion.instance_type),
            instance_count=ParameterInteger("IngestInstanceCount", ingestion.instance_count),
            code_version=ParameterString("CodeVersion", code_version),
        )


def _package_processor(b: _Builder, p: _IngestionParameters, job: str, instance_count) -> ScriptProcessor:
    """The XGBoost image with this project's data package on PYTHONPATH (the same code as the CLI)."""
    processor = b.script_processor(job, p.instance_type)
    processor.instance_count = instance_count
    processor.env = {"PYTHONPATH": _PACKAGE_DIR}
    return processor


def _package_input(package_uri: str) -> ProcessingInput:
    return ProcessingInput(source=package_uri, destination=_PACKAGE_DIR, input_name="package")


def _ingestion_uri(b: _Builder, *parts: str) -> Join:
    return Join(on="/", values=[b.s3(INGESTION_FOLDER), ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])


def _source_uri(p: _IngestionParameters) -> Join:
    return Join(on="/", values=["s3:/", p.input_bucket, p.input_key])


def _rejected_uri(p: _IngestionParameters) -> Join:
    return Join(
        on="/",
        values=[
            "s3:/",
            p.input_bucket,
            REJECTED_FOLDER,
            p.feature_group,
            ExecutionVariables.PIPELINE_EXECUTION_ID,
        ],
    )


def _ingest_validate_step(
    b: _Builder, p: _IngestionParameters, package_uri: str, report: PropertyFile
) -> ProcessingStep:
    outputs = {
        "report": _ingestion_uri(b, "report"),
        "parts": _ingestion_uri(b, "parts"),
        "rejected": _rejected_uri(p),
    }
    args = _package_processor(b, p, "ingest-validate", 1).run(
        code=f"{package_uri.rstrip('/')}/{INGESTION_JOB}",
        inputs=[
            ProcessingInput(
                source=_source_uri(p), destination=f"{_PROCESSING}/input/landed", input_name="landed"
            ),
            _package_input(package_uri),
        ],
        outputs=[
            ProcessingOutput(output_name=name, source=f"{_PROCESSING}/output/{name}", destination=uri)
            for name, uri in outputs.items()
        ],
        arguments=[
            "validate",
            "--source-uri",
            _source_uri(p),
            "--group",
            p.feature_group,
            "--input",
            f"{_PROCESSING}/input/landed",
            "--landed-at",
            p.landed_at,
            "--parts",
            p.instance_count.to_string(),
            *(part for name in outputs for part in (f"--{name}-out", f"{_PROCESSING}/output/{name}")),
        ],
    )
    return ProcessingStep(
        name=STEP_INGEST_VALIDATE,
        step_args=args,
        property_files=[report],
        retry_policies=b.job_retry,
        description="Every row checked, raw files encoded; valid: part files, invalid: the report.",
    )


def _ingest_put_step(b: _Builder, p: _IngestionParameters, package_uri: str, validate: ProcessingStep):
    args = _package_processor(b, p, "ingest-put", p.instance_count).run(
        code=f"{package_uri.rstrip('/')}/{INGESTION_JOB}",
        inputs=[
            ProcessingInput(
                source=_output_uri(validate, "parts"),
                destination=f"{_PROCESSING}/input/parts",
                input_name="parts",
                s3_data_distribution_type="ShardedByS3Key",
            ),
            _package_input(package_uri),
        ],
        outputs=[
            ProcessingOutput(
                output_name="put", source=f"{_PROCESSING}/output/put", destination=_ingestion_uri(b, "put")
            )
        ],
        arguments=[
            "put",
            "--group",
            p.feature_group,
            "--feature-group-name",
            Join(on="-", values=[b.settings.prefix, p.feature_group]),
            "--region",
            b.settings.region,
            "--workers",
            str(b.ingestion.workers),
            "--parts",
            f"{_PROCESSING}/input/parts",
            "--out",
            f"{_PROCESSING}/output/put",
            "--host-config",
            "/opt/ml/config/resourceconfig.json",
        ],
    )
    return ProcessingStep(
        name=STEP_INGEST_PUT,
        step_args=args,
        retry_policies=b.job_retry,
        description="PutRecord for every row, each instance its share of the parts (ShardedByS3Key).",
    )


def _ingest_reject_steps(b: _Builder, p: _IngestionParameters, package_uri: str, report: PropertyFile):
    args = _package_processor(b, p, "ingest-quarantine", 1).run(
        code=f"{package_uri.rstrip('/')}/{INGESTION_JOB}",
        inputs=[_package_input(package_uri)],
        arguments=["quarantine", "--source-uri", _source_uri(p), "--rejected-prefix", _rejected_uri(p)],
    )
    quarantine = ProcessingStep(
        name=STEP_INGEST_QUARANTINE,
        step_args=args,
        retry_policies=b.job_retry,
        description="Deletes the landed file once its copy and report are under rejected/.",
    )
    errors = JsonGet(step_name=STEP_INGEST_VALIDATE, property_file=report, json_path="error_count")
    fail = FailStep(
        name=STEP_INGEST_REJECTED,
        error_message=Join(
            on=" ",
            values=[
                "Rejected:",
                _source_uri(p),
                "has",
                errors,
                "errors; nothing was ingested. The file and its report (file:line:column) are in",
                _rejected_uri(p),
            ],
        ),
        depends_on=[quarantine],
    )
    return [quarantine, fail]


def get_ingestion_pipeline(
    settings: PipelineSettings,
    ingestion: IngestionSettings,
    deployment: Deployment,
    *,
    package_uri: str,
    code_version: str,
) -> Pipeline:
    """Build one environment's ingestion pipeline; no AWS call is made.

    ``package_uri`` is the S3 prefix holding the job's package (``pipeline_def`` data code).
    """
    with quiet_sdk():
        b = _Builder(settings, deployment, code_version)
        b.ingestion = ingestion
        with _as_default_boto_session(b.session.boto_session):
            p = _IngestionParameters.defaults_from(ingestion, code_version)
            report = PropertyFile(name="IngestReport", output_name="report", path=INGEST_REPORT_FILE)
            validate = _ingest_validate_step(b, p, package_uri, report)
            check = ConditionStep(
                name=STEP_INGEST_CHECK,
                conditions=[
                    ConditionEquals(
                        left=JsonGet(step_name=validate.name, property_file=report, json_path="status"),
                        right=INGEST_STATUS_VALID,
                    )
                ],
                if_steps=[_ingest_put_step(b, p, package_uri, validate)],
                else_steps=_ingest_reject_steps(b, p, package_uri, report),
            )
            return Pipeline(
                name=settings.ingestion_pipeline_name,
                parameters=list(vars(p).values()),
                steps=[validate, check],
                sagemaker_session=b.session,
            )
