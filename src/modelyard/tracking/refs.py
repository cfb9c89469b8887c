"""Which registered version to use: ``NAME@ALIAS`` (follow an alias) or ``NAME/VERSION``.

One reader for every command and the server: ``modelyard serve --model``, ``predict --model``,
``monitor --model`` and ``serving.model`` all mean the same thing by the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelyard.errors import ModelyardError, RegistryError
from modelyard.tracking._names import check_name

DEFAULT_ALIAS = "champion"
_REF = re.compile(r"(?P<name>[^@/]*)(?:@(?P<alias>[^@/]+)|/(?P<version>[^@/]+))?")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A registered model and either an alias to follow or a fixed version.

    Attributes:
        name: The registered model.
        alias: The alias to resolve; None when a version is given.
        version: The version number, when given.
    """

    name: str
    alias: str | None = DEFAULT_ALIAS
    version: int | None = None

    def __post_init__(self) -> None:
        if self.version is not None:  # a version wins: there is no alias to follow
            object.__setattr__(self, "alias", None)

    @property
    def is_pinned(self) -> bool:
        """Whether the reference names a fixed version (so there is nothing to watch)."""
        return self.version is not None

    def __str__(self) -> str:
        return f"{self.name}/{self.version}" if self.is_pinned else f"{self.name}@{self.alias}"


def parse_model_ref(
    text: str | None,
    *,
    default_name: str | None = None,
    error: type[ModelyardError] = RegistryError,
) -> ModelRef:
    """Read ``NAME@ALIAS``, ``NAME/VERSION``, ``NAME`` (``@champion``), ``@ALIAS``, ``/VERSION``
    or nothing; a missing name is ``default_name``.

    Raises:
        error: The text is neither form, the version is not a positive integer, a name or
            alias is not canonical, or no name is given and there is no default.
    """
    if text is None or not text.strip():
        if default_name is None:
            raise error(
                "No model given: write NAME@ALIAS or NAME/VERSION, e.g. flights-delay@champion."
            )
        return ModelRef(check_name(default_name, what="model", error=error))
    text = text.strip()
    example = default_name or "flights-delay"
    match = _REF.fullmatch(text)
    if match is None:
        raise error(
            f"Invalid model reference {text!r}: write NAME@ALIAS (e.g. {example}@champion) "
            f"or NAME/VERSION (e.g. {example}/3)."
        )
    name = match["name"] or default_name
    if name is None:
        raise error(f"Invalid model reference {text!r}: it names no model; write NAME{text}.")
    check_name(name, what="model", error=error)
    if match["version"] is None:
        alias = match["alias"] or DEFAULT_ALIAS
        return ModelRef(name, alias=check_name(alias, what="alias", error=error))
    version = match["version"]
    if not version.isdigit() or int(version) < 1:
        raise error(
            f"Invalid model version {version!r} in {text!r}: not a positive integer. Write "
            f"NAME/VERSION with a number from `modelyard models list` (e.g. {name}/3), "
            "or NAME@ALIAS."
        )
    return ModelRef(name, version=int(version))
