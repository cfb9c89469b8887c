"""A loaded version appends predictions to every input column, through ONNX or scikit-learn."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelyard.errors import ArtifactIntegrityError, RegistryError
from modelyard.features.spec import FeatureSpec
from modelyard.features.transform import prepare_frame
from modelyard.inference.model import BatchModel
from modelyard.tracking.artifacts import load_model
from modelyard.tracking.manifest import write_manifest

Rows = Callable[..., pd.DataFrame]


def scored(model: BatchModel, frame: pd.DataFrame) -> pd.DataFrame:
    return model.score(pa.Table.from_pandas(frame, preserve_index=False)).to_pandas()


def native_scores(folder: Path, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    pipeline = load_model(folder)
    spec = FeatureSpec.from_dict(json.loads((folder / "features.json").read_text())["spec"])
    x = prepare_frame(frame, spec)
    proba = pipeline.predict_proba(x) if hasattr(pipeline, "predict_proba") else None
    return pipeline.predict(x), proba


@pytest.mark.parametrize("kind", ["binary", "binary_onnx"])
def test_a_binary_classifier_appends_prediction_and_one_probability_per_class(
    versions: dict[str, Path], rows: Rows, kind: str
) -> None:
    frame = rows(300)
    model = BatchModel(versions[kind], name="m", version=1)
    out = scored(model, frame)

    assert model.engine == ("onnx" if kind.endswith("onnx") else "native")
    assert list(out.columns) == [*frame.columns, "prediction", "proba_0", "proba_1"]
    pd.testing.assert_frame_equal(out[frame.columns], frame)  # passed through untouched
    assert str(out["prediction"].dtype) == "int64"
    labels, proba = native_scores(versions[kind], frame)
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].to_numpy(), proba, atol=1e-5)
    assert (out["prediction"].to_numpy() == labels).all()


def test_text_labels_name_the_probability_columns(versions: dict[str, Path], rows: Rows) -> None:
    frame = rows(200)
    out = scored(BatchModel(versions["multiclass"], name="m", version=1), frame)
    labels, proba = native_scores(versions["multiclass"], frame)
    assert list(out.columns[-4:]) == ["prediction", "proba_high", "proba_low", "proba_mid"]
    assert out["prediction"].tolist() == list(labels)
    np.testing.assert_allclose(out.iloc[:, -3:].to_numpy(), proba)
    np.testing.assert_allclose(out.iloc[:, -3:].sum(axis=1), 1.0)


def test_a_regressor_appends_a_float_prediction(versions: dict[str, Path], rows: Rows) -> None:
    frame = rows(200)
    model = BatchModel(versions["regression"], name="m", version=2)
    out = scored(model, frame)
    assert model.classes == ()
    assert list(out.columns) == [*frame.columns, "prediction"]
    labels, _ = native_scores(versions["regression"], frame)
    np.testing.assert_allclose(out["prediction"].to_numpy(), labels)


def test_the_digest_identifies_the_version_files(versions: dict[str, Path]) -> None:
    one = BatchModel(versions["binary"], name="m", version=1)
    again = BatchModel(versions["binary"], name="m", version=1)
    other = BatchModel(versions["other"], name="m", version=1)
    assert one.digest == again.digest != other.digest
    assert one.to_dict() == {"name": "m", "version": 1, "digest": one.digest}


def test_a_changed_file_is_refused_before_loading(
    versions: dict[str, Path], tmp_path: Path
) -> None:
    folder = shutil.copytree(versions["binary_onnx"], tmp_path / "v")
    data = bytearray((folder / "model.onnx").read_bytes())
    data[100] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError):
        BatchModel(folder, name="m", version=1)


def test_a_version_without_features_json_is_refused(
    versions: dict[str, Path], tmp_path: Path
) -> None:
    folder = shutil.copytree(versions["binary"], tmp_path / "v")
    (folder / "features.json").unlink()
    write_manifest(folder)
    with pytest.raises(RegistryError, match=r"has no features\.json.*modelyard train"):
        BatchModel(folder, name="m", version=1)


@pytest.mark.parametrize("kind", ["binary", "binary_onnx", "regression"])
def test_scoring_in_small_batches_gives_the_same_columns(
    versions: dict[str, Path], rows: Rows, kind: str
) -> None:
    table = pa.Table.from_pandas(rows(100), preserve_index=False)
    whole = BatchModel(versions[kind], name="m", version=1).score(table)
    batched = BatchModel(versions[kind], name="m", version=1, batch_rows=7).score(table)
    assert batched.equals(whole)
