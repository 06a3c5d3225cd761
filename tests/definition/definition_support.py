"""Reading a rendered definition in the tests: a step by name, its container arguments, a flag's value."""

from __future__ import annotations

from typing import Any

from pipeline_def.definition.checks import iter_steps


def find_step(definition: dict, name: str) -> dict:
    """The step called ``name``, at any depth (condition branches included)."""
    return next(s for s in iter_steps(definition) if s["Name"] == name)


def container_arguments(step: dict) -> list:
    return step["Arguments"]["AppSpecification"]["ContainerArguments"]


def flag_value(step: dict, flag: str) -> Any:
    """The argument after ``flag`` in the step's container arguments."""
    arguments = container_arguments(step)
    return arguments[arguments.index(flag) + 1]
