"""The local run: the whole system on this machine, from raw CSVs to an approval decision.

data ─validate─▶ local offline store (Feature Store layout) ─▶ the deployed definition, executed
─▶ model registry (moto on 127.0.0.1) ─▶ approval Lambda (─▶ deploy Lambda) ─▶ run.json + report.html

Everything that is AWS infrastructure is replaced by a local stand-in; everything that is ours
(the definition, the job scripts, the Lambda handlers, the gates) is the code that deploys.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline_def import names
from pipeline_def.config import EnvironmentConfig, PipelineSettings, load_environment, read_context
from pipeline_def.data.encoding import InputFormat
from pipeline_def.data.integrity import RowCounts, count_rows
from pipeline_def.data.synthetic import write as write_synthetic
from pipeline_def.data.validation import ValidationReport, parse_event_time_option, validate
from pipeline_def.definition.render import SCRIPTS_DIR, code_key_prefix, fill, render, scripts_digest
from pipeline_def.local.executor import ExecutionResult, Executor
from pipeline_def.local.jobs import (
    LocalSageMaker,
    run_create_model,
    run_processing,
    run_transform,
    run_tuning,
)
from pipeline_def.local.offline_store import write_offline_store
from pipeline_def.local.registry import ACCOUNT, LambdaSetup, LocalCloud, LocalRegistry, RegistryOutcome
from pipeline_def.local.storage import LocalS3
from pipeline_def.schema import CLAIMS, CUSTOMERS, LABEL, SENSITIVE_FACET

ARTIFACT_BUCKET = "local-artifacts"
DATA_BUCKET = "local-offline-store"
KMS_KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/local"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/local-pipeline"
IDEMPOTENCY_TABLE = "local-idempotency"


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

    def definition(self, digest: str) -> dict:
        values = {"PipelineRoleArn": ROLE_ARN, "ArtifactBucket": ARTIFACT_BUCKET, "KmsKeyArn": KMS_KEY_ARN}
        text = fill(render(self.settings, digest=digest), values)
        (self.options.workdir / "definition.json").write_text(text, encoding="utf-8")
        return json.loads(text)

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

    def execute(self, definition: dict, catalog: Path, registry: LocalRegistry) -> ExecutionResult:
        sm = LocalSageMaker(s3=self.s3, jobs_dir=self.options.workdir / "jobs", glue_catalog=catalog)
        execution_id = "local-" + hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:12]
        runners = {
            "Processing": lambda step, request, eid: run_processing(sm, step, request, eid),
            "Tuning": lambda step, request, eid: run_tuning(sm, step, request, eid, progress=self._detail),
            "Model": lambda step, request, eid: run_create_model(sm, step, request, eid),
            "Transform": lambda step, request, eid: run_transform(sm, step, request, eid),
            "RegisterModel": registry.register,
        }
        executor = Executor(
            definition,
            runners,
            execution_id=execution_id,
            read_s3_text=self.s3.read_text,
            overrides=self.options.overrides,
            progress=self.progress,
        )
        return executor.run()

    def _detail(self, line: str) -> None:
        self.progress(f"  {line}")

    def run(self) -> dict:
        started = time.perf_counter()
        workdir = self.options.workdir
        _reset_workdir(workdir)
        catalog = self.ingest(*self.input_files())
        digest = scripts_digest()
        self.deploy_scripts(digest)
        definition = self.definition(digest)
        with LocalCloud(self.settings.region) as cloud:
            registry = LocalRegistry(
                cloud, self.s3, self.settings.model_package_group_name, LambdaSetup({}, {})
            )
            created = registry.provision(
                buckets=[ARTIFACT_BUCKET], table=IDEMPOTENCY_TABLE, topic="local-approvals"
            )
            registry.lambdas = self.lambda_setup(created["topic_arn"])
            result = self.execute(definition, catalog, registry)
            outcome = None
            package = result.properties.get(f"{names.STEP_REGISTER}-RegisterModel", {}).get("ModelPackageArn")
            if result.status == "Succeeded" and package:
                self.progress("▶ registry event → approval function")
                outcome = registry.review(package)
                self.progress(f"✔ model package {outcome.approval_status}")
            packages = registry.package_count()
        summary = self.summarise(result, outcome, time.perf_counter() - started)
        summary["registry"] = {
            "model_package_group": self.settings.model_package_group_name,
            "packages_in_group": packages,
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
        report = render_run_report(summary, self.options.workdir / "report.html")
        summary["artifacts"]["report"] = str(report)
        return summary


MARKER = ".fraud-local-run"


class WorkdirError(ValueError):
    """The work directory holds something other than an earlier local run; it is left alone."""


def _reset_workdir(workdir: Path) -> None:
    """Replace an earlier run's folder, but never a folder the run did not create."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).is_file():
            raise WorkdirError(
                f"{workdir} is not empty and was not made by a local run (no {MARKER}); "
                "choose another --workdir or empty it yourself"
            )
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


def render_run_report(summary: dict[str, Any], path: Path) -> Path:
    from pipeline_def.local.report import render_report

    def load(name: str) -> dict:
        artifact = summary["artifacts"].get(name)
        return json.loads(Path(artifact).read_text()) if artifact else {}

    return render_report(summary, load("evaluation"), load("bias_analysis"), path)


def run(options: RunOptions, progress: Callable[[str], None] | None = None) -> dict:
    return LocalRun(options, progress or (lambda _line: None)).run()
