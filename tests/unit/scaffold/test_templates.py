"""Template files: where each one goes, and how placeholders are filled."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from modelyard.scaffold.templates import SUFFIX, fill, target_path, template_files


@pytest.mark.parametrize(
    ("template", "target"),
    [
        pytest.param("Makefile.tmpl", "Makefile", id="plain"),
        pytest.param("dot-gitignore.tmpl", ".gitignore", id="dot-file"),
        pytest.param(
            "dot-github/workflows/ci.yaml.tmpl", ".github/workflows/ci.yaml", id="dot-dir"
        ),
        pytest.param("src/PACKAGE/features.py.tmpl", "src/churn_v2/features.py", id="package"),
    ],
)
def test_target_path_maps_dot_prefix_package_and_suffix(template: str, target: str) -> None:
    assert target_path(PurePosixPath(template), "churn_v2") == PurePosixPath(target)


def test_fill_replaces_every_placeholder() -> None:
    assert fill("name: @@name@@ (@@name@@) ${{ x }} $(Y)", {"name": "a"}) == (
        "name: a (a) ${{ x }} $(Y)"
    )


def test_fill_refuses_an_unknown_placeholder() -> None:
    with pytest.raises(KeyError, match="package"):
        fill("@@package@@", {"name": "a"})


def test_every_template_is_a_tmpl_file_using_only_known_placeholders() -> None:
    values = {"name", "package", "description", "summary", "about", "data_file"}
    found = list(template_files())
    assert len(found) == 28
    for path, entry in found:
        assert path.name.endswith(SUFFIX)
        fill(entry.read_text(encoding="utf-8"), {key: key for key in values})
