"""The step-7 job's fixtures (a test split, a model, its scores, one full analysis)."""

from tests.scripts.bias_shap_fixtures import clarify_case, clarify_output

__all__ = ["clarify_case", "clarify_output"]
