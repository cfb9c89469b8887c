"""Which registered version a batch job scores with: ``NAME@ALIAS`` or ``NAME/VERSION``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelyard.errors import ModelNotFoundError, RegistryError

if TYPE_CHECKING:
    from modelyard.tracking.registry import Registry

DEFAULT_ALIAS = "champion"
_REF = re.compile(r"(?P<name>[^@/]*)(?:@(?P<alias>[^@/]+)|/(?P<version>[^@/]+))?")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A registered model and either an alias or a version of it.

    Attributes:
        name: The registered model.
        alias: The alias to resolve, when no version is given.
        version: The version number, when given.
    """

    name: str
    alias: str | None = DEFAULT_ALIAS
    version: int | None = None

    def __str__(self) -> str:
        return (
            f"{self.name}/{self.version}"
            if self.version is not None
            else f"{self.name}@{self.alias}"
        )


def parse_model_ref(text: str | None, *, default_name: str) -> ModelRef:
    """Read ``NAME@ALIAS``, ``NAME/VERSION``, ``NAME``, ``@ALIAS`` or nothing.

    A missing name is ``default_name``; a missing alias and version mean ``@champion``.

    Raises:
        RegistryError: The text is neither form, or the version is not a positive integer.
    """
    if text is None or not text.strip():
        return ModelRef(default_name)
    match = _REF.fullmatch(text.strip())
    if match is None:
        raise RegistryError(
            f"Cannot read the model reference {text!r}. Write NAME@ALIAS (e.g. "
            f"{default_name}@champion) or NAME/VERSION (e.g. {default_name}/3)."
        )
    name = match["name"] or default_name
    if match["version"] is None:
        return ModelRef(name, alias=match["alias"] or DEFAULT_ALIAS)
    if not match["version"].isdigit() or int(match["version"]) < 1:
        raise RegistryError(
            f"Model version {match['version']!r} in {text!r} is not a positive integer. "
            f"Write NAME/VERSION, e.g. {name}/1, or NAME@ALIAS."
        )
    return ModelRef(name, alias=None, version=int(match["version"]))


def resolve_version(registry: Registry, ref: ModelRef) -> int:
    """Return the version ``ref`` names, checking that it exists.

    Raises:
        ModelNotFoundError: The model, alias or version is not registered.
    """
    if ref.version is not None:
        return registry.version(ref.name, ref.version).version
    alias = ref.alias or DEFAULT_ALIAS
    aliases = registry.aliases(ref.name)
    if alias not in aliases:
        error = ModelNotFoundError(ref.name, ref=alias, known=registry.models())
        known = ", ".join(sorted(aliases)) or "none"
        error.args = (
            f"Registered model {ref.name!r} has no alias {alias!r} (aliases: {known}). "
            f"Name a version with --model {ref.name}/VERSION, or promote one with "
            "`modelyard models promote VERSION`.",
        )
        raise error
    return aliases[alias]
