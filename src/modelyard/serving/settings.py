"""What a model server needs to start: plain values, cheap to import, no FastAPI.

``ServeSettings`` is the model reference, the registry and store, and the config's ``serving``
section as it is: every limit, key and timing is read from ``settings.serving``, whose fields
and defaults are written once, in ``modelyard.config.schema.ServingConfig``.
``modelyard.project.Project.serve_settings`` builds it from the config; tests and embedding
code use ``ServeSettings.of``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelyard.config.schema import ServingConfig
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
        serving: The config's ``serving`` section (binding, keys, limits, timeouts, logs).
    """

    model: str
    tracking_uri: str
    store: Path
    serving: ServingConfig = field(default_factory=ServingConfig)

    def __post_init__(self) -> None:
        for key in (*self.api_keys, *self.metrics_keys):
            if len(key) < MIN_API_KEY_LENGTH:
                raise ServingError(
                    f"A key in serving.api_keys or serving.metrics_keys has {len(key)} "
                    f"characters; use at least {MIN_API_KEY_LENGTH} random ones, e.g. from "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
                )
        if not self.api_keys and not is_loopback(self.serving.host):
            raise ServingError(
                f"Refusing to serve on {self.serving.host!r} without API keys: anyone who can "
                "reach it could call the model. Set serving.api_keys (e.g. "
                '"${MODELYARD_API_KEYS}"), or bind 127.0.0.1.'
            )

    @classmethod
    def of(cls, model: str, tracking_uri: str, store: Path, **serving: Any) -> ServeSettings:
        """Return settings with the ``serving`` fields given, the schema's defaults elsewhere.

        ``api_keys`` and ``metrics_keys`` may be given as sequences of keys.
        """
        return cls(model, tracking_uri, Path(store), _section(ServingConfig(), serving))

    @property
    def model_ref(self) -> ModelRef:
        return parse_model_ref(self.model)

    @property
    def api_keys(self) -> tuple[str, ...]:
        """Keys that open every route."""
        return split_keys(self.serving.api_keys)

    @property
    def metrics_keys(self) -> tuple[str, ...]:
        """Keys that may only scrape ``/metrics``."""
        return split_keys(self.serving.metrics_keys)

    @property
    def host_allowlist(self) -> frozenset[str]:
        """The Host header names answered (lower case, no port); ``"*"`` means any."""
        names = {*LOOPBACK_HOSTS, self.serving.host, *self.serving.allowed_hosts}
        return frozenset(name.strip().lower().strip("[]") for name in names if name.strip())

    def with_overrides(self, **changes: Any) -> ServeSettings:
        """Return a copy with the non-None ``changes`` applied (``model`` or serving fields).

        Raises:
            pydantic.ValidationError: A serving value breaks the schema.
        """
        changes = {key: value for key, value in changes.items() if value is not None}
        model = changes.pop("model", self.model)
        return replace(self, model=model, serving=_section(self.serving, changes))


def _section(base: ServingConfig, changes: dict[str, Any]) -> ServingConfig:
    """Return ``base`` with ``changes`` applied and validated by the schema."""
    if not changes:
        return base
    for name in ("api_keys", "metrics_keys"):
        if isinstance(changes.get(name), list | tuple):
            changes[name] = ",".join(changes[name])
    return ServingConfig.model_validate({**base.model_dump(), **changes})


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
