"""The pipeline definition as a CloudFormation ``Fn::Sub`` template.

The SDK needs concrete values to build (a role ARN with ``/``, a valid bucket name), but the
real values exist only after the stacks deploy. So the builder runs with sentinel values, and
:func:`render` swaps each sentinel for a ``${Variable}`` after escaping any literal ``${`` as
``${!``. CloudFormation fills the variables in; :func:`fill` does the same for the local run,
so both execute byte-for-byte the same definition.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pipeline_def.config import IngestionSettings, MonitoringSettings, PipelineSettings
from pipeline_def.names import INGESTION_PACKAGE_FOLDER, PREFIX, SCRIPT_NAMES
from pipeline_def.schema import ENCODING_TWIN_FILE, encoding_twin

if TYPE_CHECKING:
    from pipeline_def.definition.builder import Deployment

SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "scripts"

#: Fn::Sub variable -> the sentinel the builder sees in its place.
SENTINELS: dict[str, str] = {
    "PipelineRoleArn": "arn:aws:iam::000000000000:role/fraud-pipeline-role-sentinel",
    "ArtifactBucket": "fraud-artifact-bucket-sentinel",
    "KmsKeyArn": "arn:aws:kms:us-east-1:000000000000:key/fraud-kms-key-sentinel",
    "ArtifactKmsKeyArn": "arn:aws:kms:us-east-1:000000000000:key/fraud-artifact-key-sentinel",
}
VARIABLES: tuple[str, ...] = tuple(SENTINELS)

_SUB_TOKEN = re.compile(r"\$\{(!?)([^}]*)\}")


class TemplateError(ValueError):
    """A template names a variable nobody supplied, or a sentinel leaked into the output."""


def scripts_digest(scripts_dir: Path = SCRIPTS_DIR) -> str:
    """Content digest of the job scripts: part of their S3 key, so a change redeploys the pipeline."""
    digest = hashlib.sha256()
    for name in SCRIPT_NAMES:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update((scripts_dir / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: What the ingestion job imports, as shipped beside its entry file (paths from the project root).
#: The closure is checked: tests/data/test_ingestion_package.py imports the job from a copy of
#: exactly these files, and tests/scripts/test_container_python.py checks them for Python 3.10.
INGESTION_PACKAGE_FILES: tuple[str, ...] = (
    "pipeline_def/__init__.py",
    "pipeline_def/names.py",
    "pipeline_def/schema.py",
    "pipeline_def/encoding.toml",
    "pipeline_def/data/__init__.py",
    "pipeline_def/data/checks.py",
    "pipeline_def/data/encoding.py",
    "pipeline_def/data/issues.py",
    "pipeline_def/data/parsing.py",
    "pipeline_def/data/sources.py",
    "pipeline_def/data/validation.py",
    "pipeline_def/data/ingest/__init__.py",
    "pipeline_def/data/ingest/job.py",
    "pipeline_def/data/ingest/runner.py",
    "pipeline_def/data/ingest/sinks.py",
)


def ingestion_package() -> dict[str, bytes]:
    """The job's package: the files above and ``encoding.json``, the TOML's twin for Python 3.10."""
    files = {name: (PROJECT_ROOT / name).read_bytes() for name in INGESTION_PACKAGE_FILES}
    files[ENCODING_TWIN_FILE.relative_to(PROJECT_ROOT).as_posix()] = encoding_twin().encode()
    return dict(sorted(files.items()))


def package_digest(files: Mapping[str, bytes] | None = None) -> str:
    """Content digest of the ingestion package: part of its S3 key, like the scripts'."""
    digest = hashlib.sha256()
    for name, content in (files or ingestion_package()).items():
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()[:16]


def package_key_prefix(digest: str) -> str:
    """S3 key prefix (inside the artifact bucket) that holds one version of the ingestion package."""
    return f"{PREFIX}/{INGESTION_PACKAGE_FOLDER}/{digest}"


def code_key_prefix(digest: str) -> str:
    """S3 key prefix (inside the artifact bucket) that holds one version of the job scripts."""
    return f"{PREFIX}/code/{digest}"


def _builder() -> ModuleType:
    """The SDK-backed builder, imported at the first render, not with this module.

    The CDK app imports this module for digests, keys and ``variables_in`` and renders in a
    worker process (:mod:`pipeline_def.definition.render_worker`); importing the SDK here too
    would put its two seconds back on the app's critical path.
    """
    from pipeline_def.definition import builder

    return builder


def _sentinel_deployment(digest: str) -> Deployment:
    return _builder().Deployment(
        role_arn=SENTINELS["PipelineRoleArn"],
        artifact_bucket=SENTINELS["ArtifactBucket"],
        kms_key_arn=SENTINELS["KmsKeyArn"],
        artifact_kms_key_arn=SENTINELS["ArtifactKmsKeyArn"],
        code_uri=f"s3://{SENTINELS['ArtifactBucket']}/{code_key_prefix(digest)}",
    )


def _template(pipeline: Any) -> str:
    """The SDK's definition as sorted JSON with the sentinels turned into ``${Variable}``."""
    with _builder().quiet_sdk():
        body = pipeline.definition()
    text = json.dumps(json.loads(body), indent=2, sort_keys=True) + "\n"
    text = text.replace("${", "${!")
    for variable, sentinel in SENTINELS.items():
        text = text.replace(sentinel, "${" + variable + "}")
    _check_no_sentinels(text)
    return text


def render(settings: PipelineSettings, *, digest: str | None = None) -> str:
    """The training definition with ``${Variable}`` placeholders: deterministic, ready for ``Fn::Sub``."""
    digest = digest or scripts_digest()
    return _template(_builder().get_pipeline(settings, _sentinel_deployment(digest), code_version=digest))


def render_monitoring(
    settings: PipelineSettings, monitoring: MonitoringSettings, *, digest: str | None = None
) -> str:
    """The monitoring definition, with the same variables as the training one."""
    digest = digest or scripts_digest()
    deployment = _sentinel_deployment(digest)
    pipeline = _builder().get_monitoring_pipeline(settings, monitoring, deployment, code_version=digest)
    return _template(pipeline)


def render_ingestion(
    settings: PipelineSettings, ingestion: IngestionSettings, *, digest: str | None = None
) -> str:
    """The ingestion definition, with the same variables; ``digest`` is the package's."""
    digest = digest or package_digest()
    deployment = _sentinel_deployment(scripts_digest())
    package_uri = f"s3://{SENTINELS['ArtifactBucket']}/{package_key_prefix(digest)}/"
    pipeline = _builder().get_ingestion_pipeline(
        settings, ingestion, deployment, package_uri=package_uri, code_version=digest
    )
    return _template(pipeline)


def _check_no_sentinels(text: str) -> None:
    for fragment in ("000000000000", "-sentinel"):
        if fragment in text:
            raise TemplateError(f"a sentinel value ({fragment!r}) survived rendering; extend SENTINELS")


def fill(template: str, values: Mapping[str, str]) -> str:
    """Apply ``Fn::Sub`` semantics locally: ``${Name}`` -> value, ``${!Text}`` -> ``${Text}``."""

    def substitute(match: re.Match[str]) -> str:
        escaped, name = match.groups()
        if escaped:
            return "${" + name + "}"
        if name not in values:
            raise TemplateError(f"no value for ${{{name}}}; supplied: {', '.join(sorted(values))}")
        return values[name]

    return _SUB_TOKEN.sub(substitute, template)


def variables_in(template: str) -> set[str]:
    """Fn::Sub variables a template uses (escaped literals excluded)."""
    return {name for escaped, name in _SUB_TOKEN.findall(template) if not escaped}
