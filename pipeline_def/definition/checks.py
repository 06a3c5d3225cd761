"""Static checks of a pipeline definition, the ones SageMaker itself would make at execution.

SageMaker validates each step's request when the step starts, hours into an execution. These
checks find the same mistakes offline, in the tests and as the local run's pre-flight:

* every job step's ``Arguments`` must satisfy botocore's request shape for the API the step
  calls, once ``Get``/``Std:*`` expressions are replaced by dummies of the right type;
* every ``{"Get": ...}`` must name a parameter, an execution variable, or an existing step and
  a property that step's Describe* response really has (including a named output that exists).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

#: Step type -> (Create API the step calls, fields the service fills in at execution time).
REQUEST_OPERATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Processing": ("CreateProcessingJob", ("ProcessingJobName",)),
    "Training": ("CreateTrainingJob", ("TrainingJobName",)),
    "Tuning": ("CreateHyperParameterTuningJob", ("HyperParameterTuningJobName",)),
    "Transform": ("CreateTransformJob", ("TransformJobName",)),
    "Model": ("CreateModel", ("ModelName",)),
    "RegisterModel": ("CreateModelPackage", ()),
}

#: Step type -> Describe/List responses whose members are that step's properties.
PROPERTY_OPERATIONS: dict[str, tuple[str, ...]] = {
    "Processing": ("DescribeProcessingJob",),
    "Training": ("DescribeTrainingJob",),
    "Tuning": ("DescribeHyperParameterTuningJob", "ListTrainingJobsForHyperParameterTuningJob"),
    "Transform": ("DescribeTransformJob",),
    "Model": ("DescribeModel",),
    "RegisterModel": ("DescribeModelPackage",),
}

EXECUTION_VARIABLES = frozenset(
    {
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "PipelineName",
        "PipelineArn",
        "StartDateTime",
        "CurrentDateTime",
    }
)
EXPRESSION_KEYS = frozenset({"Get", "Std:Join", "Std:JsonGet"})
_PATH_TOKEN = re.compile(r"([A-Za-z0-9_]+)|\[(\d+)\]|\['([^']*)'\]")


class DefinitionError(ValueError):
    """The definition would fail on SageMaker; the message names the step and the reference."""


@cache
def service_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def iter_steps(definition: dict) -> Iterator[dict]:
    """Every step, including those nested in condition branches."""
    pending = list(definition.get("Steps", []))
    while pending:
        step = pending.pop(0)
        yield step
        if step.get("Type") == "Condition":
            pending.extend(step["Arguments"].get("IfSteps", []))
            pending.extend(step["Arguments"].get("ElseSteps", []))


def own_content(step: dict) -> dict:
    """A step without the steps nested in it (a condition's branches are steps of their own)."""
    if step.get("Type") != "Condition":
        return step
    arguments = {k: v for k, v in step["Arguments"].items() if k not in ("IfSteps", "ElseSteps")}
    return {**step, "Arguments": arguments}


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSION_KEYS


def iter_gets(value: Any) -> Iterator[str]:
    """Every ``Get`` path inside a value, however deeply nested in Std:Join/JsonGet."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            yield value["Get"]
            return
        for item in value.values():
            yield from iter_gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_gets(item)


# --- request shapes -------------------------------------------------------------------------


def _dummy(shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "string":
        return "x" * max(1, int(shape.metadata.get("min", 1)))
    if kind in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if kind in ("float", "double"):
        return 0.5
    if kind == "boolean":
        return True
    raise DefinitionError(f"an expression stands where a {kind} ({shape.name}) is expected")


def concretize(value: Any, shape: Shape) -> Any:
    """Replace expressions by dummies of the type the shape expects at that place."""
    if is_expression(value):
        return _dummy(shape)
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {k: concretize(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [concretize(v, shape.member) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: concretize(v, shape.value) for k, v in value.items()}
    return value


@cache
def _pattern(expression: str) -> re.Pattern[str] | None:
    """AWS models use Java regexes; the few Python cannot compile (\\p{...}) are not checked."""
    try:
        return re.compile(expression)
    except re.error:
        return None


def constraint_errors(value: Any, shape: Shape, path: str) -> list[str]:
    """Enum and pattern violations, which botocore's ParamValidator does not check.

    SageMaker does check them, so a typo such as ``Multirecord`` or ``Bayes`` would otherwise
    pass every offline check and fail the step hours into an execution. Expressions are skipped:
    their values are only known at execution time.
    """
    if is_expression(value):
        return []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return [
            e
            for k, v in value.items()
            if k in shape.members
            for e in constraint_errors(v, shape.members[k], f"{path}.{k}")
        ]
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [e for i, v in enumerate(value) for e in constraint_errors(v, shape.member, f"{path}[{i}]")]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return [e for k, v in value.items() for e in constraint_errors(v, shape.value, f"{path}.{k}")]
    if shape.type_name != "string" or not isinstance(value, str):
        return []
    enum = getattr(shape, "enum", None) or []
    if enum and value not in enum:
        shown = ", ".join(enum[:12]) + (", ..." if len(enum) > 12 else "")
        return [f"{path}: {value!r} is not one of {shown}"]
    pattern = _pattern(shape.metadata["pattern"]) if "pattern" in shape.metadata else None
    if pattern is not None and not pattern.fullmatch(value):
        return [f"{path}: {value!r} does not match {shape.metadata['pattern']}"]
    return []


def validate_request(name: str, operation: str, params: dict, shape: Shape) -> list[str]:
    """Types, required members, lengths (botocore) plus enums and patterns (ours)."""
    report = ParamValidator().validate(concretize(params, shape), shape)
    errors = [line.strip() for line in report.generate_report().splitlines()] if report.has_errors() else []
    errors += constraint_errors(params, shape, operation)
    return [f"{name} ({operation}): {error}" for error in errors]


def request_errors(step: dict) -> list[str]:
    """SageMaker's verdict on one job step's request, with the execution-time names filled in."""
    operation, filled_later = REQUEST_OPERATIONS[step["Type"]]
    shape = service_model().operation_model(operation).input_shape
    params = {**{name: "pipelines-filled-at-execution" for name in filled_later}, **step["Arguments"]}
    return validate_request(step["Name"], operation, params, shape)


def check_requests(definition: dict) -> None:
    errors = [
        e
        for step in iter_steps(definition)
        if step["Type"] in REQUEST_OPERATIONS
        for e in request_errors(step)
    ]
    if errors:
        raise DefinitionError("invalid step requests:\n  " + "\n  ".join(errors))


# --- property references ----------------------------------------------------------------------


def parse_path(path: str) -> list[str | int | tuple[str, str]]:
    """``Outputs['train'].S3Output`` -> ``['Outputs', 'train', 'S3Output']``-like tokens."""
    tokens: list[str | int | tuple[str, str]] = []
    position = 0
    for match in _PATH_TOKEN.finditer(path):
        if path[position : match.start()] not in ("", "."):
            raise DefinitionError(f"cannot parse property path {path!r}")
        name, index, key = match.groups()
        tokens.append(name if name is not None else int(index) if index is not None else ("key", key))
        position = match.end()
    if position != len(path):
        raise DefinitionError(f"cannot parse property path {path!r}")
    return tokens


def _property_shape(step_type: str, first: str) -> Shape | None:
    for operation in PROPERTY_OPERATIONS.get(step_type, ()):
        shape = service_model().operation_model(operation).output_shape
        if first in shape.members:
            return shape
    return None


def _named_elements(arguments: Any, names: list[str]) -> Any:
    """The request list at the same path as a property list (e.g. ProcessingOutputConfig.Outputs)."""
    node = arguments
    for name in names:
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
    return node if isinstance(node, list) else None


def _check_step_property(step: dict, path: str) -> str | None:
    tokens = parse_path(path)
    if not tokens or not isinstance(tokens[0], str):
        return f"empty property path on step {step['Name']}"
    shape = _property_shape(step["Type"], tokens[0])
    if shape is None:
        return f"step {step['Name']} ({step['Type']}) has no property {tokens[0]!r}"
    walked: list[str] = []
    for token in tokens:
        if isinstance(token, tuple):
            if not isinstance(shape, ListShape | MapShape):
                return f"{path!r}: {'.'.join(walked)} is not a list or map"
            elements = _named_elements(step.get("Arguments"), walked)
            if elements is not None and not any(
                token[1] in e.values() for e in elements if isinstance(e, dict)
            ):
                return f"{path!r}: step {step['Name']} has no {'.'.join(walked)} entry named {token[1]!r}"
            shape = shape.member if isinstance(shape, ListShape) else shape.value
        elif isinstance(token, int):
            if not isinstance(shape, ListShape):
                return f"{path!r}: {'.'.join(walked)} is not a list"
            shape = shape.member
        else:
            if not isinstance(shape, StructureShape) or token not in shape.members:
                return f"{path!r}: {'.'.join(walked) or step['Type']} has no member {token!r}"
            shape = shape.members[token]
            walked.append(token)
    return None


def reference_error(get: str, steps: dict[str, dict], parameters: set[str]) -> str | None:
    """Why a ``Get`` path cannot resolve on SageMaker, or None when it can."""
    head, _, rest = get.partition(".")
    if head == "Parameters":
        return (
            None
            if rest in parameters
            else f"unknown parameter {rest!r} (known: {', '.join(sorted(parameters))})"
        )
    if head == "Execution":
        return None if rest in EXECUTION_VARIABLES else f"unknown execution variable {rest!r}"
    if head != "Steps":
        return f"unknown reference root {head!r} in {get!r}"
    step_name, _, path = rest.partition(".")
    if step_name not in steps:
        return f"no step named {step_name!r} (referenced as {get!r})"
    step = steps[step_name]
    if path.startswith("PropertyFiles."):
        declared = {p["PropertyFileName"] for p in step.get("PropertyFiles", [])}
        wanted = path.removeprefix("PropertyFiles.")
        return None if wanted in declared else f"step {step_name} declares no property file {wanted!r}"
    return _check_step_property(step, path)


def check_references(definition: dict) -> None:
    steps = {s["Name"]: s for s in iter_steps(definition)}
    parameters = {p["Name"] for p in definition.get("Parameters", [])}
    errors: dict[str, None] = {}
    for step in steps.values():
        for get in iter_gets(own_content(step)):
            problem = reference_error(get, steps, parameters)
            if problem:
                errors[f"{step['Name']}: {problem}"] = None
    if errors:
        raise DefinitionError("unresolvable references:\n  " + "\n  ".join(errors))


def check_definition(definition: dict) -> None:
    """Everything SageMaker would reject about the definition, raised as one DefinitionError."""
    check_references(definition)
    check_requests(definition)
