"""The one reader of a version's files reads what the real writer registered, and nothing else.

The version comes from the real training pipeline on a tiny project (SQLite MLflow, ~5 s once
per module), downloaded through the registry as serving, batch and monitoring download it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from modelyard.errors import ArtifactIntegrityError, ModelError, RegistryError
from modelyard.features import bundle as bundle_module
from modelyard.features.bundle import (
    FEATURES_FILE,
    FIT_FILE,
    IMPORTANCES_FILE,
    METRICS_FILE,
    MODEL_FILE,
    ONNX_FILE,
    ONNX_INFO_FILE,
    PLOTS_DIR,
    REFERENCE_FILE,
    REFERENCE_INFO_FILE,
    REFERENCE_PREDICTIONS_FILE,
    SLICES_FILE,
    SNAPSHOT_FILE,
    ColumnRule,
    read_bundle,
)
from modelyard.features.spec import FeatureSpec
from modelyard.tracking.manifest import MANIFEST_NAME, write_manifest

CONFIG = """\
name: tiny
task: binary_classification
data:
  source: {uri: data/rows.csv}
  target: {column: late}
  timestamp: when
  contract: configs/data_contract.yaml
  split: {strategy: time, valid: 0.2, test: 0.2, seed: 3}
features:
  numeric: [distance, hour]
  categorical: [carrier]
model:
  type: lightgbm
  params: {n_estimators: 10, num_leaves: 7}
evaluation:
  primary_metric: roc_auc
  gates:
    roc_auc: {min: 0.0}
registry: {model: tiny}
stores:
  tracking_uri: sqlite:///.modelyard/mlflow.db
  artifacts: .modelyard/artifacts
"""
CONTRACT = """\
columns:
  when: {type: datetime, nullable: false}
  distance: {type: float, min: 1, max: 5000}
  hour: {type: int, min: 0, max: 23, nullable: false}
  carrier: {type: string, allowed: [AA, DL, UA]}
  late: {type: int, allowed: [0, 1]}
"""
ROWS = 600


@dataclass(frozen=True)
class Registered:
    project: Path
    folder: Path
    test_metrics: dict[str, float]
    data_digest: str


def write_project(root: Path) -> Path:
    """A tiny project: 600 hourly rows, a contract with bounds and allowed values."""
    (root / "configs").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "modelyard.yaml").write_text(CONFIG)
    (root / "configs" / "data_contract.yaml").write_text(CONTRACT)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(ROWS), unit="h"),
            "distance": rng.uniform(100, 3000, ROWS),
            "hour": rng.integers(0, 24, ROWS),
            "carrier": rng.choice(["AA", "DL", "UA"], ROWS),
        }
    )
    noise = rng.normal(0, 0.3, ROWS)
    frame["late"] = frame["hour"] / 24 + (frame["carrier"] == "UA") * 0.5 + noise > 0.7
    frame["late"] = frame["late"].astype(int)
    frame.to_csv(root / "data" / "rows.csv", index=False)
    return root


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    """Train the tiny project once and download its champion, as the readers do."""
    from modelyard.project import load_project

    project = load_project(write_project(tmp_path_factory.mktemp("tiny") / "project"))
    with threadpool_limits(limits=1):
        trained = project.train()
    dest = tmp_path_factory.mktemp("download") / "model"
    name, version, folder = project.download_model(None, dest)
    tags = project.registry().version(name, version).tags
    return Registered(
        project=project.root,
        folder=folder,
        test_metrics=dict(trained.metrics["test"]),
        data_digest=tags["modelyard.data_digest"],
    )


@pytest.fixture
def copy(registered: Registered, tmp_path: Path) -> Path:
    """A private copy of the registered folder that a test may damage."""
    return Path(shutil.copytree(registered.folder, tmp_path / "version"))


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every JSON or Parquet parse the bundle module attempts."""
    calls: list[str] = []

    def json_loads(*args: Any, **kwargs: Any) -> Any:
        calls.append("json")
        raise AssertionError("json.loads reached")

    def read_parquet(*args: Any, **kwargs: Any) -> Any:
        calls.append("parquet")
        raise AssertionError("pandas.read_parquet reached")

    monkeypatch.setattr(bundle_module, "json", SimpleNamespace(loads=json_loads))
    monkeypatch.setattr(pd, "read_parquet", read_parquet)
    return calls


