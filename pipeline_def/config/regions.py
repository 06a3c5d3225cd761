"""Regions an environment may name: those where the pinned SageMaker SDK knows the pipeline's images.

The definition builder asks the SDK for the XGBoost image (``XGBOOST_VERSION``) of the
environment's region, the one image every job runs in; in a region the SDK does not list, that
fails deep inside the SDK. This module reads the same data files the SDK reads
(``sagemaker/image_uri_config/*.json``) as plain JSON, located with ``importlib.util.find_spec``,
which does not import the package: the configuration stays fast and free of the SDK, and the
allowed regions follow the pinned SDK.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline_def.names import XGBOOST_VERSION

#: The images the definition retrieves: (image_uri_config file, version or None for every version).
PIPELINE_IMAGES: tuple[tuple[str, str | None], ...] = (("xgboost", XGBOOST_VERSION),)


def _image_uri_config(framework: str) -> Mapping[str, Any]:
    spec = importlib.util.find_spec("sagemaker")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the sagemaker package is not installed: it lists the regions of the images")
    path = Path(next(iter(spec.submodule_search_locations))) / "image_uri_config" / f"{framework}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _scopes(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The config's image scopes (training, inference, processing, ...) that list versions."""
    if "versions" in config:
        return [config]
    return [scope for scope in config.values() if isinstance(scope, Mapping) and "versions" in scope]


def image_regions(framework: str, version: str | None) -> frozenset[str]:
    """Regions in which every image scope of ``framework`` that has ``version`` has a registry."""
    regions: set[str] | None = None
    for scope in _scopes(_image_uri_config(framework)):
        versions = scope["versions"]
        wanted = scope.get("version_aliases", {}).get(version, version)
        for name, entry in versions.items():
            if wanted is not None and name != wanted:
                continue
            listed = set(entry.get("registries", {}))
            regions = listed if regions is None else regions & listed
    if not regions:
        raise ImportError(f"the installed sagemaker package lists no region for {framework} {version or ''}")
    return frozenset(regions)


def _supported_regions() -> tuple[str, ...]:
    regions = frozenset.intersection(*(image_regions(name, version) for name, version in PIPELINE_IMAGES))
    return tuple(sorted(regions))


#: Sorted; read once, when the configuration is imported.
SUPPORTED_REGIONS = _supported_regions()
