"""Config values that are wrong get messages naming the file, line, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.config import load_config
from modelyard.errors import ConfigValueError

BASE = """\
name: demo
data:
  source: {uri: data/raw/x.parquet}
  target: {column: y}
"""


def load_with(tmp_path: Path, extra: str) -> ConfigValueError:
    (tmp_path / "modelyard.yaml").write_text(BASE + extra, encoding="utf-8")
    with pytest.raises(ConfigValueError) as caught:
        load_config(tmp_path, environ={})
    return caught.value


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        pytest.param(
            "modle: {type: rf}\n",
            r":5: unknown key 'modle'\. Did you mean 'model'\?",
            id="top-level-typo",
        ),
        pytest.param(
            "model: {tpye: rf}\n",
            r":5: unknown key 'model\.tpye'\. Did you mean 'type'\?",
            id="nested-typo",
        ),
        pytest.param(
            "serving: {zzz: 1}\n",
            r"unknown key 'serving\.zzz'\. Allowed keys here: access_log, admin_port, allowed_hosts, api_keys, ",
            id="no-close-match",
        ),
        pytest.param(
            "serving: {port: eighty}\n",
            r":5: serving\.port = 'eighty': Input should be a valid integer",
            id="wrong-type",
        ),
        pytest.param(
            "serving:\n  port: 70000\n",
            r":6: serving\.port = 70000: Input should be less than or equal to 65535",
            id="out-of-range",
        ),
        pytest.param(
            "task: regresion\n",
            r":5: task = 'regresion': Input should be 'binary_classification', 'multiclass_classification' or 'regression'",
            id="bad-literal",
        ),
        pytest.param(
            "name: 'has spaces'\n",
            r"name = 'has spaces': String should match pattern",
            id="bad-name",
        ),
        pytest.param(
            "evaluation: {gates: {roc_auc: {minimum: 0.7}}}\n",
            r"unknown key 'evaluation\.gates\.roc_auc\.minimum'\. Did you mean 'min'\?",
            id="bad-gate",
        ),
    ],
)
def test_problem_is_pinpointed(tmp_path: Path, extra: str, pattern: str) -> None:
    text = BASE.replace("name: demo\n", "") if extra.startswith("name:") else BASE
    (tmp_path / "modelyard.yaml").write_text(text + extra, encoding="utf-8")
    with pytest.raises(ConfigValueError, match=pattern):
        load_config(tmp_path, environ={})


def test_split_fractions_must_leave_training_rows(tmp_path: Path) -> None:
    (tmp_path / "modelyard.yaml").write_text(
        BASE.replace(
            "  target: {column: y}\n", "  target: {column: y}\n  split: {valid: 0.5, test: 0.5}\n"
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigValueError, match=r"data\.split.*valid \+ test = 1 leaves no training rows"
    ):
        load_config(tmp_path, environ={})


def test_missing_required_key(tmp_path: Path) -> None:
    (tmp_path / "modelyard.yaml").write_text(
        "name: demo\ndata:\n  source: {uri: x.csv}\n", encoding="utf-8"
    )
    with pytest.raises(
        ConfigValueError, match=r"modelyard\.yaml:2: missing required key 'data\.target'"
    ):
        load_config(tmp_path, environ={})


def test_every_problem_is_listed(tmp_path: Path) -> None:
    error = load_with(tmp_path, "serving: {port: x, hots: y}\nmodel: {folds: 1}\n")
    assert len(error.problems) == 3
    assert "3 problems" in str(error)


def test_wrong_type_from_an_environment_variable_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "modelyard.yaml").write_text(BASE, encoding="utf-8")
    monkeypatch.setenv("MODELYARD__SERVING__PORT", "abc")
    with pytest.raises(
        ConfigValueError,
        match=r"environment variable MODELYARD__SERVING__PORT: serving\.port = 'abc'",
    ):
        load_config(tmp_path)


def test_a_secret_is_not_echoed_in_a_type_error(tmp_path: Path) -> None:
    error = load_with(tmp_path, "serving: {api_keys: [hunter2-secret]}\n")
    assert "hunter2" not in str(error)


def test_source_needs_a_location(tmp_path: Path) -> None:
    (tmp_path / "modelyard.yaml").write_text(
        "name: demo\ndata:\n  source: {format: csv}\n  target: {column: y}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigValueError, match=r"data\.source = .*give uri"):
        load_config(tmp_path, environ={})


def test_gates_are_read_per_metric(tmp_path: Path) -> None:
    (tmp_path / "modelyard.yaml").write_text(
        BASE
        + "evaluation:\n  gates: {roc_auc: {min: 0.7}, log_loss: {max: 0.5}, champion: {metric: roc_auc}}\n",
        encoding="utf-8",
    )
    gates = load_config(tmp_path, environ={}).config.evaluation.gates
    assert gates.thresholds()["roc_auc"].min == 0.7
    assert gates.thresholds()["log_loss"].max == 0.5
    assert gates.champion.metric == "roc_auc"