def test_the_inputs_are_read_with_their_contract_rules(registered: Registered) -> None:
    inputs = read_bundle(registered.folder, name="tiny", version=1).inputs
    assert inputs.spec == FeatureSpec(numeric=("distance", "hour"), categorical=("carrier",))
    assert (inputs.task, inputs.target, inputs.classes) == ("binary_classification", "late", (0, 1))
    assert inputs.columns == (
        ColumnRule("distance", "numeric", "float", nullable=False, min=1, max=5000),
        ColumnRule("hour", "numeric", "int", nullable=False, min=0, max=23),
        ColumnRule("carrier", "categorical", "string", nullable=False, allowed=("AA", "DL", "UA")),
    )
    assert inputs.example is not None
    assert set(inputs.example) == {"distance", "hour", "carrier"}


def test_the_card_metrics_and_reference_match_the_training_run(registered: Registered) -> None:
    bundle = read_bundle(registered.folder)
    assert bundle.test_metrics == pytest.approx(registered.test_metrics)
    assert set(bundle.metrics) == {"valid", "test"}
    reference = bundle.reference
    assert reference is not None
    assert reference.data_digest == registered.data_digest
    assert (reference.rows, reference.of_rows) == (360, 360)  # 60 % of 600 rows, all kept
    assert (reference.prediction_rows, reference.target, reference.timestamp) == (
        120,
        "late",
        "when",
    )


def test_the_reference_data_and_test_predictions_are_read_on_demand(
    registered: Registered,
) -> None:
    bundle = read_bundle(registered.folder)
    features = bundle.read_reference()
    predictions = bundle.read_reference_predictions()
    assert {"distance", "hour", "carrier", "late", "when"} <= set(features.columns)
    assert len(features) == 360
    assert {"prediction", "late", "score"} <= set(predictions.columns)
    assert len(predictions) == 120
    assert predictions["score"].between(0, 1).all()


def test_the_model_files_load_through_the_chokepoint(registered: Registered) -> None:
    bundle = read_bundle(registered.folder)
    assert bundle.onnx_path == bundle.root / ONNX_FILE
    assert bundle.skops_path == bundle.root / MODEL_FILE
    onnx = bundle.onnx_bytes()
    assert onnx is not None
    assert onnx == bundle.onnx_path.read_bytes()
    pipeline = bundle.load_native()
    assert bundle.inputs.example is not None
    row = pd.DataFrame([bundle.inputs.example])
    assert pipeline.predict_proba(row).shape == (1, 2)


def test_every_file_the_writer_registers_has_a_shared_name(registered: Registered) -> None:
    bundle = read_bundle(registered.folder)
    named = {
        FEATURES_FILE, METRICS_FILE, SLICES_FILE, IMPORTANCES_FILE, SNAPSHOT_FILE, FIT_FILE,
        ONNX_INFO_FILE, MODEL_FILE, ONNX_FILE, REFERENCE_FILE, REFERENCE_PREDICTIONS_FILE,
        REFERENCE_INFO_FILE,
    }  # fmt: skip
    files = {name for name in bundle.manifest if not name.startswith(f"{PLOTS_DIR}/")}
    assert files == named
    assert any(name.startswith(f"{PLOTS_DIR}/") for name in bundle.manifest)
    manifest = (registered.folder / MANIFEST_NAME).read_bytes()
    assert bundle.manifest_sha256 == hashlib.sha256(manifest).hexdigest()


@pytest.mark.parametrize("file", [FEATURES_FILE, METRICS_FILE, REFERENCE_INFO_FILE, ONNX_FILE])
def test_a_changed_file_is_refused_before_any_parser_runs(
    copy: Path, no_parsing: list[str], file: str
) -> None:
    data = bytearray((copy / file).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / file).write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match=f"{file}.*does not match its SHA-256"):
        read_bundle(copy)
    assert no_parsing == []


def test_reference_data_changed_after_opening_is_refused_unparsed(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = read_bundle(copy)
    (copy / REFERENCE_FILE).write_bytes(b"PAR1 replaced PAR1")
    parsed: list[object] = []
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: parsed.append(a))
    with pytest.raises(ArtifactIntegrityError, match="changed after it was verified"):
        bundle.read_reference()
    assert parsed == []


