"""Project and package names derived from the folder name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelyard.config.schema import NAME_PATTERN
from modelyard.scaffold.naming import project_names


@pytest.mark.parametrize(
    ("folder", "name", "package"),
    [
        pytest.param("churn", "churn", "churn", id="plain"),
        pytest.param("my-proj", "my-proj", "my_proj", id="kebab"),
        pytest.param("My Churn.v2", "my-churn-v2", "my_churn_v2", id="spaces-dots-capitals"),
        pytest.param("2024-churn", "2024-churn", "p2024_churn", id="leading-digit"),
        pytest.param("class", "class", "class_project", id="keyword"),
        pytest.param("json", "json", "json_project", id="stdlib-module"),
        pytest.param("modelyard", "modelyard", "modelyard_project", id="modelyard-itself"),
        pytest.param("___", "project", "project", id="no-letters"),
    ],
)
def test_names_come_from_the_folder(folder: str, name: str, package: str, tmp_path: Path) -> None:
    names = project_names(tmp_path / folder)
    assert (names.name, names.package) == (name, package)
    assert names.package.isidentifier()
    assert re.fullmatch(NAME_PATTERN, names.name)
