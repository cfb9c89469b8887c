"""`modelyard models promote` and `rollback` verify the target's files first, forced or not.

A real SQLite MLflow registry in a project folder; three versions of a small model, each from
its own run; one byte of version 2's registered model file flipped in the artifact store.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.project import Project, load_project
from modelyard.tracking.artifacts import save_model

pytestmark = pytest.mark.integration

MODEL = "promo"
CONFIG = f"""\
name: {MODEL}
data:
  source: {{uri: data.csv}}
  target: {{column: y}}
"""


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A project whose registry holds versions 1-3, champion 1; version 2's model tampered.

    Returns the project folder and the tampered file.
    """
    root = tmp_path_factory.mktemp("project")
    (root / "modelyard.yaml").write_text(CONFIG, encoding="utf-8")
    rng = np.random.default_rng(20131)
    x = pd.DataFrame({"hour": rng.integers(5, 23, 200).astype(float)})
    y = (x["hour"] + rng.normal(0, 3, 200) > 14).astype(int)
    project = load_project(root)
    tracker, registry = project.tracker(), project.registry()
    for version in (1, 2, 3):
        folder = root / "build" / f"v{version}"
        save_model(LogisticRegression(C=float(version)).fit(x, y), folder)
        with tracker.start_run("train") as run:
            run.log_artifacts(folder, "model")
        assert registry.register(MODEL, run_id=run.run_id) == version
    registry.set_alias(MODEL, "champion", 1)
    tampered = Path(registry.version(MODEL, 2).source.removeprefix("file://")) / "model.skops"
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    return root, tampered


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("MODELYARD_ENV", "MODELYARD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def champion(root: Path) -> int | None:
    project: Project = load_project(root)
    return project.registry().get_alias(MODEL, "champion")


@pytest.mark.parametrize("force", [False, True], ids=["gated", "forced"])
def test_promoting_a_tampered_version_is_refused_naming_the_file(
    runner: CliRunner, registered: tuple[Path, Path], force: bool
) -> None:
    root, tampered = registered
    args = ["models", "promote", "2", "--project", str(root)] + (["--force"] if force else [])

    result = runner.invoke(app, args)

    message = " ".join(result.stderr.split())
    assert result.exit_code == 1, result.output
    assert "Refusing to make version 2 of 'promo' champion" in message
    assert "'model.skops' does not match its SHA-256" in message
    assert str(tampered.parent) in message  # the registered source, not a temporary copy
    assert "stays on version 1" in message
    assert "Traceback" not in result.output
    assert champion(root) == 1


def test_rolling_back_to_a_tampered_version_is_refused(
    runner: CliRunner, registered: tuple[Path, Path]
) -> None:
    root, _ = registered

    result = runner.invoke(app, ["models", "rollback", "--to", "2", "--project", str(root)])

    assert result.exit_code == 1, result.output
    assert "'model.skops' does not match its SHA-256" in " ".join(result.stderr.split())
    assert champion(root) == 1


def test_an_intact_version_is_still_promoted_when_forced(
    runner: CliRunner, registered: tuple[Path, Path]
) -> None:
    root, _ = registered
    args = ["models", "promote", "3", "--force", "--by", "ci", "--json", "--project", str(root)]

    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    moved = json.loads(result.stdout)
    assert (moved["version"], moved["previous"], moved["forced"]) == (3, 1, True)
    assert champion(root) == 3
    back = runner.invoke(app, ["models", "rollback", "--project", str(root)])
    assert back.exit_code == 0, back.output
    assert champion(root) == 1
