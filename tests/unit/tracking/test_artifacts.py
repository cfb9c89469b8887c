"""The model-loading chokepoint: manifest first, no pickle ever, skops with modelyard's list."""

from __future__ import annotations

import gzip
import io
import pickle
import sys
import types
import uuid
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from modelyard.errors import ArtifactIntegrityError, RegistryError, UnsafeArtifactError
from modelyard.tracking import artifacts
from modelyard.tracking.artifacts import (
    TRUSTED_TYPES,
    is_trusted_type,
    load_model,
    load_onnx_bytes,
    save_model,
)
from modelyard.tracking.manifest import write_manifest


def _pipeline(model: Any) -> Pipeline:
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5)),
        ]
    )
    ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    columns = ColumnTransformer(
        [
            ("numeric", numeric, ["distance", "hour"]),
            ("categorical", categorical, ["carrier"]),
            ("ordinal", ordinal, ["origin"]),
        ]
    )
    return Pipeline([("features", columns), ("model", model)])


MODELS = [
    pytest.param(LGBMClassifier(n_estimators=5, verbose=-1), False, id="lightgbm"),
    pytest.param(LGBMRegressor(n_estimators=5, verbose=-1), True, id="lightgbm-regressor"),
    pytest.param(HistGradientBoostingClassifier(max_iter=5), False, id="hist-gradient-boosting"),
    pytest.param(HistGradientBoostingRegressor(max_iter=5), True, id="hgb-regressor"),
    pytest.param(LogisticRegression(max_iter=200), False, id="logistic-regression"),
    pytest.param(RandomForestClassifier(n_estimators=3), False, id="random-forest"),
    pytest.param(RandomForestRegressor(n_estimators=3), True, id="random-forest-regressor"),
    pytest.param(Ridge(), True, id="ridge"),
]


@pytest.mark.parametrize(("model", "regression"), MODELS)
def test_realistic_pipelines_need_no_other_trust(
    frame: tuple[pd.DataFrame, np.ndarray], model: Any, regression: bool
) -> None:
    data, target = frame
    fitted = _pipeline(model).fit(data, target.astype(float) if regression else target)

    untrusted = sio.get_untrusted_types(data=sio.dumps(fitted))

    assert set(untrusted) <= set(TRUSTED_TYPES)


@pytest.mark.parametrize(("model", "regression"), MODELS[:2] + MODELS[4:5])
def test_round_trip_predicts_the_same(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray], model: Any, regression: bool
) -> None:
    data, target = frame
    fitted = _pipeline(model).fit(data, target.astype(float) if regression else target)
    save_model(fitted, tmp_path)
    write_manifest(tmp_path)

    loaded = load_model(tmp_path)

    np.testing.assert_array_equal(loaded.predict(data), fitted.predict(data))


