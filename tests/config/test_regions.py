"""Regions: an environment may name only a region where the pinned SDK knows the pipeline's images.

The allowed list is read from the SDK's own data files, without importing the SDK; a region
outside it fails in one line that names the key and the allowed regions, instead of a long SDK
traceback when the definition is built.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest

from pipeline_def.config import REPO_ROOT, SUPPORTED_REGIONS, Reader, load_environment
from pipeline_def.config.regions import image_regions
from pipeline_def.names import XGBOOST_VERSION
from tests.config.config_support import KEY, changed_context, error_for

ALLOWED = ", ".join(SUPPORTED_REGIONS)


def test_supported_region_is_kept(context: Reader) -> None:
    # Given dev in eu-west-1, When it is loaded, Then its settings carry that region
    config = load_environment(changed_context(context, "dev", "region", "eu-west-1"), "dev")
    assert config.region == "eu-west-1"


def test_unsupported_region_is_refused_with_the_allowed_regions(context: Reader) -> None:
    # Given a well-formed region the SDK does not know, When dev is loaded
    message = error_for(context, "region", "xx-moon-1")
    # Then one line names the key and lists the allowed regions
    assert message == f"{KEY}.region: 'xx-moon-1' is not allowed; allowed: {ALLOWED}"


def test_malformed_region_is_refused_with_the_allowed_regions(context: Reader) -> None:
    # Given a value that is not a region at all, When dev is loaded
    message = error_for(context, "region", "us-east")
    # Then the same one line lists the allowed regions
    assert message == f"{KEY}.region: 'us-east' is not allowed; allowed: {ALLOWED}"


def test_allowed_regions_are_listed_in_alphabetical_order() -> None:
    # Given the pinned SDK, When the allowed regions are read, Then a reader finds theirs by name
    assert list(SUPPORTED_REGIONS) == sorted(SUPPORTED_REGIONS)


def test_allowed_regions_are_regions_of_the_pinned_xgboost_image() -> None:
    # Given the XGBoost version the definition pins
    xgboost = image_regions("xgboost", XGBOOST_VERSION)
    # When the allowed regions are compared with the SDK's list for that image
    # Then every allowed region has the image
    assert set(SUPPORTED_REGIONS) <= xgboost


def test_every_allowed_region_has_the_xgboost_image_in_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the SDK itself (imported here, as the definition builder does)
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker import image_uris, utils

    # The SDK parses botocore's endpoint list again on every call (47 ms): once is enough here.
    monkeypatch.setattr(utils, "_botocore_resolver", functools.cache(utils._botocore_resolver))
    # When each allowed region's image is retrieved, Then the SDK knows the pinned XGBoost image there
    for region in SUPPORTED_REGIONS:
        assert image_uris.retrieve("xgboost", region, version=XGBOOST_VERSION).endswith(f":{XGBOOST_VERSION}")


def test_the_allowed_regions_are_exactly_those_of_the_xgboost_image() -> None:
    # Every job runs in the XGBoost image (no Clarify image any more), so nothing else narrows the list
    assert set(SUPPORTED_REGIONS) == image_regions("xgboost", XGBOOST_VERSION)


def test_config_does_not_import_the_sagemaker_sdk() -> None:
    # Given a fresh interpreter
    code = "import sys, pipeline_def.config; print('sagemaker' in sys.modules)"
    # When the config package is imported (it reads the allowed regions at import)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    # Then the SDK was not imported
    assert result.stdout.strip() == "False"
