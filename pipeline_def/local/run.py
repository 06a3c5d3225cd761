"""The local run: the whole system on this machine, from raw CSVs to an approval decision.

data ─validate─▶ local offline store (Feature Store layout) ─▶ the deployed definition, executed
─▶ model registry (moto on 127.0.0.1) ─▶ approval Lambda (─▶ deploy Lambda) ─▶ run.json + report.html

Everything that is AWS infrastructure is replaced by a local stand-in; everything that is ours
(the definition, the job scripts, the Lambda handlers, the gates) is the code that deploys.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from pipeline_def import names
from pipeline_def.config import EnvironmentConfig, PipelineSettings, load_environment, read_context
from pipeline_def.data.encoding import InputFormat
from pipeline_def.data.integrity import RowCounts, count_rows
from pipeline_def.data.synthetic import MAX_ROWS
from pipeline_def.data.synthetic import write as write_synthetic
from pipeline_def.data.validation import ValidationReport, parse_event_time_option, validate
from pipeline_def.definition.checks import iter_steps
from pipeline_def.definition.parameters import declarations, training_parameters
from pipeline_def.definition.render import SCRIPTS_DIR, code_key_prefix, fill, scripts_digest
from pipeline_def.definition.render_worker import Definitions
from pipeline_def.local.executor import ExecutionResult, Executor, resolve_parameters
from pipeline_def.local.expressions import ExecutionError
from pipeline_def.local.job_host import JobHost
from pipeline_def.local.jobs import (
    LocalSageMaker,
    run_create_model,
    run_processing,
    run_transform,
    run_tuning,
)
from pipeline_def.local.offline_store import write_offline_store
from pipeline_def.local.registry import ACCOUNT, LambdaSetup, LocalCloud, LocalRegistry, RegistryOutcome
from pipeline_def.local.stopping import RunStopped, stop_on_signals
from pipeline_def.local.storage import LocalS3
from pipeline_def.schema import CLAIMS, CUSTOMERS, LABEL, SENSITIVE_FACET

ARTIFACT_BUCKET = "local-artifacts"
DATA_BUCKET = "local-offline-store"
KMS_KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/local"
ARTIFACT_KMS_KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/local-artifacts"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/local-pipeline"
IDEMPOTENCY_TABLE = "local-idempotency"
#: Where the approval and deploy functions' log lines go, one file per function.
FUNCTION_LOGS = "functions"


class InputDataError(ValueError):
    """The input files do not match the schema, or their policies do not pair up; nothing ran."""

    def __init__(self, reports: list[ValidationReport], counts: RowCounts | None = None) -> None:
        lines = []
        for report in reports:
            lines.append(report.summary())
            lines.extend(f"  {issue}" for issue in report.errors)
        if counts is not None:
            lines.extend(f"  {issue}" for issue in counts.examples)
            lines.append(counts.unmatched_message())
        super().__init__("\n".join(lines))


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What ``python -m pipeline_def.local run`` takes; input options as the ingest CLI's.

    ``event_time`` is ``now`` or ISO-8601 with a zone, for files without an event_time column;
    ``allow_unmatched`` accepts policies present in only one file (the join drops them).
    """

    env: str = "dev"
    workdir: Path = Path(".run/dev")
    rows: int = 5000
    seed: int = 7
    signal: float = 1.0
    claims: Path | None = None
    customers: Path | None = None
    input_format: InputFormat = InputFormat.AUTO
    event_time: str | None = None
    allow_unmatched: bool = False
    overrides: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalRun:
    options: RunOptions
    progress: Callable[[str], None]
    config: EnvironmentConfig = field(init=False)
    settings: PipelineSettings = field(init=False)
    s3: LocalS3 = field(init=False)
    rows: RowCounts | None = field(init=False, default=None)
    digest: str = field(init=False, default="")
    definition_text: str = field(init=False, default="")
    definitions: Definitions = field(init=False, default_factory=Definitions)
    started_steps: dict[str, dict[str, Any]] = field(init=False, default_factory=dict)
    replacing_workdir: bool = field(init=False, default=False)
    replaced_workdir: bool = field(init=False, default=False)
    training_ended: threading.Event = field(init=False, default_factory=threading.Event)
    registry_unwanted: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.config = load_environment(read_context(), self.options.env)
        self.settings = self.config.pipeline
        self.s3 = LocalS3(self.options.workdir / "s3")

    # --- preparation ---------------------------------------------------------------------------

    def input_files(self) -> tuple[Path, Path]:
        if self.options.claims and self.options.customers:
            return self.options.claims, self.options.customers
        self.progress(f"generating {self.options.rows:,} synthetic policies (seed {self.options.seed})")
        return write_synthetic(
            self.options.workdir / "data", self.options.rows, self.options.seed, self.options.signal
        )

    def ingest(self, claims: Path, customers: Path) -> Path:
        """Validate like the ingestion CLI, then write the offline store in Feature Store's layout.

        The rows read, joined and dropped are printed and kept for ``run.json``.
        """
        now = datetime.now(UTC).timestamp()
        stamp = parse_event_time_option(self.options.event_time, now) if self.options.event_time else None
        options = {"now": now, "input_format": self.options.input_format, "event_time": stamp}
        reports = [validate(CLAIMS, claims, **options), validate(CUSTOMERS, customers, **options)]
        if not all(r.ok for r in reports):
            raise InputDataError(reports)
        counts = count_rows(reports[0], reports[1])
        if not counts.matched and not self.options.allow_unmatched:
            raise InputDataError(reports, counts)
        for report in reports:
            self.progress(report.summary())
            for warning in report.warnings[:5]:
                self.progress(f"  warning: {warning}")
        self.progress(counts.summary())
        self.rows = counts
        frames = {CLAIMS.name: reports[0].frame, CUSTOMERS.name: reports[1].frame}
        return write_offline_store(self.s3.root / DATA_BUCKET, self.settings, frames, now=now)

    def deploy_scripts(self, digest: str) -> None:
        """What the pipeline stack's BucketDeployment does: scripts under a content-hashed prefix."""
        target = self.s3.path(f"s3://{ARTIFACT_BUCKET}/{code_key_prefix(digest)}")
        target.mkdir(parents=True, exist_ok=True)
        for script in names.SCRIPT_NAMES:
            shutil.copy2(SCRIPTS_DIR / script, target / script)

    def check_parameters(self) -> None:
        """``--param`` against the declared parameters: a ParameterError before anything is written."""
        self.digest = scripts_digest()
        declared = declarations(training_parameters(self.settings, self.digest))
        resolve_parameters(declared, self.options.overrides)

    def definition(self, digest: str) -> dict:
        """The definition this run executes (rendered in the worker started with the run), filled in."""
        values = {
            "PipelineRoleArn": ROLE_ARN,
            "ArtifactBucket": ARTIFACT_BUCKET,
            "KmsKeyArn": KMS_KEY_ARN,
            "ArtifactKmsKeyArn": ARTIFACT_KMS_KEY_ARN,
        }
        self.definition_text = fill(self.definitions.training(self.settings, digest=digest), values)
        (self.options.workdir / "definition.json").write_text(self.definition_text, encoding="utf-8")
        return json.loads(self.definition_text)

    # --- execution -----------------------------------------------------------------------------

    def lambda_setup(self, topic_arn: str) -> LambdaSetup:
        """The functions' variables from the same config and mapping as the approval stack."""
        return LambdaSetup(
            approval=self.config.approval_environment(
                idempotency_table=IDEMPOTENCY_TABLE, topic_arn=topic_arn
            ).variables(),
            deploy=self.config.deploy_environment(
                artifact_bucket=ARTIFACT_BUCKET,
                idempotency_table=IDEMPOTENCY_TABLE,
                model_role_arn=ROLE_ARN,
                kms_key_arn=KMS_KEY_ARN,
            ).variables(),
        )

    def make_registry(self, cloud: LocalCloud) -> LocalRegistry:
        """The model package group, buckets, table and topic the stacks would create, in moto."""
        group = self.settings.model_package_group_name
        logs = self.options.workdir / FUNCTION_LOGS
        registry = LocalRegistry(cloud, self.s3, group, LambdaSetup({}, {}), logs=logs)
        created = registry.provision(
            buckets=[ARTIFACT_BUCKET], table=IDEMPOTENCY_TABLE, topic="local-approvals"
        )
        registry.lambdas = self.lambda_setup(created["topic_arn"])
        return registry

    def make_registry_after_training(self, cloud: LocalCloud) -> LocalRegistry:
        self.training_ended.wait()
        if self.registry_unwanted:
            raise ExecutionError("the run ended before the registry was made")
        return self.make_registry(cloud)

    def registry_when_needed(self, made: Future[LocalRegistry]) -> LocalRegistry:
        """The registry for a step that needs it: made at once if no tuning step has ended yet."""
        self.training_ended.set()
        return registry_of(made)

    def execute(
        self, definition: dict, catalog: Path, registry: Callable[[], LocalRegistry]
    ) -> ExecutionResult:
        """Run the definition; ``registry`` gives the registry once it is ready (it may wait)."""
        sm = LocalSageMaker(s3=self.s3, jobs_dir=self.options.workdir / "jobs", glue_catalog=catalog)
        execution_id = "local-" + hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:12]
        runners = {
            "Processing": lambda step, request, eid: run_processing(sm, step, request, eid),
            "Tuning": lambda step, request, eid: run_tuning(sm, step, request, eid, progress=self._detail),
            "Model": lambda step, request, eid: run_create_model(sm, step, request, eid),
            "Transform": lambda step, request, eid: run_transform(sm, step, request, eid),
            "RegisterModel": lambda step, request, eid: registry().register(step, request, eid),
        }
        executor = Executor(
            definition,
            {kind: self._tracked(kind, runner) for kind, runner in runners.items()},
            execution_id=execution_id,
            read_s3_text=self.s3.read_text,
            overrides=self.options.overrides,
            progress=self.progress,
        )
        return executor.run()

    def _tracked(
        self, kind: str, runner: Callable[[str, dict, str], dict]
    ) -> Callable[[str, dict, str], dict]:
        """The runner, recording which step is under way (what run.json names when a run is stopped)."""

        def tracked(step: str, request: dict, execution_id: str) -> dict:
            record = {"name": step, "type": kind, "status": "Executing", "started": time.perf_counter()}
            self.started_steps[step] = record
            try:
                result = runner(step, request, execution_id)
            except Exception:
                record["status"] = "Failed"
                raise
            record["status"] = "Succeeded"
            if kind == "Tuning":
                self.training_ended.set()
            return result

        return tracked

    def _detail(self, line: str) -> None:
        self.progress(f"  {line}")

    def run(self) -> dict:
        """Check every option, lock the work directory, then run; stopped runs leave run.json too."""
        started = time.perf_counter()
        check_options(self.options)
        self.check_parameters()
        # Both start now and work on the other core while the run prepares its data: the
        # definition renders (the SDK's import is most of it) and the job host imports the jobs'
        # libraries.
        # The signals are taken first, so a stop while they start still ends them.
        # run.json of a stopped run is written while the lock is still held.
        with stop_on_signals():
            try:
                self.definitions = Definitions.ahead([self.config], kinds=("training",))
                with self.definitions:
                    JobHost.shared()
                    with workdir_lock(self.options.workdir):
                        try:
                            return self._run(started)
                        except RunStopped as stop:
                            stop.run_json = self.write_stopped(stop, time.perf_counter() - started)
                            raise
            except RunStopped as stop:
                stop.interrupted_reset = self.replacing_workdir and not self.replaced_workdir
                raise

    def _run(self, started: float) -> dict:
        workdir = self.options.workdir
        self.replacing_workdir = True
        _reset_workdir(workdir)
        self.replaced_workdir = True
        catalog = self.ingest(*self.input_files())
        digest = self.digest
        self.deploy_scripts(digest)
        definition = self.definition(digest)
        with LocalCloud(self.settings.region) as cloud, ThreadPoolExecutor(max_workers=1) as background:
            # The registry is first needed at RegisterModel: it is made once tuning has ended,
            # while the evaluation and bias jobs run in the job host on one core each and this
            # process waits for them. Not sooner: one-instance tuning trains in this process on
            # both cores (at 5k policies, making the registry beside it cost 0.4 of the run's
            # 4 s), and the first step's query uses both cores too.
            made = background.submit(self.make_registry_after_training, cloud)
            try:
                result = self.execute(definition, catalog, lambda: self.registry_when_needed(made))
            except BaseException:
                self.registry_unwanted = True  # stopped or broken: no registry to wait for
                raise
            finally:
                self.training_ended.set()  # also when tuning never ran: the summary counts packages
            outcome, packages, setup_error = None, None, None
            package = result.properties.get(f"{names.STEP_REGISTER}-RegisterModel", {}).get("ModelPackageArn")
            if result.status == "Succeeded" and package:
                self.progress("▶ registry event → approval function")
                outcome = registry_of(made).review(package)
                self.progress(f"✔ model package {outcome.approval_status}")
            try:
                packages = registry_of(made).package_count()
            except ExecutionError as err:  # also RegisterModel's reason, if the run got that far
                setup_error = str(err)
        summary = self.summarise(result, outcome, time.perf_counter() - started)
        summary["registry"] = {
            "model_package_group": self.settings.model_package_group_name,
            "packages_in_group": packages,
            "setup_error": setup_error,
        }
        (workdir / "run.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        return summary

    # --- results -------------------------------------------------------------------------------

    def _output_uri(self, result: ExecutionResult, step: str, output: str) -> str | None:
        outputs = result.properties.get(step, {}).get("ProcessingOutputConfig", {}).get("Outputs", [])
        return next((o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == output), None)

    def artifacts(self, result: ExecutionResult) -> dict[str, str]:
        found: dict[str, str] = {}
        evaluation = self._output_uri(result, names.STEP_EVAL, "evaluation")
        if evaluation:
            found["evaluation"] = str(self.s3.path(f"{evaluation}/evaluation.json"))
        bias = self._output_uri(result, names.STEP_BIAS, "analysis_result")
        if bias:
            found["bias_analysis"] = str(self.s3.path(f"{bias}/analysis.json"))
        tuning = result.properties.get(names.STEP_TUNING)
        if tuning:
            best = tuning["BestTrainingJob"]["TrainingJobName"]
            output = tuning["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"].rstrip("/")
            found["model"] = str(self.s3.path(f"{output}/{best}/output/model.tar.gz"))
        predictions = self.predictions(result, found)
        if predictions:
            found["predictions"] = str(predictions)
        return found

    def predictions(self, result: ExecutionResult, found: dict[str, str]) -> Path | None:
        """One row per test record: the label, the facet, the transform's score and the decision."""
        transform = result.properties.get(names.STEP_TRANSFORM)
        dataset = self._output_uri(result, names.STEP_PROCESS, "clarify")
        if not transform or not dataset or "evaluation" not in found:
            return None
        test = pd.read_csv(self.s3.files(dataset)[0])
        scores = np.concatenate(
            [np.loadtxt(f, ndmin=1) for f in self.s3.files(transform["TransformOutput"]["S3OutputPath"])]
        )
        threshold = json.loads(Path(found["evaluation"]).read_text())["decision_threshold"]["value"]
        frame = pd.DataFrame(
            {
                LABEL: test[LABEL],
                SENSITIVE_FACET: test[SENSITIVE_FACET],
                "score": scores,
                "predicted_label": (scores > threshold).astype(int),
            }
        )
        path = self.options.workdir / "predictions.csv"
        frame.to_csv(path, index=False)
        return path

    def summarise(
        self, result: ExecutionResult, outcome: RegistryOutcome | None, seconds: float
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {
            **result.as_json(),
            "environment": self.options.env,
            "seconds": round(seconds, 3),
            "definition": str(self.options.workdir / "definition.json"),
            "artifacts": self.artifacts(result),
            "best_training_job": result.properties.get(names.STEP_TUNING, {})
            .get("BestTrainingJob", {})
            .get("TrainingJobName"),
            "model_package_arn": outcome.model_package_arn if outcome else None,
            "approval": approval_summary(outcome),
            "rows": self.rows.as_json() if self.rows else None,
        }
        summary["gates"] = self.gates(result, summary)
        summary["failed_step"] = next((s["name"] for s in summary["steps"] if s["status"] == "Failed"), None)
        summary["outcome"] = outcome_line(summary)
        # A folder, not an artifact: one file per function that ran (none if the run stopped before)
        summary["function_logs"] = str(self.options.workdir / FUNCTION_LOGS) if outcome else None
        report = render_run_report(summary, self.options.workdir / "report.html")
        summary["artifacts"]["report"] = str(report)
        return summary

    # --- gates and where their thresholds came from ----------------------------------------------

    def _cdk_key(self, key: str) -> str:
        return f"cdk.json environments.{self.options.env}.{key}"

    def gates(self, result: ExecutionResult, summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """Both gates' values, thresholds and the origin of each threshold.

        The pipeline's condition compares against its parameters (``--param`` or the default
        rendered from cdk.json); the approval function reads its own environment, set from
        cdk.json at deploy time, which ``--param`` never reaches.
        """
        evaluation = summary["artifacts"].get("evaluation")
        metrics = (
            json.loads(Path(evaluation).read_text()).get("binary_classification_metrics", {})
            if evaluation
            else {}
        )
        pipeline = []
        for gate, metric, parameter, key in (
            ("AUC", "auc", "MinAuc", "pipeline.minAuc"),
            ("recall", "recall", "MinRecall", "pipeline.minRecall"),
        ):
            value = (metrics.get(metric) or {}).get("value")
            threshold = result.parameters.get(parameter)
            if parameter in self.options.overrides:
                source = f"--param {parameter}={self.options.overrides[parameter]}"
            else:
                source = f"pipeline parameter {parameter} default, from {self._cdk_key(key)}"
            passed = None if value is None or threshold is None else value >= threshold
            pipeline.append(
                {
                    "gate": names.STEP_CONDITION,
                    "name": gate,
                    "value": value,
                    "threshold": threshold,
                    "bound": f">= {threshold:g}" if isinstance(threshold, int | float) else None,
                    "source": source,
                    "passed": passed,
                }
            )
        approval = []
        for gate in (summary.get("approval") or {}).get("gates", []):
            gate["source"] = self._approval_source(gate["name"])
            approval.append({"gate": "approval function", **gate})
        return {"pipeline": pipeline, "approval": approval}

    def _approval_source(self, gate: str) -> str:
        variables = {"AUC": ("MIN_AUC", "pipeline.minAuc"), "recall": ("MIN_RECALL", "pipeline.minRecall")}
        if gate in variables:
            variable, key = variables[gate]
            origin = f"from {self._cdk_key(key)} (--param does not reach it)"
            return f"approval function environment {variable}, {origin}"
        return f"approval function environment, from {self._cdk_key('approval')}"

    # --- stopping ----------------------------------------------------------------------------------

    def write_stopped(self, stop: RunStopped, seconds: float) -> Path | None:
        """run.json (and the report) for a run stopped by a signal, where it was written.

        Only once this run has replaced the folder: before that, the folder still holds the
        previous run, whose run.json is left as it was.
        """
        workdir = self.options.workdir
        if not self.replaced_workdir or not (workdir / MARKER).is_file():
            return None
        running = [s["name"] for s in self.started_steps.values() if s["status"] == "Executing"]
        where = f" during step {running[-1]}" if running else ""
        steps = []
        definition = json.loads(self.definition_text) if self.definition_text else {}
        for step in iter_steps(definition):
            record = self.started_steps.get(step["Name"], {})
            status = {"Executing": "Stopped"}.get(
                record.get("status", ""), record.get("status", "NotStarted")
            )
            steps.append(
                {
                    "name": step["Name"],
                    "type": step["Type"],
                    "status": status,
                    "seconds": 0.0,
                    "failure_reason": None,
                }
            )
        summary: dict[str, Any] = {
            "execution_id": None,
            "status": "Stopped",
            "failure_reason": f"stopped by {stop.signal_name}{where}",
            "parameters": {},
            "steps": steps,
            "environment": self.options.env,
            "seconds": round(seconds, 3),
            "definition": str(workdir / "definition.json"),
            "artifacts": {},
            "best_training_job": None,
            "model_package_arn": None,
            "approval": None,
            "rows": self.rows.as_json() if self.rows else None,
            "failed_step": running[-1] if running else None,
            "gates": {"pipeline": [], "approval": []},
        }
        summary["outcome"] = outcome_line(summary)
        try:
            summary["artifacts"]["report"] = str(render_run_report(summary, workdir / "report.html"))
        except Exception:  # noqa: BLE001 - a stopped run's report is a courtesy; run.json must be written
            summary["artifacts"]["report"] = None
        path = workdir / "run.json"
        path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        return path


MARKER = ".fraud-local-run"


class WorkdirError(ValueError):
    """The work directory holds something other than an earlier local run; it is left alone."""


class ArgumentError(ValueError):
    """An option is out of range or unsafe; nothing was written."""


def registry_of(made: Future[LocalRegistry]) -> LocalRegistry:
    """The registry set up in the background; its failure fails the step that needs it, with why."""
    try:
        return made.result()
    except (BotoCoreError, ClientError) as err:
        raise ExecutionError(f"the local registry (moto) could not be set up: {err}") from err


def check_workdir(workdir: Path) -> None:
    if workdir.exists() and not workdir.is_dir():
        raise ArgumentError(f"--workdir {workdir} is a file, not a folder")
    for ancestor in workdir.absolute().parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ArgumentError(f"--workdir {workdir}: {ancestor} is a file, not a folder")
            break
    if workdir.is_dir() and any(workdir.iterdir()) and not (workdir / MARKER).is_file():
        raise WorkdirError(
            f"{workdir} is not empty and was not made by a local run (no {MARKER}); "
            "choose another --workdir or empty it yourself"
        )


def check_options(options: RunOptions) -> None:
    """Every option checked before anything is written (ArgumentError, WorkdirError)."""
    if not 1 <= options.rows <= MAX_ROWS:
        raise ArgumentError(f"--rows must be in [1, {MAX_ROWS:,}], got {options.rows}")
    if options.seed < 0:
        raise ArgumentError(f"--seed must be 0 or more, got {options.seed}")
    if not 0.0 <= options.signal <= 1.0:
        raise ArgumentError(f"--signal must be in [0, 1], got {options.signal:g}")
    check_workdir(options.workdir)
    workdir = options.workdir.resolve()
    for flag, path in (("--claims", options.claims), ("--customers", options.customers)):
        if path is not None and path.resolve().is_relative_to(workdir):
            raise ArgumentError(
                f"{flag} {path} is inside --workdir {options.workdir}, which the run empties first; "
                "refusing to start (move the file out or choose another --workdir)"
            )


def _lock_path(workdir: Path) -> Path:
    absolute = workdir.resolve()
    return absolute.parent / f".{absolute.name}.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_owner(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def workdir_lock(workdir: Path) -> Iterator[Path]:
    """Hold ``.<workdir>.lock`` beside the work directory (O_EXCL, our PID inside) for the run.

    A lock whose PID is alive refuses the run (WorkdirError naming the PID); a stale one (its PID
    is gone) is taken over with a notice on stderr.
    """
    path = _lock_path(workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _lock_owner(path)
            if owner is None:
                try:
                    fresh = time.time() - path.stat().st_mtime < 5.0  # being written right now
                except FileNotFoundError:
                    continue
                if fresh:
                    time.sleep(0.2)
                    continue
            elif _pid_alive(owner):
                raise WorkdirError(
                    f"{workdir} is in use by another local run (PID {owner}, lock {path}); "
                    "wait for it to finish or choose another --workdir"
                ) from None
            print(f"notice: taking over the stale lock {path} (PID {owner} is not running)", file=sys.stderr)
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(f"{os.getpid()}\n")
        break
    else:
        raise WorkdirError(f"{workdir}: could not take the lock {path}; remove it if no run is using it")
    try:
        yield path
    finally:
        if _lock_owner(path) == os.getpid():
            path.unlink(missing_ok=True)


def _reset_workdir(workdir: Path) -> None:
    """Replace an earlier run's folder, but never a folder the run did not create."""
    check_workdir(workdir)
    if workdir.exists() and any(workdir.iterdir()):
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("created by python -m pipeline_def.local run\n", encoding="utf-8")


def approval_summary(outcome: RegistryOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    result = outcome.invocations[0].result or {}
    return {
        "status": outcome.approval_status,
        "description": outcome.approval_description,
        "reasons": result.get("failed_gates", []) + result.get("evidence_problems", []),
        "gates": [
            {"name": g["gate"], "value": g["value"], "bound": g["bound"], "passed": g["passed"]}
            for g in result.get("gates", [])
        ],
        "lambda_result": result,
        "customer_metadata": outcome.customer_metadata,
        "endpoint": outcome.endpoint,
    }


def outcome_line(summary: dict[str, Any]) -> str:
    """One line that leads the summary and the report: what happened, and where it failed."""
    status = summary.get("status")
    if status == "Stopped":
        return f"Stopped: {summary.get('failure_reason')}"
    if status == "Failed":
        step = summary.get("failed_step") or "unknown step"
        reason = str(summary.get("failure_reason") or "no reason recorded").splitlines()[0]
        return f"Failed at step {step}: {reason}"
    approval = summary.get("approval") or {}
    if approval.get("status") == "Rejected":
        return "Pipeline succeeded, but the approval function rejected the model: " + "; ".join(
            str(r) for r in approval.get("reasons", [])
        )
    return f"Succeeded{' (' + approval['status'] + ')' if approval.get('status') else ''}"


def render_run_report(summary: dict[str, Any], path: Path) -> Path:
    from pipeline_def.local.report import render_report

    def load(name: str) -> dict:
        artifact = summary["artifacts"].get(name)
        return json.loads(Path(artifact).read_text()) if artifact else {}

    return render_report(summary, load("evaluation"), load("bias_analysis"), path)


def run(options: RunOptions, progress: Callable[[str], None] | None = None) -> dict:
    return LocalRun(options, progress or (lambda _line: None)).run()
