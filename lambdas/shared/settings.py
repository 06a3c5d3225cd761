"""Reading a function's environment variables into a validated, frozen pydantic model.

Settings are read on each invocation rather than at import: importing a handler must work in
tests and in the local run before the environment is set, and a bad value should fail the
invocation with a message naming the variable, not crash the module import with a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from lambdas.shared.text import summarise_validation_error

SettingsT = TypeVar("SettingsT", bound=BaseModel)


class ConfigurationError(RuntimeError):
    """An environment variable is missing or invalid: a deployment bug, not a data problem.

    Nothing is read from or written to AWS before this is raised.
    """


def _strict_bool(value: Any) -> Any:
    """Accept only ``true``/``false`` (any case) from the environment.

    pydantic would also take ``yes``, ``on``, ``1``...; for a switch like AUTO_APPROVE a typo
    must be an error, not a silent interpretation.
    """
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
        raise ValueError("must be 'true' or 'false'")
    return value


def split_names(value: Any) -> Any:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: a comma-separated list, empty items dropped.

    Examples
    --------
    >>> split_names(" fraud-5xx, ,fraud-latency ")
    ('fraud-5xx', 'fraud-latency')
    """
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",") if name.strip())
    return value


def json_object(value: Any) -> Any:
    """Parse a variable holding a JSON object; empty text is an empty object.

    Only the JSON is read here; the model's own type (a dict of what to what) then says whether
    the document fits, so a list or a number is refused naming the variable.
    """
    if not isinstance(value, str):
        return value
    if not value.strip():
        return {}
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"must be a JSON object ({error.msg})") from None
    except RecursionError:
        raise ValueError("must be a JSON object (nested too deeply)") from None


EnvBool = Annotated[bool, BeforeValidator(_strict_bool)]
#: DynamoDB's table-name rule (the idempotency table).
TableName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_.\-]{3,255}$")]
#: An SNS topic ARN (the reviewers' and the operators' topics).
TopicArn = Annotated[
    str, Field(pattern=r"^arn:aws[a-z\-]*:sns:[a-z0-9\-]{1,32}:[0-9]{12}:[A-Za-z0-9_\-]{1,256}$")
]


def load_settings(model: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
    """Validate the variables ``model`` declares (by alias) from ``environ`` (default: os.environ).

    Raises
    ------
    ConfigurationError
        Naming every missing or invalid variable at once.

    Examples
    --------
    >>> load_settings(ApprovalSettings, {"MIN_AUC": "0.8", ...})  # doctest: +SKIP
    """
    source = os.environ if environ is None else environ
    names = [field.alias or name for name, field in model.model_fields.items()]
    present = {name: source[name] for name in names if name in source}
    try:
        return model.model_validate(present)
    except ValidationError as error:
        raise ConfigurationError(
            f"invalid Lambda environment for {model.__name__}: {summarise_validation_error(error, 20)}"
        ) from error
