"""cfn-lint over every synthesized template: no errors, no warnings but W3005.

W3005 ("dependency already enforced by GetAtt") is ignored: CDK adds explicit DependsOn for
ordering that a GetAtt also implies, which is harmless.
"""

from __future__ import annotations

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infra.synth_support import STACK_KINDS, Synthesized

IGNORED = ["W3005"]


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_template_passes_cfn_lint(env: Synthesized, kind: str) -> None:
    matches = lint_file(
        env.template_path(kind), config=ManualArgs(ignore_checks=IGNORED, regions=[env.config.region])
    )
    assert [str(m) for m in matches] == []
