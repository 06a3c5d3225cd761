"""cfn-lint over every synthesized template: no errors, no warnings but ``CFN_LINT_IGNORED``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infra.synth_support import CFN_LINT_IGNORED, STACK_KINDS, Synthesized, cfn_lint, resources_of


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_template_passes_cfn_lint(env: Synthesized, kind: str) -> None:
    assert cfn_lint(env.template_path(kind), env.config.region) == []


def test_the_shared_rules_find_what_cfn_lint_alone_finds(dev: Synthesized, tmp_path: Path) -> None:
    # Given a broken copy of a template (an unknown property, a Ref to nothing), then a clean one
    template = dev.json("data")
    broken = copy.deepcopy(template)
    bucket = next(iter(resources_of(broken, "AWS::S3::Bucket").values()))
    bucket["Properties"]["BucketNameTypo"] = "x"
    bucket["Properties"]["Tags"] = [{"Key": "k", "Value": {"Ref": "NoSuchParameter"}}]
    broken_path, clean_path = tmp_path / "broken.template.json", tmp_path / "clean.template.json"
    broken_path.write_text(json.dumps(broken), encoding="utf-8")
    clean_path.write_text(json.dumps(template), encoding="utf-8")
    alone = lint_file(
        broken_path, config=ManualArgs(ignore_checks=list(CFN_LINT_IGNORED), regions=["us-east-1"])
    )
    # Then the shared rules find the same, and nothing in the clean one after it
    found = cfn_lint(broken_path, "us-east-1")
    assert found == [str(m) for m in alone]
    assert any("BucketNameTypo" in f for f in found)
    assert any("NoSuchParameter" in f for f in found)
    assert cfn_lint(clean_path, "us-east-1") == []
