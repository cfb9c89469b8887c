"""The exception tree: every class documented, catchable as its builtin, messages name the fix."""

from __future__ import annotations

import inspect

import pytest

from modelyard import errors
from modelyard.errors import (
    ConfigNotFoundError,
    ConfigSyntaxError,
    InterpolationError,
    ModelyardError,
    SourceConnectionError,
    did_you_mean,
)


def all_errors() -> list[type[ModelyardError]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, ModelyardError)
    ]


@pytest.mark.parametrize("error", all_errors(), ids=lambda e: e.__name__)
def test_every_error_is_drawn_in_the_module_docstring(error: type[ModelyardError]) -> None:
    assert error.__name__ in (errors.__doc__ or "")


def test_builtin_bases_let_callers_catch_naturally() -> None:
    assert issubclass(ConfigNotFoundError, FileNotFoundError)
    assert issubclass(ConfigSyntaxError, ValueError)
    assert issubclass(SourceConnectionError, ConnectionError)
    assert issubclass(InterpolationError, KeyError)


@pytest.mark.parametrize(
    ("error", "pattern"),
    [
        pytest.param(ConfigNotFoundError("x/modelyard.yaml"), r"No config file at 'x/modelyard\.yaml'\. Run modelyard from a project", id="not-found"),
        pytest.param(ConfigSyntaxError("m.yaml", 3, "bad"), r"^m\.yaml:3: invalid YAML: bad\. Fix", id="syntax"),
        pytest.param(InterpolationError("TOKEN", where="m.yaml:2"), r"^m\.yaml:2: environment variable 'TOKEN' is not set", id="interpolation"),
        pytest.param(SourceConnectionError("pg://h/db", "refused"), r"Cannot connect to 'pg://h/db': refused\. Check that the database server is running", id="connection"),
    ],
)  # fmt: skip
def test_messages_say_what_which_and_how(error: ModelyardError, pattern: str) -> None:
    with pytest.raises(type(error), match=pattern):
        raise error


def test_did_you_mean() -> None:
    assert did_you_mean("modle", ["model", "data"]) == " Did you mean 'model'?"
    assert did_you_mean("zzz", ["model", "data"]) == ""
