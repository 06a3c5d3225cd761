"""The training pipeline's parameters without the SDK: names, types, defaults, allowed values.

Why a table of its own: the local run checks ``--param`` against these before it writes
anything, while the definition is still rendering in a worker process; and the builder turns
this same table into the SDK's ``Parameter*`` objects, so the two cannot disagree
(tests/definition/test_parameters.py compares it with every rendered definition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pipeline_def.config import REGISTRATION_STATUSES, PipelineSettings

ParameterType = Literal["String", "Integer", "Float"]


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParameterType
    default: str | int | float
    enum_values: tuple[str, ...] = ()

    def declaration(self) -> dict[str, Any]:
        """The entry of the definition's ``Parameters`` list that declares it."""
        declared: dict[str, Any] = {"Name": self.name, "Type": self.type, "DefaultValue": self.default}
        if self.enum_values:
            declared["EnumValues"] = list(self.enum_values)
        return declared


def training_parameters(settings: PipelineSettings, code_version: str) -> tuple[Parameter, ...]:
    """What a scheduled or manual execution of the training pipeline may override, in order."""
    return (
        Parameter("ProcessingInstanceType", "String", settings.processing_instance_type),
        Parameter("ProcessingInstanceCount", "Integer", 1),
        Parameter("TrainingInstanceType", "String", settings.training_instance_type),
        Parameter("TransformInstanceType", "String", settings.transform_instance_type),
        Parameter("ExplainabilityInstanceType", "String", settings.explainability_instance_type),
        Parameter("ExplainabilityMaxRows", "Integer", settings.explainability_max_rows),
        Parameter("MaxTuningJobs", "Integer", settings.max_tuning_jobs),
        Parameter("MaxParallelTuningJobs", "Integer", settings.max_parallel_tuning_jobs),
        Parameter("MinAuc", "Float", settings.min_auc),
        Parameter("MinRecall", "Float", settings.min_recall),
        Parameter("DataCutoffTime", "String", "latest"),
        Parameter("ValidationFraction", "Float", 0.15),
        Parameter("TestFraction", "Float", 0.15),
        Parameter("ModelApprovalStatus", "String", settings.model_approval_status, REGISTRATION_STATUSES),
        Parameter("CodeVersion", "String", code_version),
    )


def declarations(parameters: tuple[Parameter, ...]) -> dict[str, Any]:
    """A definition fragment holding only ``Parameters``: what ``resolve_parameters`` reads."""
    return {"Parameters": [p.declaration() for p in parameters]}
