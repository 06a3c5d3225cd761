"""Exact TreeSHAP: additivity to the margin, Clarify's aggregations, chunking and model loading."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from pipeline_def.scripts import bias_shap

NAMES = [f"x{i}" for i in range(6)]


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(11).normal(size=(500, len(NAMES)))


@pytest.fixture(scope="module")
def booster(data: np.ndarray) -> xgb.Booster:
    # Given a small model with interactions and a non-default base score
    label = (data[:, 0] + data[:, 1] * data[:, 2] - 0.5 * data[:, 3] > 0.3).astype(int)
    params = {"objective": "binary:logistic", "max_depth": 4, "base_score": 0.3, "seed": 0, "nthread": 1}
    return xgb.train(params, xgb.DMatrix(data, label=label), num_boost_round=25)


def test_contributions_plus_bias_equal_the_margin_of_every_row(
    booster: xgb.Booster, data: np.ndarray
) -> None:
    shap = bias_shap.tree_shap(booster, data)
    margin = booster.predict(xgb.DMatrix(data), output_margin=True)
    assert np.max(np.abs(shap.contributions.sum(axis=1) + shap.bias - margin)) <= 1e-4


def test_global_values_are_the_mean_absolute_shap_per_feature(booster: xgb.Booster, data: np.ndarray) -> None:
    per_row = bias_shap.tree_shap(booster, data).contributions.astype(np.float64)
    summary = bias_shap.explain_dataset(booster, data, NAMES)
    assert list(summary.values) == NAMES
    assert np.allclose(list(summary.values.values()), np.abs(per_row).mean(axis=0), atol=1e-9)


def test_expected_value_is_the_mean_bias_term(booster: xgb.Booster, data: np.ndarray) -> None:
    bias_term = bias_shap.tree_shap(booster, data).bias.astype(np.float64)
    assert bias_shap.explain_dataset(booster, data, NAMES).expected_value == pytest.approx(bias_term.mean())


def test_mean_sq_aggregates_squared_values(booster: xgb.Booster, data: np.ndarray) -> None:
    per_row = bias_shap.tree_shap(booster, data).contributions.astype(np.float64)
    summary = bias_shap.explain_dataset(booster, data, NAMES, agg_method="mean_sq")
    assert np.allclose(list(summary.values.values()), (per_row**2).mean(axis=0), atol=1e-9)


def test_an_unsupported_aggregation_is_an_error(booster: xgb.Booster, data: np.ndarray) -> None:
    with pytest.raises(
        ValueError, match="unsupported SHAP agg_method 'median'; supported: mean_abs, mean_sq"
    ):
        bias_shap.explain_dataset(booster, data, NAMES, agg_method="median")


def test_chunking_does_not_change_the_result(booster: xgb.Booster, data: np.ndarray, tmp_path: Path) -> None:
    whole = bias_shap.explain_dataset(booster, data, NAMES, local_csv=tmp_path / "whole.csv")
    chunked = bias_shap.explain_dataset(
        booster, data, NAMES, local_csv=tmp_path / "chunked.csv", chunk_rows=7
    )
    assert chunked.values == pytest.approx(whole.values)
    assert (tmp_path / "chunked.csv").read_text() == (tmp_path / "whole.csv").read_text()


def local_csv_lines(booster: xgb.Booster, data: np.ndarray, tmp_path: Path) -> list[str]:
    """The local SHAP CSV's lines, written in chunks of 64 rows."""
    bias_shap.explain_dataset(booster, data, NAMES, local_csv=tmp_path / "out.csv", chunk_rows=64)
    return (tmp_path / "out.csv").read_text().splitlines()


def test_local_csv_has_a_feature_header(booster: xgb.Booster, data: np.ndarray, tmp_path: Path) -> None:
    # Given the data, When local values are written in chunks, Then the first line names the features
    assert local_csv_lines(booster, data, tmp_path)[0] == ",".join(NAMES)


def test_local_csv_has_one_row_per_input_row(booster: xgb.Booster, data: np.ndarray, tmp_path: Path) -> None:
    # Given the data, When local values are written in chunks, Then each input row has a line under the header
    assert len(local_csv_lines(booster, data, tmp_path)) == 1 + data.shape[0]


# ---------------------------------------------------------------- loading the model artifact


def _tarball(path: Path, name: str, raw: bytes) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo(name)
        member.size = len(raw)
        archive.addfile(member, io.BytesIO(raw))
    return path


def _same_predictions(first: xgb.Booster, second: xgb.Booster, data: np.ndarray) -> bool:
    return np.array_equal(first.predict(xgb.DMatrix(data)), second.predict(xgb.DMatrix(data)))


def test_loads_xgboost_model_from_a_sagemaker_model_tarball(
    booster: xgb.Booster, data: np.ndarray, tmp_path: Path
) -> None:
    model = _tarball(tmp_path / "model.tar.gz", "xgboost-model", bytes(booster.save_raw("ubj")))
    assert _same_predictions(bias_shap.load_booster(model), booster, data)


def test_loads_xgboost_model_from_a_directory(booster: xgb.Booster, data: np.ndarray, tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(bytes(booster.save_raw("json")))
    assert _same_predictions(bias_shap.load_booster(tmp_path), booster, data)


def test_falls_back_to_pickle_for_old_container_artifacts(
    booster: xgb.Booster, data: np.ndarray, tmp_path: Path
) -> None:
    model = _tarball(tmp_path / "model.tar.gz", "./xgboost-model", pickle.dumps(booster))
    assert _same_predictions(bias_shap.load_booster(model), booster, data)


def test_a_pickle_is_unpickled_before_xgboost_is_asked(
    booster: xgb.Booster, data: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given XGBoost's loader, which reads a pickled Booster as its legacy binary format for about a second
    def refuse_slowly(self: xgb.Booster, raw: bytearray) -> None:
        raise AssertionError("XGBoost was asked to load a pickle")

    monkeypatch.setattr(xgb.Booster, "load_model", refuse_slowly)
    # When a pickled Booster is loaded, Then it is unpickled without that detour
    model = _tarball(tmp_path / "model.tar.gz", "xgboost-model", pickle.dumps(booster))
    assert _same_predictions(bias_shap.load_booster(model), booster, data)


def test_bytes_that_only_begin_as_a_pickle_still_go_to_xgboost_and_fail_naming_both(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(b"\x80\x04 neither a pickle nor a model")
    with pytest.raises(bias_shap.ModelLoadError, match=r"not an XGBoost model \(.+\) and not a pickled one"):
        bias_shap.load_booster(tmp_path)


def test_a_tarball_without_xgboost_model_is_an_error(tmp_path: Path) -> None:
    model = _tarball(tmp_path / "model.tar.gz", "something-else", b"{}")
    with pytest.raises(bias_shap.ModelLoadError, match="holds no file named 'xgboost-model'"):
        bias_shap.load_booster(model)


def test_a_file_that_is_no_model_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(b"not a model")
    with pytest.raises(bias_shap.ModelLoadError, match="not an XGBoost model"):
        bias_shap.load_booster(tmp_path)


def test_a_feature_count_mismatch_is_an_error(booster: xgb.Booster) -> None:
    with pytest.raises(ValueError, match="the model expects 6 features, the dataset has 5"):
        bias_shap.check_feature_names(booster, NAMES[:5])


def test_a_pickle_of_something_else_is_an_error_naming_what_it_holds(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(bias_shap.ModelLoadError, match=r"the pickle holds a dict, not an xgboost\.Booster"):
        bias_shap.load_booster(tmp_path)
