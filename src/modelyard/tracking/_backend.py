"""Open MLflow clients the way modelyard needs them (private to ``modelyard.tracking``).

- URIs are checked (a scheme allowlist; SQLite paths must be absolute) and masked in messages.
- The first use of a store in a process runs under a lock: a file lock for SQLite, an advisory
  lock for PostgreSQL. MLflow's tracking store runs its migrations unlocked, so processes that
  start together on a fresh database would otherwise race (R11). SQLite databases are switched
  to WAL there; MLflow itself sets a 20 s busy timeout on every session.
- A database is reached with a short connect timeout first, so an unreachable server fails in
  seconds instead of after MLflow's ~100 s engine retry loop.
- ``retry`` absorbs transient write conflicts ("database is locked", unique-key races) with
  jittered backoff; ``translated`` turns MLflow exceptions into modelyard errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

from modelyard.config.secrets import mask_url_passwords
from modelyard.errors import ModelyardError, TrackingConnectionError, TrackingError

if TYPE_CHECKING:
    from mlflow import MlflowClient

T = TypeVar("T")
_logger = logging.getLogger(__name__)

SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https")
CONNECT_TIMEOUT_S = 5
_ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"modelyard.mlflow.init").digest()[:7], "big")
_CONNECTION_HINTS = (
    "could not connect",
    "connection refused",
    "connection timed out",
    "timeout expired",
    "could not translate host name",
    "name or service not known",
    "max retries exceeded",
    "server closed the connection",
)
_TRANSIENT_HINTS = (
    "database is locked",
    "unique constraint",
    "duplicate key",
    "integrityerror",
    "deadlock",
    "could not serialize",
    "model version creation error",
)
_ready: set[str] = set()
_ready_lock = threading.Lock()


def mask(text: str) -> str:
    """Hide every URL password in ``text``."""
    return mask_url_passwords(text)


def scheme_of(uri: str) -> str:
    """Return the base scheme of a store URI (``postgresql+psycopg`` gives ``postgresql``)."""
    return urlsplit(uri).scheme.split("+", 1)[0].lower()


def check_uri(uri: str) -> str:
    """Refuse a tracking URI modelyard does not support, naming the fix."""
    scheme = scheme_of(uri)
    if scheme not in SCHEMES:
        raise TrackingError(
            f"Unsupported tracking URI {mask(uri)!r}: the scheme must be one of "
            f"{', '.join(SCHEMES)} (for example sqlite:////abs/path/mlflow.db)."
        )
    if scheme == "sqlite" and not sqlite_path(uri).is_absolute():
        raise TrackingError(
            f"SQLite tracking URI {uri!r} is relative; pass an absolute path "
            "(sqlite:////abs/path/mlflow.db). The project resolves paths against its root."
        )
    return uri


def sqlite_path(uri: str) -> Path:
    """Return the database file of a ``sqlite:///`` URI."""
    return Path(unquote(uri.split("://", 1)[1].split("?", 1)[0].removeprefix("/")))


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the one warning importing MLflow's stores triggers under SQLAlchemy 2.1.

    ``warnings.catch_warnings`` is not thread-safe, so this wraps only the first import.
    """
    with warnings.catch_warnings():
        # MLflow 3.17's ORM models still use the ``noload`` strategy that SQLAlchemy 2.1
        # deprecates; the warning fires once, when MLflow's store module configures its mappers.
        warnings.filterwarnings(
            "ignore",
            message=r"The ``noload`` loader strategy is deprecated",
            category=DeprecationWarning,
        )
        yield


def open_client(uri: str) -> MlflowClient:
    """Return an ``MlflowClient`` for ``uri``, setting the store up on first use."""
    check_uri(uri)
    # Telemetry stays off unless the user opted in; modelyard draws its own progress bars.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with _ready_lock:
        if uri in _ready:
            from mlflow import MlflowClient

            return MlflowClient(tracking_uri=uri, registry_uri=uri)
        # Creating the client creates (and on a fresh database, migrates) the store.
        with quiet(), _store_lock(uri), translated(uri, "Opening the tracking store"):
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.search_registered_models(max_results=1)
        _ready.add(uri)
    return client


@contextlib.contextmanager
def translated(uri: str, what: str, error: type[ModelyardError] = TrackingError) -> Iterator[None]:
    """Turn MLflow and database exceptions raised inside the block into modelyard errors."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (MlflowException, SQLAlchemyError) as exc:
        if is_connection_problem(exc):
            raise unreachable(uri, exc) from exc
        message = getattr(exc, "message", None) or str(exc)
        raise error(f"{what} failed in the tracking store {mask(uri)!r}: {mask(message)}") from exc


