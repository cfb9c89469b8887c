"""Secrets never reach a rendering of the config or a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from modelyard.config import load_config
from modelyard.config.secrets import MASK, RedactingFilter, is_secret_key, mask, mask_url_passwords


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("api_keys", True), ("token", True), ("password", True), ("db_password", True),
        ("secret", True), ("aws_secret", True), ("credentials", True),
        ("port", False), ("keyboard", False), ("tokenizer", False), ("monkey", False),
    ],
)  # fmt: skip
def test_secret_key_names(key: str, expected: bool) -> None:
    assert is_secret_key(key) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://user:pw@host:5432/db", f"postgresql://user:{MASK}@host:5432/db"),
        ("postgresql+psycopg://u:p%40ss@h/db", f"postgresql+psycopg://u:{MASK}@h/db"),
        ("redis://:onlypw@127.0.0.1:6379/0", f"redis://:{MASK}@127.0.0.1:6379/0"),
        ("sqlite:///.modelyard/mlflow.db", "sqlite:///.modelyard/mlflow.db"),
        ("http://host:8080/path", "http://host:8080/path"),
    ],
)
def test_url_passwords_are_masked(text: str, expected: str) -> None:
    assert mask_url_passwords(text) == expected


def test_mask_by_path_name_and_url() -> None:
    data = {"a": {"b": "interpolated", "token": "t0k", "url": "pg://u:p@h/d"}, "c": ["x", "y"]}
    masked = mask(data, [("a", "b"), ("c", "1")])
    assert masked == {
        "a": {"b": MASK, "token": MASK, "url": f"pg://u:{MASK}@h/d"},
        "c": ["x", MASK],
    }


def test_empty_secrets_stay_empty() -> None:
    assert mask({"api_keys": ""}) == {"api_keys": ""}


def test_loaded_config_masks_every_interpolated_value(tmp_path: Path) -> None:
    (tmp_path / "modelyard.yaml").write_text(
        "name: demo\n"
        "data:\n  source: {url: '${DB_URL}', query: select 1}\n  target: {column: y}\n"
        "serving: {api_keys: '${KEYS}'}\n",
        encoding="utf-8",
    )
    environ = {"DB_URL": "postgresql://me:hunter2@db/x", "KEYS": "k-one-123,k-two-456"}
    loaded = load_config(tmp_path, environ=environ)
    rendered = str(loaded.to_dict())
    for secret in ("hunter2", "k-one-123", "k-two-456", "me:"):
        assert secret not in rendered
    assert loaded.to_dict(masked=False)["serving"]["api_keys"] == "k-one-123,k-two-456"
    assert {"k-one-123", "k-two-456", "hunter2"} <= loaded.secrets()


def test_redacting_filter_masks_log_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("modelyard.test-redaction")
    logger.addFilter(RedactingFilter(["hunter2"]))
    with caplog.at_level(logging.INFO, logger="modelyard.test-redaction"):
        logger.info("connecting with %s to %s", "hunter2", "pg://u:pw@h/db")
    assert "hunter2" not in caplog.text
    assert ":pw@" not in caplog.text
    assert MASK in caplog.text
