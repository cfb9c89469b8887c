"""Model references: NAME@ALIAS, NAME/VERSION, and what they resolve to."""

from __future__ import annotations

import pytest

from modelyard.errors import ModelNotFoundError, RegistryError
from modelyard.inference.ref import ModelRef, parse_model_ref, resolve_version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, ModelRef("proj"), id="default"),
        pytest.param("", ModelRef("proj"), id="empty"),
        pytest.param("m@challenger", ModelRef("m", alias="challenger"), id="alias"),
        pytest.param("m/3", ModelRef("m", alias=None, version=3), id="version"),
        pytest.param("m", ModelRef("m"), id="name-means-champion"),
        pytest.param("@staging", ModelRef("proj", alias="staging"), id="alias-of-default"),
        pytest.param("/2", ModelRef("proj", alias=None, version=2), id="version-of-default"),
    ],
)
def test_parse_model_ref(text: str | None, expected: ModelRef) -> None:
    assert parse_model_ref(text, default_name="proj") == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("m/0", "not a positive integer", id="version-zero"),
        pytest.param("m/latest", "not a positive integer", id="version-word"),
        pytest.param("m@a@b", "Invalid model reference", id="two-aliases"),
        pytest.param("m/1/2", "Invalid model reference", id="two-versions"),
        pytest.param("m%2e@champion", "Invalid model name", id="percent-escape"),
    ],
)
def test_parse_model_ref_refuses_malformed_text(text: str, match: str) -> None:
    with pytest.raises(RegistryError, match=match):
        parse_model_ref(text, default_name="proj")


class FakeRegistry:
    """The three registry reads resolve_version makes."""

    def __init__(self, aliases: dict[str, int]) -> None:
        self._aliases = aliases

    def aliases(self, name: str) -> dict[str, int]:
        return self._aliases

    def models(self) -> list[str]:
        return ["m"]

    def version(self, name: str, version: int) -> ModelRef:
        return ModelRef(name, alias=None, version=version)


def test_resolve_version_follows_the_alias() -> None:
    registry = FakeRegistry({"champion": 4, "challenger": 5})
    assert resolve_version(registry, ModelRef("m")) == 4  # type: ignore[arg-type]
    assert resolve_version(registry, ModelRef("m", alias=None, version=2)) == 2  # type: ignore[arg-type]


def test_resolve_version_names_a_missing_alias_and_the_fix() -> None:
    registry = FakeRegistry({"challenger": 5})
    with pytest.raises(ModelNotFoundError, match=r"no alias 'champion' \(aliases: challenger\)"):
        resolve_version(registry, ModelRef("m"))  # type: ignore[arg-type]
