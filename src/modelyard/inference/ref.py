"""Resolve a model reference (see ``modelyard.tracking.refs``) to a registered version."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard.errors import ModelNotFoundError
from modelyard.tracking.refs import DEFAULT_ALIAS, ModelRef, parse_model_ref

if TYPE_CHECKING:
    from modelyard.tracking.registry import Registry

__all__ = ["DEFAULT_ALIAS", "ModelRef", "parse_model_ref", "resolve_version"]


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
