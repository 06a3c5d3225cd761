"""The step-7 job's fixtures, for the tests that join the job script and the approval gates."""

from tests.scripts.bias_shap_fixtures import clarify_case, clarify_output

__all__ = ["clarify_case", "clarify_output"]
