"""Executes a pipeline definition (the JSON SageMaker receives) step by step on this machine.

Why not the SDK's own local mode (``LocalPipelineSession``)? It interprets the Python step
objects rather than the definition JSON, needs Docker for every job, and supports neither
tuning nor model registration. Interpreting the JSON is small, and it means the local run
executes exactly the definition CloudFormation deploys: a broken reference, a wrong JSON path
in the condition or a request SageMaker would reject fails here too.

Semantics follow SageMaker Pipelines: a step runs once every step it depends on (``DependsOn``,
property references, the condition whose branch holds it) has succeeded; a condition's branch
not taken is skipped; the first failed step (or a Fail step) fails the execution and nothing
new starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline_def.definition.checks import (
    REQUEST_OPERATIONS,
    check_definition,
    iter_gets,
    iter_steps,
    own_content,
    service_model,
    validate_request,
)
from pipeline_def.local.expressions import Context, ExecutionError, evaluate, resolve

Runner = Callable[[str, dict, str], dict]
LOCAL_PIPELINE_ARN = "arn:aws:sagemaker:local:000000000000:pipeline/local"
Progress = Callable[[str], None]

_PARAMETER_TYPES: dict[str, Callable[[str], Any]] = {
    "String": str,
    "Integer": int,
    "Float": float,
    "Boolean": lambda text: {"true": True, "false": False}[text.lower()],
}


class ParameterError(ValueError):
    """An override names an unknown parameter or a value its type does not allow."""


@dataclass
class StepRecord:
    name: str
    type: str
    status: str = "NotStarted"
    seconds: float = 0.0
    failure_reason: str | None = None


@dataclass
class ExecutionResult:
    execution_id: str
    status: str
    failure_reason: str | None
    steps: list[StepRecord]
    parameters: dict[str, Any]
    properties: dict[str, dict] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "execution_id": self.execution_id,
            "status": self.status,
            "failure_reason": self.failure_reason,
            "parameters": self.parameters,
            "steps": [asdict(s) for s in self.steps],
        }


def resolve_parameters(definition: dict, overrides: dict[str, str]) -> dict[str, Any]:
    """Defaults from the definition, overridden by ``Name=Value`` strings typed per parameter."""
    declared = {p["Name"]: p for p in definition.get("Parameters", [])}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(declared)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name not in overrides:
            if "DefaultValue" not in spec:  # SageMaker refuses to start such an execution too
                raise ParameterError(f"parameter {name} has no default value; pass {name}=<value>")
            values[name] = spec["DefaultValue"]
            continue
        try:
            values[name] = _PARAMETER_TYPES[spec["Type"]](overrides[name])
        except (ValueError, KeyError) as err:
            raise ParameterError(
                f"parameter {name}: {overrides[name]!r} is not a valid {spec['Type']}"
            ) from err
        allowed = spec.get("EnumValues")
        if allowed and values[name] not in allowed:
            raise ParameterError(f"parameter {name}: {values[name]!r} is not one of {', '.join(allowed)}")
    return values


def dependencies(definition: dict) -> tuple[list[dict], dict[str, set[str]], dict[str, tuple[str, bool]]]:
    """Steps in definition order, what each waits for, and which condition branch holds it."""
    steps = list(iter_steps(definition))
    names = {s["Name"] for s in steps}
    branch_of: dict[str, tuple[str, bool]] = {}
    for step in steps:
        if step["Type"] == "Condition":
            for taken, key in ((True, "IfSteps"), (False, "ElseSteps")):
                for child in step["Arguments"].get(key, []):
                    branch_of[child["Name"]] = (step["Name"], taken)
    waits: dict[str, set[str]] = {}
    for step in steps:
        referenced = {get.split(".")[1] for get in iter_gets(own_content(step)) if get.startswith("Steps.")}
        waits[step["Name"]] = (set(step.get("DependsOn", [])) | referenced) & names
        if step["Name"] in branch_of:
            waits[step["Name"]].add(branch_of[step["Name"]][0])
    return steps, waits, branch_of


def topological_order(steps: list[dict], waits: dict[str, set[str]]) -> list[dict]:
    """Kahn's algorithm; ties keep definition order so runs are reproducible."""
    done: set[str] = set()
    ordered: list[dict] = []
    pending = list(steps)
    while pending:
        ready = next((s for s in pending if waits[s["Name"]] <= done), None)
        if ready is None:
            cycle = ", ".join(s["Name"] for s in pending)
            raise ExecutionError(f"the steps {cycle} wait on each other (a dependency cycle)")
        ordered.append(ready)
        done.add(ready["Name"])
        pending.remove(ready)
    return ordered


