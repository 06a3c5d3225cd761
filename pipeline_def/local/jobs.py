"""Local stand-ins for the SageMaker jobs a step starts, driven by the step's own request.

Each runner receives the step's resolved ``Arguments`` (a CreateProcessingJob,
CreateHyperParameterTuningJob, CreateModel or CreateTransformJob request) and returns the
properties SageMaker's Describe* call would show afterwards, which later steps ``Get``.
Only the container layer is replaced: every processing step runs its job script (the file the
request's entrypoint names) in its own process, a fork of the job host
(:mod:`pipeline_def.local.job_host`), with container paths mapped to folders; training
and batch transform are xgboost-cpu (the image's 3.0 release) with the container's conventions.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from pipeline_def.local.distributed import Cluster, read_csv_files
from pipeline_def.local.expressions import ExecutionError
from pipeline_def.local.job_host import PROJECT_ROOT, JobHost
from pipeline_def.local.model_artifact import load_booster, predict, write_model_tar
from pipeline_def.local.storage import LocalS3

CONTAINER_ROOT = "/opt/ml/"


@dataclass
class LocalSageMaker:
    """The pieces of SageMaker the jobs touch: S3, created models, and where jobs keep files."""

    s3: LocalS3
    jobs_dir: Path
    glue_catalog: Path | None = None
    #: Where PutRecord calls of a job land (one JSON Lines file per feature group); None: no sink.
    records_dir: Path | None = None
    models: dict[str, dict] = field(default_factory=dict)
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)


#: How the container writes a score (float32 probabilities: 9 significant digits round-trip).
SCORE_FORMAT = "%.9g"


def _job_name(prefix: str, step: str, execution_id: str) -> str:
    digest = hashlib.sha256(f"{execution_id}/{step}".encode()).hexdigest()[:12]
    return f"{prefix}-{digest}"[:63]


# --- processing ---------------------------------------------------------------------------------


class _Container:
    """A job's file system: container paths under /opt/ml map to a folder of the job."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()  # the job starts in another folder (PROJECT_ROOT)

    def path(self, container_path: str) -> Path:
        return self.root / container_path.removeprefix(CONTAINER_ROOT)

    def map_argument(self, value: str) -> str:
        return str(self.path(value)) if value.startswith(CONTAINER_ROOT) else value


def _stage_inputs(sm: LocalSageMaker, request: dict, container: _Container, host: int, hosts: int) -> None:
    """Each input as SageMaker copies it: all of it, or with ShardedByS3Key this host's objects."""
    for channel in request.get("ProcessingInputs", []):
        s3_input = channel["S3Input"]
        destination = container.path(s3_input["LocalPath"])
        if s3_input.get("S3DataDistributionType") != "ShardedByS3Key":
            sm.s3.download(s3_input["S3Uri"], destination)
            continue
        destination.mkdir(parents=True, exist_ok=True)
        prefix = sm.s3.path(s3_input["S3Uri"])
        for index, source in enumerate(sm.s3.files(s3_input["S3Uri"])):
            if index % hosts == host:
                target = destination / source.relative_to(prefix)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


def _write_resource_config(container: _Container, host: int, hosts: int) -> None:
    """/opt/ml/config/resourceconfig.json, as SageMaker gives every instance of a job."""
    names = [f"algo-{index + 1}" for index in range(hosts)]
    config = container.path("/opt/ml/config/resourceconfig.json")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"current_host": names[host], "hosts": names}), encoding="utf-8")


def _publish_outputs(sm: LocalSageMaker, request: dict, container: _Container) -> list[dict]:
    outputs = request.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for output in outputs:
        s3_output = output["S3Output"]
        sm.s3.upload(container.path(s3_output["LocalPath"]), s3_output["S3Uri"])
    return outputs


def _run_script(sm: LocalSageMaker, step: str, request: dict, container: _Container) -> None:
    app = request["AppSpecification"]
    entrypoint = app.get("ContainerEntrypoint") or []
    if len(entrypoint) != 2 or entrypoint[0] not in ("python3", "python"):
        raise ExecutionError(
            f"step {step}: the local run runs 'python3 <script>' entrypoints, got {entrypoint}"
        )
    arguments = ["--s3-root", str(sm.s3.root.resolve())]
    if sm.glue_catalog is not None:
        arguments += ["--glue-catalog", str(Path(sm.glue_catalog).resolve())]
    if sm.records_dir is not None:
        arguments += ["--records-dir", str(sm.records_dir.resolve())]
    arguments.append(container.map_argument(entrypoint[1]))
    arguments += [container.map_argument(str(a)) for a in app.get("ContainerArguments", [])]
    variables = request.get("Environment", {})
    env = {**os.environ, **{name: container.map_argument(value) for name, value in variables.items()}}
    log = container.root / "job.log"
    returncode = JobHost.shared().run(arguments, env, PROJECT_ROOT, log)
    if returncode != 0:
        tail = "".join(log.read_text(encoding="utf-8").splitlines(keepends=True)[-15:])
        raise ExecutionError(f"step {step}: job script exited with {returncode}; last lines:\n{tail}")