def test_tampered_model_is_refused_before_skops_runs(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, target = frame
    path = save_model(LogisticRegression().fit(data[["hour"]], target), tmp_path)
    write_manifest(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    _forbid_deserializers(monkeypatch)

    with pytest.raises(ArtifactIntegrityError, match=r"'model\.skops' does not match"):
        load_model(tmp_path)


class _Canary:
    """Unpickling this creates a file: proof that a deserializer ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def _torch_like_zip(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
    return buffer.getvalue()


PAYLOADS = [
    pytest.param("model.pkl", lambda p: pickle.dumps(p, protocol=5), id="pkl-protocol-5"),
    pytest.param("model.pickle", lambda p: pickle.dumps(p, protocol=0), id="pickle-protocol-0"),
    pytest.param("model.joblib", lambda p: pickle.dumps(p, protocol=4), id="joblib"),
    pytest.param("model.cloudpickle", lambda p: pickle.dumps(p), id="cloudpickle"),
    pytest.param("weights.bin", lambda p: pickle.dumps(p, protocol=2), id="bin-protocol-2"),
    pytest.param("weights.bin", lambda p: pickle.dumps(p, protocol=0), id="bin-protocol-0"),
    pytest.param("weights.bin", lambda p: pickle.dumps(p, protocol=1), id="bin-protocol-1"),
    pytest.param("model.safetensors", lambda p: pickle.dumps(p), id="safetensors-name"),
    pytest.param("model.gz", lambda p: gzip.compress(pickle.dumps(p)), id="gzip-wrapped"),
    pytest.param("model.ckpt", lambda p: _torch_like_zip(pickle.dumps(p)), id="torch-zip"),
    pytest.param("model.bin", lambda p: _torch_like_zip(pickle.dumps(p)), id="torch-zip-as-bin"),
    pytest.param("model.skops", lambda p: pickle.dumps(p), id="pickle-named-skops"),
]


def test_canary_payload_is_live(tmp_path: Path) -> None:
    canary = tmp_path / "canary"

    pickle.loads(pickle.dumps(_Canary(canary))).close()  # proves the payload works

    assert canary.exists()


@pytest.mark.parametrize(("filename", "build"), PAYLOADS)
@pytest.mark.parametrize("loader", [load_model, load_onnx_bytes], ids=["model", "onnx"])
def test_pickle_family_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filename: str, build: Any, loader: Any
) -> None:
    canary = tmp_path / f"canary-{uuid.uuid4().hex}"
    folder = tmp_path / "artifact"
    folder.mkdir()
    (folder / filename).write_bytes(build(_Canary(canary)))
    write_manifest(folder)
    _forbid_deserializers(monkeypatch)

    with pytest.raises(UnsafeArtifactError, match=rf"holds '{filename}', a pickle-family file"):
        loader(folder)

    assert not canary.exists()


def test_skops_naming_an_untrusted_type_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "model.skops").write_bytes(sio.dumps({"steps": [eval]}))
    write_manifest(tmp_path)
    monkeypatch.setattr(sio, "loads", _forbidden("skops.io.loads"))

    with pytest.raises(UnsafeArtifactError, match=r"refused.*builtins\.eval"):
        load_model(tmp_path)


def test_saving_an_unloadable_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArtifactError, match=r"posix\.system"):
        save_model({"hook": __import__("os").system}, tmp_path)


def test_folder_without_a_model_says_so(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("no model here")
    write_manifest(tmp_path)

    with pytest.raises(RegistryError, match=r"No model\.skops"):
        load_model(tmp_path)


def test_onnx_bytes_are_returned_verified(tmp_path: Path) -> None:
    empty = _with_manifest(tmp_path / "empty", {"README.md": b"x"})
    assert load_onnx_bytes(empty) is None
    folder = _with_manifest(tmp_path / "onnx", {"model.onnx": b"\x08\x07onnx-bytes"})

    assert load_onnx_bytes(folder) == b"\x08\x07onnx-bytes"

    (folder / "model.onnx").write_bytes(b"\x08\x07onnx-bytez")
    with pytest.raises(ArtifactIntegrityError, match=r"'model\.onnx'"):
        load_onnx_bytes(folder)


class _Grouper(TransformerMixin, BaseEstimator):
    def fit(self, x: Any, y: Any = None) -> _Grouper:
        return self

    def transform(self, x: Any) -> Any:
        return x


def test_modelyard_feature_types_are_trusted_by_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "modelyard.features._probe_for_tests"
    module = types.ModuleType(name)
    grouper = type("RareGrouper", (_Grouper,), {"__module__": name})
    module.RareGrouper = grouper  # type: ignore[attr-defined]
    module.system = __import__("os").system  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, name, module)

    assert is_trusted_type(f"{name}.RareGrouper")
    assert not is_trusted_type(f"{name}.system")  # imported there, not defined there
    assert not is_trusted_type("modelyard.features.missing_module.Thing")
    assert not is_trusted_type("modelyardx.features.Thing")


def test_exact_modelyard_types_extend_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "MODELYARD_TYPES", ("modelyard.features.transform.Parts",))

    assert is_trusted_type("modelyard.features.transform.Parts")


def _with_manifest(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    write_manifest(folder)
    return folder


def _forbidden(name: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} was called on a refused artifact")

    return refuse


def _forbid_deserializers(monkeypatch: pytest.MonkeyPatch) -> None:
    for module, attribute in [
        (pickle, "load"),
        (pickle, "loads"),
        (pickle, "Unpickler"),
        (sio, "load"),
        (sio, "loads"),
        (sio, "get_untrusted_types"),
    ]:
        monkeypatch.setattr(module, attribute, _forbidden(f"{module.__name__}.{attribute}"))
