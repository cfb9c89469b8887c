"""What a model server needs to start: plain values, cheap to import, no FastAPI.

``ServeSettings`` is built by ``modelyard.project.Project.serve_settings`` from the ``serving``
section of the config, or directly by tests and embedding code.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from modelyard.errors import ServingError
from modelyard.tracking import refs
from modelyard.tracking.refs import ModelRef

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MIN_API_KEY_LENGTH = 16


def parse_model_ref(text: str) -> ModelRef:
    """Read ``NAME@ALIAS``, ``NAME/VERSION`` or a bare ``NAME`` (meaning ``NAME@champion``).

    Raises:
        ServingError: The text is neither form, or a name is not a canonical model name.
    """
    return refs.parse_model_ref(text, error=ServingError)


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """Everything ``create_app`` and ``serve`` take.

    Attributes:
        model: The model reference, ``NAME@ALIAS`` or ``NAME/VERSION``.
        tracking_uri: The MLflow tracking URI holding the registry.
        store: The project store (``.modelyard``): downloaded versions go under
            ``serving/``, logs under ``predictions/`` and ``feedback/``.
        host: The address to bind; 127.0.0.1 unless told otherwise.
        port: The port to bind.
        workers: uvicorn worker processes.
        api_keys: Accepted keys; empty means no authentication (loopback only).
        allowed_hosts: Host headers answered besides the loopback names and ``host``;
            ``"*"`` answers any.
        max_body_bytes: Largest request body accepted (413 beyond).
        max_batch_rows: Most records in one prediction request (422 beyond).
        max_concurrency: Predictions running at once.
        max_queue: Predictions waiting for a slot; more get 503 at once.
        request_timeout_s: A prediction's deadline, waiting included (504 beyond).
        watch_interval_s: How often the alias is polled for a new version.
        grace_period_s: How long in-flight requests may take to finish after SIGTERM.
        drain_delay_s: How long readiness reports 503 before new connections are refused.
        prediction_log: Whether predictions and feedback are logged to Parquet.
        access_log: Whether each request is logged on ``modelyard.serving.access``.
        log_flush_rows: Rows that make the log write a file.
        log_flush_s: Seconds after which buffered rows are written anyway.
        log_queue_size: Requests buffered for the log; more are dropped and counted.
    """

    model: str
    tracking_uri: str
    store: Path
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    api_keys: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch_rows: int = 10_000
    max_concurrency: int = 64
    max_queue: int = 256
    request_timeout_s: float = 30.0
    watch_interval_s: float = 5.0
    grace_period_s: float = 30.0
    drain_delay_s: float = 1.0
    prediction_log: bool = True
    access_log: bool = True
    log_flush_rows: int = 5_000
    log_flush_s: float = 10.0
    log_queue_size: int = 20_000

    def __post_init__(self) -> None:
        for key in self.api_keys:
            if len(key) < MIN_API_KEY_LENGTH:
                raise ServingError(
                    f"An API key in serving.api_keys has {len(key)} characters; use at least "
                    f"{MIN_API_KEY_LENGTH} random ones, e.g. from "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
                )
        if not self.api_keys and not is_loopback(self.host):
            raise ServingError(
                f"Refusing to serve on {self.host!r} without API keys: anyone who can reach "
                "it could call the model. Set serving.api_keys (e.g. "
                '"${MODELYARD_API_KEYS}"), or bind 127.0.0.1.'
            )

    @property
    def model_ref(self) -> ModelRef:
        return parse_model_ref(self.model)

    @property
    def host_allowlist(self) -> frozenset[str]:
        """The Host header names answered (lower case, no port); ``"*"`` means any."""
        names = {*LOOPBACK_HOSTS, self.host, *self.allowed_hosts}
        return frozenset(name.strip().lower().strip("[]") for name in names if name.strip())

    def with_overrides(self, **changes: Any) -> ServeSettings:
        """Return a copy with the non-None ``changes`` applied."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})

    def to_json(self) -> str:
        """Return the settings as JSON, for worker processes (holds the API keys)."""
        data = asdict(self)
        data["store"] = str(self.store)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        data = json.loads(text)
        data["store"] = Path(data["store"])
        data["api_keys"] = tuple(data["api_keys"])
        data["allowed_hosts"] = tuple(data["allowed_hosts"])
        return cls(**data)


def split_keys(text: str) -> tuple[str, ...]:
    """Return the keys of a comma-separated ``serving.api_keys`` value, blanks dropped."""
    return tuple(key.strip() for key in text.split(",") if key.strip())


def is_loopback(host: str) -> bool:
    """Tell whether binding ``host`` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
