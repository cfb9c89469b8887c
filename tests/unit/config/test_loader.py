"""Loading modelyard.yaml: overlays, environment overrides, interpolation, precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.config import load_config
from modelyard.errors import ConfigNotFoundError, ConfigSyntaxError, InterpolationError

MINIMAL = """\
name: demo
data:
  source: {uri: data/raw/x.parquet}
  target: {column: y}
"""


def write(root: Path, text: str, name: str = "modelyard.yaml") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, clean_environ: None) -> Path:
    write(tmp_path, MINIMAL)
    return tmp_path


def test_minimal_config_gets_defaults(project: Path) -> None:
    loaded = load_config(project)
    assert loaded.config.name == "demo"
    assert loaded.config.task == "binary_classification"
    assert loaded.config.serving.host == "127.0.0.1"
    assert loaded.config.stores.tracking_uri.startswith("sqlite:///")
    assert loaded.config.model_name == "demo"
    assert loaded.env is None


def test_config_is_found_from_a_subfolder(project: Path) -> None:
    sub = project / "notebooks" / "exploration"
    sub.mkdir(parents=True)
    assert load_config(sub).root == project


def test_missing_config_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigNotFoundError, match=r"No config file at .*modelyard\.yaml.*--project"
    ):
        load_config(tmp_path)


def test_config_is_frozen(project: Path) -> None:
    from pydantic import ValidationError

    config = load_config(project).config
    with pytest.raises(ValidationError, match="frozen"):
        config.serving.port = 1


def test_env_overlay_file_overrides_the_base(project: Path) -> None:
    write(
        project,
        "serving: {port: 9001}\nmodel: {params: {n_estimators: 5}}\n",
        "configs/env/dev.yaml",
    )
    loaded = load_config(project, env="dev")
    assert loaded.config.serving.port == 9001
    assert loaded.config.serving.host == "127.0.0.1"  # untouched keys keep their value
    assert loaded.config.model.params == {"n_estimators": 5}
    assert loaded.files[-1].name == "dev.yaml"


def test_env_comes_from_modelyard_env(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project, "serving: {port: 9100}\n", "configs/env/staging.yaml")
    monkeypatch.setenv("MODELYARD_ENV", "staging")
    loaded = load_config(project)
    assert (loaded.env, loaded.config.serving.port) == ("staging", 9100)


def test_inline_environment_block_applies_before_the_overlay_file(project: Path) -> None:
    write(project, MINIMAL + "environments:\n  prod: {serving: {port: 7000, workers: 4}}\n")
    write(project, "serving: {port: 7001}\n", "configs/env/prod.yaml")
    config = load_config(project, env="prod").config
    assert (config.serving.port, config.serving.workers) == (7001, 4)


def test_unknown_env_lists_the_known_ones(project: Path) -> None:
    write(project, "{}\n", "configs/env/dev.yaml")
    with pytest.raises(ConfigNotFoundError, match=r"environment 'prd'.*Known environments: dev"):
        load_config(project, env="prd")


def test_environment_variables_override_files(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, "serving: {port: 9001}\n", "configs/env/dev.yaml")
    monkeypatch.setenv("MODELYARD__SERVING__PORT", "9002")
    monkeypatch.setenv("MODELYARD__EVALUATION__SLICES", "[origin, carrier]")
    loaded = load_config(project, env="dev")
    assert loaded.config.serving.port == 9002
    assert loaded.config.evaluation.slices == ["origin", "carrier"]
    assert loaded.origins[("serving", "port")] == "environment variable MODELYARD__SERVING__PORT"


def test_cli_overrides_win_over_everything(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELYARD__SERVING__PORT", "9002")
    loaded = load_config(project, overrides={"serving.port": 9003})
    assert loaded.config.serving.port == 9003


@pytest.mark.parametrize(
    ("value", "environ", "expected"),
    [
        pytest.param("${TOKEN}", {"TOKEN": "s3cr3t"}, "s3cr3t", id="set"),
        pytest.param("${TOKEN:-fallback}", {}, "fallback", id="default-used"),
        pytest.param("${TOKEN:-fallback}", {"TOKEN": "real"}, "real", id="default-ignored"),
        pytest.param("${TOKEN:-}", {}, "", id="empty-default"),
        pytest.param("pre-${A}-${B:-b}", {"A": "a"}, "pre-a-b", id="several"),
    ],
)
def test_interpolation(project: Path, value: str, environ: dict[str, str], expected: str) -> None:
    write(project, MINIMAL + f'serving: {{api_keys: "{value}"}}\n')
    loaded = load_config(project, environ=environ)
    assert loaded.config.serving.api_keys == expected
    assert ("serving", "api_keys") in loaded.secret_paths


def test_unset_variable_names_the_key_and_the_fix(project: Path) -> None:
    write(project, MINIMAL + "stores:\n  tracking_uri: ${TRACKING}\n")
    with pytest.raises(
        InterpolationError,
        match=r"modelyard\.yaml:6 \(stores\.tracking_uri\): environment variable 'TRACKING' is not set.*\$\{TRACKING:-value\}",
    ):
        load_config(project, environ={})


def test_interpolation_in_overlay_files(project: Path) -> None:
    write(project, "stores: {tracking_uri: '${URI}'}\n", "configs/env/prod.yaml")
    loaded = load_config(project, env="prod", environ={"URI": "postgresql://u:pw@h/db"})
    assert loaded.config.stores.tracking_uri == "postgresql://u:pw@h/db"
    assert ("stores", "tracking_uri") in loaded.secret_paths


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            "name: x\ndata:\n  source: {uri: a.csv\n  target: 1\n", 4, id="unclosed-brace"
        ),
        pytest.param("name: x\n data: 1\n", 2, id="bad-indent"),
        pytest.param("name: 'x\n", 2, id="unclosed-quote"),
        pytest.param("name: x\nname: y\n", 2, id="duplicate-key"),
    ],
)
def test_malformed_yaml_names_file_and_line(project: Path, text: str, line: int) -> None:
    write(project, text)
    with pytest.raises(
        ConfigSyntaxError, match=rf"modelyard\.yaml:{line}: invalid YAML: .*Fix the syntax"
    ) as caught:
        load_config(project)
    assert caught.value.line == line


def test_top_level_must_be_a_mapping(project: Path) -> None:
    from modelyard.errors import ConfigValueError

    write(project, "- a\n- b\n")
    with pytest.raises(ConfigValueError, match="top level must be a mapping"):
        load_config(project)
