"""Model references and server settings: safe defaults, refusals that name the fix."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
from pydantic import ValidationError

from modelyard.config.schema import ServingConfig
from modelyard.errors import ServingError
from modelyard.serving.settings import ModelRef, ServeSettings, parse_model_ref, split_keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("flights@champion", ModelRef("flights", alias="champion"), id="alias"),
        pytest.param("flights/3", ModelRef("flights", version=3), id="version"),
        pytest.param("flights", ModelRef("flights", alias="champion"), id="bare-name"),
    ],
)
def test_model_references(text: str, expected: ModelRef) -> None:
    assert parse_model_ref(text) == expected
    assert str(parse_model_ref(text)) == (
        text if "@" in text or "/" in text else text + "@champion"
    )


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        pytest.param("flights/0", "Invalid model version '0'", id="version-zero"),
        pytest.param("flights/v3", "Invalid model version 'v3'", id="version-text"),
        pytest.param("a/b@c", "Invalid model reference", id="both"),
        pytest.param("../x@champion", "Invalid model reference", id="traversal"),
        pytest.param("..@champion", "Invalid model name", id="dots"),
        pytest.param("fl%2e@champion", "Invalid model name", id="percent"),
        pytest.param("flights@", "Invalid model reference", id="empty-alias"),
        pytest.param("flights@bad alias", "Invalid alias name", id="bad-alias"),
        pytest.param("@champion", "names no model", id="no-name"),
        pytest.param("", "No model given", id="nothing"),
    ],
)
def test_bad_references_are_refused(text: str, pattern: str) -> None:
    with pytest.raises(ServingError, match=pattern):
        parse_model_ref(text)


def settings(**changes: object) -> ServeSettings:
    return ServeSettings.of("m@champion", "sqlite:///x.db", Path("s"), **changes)


def test_defaults_bind_loopback_without_keys() -> None:
    default = settings()
    assert default.serving.host == "127.0.0.1"
    assert default.api_keys == ()
    assert default.host_allowlist == {"127.0.0.1", "localhost", "::1"}


def test_public_bind_without_keys_is_refused() -> None:
    with pytest.raises(ServingError, match=r"without API keys.*Set serving.api_keys"):
        settings(host="0.0.0.0")
    assert settings(host="0.0.0.0", api_keys=("k" * 32,)).serving.host == "0.0.0.0"


def test_short_keys_are_refused() -> None:
    with pytest.raises(ServingError, match="at least 16"):
        settings(api_keys=("secret",))


def test_keys_split_and_settings_travel_to_workers_by_pickle() -> None:
    keys = split_keys(" a-key-0123456789abcdef , ,b-key-0123456789abcdef")
    original = settings(api_keys=keys, allowed_hosts=("api.example",), port=9000)

    assert keys == ("a-key-0123456789abcdef", "b-key-0123456789abcdef")
    assert original.api_keys == keys
    assert pickle.loads(pickle.dumps(original)) == original
    assert "api.example" in original.host_allowlist


def test_settings_hold_the_schema_section_and_its_defaults() -> None:
    """Defaults are written once, in the schema: the settings hold its section as it is."""
    section = ServingConfig(log_flush_s=2.5)
    held = ServeSettings("m@champion", "sqlite:///x.db", Path("s"), section)

    assert held.serving is section
    assert settings().serving == ServingConfig()
    assert held.with_overrides(port=9001).serving.log_flush_s == 2.5
    assert held.with_overrides(port=None) is not None
    copied = {f.name for f in dataclasses.fields(ServeSettings)} & set(ServingConfig.model_fields)
    assert copied == {"model"}  # the resolved reference; serving.model is only its default


def test_overrides_are_validated_by_the_schema() -> None:
    with pytest.raises(ValidationError, match="port"):
        settings().with_overrides(port=70000)


def test_metrics_keys_are_checked_like_api_keys() -> None:
    with pytest.raises(ServingError, match="at least 16"):
        settings(metrics_keys=("short",))
    assert settings(metrics_keys=("m" * 20,)).metrics_keys == ("m" * 20,)