def _model_artifact(sm: LocalSageMaker, step: str, model_name: str) -> Path:
    model = sm.models.get(model_name)
    if model is None:
        raise ExecutionError(f"step {step}: no model named {model_name!r} (known: {', '.join(sm.models)})")
    return sm.s3.path(model["PrimaryContainer"]["ModelDataUrl"])


def run_processing(sm: LocalSageMaker, step: str, request: dict, execution_id: str) -> dict:
    """One processing job; with InstanceCount N, N containers (algo-1..N) run one after another."""
    image = request["AppSpecification"]["ImageUri"]
    if "sagemaker-xgboost" not in image:
        raise ExecutionError(f"step {step}: the local run cannot emulate image {image}")
    hosts = int(request.get("ProcessingResources", {}).get("ClusterConfig", {}).get("InstanceCount", 1))
    outputs = []
    for host in range(hosts):
        container = _Container(sm.jobs_dir / step / (f"algo-{host + 1}" if hosts > 1 else ""))
        container.root.mkdir(parents=True, exist_ok=True)
        _stage_inputs(sm, request, container, host, hosts)
        _write_resource_config(container, host, hosts)
        for output in request.get("ProcessingOutputConfig", {}).get("Outputs", []):
            container.path(output["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
        _run_script(sm, step, request, container)
        outputs = _publish_outputs(sm, request, container)
    return {
        "ProcessingJobName": _job_name("pipelines", step, execution_id),
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {"Outputs": outputs},
    }


# --- training and tuning ------------------------------------------------------------------------

#: Hyperparameters the built-in container consumes itself instead of passing to xgboost.train.
_CONTAINER_HYPERPARAMETERS = ("num_round", "early_stopping_rounds")


def _channel_files(sm: LocalSageMaker, uri: str) -> list[Path]:
    files = [f for f in sm.s3.files(uri) if f.suffix == ".csv"]
    if not files:
        raise ExecutionError(f"no CSV objects under {uri}")
    return files


def _read_channel(sm: LocalSageMaker, uri: str) -> tuple[np.ndarray, np.ndarray]:
    """A CSV channel in the built-in algorithm's convention: label first, no header."""
    return read_csv_files(_channel_files(sm, uri))


def _number(value: str) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() and "." not in str(value) else number


@dataclass(frozen=True)
class TrainingResult:
    name: str
    hyperparameters: dict[str, str]
    objective: float
    model_uri: str


def train_params(hyperparameters: dict[str, str], threads: int) -> dict[str, Any]:
    """xgboost.train's parameters from the job's hyperparameters, as the container passes them."""
    params: dict[str, Any] = {
        k: _number(v) if k not in ("objective", "eval_metric", "tree_method") else v
        for k, v in hyperparameters.items()
        if k not in _CONTAINER_HYPERPARAMETERS
    }
    return params | {"nthread": threads, "seed": 0}


def early_stopping(hyperparameters: dict[str, str]) -> int | None:
    value = hyperparameters.get("early_stopping_rounds")
    return None if value is None else int(value)


def _result(
    sm: LocalSageMaker,
    name: str,
    hyperparameters: dict[str, str],
    booster: xgb.Booster,
    evaluation: str,
    output_path: str,
) -> TrainingResult:
    """Like the container: the artifact keeps every round trained (early stopping stops, it does
    not truncate), and the tuning objective is the last validation:auc the job reported."""
    objective = float(evaluation.split("validation-auc:")[1])
    model_uri = f"{output_path.rstrip('/')}/{name}/output/model.tar.gz"
    write_model_tar(booster, sm.s3.path(model_uri))
    return TrainingResult(name, hyperparameters, objective, model_uri)


def train_one(
    sm: LocalSageMaker,
    name: str,
    hyperparameters: dict[str, str],
    channels: dict[str, xgb.DMatrix],
    output_path: str,
) -> TrainingResult:
    """One training job on one instance, as the container runs it: validation:auc, early stopping."""
    train, validation = channels["train"], channels["validation"]
    booster = xgb.train(
        train_params(hyperparameters, sm.threads),
        train,
        num_boost_round=int(hyperparameters.get("num_round", 100)),
        evals=[(validation, "validation")],
        early_stopping_rounds=early_stopping(hyperparameters),
        verbose_eval=False,
    )
    evaluation = booster.eval(validation, "validation")
    return _result(sm, name, hyperparameters, booster, evaluation, output_path)


def host_channels(sm: LocalSageMaker, definition: dict, hosts: int, step: str) -> list[dict[str, list[Path]]]:
    """Each host's files per channel: its objects of a ShardedByS3Key channel, all of the others.

    Objects are dealt out by key order, as the processing jobs' shards are; a host left without
    an object fails the job, as SageMaker's does.
    """
    found: list[dict[str, list[Path]]] = [{} for _ in range(hosts)]
    for channel in definition["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        files = _channel_files(sm, source["S3Uri"])
        sharded = source.get("S3DataDistributionType") == "ShardedByS3Key"
        for host in range(hosts):
            found[host][channel["ChannelName"]] = files[host::hosts] if sharded else files
            if not found[host][channel["ChannelName"]]:
                raise ExecutionError(
                    f"step {step}: channel {channel['ChannelName']} has {len(files)} objects for {hosts} "
                    "instances (ShardedByS3Key gives each instance at least one)"
                )
    return found


def train_distributed(
    sm: LocalSageMaker,
    cluster: Cluster,
    name: str,
    hyperparameters: dict[str, str],
    channels: list[dict[str, list[Path]]],
    output_path: str,
) -> TrainingResult:
    """One training job on ``cluster.hosts`` instances: each host its channel files."""
    job_dir = sm.jobs_dir / name
    job_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        f"algo-{index + 1}": {c: [f.name for f in files] for c, files in host.items()}
        for index, host in enumerate(channels)
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (job_dir / "hosts.json").write_text(text, encoding="utf-8")
    booster, evaluation = cluster.train(
        train_params(hyperparameters, max(1, sm.threads // cluster.hosts)),
        num_round=int(hyperparameters.get("num_round", 100)),
        early_stopping_rounds=early_stopping(hyperparameters),
        host_channels=channels,
        job_dir=job_dir,
    )
    return _result(sm, name, hyperparameters, booster, evaluation, output_path)


def sample_ranges(ranges: dict, count: int, seed: int) -> list[dict[str, str]]:
    """Candidates over the definition's ranges and scaling (SageMaker's Bayesian search, emulated
    by seeded random search: same space, same budget, reproducible)."""
    rng = np.random.default_rng(seed)
    candidates = []
    for _ in range(count):
        values: dict[str, str] = {}
        for spec in ranges.get("ContinuousParameterRanges", []):
            low, high = float(spec["MinValue"]), float(spec["MaxValue"])
            if spec.get("ScalingType") == "Logarithmic":
                value = math.exp(rng.uniform(math.log(low), math.log(high)))
            else:
                value = rng.uniform(low, high)
            values[spec["Name"]] = f"{value:.6g}"
        for spec in ranges.get("IntegerParameterRanges", []):
            values[spec["Name"]] = str(int(rng.integers(int(spec["MinValue"]), int(spec["MaxValue"]) + 1)))
        for spec in ranges.get("CategoricalParameterRanges", []):
            values[spec["Name"]] = str(rng.choice(spec["Values"]))
        candidates.append(values)
    return candidates


def run_tuning(sm: LocalSageMaker, step: str, request: dict, execution_id: str, progress=None) -> dict:
    config = request["HyperParameterTuningJobConfig"]
    definition = request["TrainingJobDefinition"]
    objective = config["HyperParameterTuningJobObjective"]
    if objective["MetricName"] != "validation:auc":
        raise ExecutionError(
            f"step {step}: the local run computes validation:auc, not {objective['MetricName']}"
        )
    budget = int(config["ResourceLimits"]["MaxNumberOfTrainingJobs"])
    tuning_name = _job_name("fraud-hpo", step, execution_id)[:32]
    # The SDK writes HyperParameterTuningResourceConfig; the API also takes ResourceConfig.
    resources = definition.get("HyperParameterTuningResourceConfig") or definition.get("ResourceConfig", {})
    hosts = int(resources.get("InstanceCount", 1))
    output_path = definition["OutputDataConfig"]["S3OutputPath"]
    candidates = sample_ranges(config["ParameterRanges"], budget, seed=index_seed(step))
    jobs = [
        (f"{tuning_name}-{index + 1:03d}", {**definition.get("StaticHyperParameters", {}), **candidate})
        for index, candidate in enumerate(candidates)
    ]
    results = []
    if hosts == 1:
        # Built once for every trial: each container builds its own, but the local run's trials
        # see the same files, and a DMatrix keeps the histogram cuts its first training made.
        channels = {
            c["ChannelName"]: xgb.DMatrix(*_read_channel(sm, c["DataSource"]["S3DataSource"]["S3Uri"]))
            for c in definition["InputDataConfig"]
        }
        for name, hyperparameters in jobs:
            results.append(train_one(sm, name, hyperparameters, channels, output_path))
            _report(progress, len(results), budget, hosts, results[-1])
    else:
        shares = host_channels(sm, definition, hosts, step)
        with Cluster(hosts) as cluster:
            for name, hyperparameters in jobs:
                results.append(train_distributed(sm, cluster, name, hyperparameters, shares, output_path))
                _report(progress, len(results), budget, hosts, results[-1])
    maximize = objective["Type"] == "Maximize"
    ranked = sorted(results, key=lambda r: -r.objective if maximize else r.objective)
    summaries = [_summary(r) for r in ranked]
    return {
        "HyperParameterTuningJobName": tuning_name,
        "HyperParameterTuningJobStatus": "Completed",
        "BestTrainingJob": summaries[0],
        "TrainingJobSummaries": summaries,
        "TrainingJobDefinition": definition,
    }


def _report(
    progress: Callable[[str], None] | None, done: int, budget: int, hosts: int, result: TrainingResult
) -> None:
    if progress:
        on = f" on {hosts} instances" if hosts > 1 else ""
        progress(f"training job {done}/{budget}{on}: validation:auc {result.objective:.4f}")


def index_seed(step: str) -> int:
    return int(hashlib.sha256(step.encode()).hexdigest()[:8], 16)


def _summary(result: TrainingResult) -> dict:
    return {
        "TrainingJobName": result.name,
        "TrainingJobStatus": "Completed",
        "TunedHyperParameters": result.hyperparameters,
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "MetricName": "validation:auc",
            "Value": result.objective,
        },
    }


# --- model and transform ------------------------------------------------------------------------


def run_create_model(sm: LocalSageMaker, step: str, request: dict, execution_id: str) -> dict:
    name = _job_name("pipelines", step, execution_id)
    model_data = request["PrimaryContainer"]["ModelDataUrl"]
    if not sm.s3.path(model_data).is_file():
        raise ExecutionError(f"step {step}: model artifact {model_data} does not exist")
    sm.models[name] = {**request, "ModelName": name}
    return {"ModelName": name, "PrimaryContainer": request["PrimaryContainer"]}


def _input_filter(frame: pd.DataFrame, expression: str | None, step: str) -> pd.DataFrame:
    """The JSONPath subset CSV batch transform uses: ``$``, ``$[a:b]``, ``$[i,j]``."""
    if expression in (None, "$"):
        return frame
    body = expression.removeprefix("$[").removesuffix("]")
    if not expression.startswith("$[") or not body:
        raise ExecutionError(f"step {step}: unsupported InputFilter {expression!r}")
    if ":" in body:
        start, _, stop = body.partition(":")
        return frame.iloc[:, slice(int(start) if start else None, int(stop) if stop else None)]
    return frame.iloc[:, [int(i) for i in body.split(",")]]


def run_transform(sm: LocalSageMaker, step: str, request: dict, execution_id: str) -> dict:
    processing = request.get("DataProcessing", {})
    if processing.get("JoinSource", "None") != "None" or processing.get("OutputFilter", "$") != "$":
        raise ExecutionError(f"step {step}: JoinSource/OutputFilter are not emulated locally")
    booster = load_booster(_model_artifact(sm, step, request["ModelName"]))
    source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    output = request["TransformOutput"]["S3OutputPath"].rstrip("/")
    for file in sm.s3.files(source):
        frame = _input_filter(pd.read_csv(file, header=None), processing.get("InputFilter"), step)
        scores = predict(booster, frame.to_numpy(dtype=np.float32))
        target = sm.s3.path(f"{output}/{file.name}.out")
        target.parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(target, scores, fmt=SCORE_FORMAT)
    return {
        "TransformJobName": _job_name("pipelines", step, execution_id),
        "TransformJobStatus": "Completed",
        "ModelName": request["ModelName"],
        "TransformOutput": request["TransformOutput"],
    }