def retry(
    call: Callable[[], T],
    *,
    recover: Callable[[], T | None] | None = None,
    attempts: int = 15,
    deadline_s: float = 60.0,
) -> T:
    """Run ``call``, retrying transient write conflicts with jittered exponential backoff.

    Args:
        call: The write to attempt.
        recover: Asked after a failed attempt whether the write landed anyway (a commit whose
            acknowledgement was lost); a non-None answer is returned instead of writing twice.
        attempts: At most this many tries.
        deadline_s: No new try starts after this many seconds.
    """
    from mlflow.exceptions import MlflowException

    started = time.monotonic()
    for attempt in range(attempts):
        try:
            return call()
        except MlflowException as exc:
            spent = time.monotonic() - started
            if not is_transient(exc) or attempt + 1 >= attempts or spent > deadline_s:
                raise
            _logger.debug("Retrying after a transient store error: %s", mask(str(exc))[:200])
        time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))  # jitter, not security
        if recover is not None:
            try:
                found = recover()
            except MlflowException:
                found = None  # could not tell; the next attempt writes again
            if found is not None:
                return found
    raise AssertionError("unreachable")  # pragma: no cover


def error_code(exc: BaseException) -> str:
    """Return MLflow's error code of ``exc`` (``RESOURCE_DOES_NOT_EXIST``...), or ""."""
    return str(getattr(exc, "error_code", ""))


def is_not_found(exc: BaseException) -> bool:
    """Tell whether an MLflow exception means that the entity does not exist."""
    return error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


def is_already_exists(exc: BaseException) -> bool:
    """Tell whether an MLflow exception means that the entity exists already."""
    return error_code(exc) in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS")


def is_connection_problem(exc: BaseException) -> bool:
    """Tell whether ``exc`` says that the store cannot be reached."""
    text = str(getattr(exc, "message", "") or exc).lower()
    return any(hint in text for hint in _CONNECTION_HINTS)


def is_transient(exc: BaseException) -> bool:
    """Tell whether a write failed on a conflict that a retry can resolve."""
    if is_connection_problem(exc) or is_not_found(exc) or is_already_exists(exc):
        return False
    text = str(getattr(exc, "message", "") or exc).lower()
    return error_code(exc) == "TEMPORARILY_UNAVAILABLE" or any(h in text for h in _TRANSIENT_HINTS)


def unreachable(uri: str, exc: BaseException) -> TrackingConnectionError:
    """Build the error for a store that cannot be reached."""
    reason = mask(str(getattr(exc, "message", "") or exc).strip().splitlines()[0][:300])
    return TrackingConnectionError(
        f"Cannot reach the tracking store {mask(uri)!r}: {reason}. Check that the server is "
        "running and that host, port, user and database in stores.tracking_uri are right."
    )


@contextlib.contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    scheme = scheme_of(uri)
    if scheme == "sqlite":
        with _sqlite_lock(sqlite_path(uri)):
            yield
    elif scheme == "postgresql":
        with _postgres_lock(uri):
            yield
    elif scheme in ("http", "https"):
        _probe_socket(uri)
        yield
    else:
        with _database_connection(uri):
            yield


@contextlib.contextmanager
def _sqlite_lock(database: Path) -> Iterator[None]:
    import fcntl

    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".init-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def _postgres_lock(uri: str) -> Iterator[None]:
    from sqlalchemy import text

    with _database_connection(uri) as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK_KEY})


@contextlib.contextmanager
def _database_connection(uri: str) -> Iterator[Any]:
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if scheme_of(uri) == "postgresql" else {}
    try:
        engine = sqlalchemy.create_engine(uri, poolclass=NullPool, connect_args=connect_args)
    except ImportError as exc:
        raise TrackingError(
            f"No database driver for {mask(uri)!r} ({exc}). For PostgreSQL use "
            "postgresql+psycopg://... and install modelyard[postgres]."
        ) from exc
    try:
        try:
            connection = engine.connect()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise unreachable(uri, exc) from exc
        with connection:
            yield connection
    finally:
        engine.dispose()


def _probe_socket(uri: str) -> None:
    parts = urlsplit(uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise unreachable(uri, exc) from exc
