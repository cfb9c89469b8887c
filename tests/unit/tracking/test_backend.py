"""Retries of transient store conflicts, and what counts as one."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    TEMPORARILY_UNAVAILABLE,
)

from modelyard.errors import RegistryError, TrackingConnectionError
from modelyard.tracking import _backend

LOCKED = MlflowException("(sqlite3.OperationalError) database is locked", TEMPORARILY_UNAVAILABLE)
REFUSED = MlflowException(
    'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused',
    TEMPORARILY_UNAVAILABLE,
)


class Flaky:
    """Fails ``failures`` times with ``error``, then returns ``value``."""

    def __init__(self, failures: int, error: Exception, value: str = "done") -> None:
        self.failures, self.error, self.value, self.calls = failures, error, value, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.value


def test_transient_conflicts_are_retried() -> None:
    call = Flaky(3, LOCKED)

    assert _backend.retry(call) == "done"
    assert call.calls == 4


def test_a_write_that_landed_is_not_repeated() -> None:
    call = Flaky(1, MlflowException("duplicate key value violates unique constraint"))

    assert _backend.retry(call, recover=lambda: "found") == "found"
    assert call.calls == 1


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(REFUSED, id="connection-refused"),
        pytest.param(MlflowException("exists", RESOURCE_ALREADY_EXISTS), id="already-exists"),
        pytest.param(MlflowException("bad value", INVALID_PARAMETER_VALUE), id="invalid"),
    ],
)
def test_other_errors_are_raised_at_once(error: MlflowException) -> None:
    call = Flaky(1, error)

    with pytest.raises(MlflowException):
        _backend.retry(call)
    assert call.calls == 1


def test_retries_are_bounded() -> None:
    call = Flaky(100, LOCKED)

    with pytest.raises(MlflowException, match="database is locked"):
        _backend.retry(call, attempts=3)
    assert call.calls == 3


def test_translation_masks_passwords_and_spots_connection_problems() -> None:
    uri = "postgresql+psycopg://app:pw123@127.0.0.1:1/db"

    with (
        pytest.raises(TrackingConnectionError, match=r"app:\*{8}@127\.0\.0\.1") as caught,
        _backend.translated(uri, "Listing"),
    ):
        raise REFUSED
    with (
        pytest.raises(RegistryError, match=r"Listing failed .*bad value"),
        _backend.translated(uri, "Listing", RegistryError),
    ):
        raise MlflowException("bad value", INVALID_PARAMETER_VALUE)

    assert "pw123" not in str(caught.value)