def test_a_folder_without_features_json_names_the_fix(copy: Path) -> None:
    (copy / FEATURES_FILE).unlink()
    write_manifest(copy)
    with pytest.raises(RegistryError, match=r"Version 3 of 'tiny' has no features\.json.*train"):
        read_bundle(copy, name="tiny", version=3)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        pytest.param({"spec": "distance"}, RegistryError, r"is unreadable", id="spec-not-object"),
        pytest.param({"task": None}, RegistryError, r"unreadable.*'task' is None", id="no-task"),
        pytest.param({"task": "ranking"}, ModelError, r"task 'ranking'", id="unknown-task"),
        pytest.param({"example": [1, 2]}, RegistryError, r"not a record", id="example-list"),
        pytest.param(
            {"spec": {"numeric": ["a"], "categorical": ["a"]}},
            RegistryError,
            r"unreadable \(FeatureError",
            id="column-twice",
        ),
    ],
)
def test_a_malformed_features_json_is_refused(
    copy: Path, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    features = json.loads((copy / FEATURES_FILE).read_text())
    (copy / FEATURES_FILE).write_text(json.dumps({**features, **change}))
    write_manifest(copy)
    with pytest.raises(error, match=message):
        read_bundle(copy, name="tiny", version=1)


def test_an_older_version_has_default_rules_and_no_reference(copy: Path) -> None:
    features = json.loads((copy / FEATURES_FILE).read_text())
    del features["columns"], features["example"]
    (copy / FEATURES_FILE).write_text(json.dumps(features))
    for name in (REFERENCE_FILE, REFERENCE_PREDICTIONS_FILE, REFERENCE_INFO_FILE, METRICS_FILE):
        (copy / name).unlink()
    write_manifest(copy)
    bundle = read_bundle(copy)
    assert [(c.name, c.type, c.nullable) for c in bundle.inputs.columns] == [
        ("distance", "float", True), ("hour", "float", True), ("carrier", "string", True),
    ]  # fmt: skip
    assert bundle.inputs.example is None
    assert bundle.reference is None
    assert bundle.test_metrics == {}
    with pytest.raises(RegistryError, match=r"has no reference\.parquet.*modelyard train"):
        bundle.read_reference()


def test_the_bundle_module_imports_no_heavy_library() -> None:
    probe = (
        "import json, sys\nimport modelyard.features.bundle\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'numpy', 'sklearn', 'mlflow', 'fastapi', "
        "'pyarrow', 'onnxruntime', 'skops') if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == []


def test_serving_batch_and_monitoring_read_the_version_alike(registered: Registered) -> None:
    from modelyard.inference.model import BatchModel
    from modelyard.pipelines.monitor import load_reference
    from modelyard.project import load_project
    from modelyard.serving.model import load_served_model

    bundle = read_bundle(registered.folder)
    inputs = bundle.inputs
    batch = BatchModel(registered.folder, name="tiny", version=1)
    served = load_served_model(registered.folder, name="tiny", version=1)
    reference = load_reference(load_project(registered.project).registry(), "tiny", 1)

    assert (batch.spec, batch.task, batch.classes) == (inputs.spec, inputs.task, (0, 1))
    assert (batch.engine, batch.digest) == ("onnx", bundle.manifest_sha256)
    assert (served.task, served.classes, served.runtime.name) == (inputs.task, (0, 1), "onnx")
    assert [c.to_dict() for c in served.columns] == [r.to_dict() for r in inputs.columns]
    assert served.card["test_metrics"] == bundle.test_metrics
    assert (reference.spec, reference.task, reference.target) == (inputs.spec, inputs.task, "late")
    assert reference.classes == [0, 1]
    assert reference.promised == pytest.approx(registered.test_metrics)
    assert reference.info["data_digest"] == registered.data_digest
    pd.testing.assert_frame_equal(reference.features, bundle.read_reference())
    pd.testing.assert_frame_equal(reference.predictions, bundle.read_reference_predictions())


def test_the_gate_scores_the_champion_read_through_the_bundle(registered: Registered) -> None:
    """Runs last: it registers version 2, and its gate scores version 1 on the same test rows."""
    from modelyard.project import load_project

    params = {"n_estimators": 5, "num_leaves": 7}
    project = load_project(registered.project, overrides={"model.params": params})
    with threadpool_limits(limits=1):
        second = project.train()
    (comparison,) = [gate for gate in second.gates.results if gate.bound == "champion"]
    assert second.version == 2
    assert comparison.reference == pytest.approx(registered.test_metrics["roc_auc"])
