"""`create_project`: the layout written, valid YAML everywhere, and refusals that write nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import yaml

from modelyard.cli import app, models_cmd
from modelyard.config import load_config
from modelyard.data.contract import check_contract, load_contract
from modelyard.errors import DataError, ExampleError, SourceNotFoundError
from modelyard.scaffold.new_project import NewProject, create_project

LAYOUT = {
    ".env.example", ".gitignore", ".pre-commit-config.yaml", "Makefile", "README.md",
    "pyproject.toml", "modelyard.yaml",
    ".github/workflows/ci.yaml", ".github/workflows/ct.yaml", ".github/workflows/cd.yaml",
    "configs/data_contract.yaml", "configs/env/dev.yaml", "configs/env/staging.yaml",
    "configs/env/prod.yaml",
    "data/raw/.gitkeep", "data/raw/customers.parquet", "data/processed/.gitkeep",
    "data/features/.gitkeep", "data/external/.gitkeep",
    "notebooks/README.md", "notebooks/exploration/.gitkeep",
    "notebooks/experimentation/.gitkeep", "notebooks/analysis/.gitkeep",
    "src/my_proj/__init__.py", "src/my_proj/features.py",
    "tests/conftest.py", "tests/unit/test_features.py", "tests/integration/test_data.py",
    "tests/integration/test_model.py",
    "docs/model_cards/README.md", "docs/architecture/README.md",
    "docs/data_dictionaries/.gitkeep", "docs/data_dictionaries/customers.md",
    "deploy/Dockerfile", "deploy/README.md", "deploy/docker-compose.yaml",
    "deploy/k8s/deployment.yaml", "deploy/k8s/service.yaml", "deploy/k8s/pvc.yaml",
    "deploy/k8s/retrain-cronjob.yaml",
}  # fmt: skip
COMMANDS = re.compile(
    r'(?:\$\(MODELYARD\)|-m modelyard|"modelyard",) "?([a-z]+)"?(?:,? "?([a-z]+))?'
)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> NewProject:
    return create_project(tmp_path_factory.mktemp("init") / "My Proj")


def commands(typer_app: typer.Typer) -> set[str]:
    names = {c.name or c.callback.__name__ for c in typer_app.registered_commands if c.callback}
    return names | {g.name for g in typer_app.registered_groups if g.name}


def relative_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_the_standard_layout_is_written(made: NewProject) -> None:
    assert relative_files(made.root) == LAYOUT
    assert {p.relative_to(made.root).as_posix() for p in made.files} == LAYOUT
    assert (made.names.name, made.names.package) == ("my-proj", "my_proj")


def test_every_yaml_file_parses(made: NewProject) -> None:
    paths = [p for p in made.root.rglob("*") if p.suffix in {".yaml", ".yml"}]
    assert len(paths) == 14
    for path in paths:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert documents
        assert all(isinstance(doc, dict) for doc in documents), path


def test_no_placeholder_is_left_and_python_files_parse(made: NewProject) -> None:
    for path in made.files:
        if path.suffix == ".parquet":
            continue
        text = path.read_text(encoding="utf-8")
        assert "@@" not in text, path
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))


def test_config_loads_with_every_environment(made: NewProject) -> None:
    for env in (None, "dev", "staging", "prod"):
        config = load_config(made.root, env=env, environ={}).config
        assert config.name == "my-proj"
        assert config.data.contract == "configs/data_contract.yaml"


def test_synthetic_config_has_a_gate_and_a_time_split(made: NewProject) -> None:
    config = load_config(made.root, environ={}).config
    assert config.data.split.strategy == "time"
    assert config.data.timestamp == "signup_date"
    assert "customer_id" not in config.features.numeric + config.features.categorical
    assert config.evaluation.gates.thresholds()["roc_auc"].min == 0.6
    assert config.evaluation.gates.champion.metric == config.evaluation.primary_metric


def test_stored_data_meets_the_written_contract(made: NewProject) -> None:
    contract = load_contract(made.root / "configs/data_contract.yaml")
    report = check_contract(pd.read_parquet(made.data_file), contract, source="raw")
    assert report.passed, report.failures
    assert next(rule for rule in contract.columns if rule.name == "customer_id").unique


def test_workflows_and_deploy_call_commands_that_exist(made: NewProject) -> None:
    texts = [
        p.read_text(encoding="utf-8")
        for p in [*made.root.glob(".github/workflows/*"), *made.root.rglob("deploy/**/*")]
        if p.is_file()
    ] + [(made.root / "Makefile").read_text(encoding="utf-8")]
    used = {match for text in texts for match in COMMANDS.findall(text)}
    assert {command for command, _ in used} == {"train", "serve", "models"}
    assert {sub for command, sub in used if command == "models"} == {"promote"}
    assert all(command in commands(app) for command, _ in used)
    assert "promote" in commands(models_cmd.app)
    ci = yaml.safe_load((made.root / ".github/workflows/ci.yaml").read_text(encoding="utf-8"))
    steps = [step.get("run") for step in ci["jobs"]["lint-and-test"]["steps"]]
    assert {"make lint", "make test-unit"} <= set(steps)


def test_makefile_has_the_targets_and_uses_tabs(made: NewProject) -> None:
    text = (made.root / "Makefile").read_text(encoding="utf-8")
    for target in ("install", "train", "serve", "test", "lint"):
        assert re.search(rf"^{target}:", text, re.MULTILINE), target
    assert "\n\t$(MODELYARD) train\n" in text


def test_data_dictionary_lists_every_column(made: NewProject) -> None:
    text = (made.root / "docs/data_dictionaries/customers.md").read_text(encoding="utf-8")
    for column in pd.read_parquet(made.data_file).columns:
        assert f"| `{column}` |" in text
    assert "| `customer_id` | ID |" in text
    assert "| `churned` | **target** |" in text


def write_csv(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    n = 300
    plan = rng.choice(["a", "b", "c", "rare"], size=n, p=[0.5, 0.3, 0.195, 0.005])
    tenure = rng.integers(0, 60, n).astype(float)
    tenure[::17] = np.nan
    pd.DataFrame(
        {
            "user_id": rng.permutation(n) + 5000,
            "joined": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "plan": plan,
            "tenure": tenure,
            "churned": rng.integers(0, 2, n),
        }
    ).to_csv(path, index=False)
    return path


def test_a_csv_becomes_a_project_with_inferred_roles(tmp_path: Path, seed: int) -> None:
    made = create_project(
        tmp_path / "churn", data=write_csv(tmp_path / "in.csv", seed), target="churned"
    )
    config = load_config(made.root, environ={}).config
    assert (config.task, config.data.timestamp) == ("binary_classification", "joined")
    assert config.features.numeric == ["tenure"]
    assert config.features.categorical == ["plan"]
    assert config.features.datetime == ["joined"]
    assert config.evaluation.gates.thresholds() == {}
    stored = pd.read_parquet(made.root / "data/raw/in.parquet")
    assert pd.api.types.is_datetime64_any_dtype(stored["joined"])
    report = check_contract(stored, load_contract(made.root / config.data.contract), source="x")
    assert report.passed, report.failures


def test_a_missing_target_is_an_error_and_nothing_is_written(tmp_path: Path, seed: int) -> None:
    source = write_csv(tmp_path / "in.csv", seed)
    with pytest.raises(DataError, match=r"No column 'churn' .* Did you mean 'churned'"):
        create_project(tmp_path / "churn", data=source, target="churn")
    assert not (tmp_path / "churn").exists()


def test_a_missing_data_file_says_which_flag(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="Check the path given to --data"):
        create_project(tmp_path / "p", data=tmp_path / "nope.csv", target="y")
    assert not (tmp_path / "p").exists()


def test_a_non_empty_folder_is_refused_unless_forced(tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(ExampleError, match=r"is not empty.*--force"):
        create_project(dest)
    assert relative_files(dest) == {"notes.txt"}
    create_project(dest, force=True)
    assert (dest / "notes.txt").read_text() == "mine"
    assert (dest / "modelyard.yaml").is_file()


def test_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    with pytest.raises(ExampleError, match="is a file"):
        create_project(tmp_path / "taken")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"data": Path("x.csv")}, "--data and --target go together", id="no-target"),
        pytest.param({"target": "y"}, "--data and --target go together", id="no-data"),
        pytest.param(
            {"example": "flights", "data": Path("x.csv"), "target": "y"}, "not both", id="both"
        ),
        pytest.param({"example": "flight"}, "Did you mean 'flights'", id="unknown-example"),
    ],
)
def test_arguments_that_do_not_fit_are_refused(
    tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ExampleError, match=match):
        create_project(tmp_path / "p", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "p").exists()