def _validate_request(step: dict, request: dict) -> None:
    """SageMaker validates the resolved request when the step starts; so does the local run."""
    operation, filled_later = REQUEST_OPERATIONS[step["Type"]]
    shape = service_model().operation_model(operation).input_shape
    params = {**{name: "pipelines-filled-at-execution" for name in filled_later}, **request}
    errors = validate_request(step["Name"], operation, params, shape)
    if errors:
        raise ExecutionError(f"step {step['Name']}: {operation} would be rejected: " + "; ".join(errors))


class Executor:
    def __init__(
        self,
        definition: dict,
        runners: dict[str, Runner],
        *,
        execution_id: str,
        read_s3_text: Callable[[str], str],
        overrides: dict[str, str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        check_definition(definition)
        self.definition = definition
        self.runners = runners
        self.progress = progress or (lambda _line: None)
        parameters = resolve_parameters(definition, overrides or {})
        now = datetime.now(UTC).isoformat()
        self.ctx = Context(
            parameters=parameters,
            execution={
                "PipelineExecutionId": execution_id,
                "PipelineExecutionArn": f"{LOCAL_PIPELINE_ARN}/execution/{execution_id}",
                "PipelineName": "local",
                "PipelineArn": LOCAL_PIPELINE_ARN,
                "StartDateTime": now,
                "CurrentDateTime": now,
            },
            read_s3_text=read_s3_text,
        )
        self.execution_id = execution_id

    def run(self) -> ExecutionResult:
        steps, waits, branch_of = dependencies(self.definition)
        records = {s["Name"]: StepRecord(s["Name"], s["Type"]) for s in steps}
        outcome: dict[str, bool] = {}
        failure: str | None = None
        for step in topological_order(steps, waits):
            record = records[step["Name"]]
            if failure is not None or not self._should_run(step["Name"], waits, records, branch_of, outcome):
                record.status = "NotRun" if failure is None else "NotStarted"
                continue
            failure = self._run_step(step, record, outcome)
        status = "Failed" if failure else "Succeeded"
        return ExecutionResult(
            self.execution_id,
            status,
            failure,
            list(records.values()),
            self.ctx.parameters,
            self.ctx.properties,
        )

    @staticmethod
    def _should_run(name, waits, records, branch_of, outcome) -> bool:
        if name in branch_of:
            condition, taken = branch_of[name]
            if outcome.get(condition) is not taken:
                return False
        return all(records[w].status == "Succeeded" for w in waits[name])

    def _run_step(self, step: dict, record: StepRecord, outcome: dict[str, bool]) -> str | None:
        record.status = "Executing"
        self.progress(f"▶ {step['Name']} ({step['Type']})")
        started = time.perf_counter()
        try:
            self._execute(step, outcome)
            record.status = "Succeeded"
        except ExecutionError as err:
            record.status = "Failed"
            record.failure_reason = str(err)
        record.seconds = round(time.perf_counter() - started, 3)
        mark = "✔" if record.status == "Succeeded" else "✘"
        self.progress(f"{mark} {step['Name']} {record.status.lower()} in {record.seconds:.1f}s")
        return record.failure_reason

    def _execute(self, step: dict, outcome: dict[str, bool]) -> None:
        name, kind = step["Name"], step["Type"]
        self.ctx.execution["CurrentDateTime"] = datetime.now(UTC).isoformat()
        if kind == "Condition":
            met = all(evaluate(c, self.ctx, name) for c in step["Arguments"]["Conditions"])
            outcome[name] = met
            self.ctx.properties[name] = {"Outcome": met}
            self.progress(
                f"  condition {'met' if met else 'not met'}: taking the {'if' if met else 'else'} branch"
            )
            return
        if kind == "Fail":
            message = resolve(step["Arguments"].get("ErrorMessage", ""), self.ctx, name)
            raise ExecutionError(f"step {name} (Fail): {message}")
        if kind not in self.runners:
            raise ExecutionError(f"step {name}: the local run has no runner for {kind} steps")
        request = resolve(step["Arguments"], self.ctx, name)
        _validate_request(step, request)
        if step.get("PropertyFiles"):
            self.ctx.property_files[name] = {
                p["PropertyFileName"]: {"OutputName": p["OutputName"], "FilePath": p["FilePath"]}
                for p in step["PropertyFiles"]
            }
        self.ctx.properties[name] = self.runners[kind](name, request, self.execution_id)
