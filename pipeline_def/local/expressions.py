"""Pipeline expressions evaluated the way SageMaker evaluates them during an execution.

``Get`` reads parameters, execution variables and step properties (Describe*-shaped dicts);
``Std:Join`` joins resolved values; ``Std:JsonGet`` reads a JSON path from a step's property
file in (local) S3. A reference that cannot resolve raises :class:`ExecutionError` naming the
step that asked and the reference, as a SageMaker execution fails on it.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline_def.definition.checks import parse_path


class ExecutionError(RuntimeError):
    """A step failed; the message names the step and, for references, the reference."""


@dataclass
class Context:
    """What expressions can see: parameters, execution variables and finished steps' outputs."""

    parameters: dict[str, Any]
    execution: dict[str, Any]
    properties: dict[str, dict] = field(default_factory=dict)
    property_files: dict[str, dict[str, dict]] = field(default_factory=dict)
    read_s3_text: Callable[[str], str] | None = None


def _walk(document: Any, tokens: list, reference: str) -> Any:
    node = document
    for token in tokens:
        if isinstance(token, tuple):
            matches = (
                [e for e in node if isinstance(e, dict) and token[1] in e.values()]
                if isinstance(node, list)
                else []
            )
            if isinstance(node, dict) and token[1] in node:
                matches = [node[token[1]]]
            if not matches:
                raise KeyError(f"no entry named {token[1]!r}")
            node = matches[0]
        elif isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                raise KeyError(f"index [{token}] out of range")
            node = node[token]
        else:
            if not isinstance(node, dict) or token not in node:
                raise KeyError(f"no member {token!r}")
            node = node[token]
    return node


def get(reference: str, ctx: Context, asking_step: str) -> Any:
    head, _, rest = reference.partition(".")
    try:
        if head == "Parameters":
            return ctx.parameters[rest]
        if head == "Execution":
            return ctx.execution[rest]
        if head == "Steps":
            step, _, path = rest.partition(".")
            if step not in ctx.properties:
                raise KeyError(f"step {step!r} has not run (or does not exist)")
            return _walk(ctx.properties[step], parse_path(path), reference)
    except KeyError as err:
        raise ExecutionError(
            f"step {asking_step}: cannot resolve {{'Get': {reference!r}}}: {err.args[0]}"
        ) from err
    raise ExecutionError(f"step {asking_step}: unknown reference root in {reference!r}")


def json_get(spec: dict, ctx: Context, asking_step: str) -> Any:
    """``Std:JsonGet``: SageMaker reads the property file's S3 object and takes a JSON path."""
    reference = (
        spec["PropertyFile"]["Get"]
        if isinstance(spec.get("PropertyFile"), dict)
        else spec.get("PropertyFile")
    )
    path = resolve(spec["Path"], ctx, asking_step)
    step, _, rest = str(reference).removeprefix("Steps.").partition(".PropertyFiles.")
    declared = ctx.property_files.get(step, {}).get(rest)
    if declared is None:
        raise ExecutionError(f"step {asking_step}: no property file {reference!r}")
    outputs = ctx.properties[step]["ProcessingOutputConfig"]["Outputs"]
    uri = next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == declared["OutputName"])
    assert ctx.read_s3_text is not None
    try:
        document = json.loads(ctx.read_s3_text(f"{uri.rstrip('/')}/{declared['FilePath']}"))
        return _walk(document, parse_path(path), path)
    except (KeyError, FileNotFoundError, json.JSONDecodeError) as err:
        raise ExecutionError(
            f"step {asking_step}: Std:JsonGet {path!r} on {reference} ({declared['FilePath']}) failed: {err}"
        ) from err


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def resolve(value: Any, ctx: Context, asking_step: str) -> Any:
    """Replace every expression inside ``value`` by its value."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            return get(value["Get"], ctx, asking_step)
        if set(value) == {"Std:Join"}:
            spec = value["Std:Join"]
            return spec["On"].join(_text(resolve(v, ctx, asking_step)) for v in spec["Values"])
        if set(value) == {"Std:JsonGet"}:
            return json_get(value["Std:JsonGet"], ctx, asking_step)
        return {k: resolve(v, ctx, asking_step) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ctx, asking_step) for v in value]
    return value


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "GreaterThan": operator.gt,
    "GreaterThanOrEqualTo": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqualTo": operator.le,
}


def evaluate(condition: dict, ctx: Context, asking_step: str) -> bool:
    """One condition of a Condition step (comparisons, In, Not, Or)."""
    kind = condition["Type"]
    if kind in _COMPARISONS:
        left = resolve(condition["LeftValue"], ctx, asking_step)
        right = resolve(condition["RightValue"], ctx, asking_step)
        try:
            return bool(_COMPARISONS[kind](left, right))
        except TypeError as err:
            raise ExecutionError(f"step {asking_step}: cannot compare {left!r} {kind} {right!r}") from err
    if kind == "In":
        left = resolve(condition["QueryValue"], ctx, asking_step)
        return left in [resolve(v, ctx, asking_step) for v in condition["Values"]]
    if kind == "Not":
        return not evaluate(condition["Expression"], ctx, asking_step)
    if kind == "Or":
        return any(evaluate(c, ctx, asking_step) for c in condition["Conditions"])
    raise ExecutionError(f"step {asking_step}: unsupported condition type {kind!r}")
