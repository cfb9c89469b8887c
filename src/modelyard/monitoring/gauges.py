"""A monitor report as Prometheus gauges, and a small server for ``GET /metrics``.

``monitor_registry(result)`` builds a fresh registry from one ``MonitorResult``. The names are those
``deploy/prometheus/alerts.yml`` and the Grafana dashboard read (see ``deploy/README.md``);
they carry no model labels, as those files expect, and ``modelyard_monitor_info`` says which
model version they describe:

- ``modelyard_drift_share``: the share of compared columns that drifted, 0..1;
- ``modelyard_dataset_drift``: 1 when the dataset drifted, else 0;
- ``modelyard_feature_drift{feature}``: 1 when the column drifted, else 0;
- ``modelyard_feature_drift_score{feature,method}``: the method's statistic;
- ``modelyard_prediction_drift`` and ``modelyard_prediction_drift_score{method}``: the same for
  the model's outputs, when the result has them;
- ``modelyard_quality_metric{metric}``: quality measured on labelled rows;
- ``modelyard_quality_promised{metric}``: what the model card promised;
- ``modelyard_quality_degraded``: 1 when quality fell past its tolerance, else 0;
- ``modelyard_monitor_info{model,model_version,alias}``: 1;
- ``modelyard_monitor_last_run_timestamp_seconds``: when the report was made.

``GaugeServer`` serves the latest registry on 127.0.0.1 (by default) and swaps in a new one
with ``update(result)``. prometheus_client is imported only when a registry is built.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from modelyard.errors import ServingError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Gauge

    from modelyard.monitoring.result import MonitorResult

__all__ = ["GaugeServer", "monitor_registry"]

logger = logging.getLogger(__name__)


def monitor_registry(result: MonitorResult) -> CollectorRegistry:
    """Return a new registry holding the gauges of one monitoring result.

    Args:
        result: What a look found. Missing parts (no labels yet, no prediction drift) leave
            their gauges out; values that are not finite numbers are skipped.

    Returns:
        A registry to expose (``prometheus_client.generate_latest(registry)``) or push.
    """
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, doc, labels, registry=registry)

    model = result.model
    info = gauge(
        "modelyard_monitor_info",
        "The model version the monitoring gauges describe (always 1).",
        ("model", "model_version", "alias"),
    )
    info.labels(model.name, str(model.version), model.alias or "").set(1)
    gauge(
        "modelyard_monitor_last_run_timestamp_seconds",
        "When the monitor report was made (Unix time).",
    ).set(result.generated_at.timestamp())

    drift = result.drift
    _set(
        gauge("modelyard_drift_share", "Share of compared columns that drifted, 0..1."),
        drift.share_drifted,
    )
    _set(
        gauge("modelyard_dataset_drift", "1 when the dataset drifted, else 0."),
        drift.dataset_drifted,
    )
    flags = gauge("modelyard_feature_drift", "1 when the column drifted, else 0.", ("feature",))
    scores = gauge(
        "modelyard_feature_drift_score",
        "The drift statistic of a column, by the method that computed it.",
        ("feature", "method"),
    )
    for column in drift.columns:
        _set(flags, column.drifted, column.column)
        _set(scores, column.statistic, column.column, column.method)
    prediction = result.prediction_drift
    if prediction is not None:
        _set(
            gauge("modelyard_prediction_drift", "1 when the model's outputs drifted."),
            prediction.drifted,
        )
        score = gauge(
            "modelyard_prediction_drift_score",
            "The drift statistic of the model's outputs.",
            ("method",),
        )
        _set(score, prediction.statistic, prediction.method)

    quality = result.quality
    if quality is not None:
        for name, values, doc in (
            ("modelyard_quality_metric", quality.metrics, "Quality measured on labelled rows."),
            ("modelyard_quality_promised", quality.promised, "Quality the model card promised."),
        ):
            metric = gauge(name, doc, ("metric",))
            for label, value in values.items():
                _set(metric, value, label)
        _set(
            gauge("modelyard_quality_degraded", "1 when quality fell past its tolerance."),
            quality.degraded,
        )
    return registry


def _set(gauge: Gauge, value: float | bool | None, *labels: str) -> None:
    """Set ``gauge`` (its child for ``labels``) when ``value`` is a finite number or a bool.

    A labelled child is created only then: ``labels()`` alone would export a 0.
    """
    if value is not None and math.isfinite(value):
        (gauge.labels(*labels) if labels else gauge).set(float(value))


class GaugeServer:
    """Serves the latest monitoring gauges at ``GET /metrics`` from a background thread.

    Anything but ``GET /metrics`` gets 404 (other methods 501). Binds 127.0.0.1 unless told
    otherwise; a scraper elsewhere needs ``host`` set on purpose, behind the network's own
    controls. Use it as a context manager, or call ``close()``.

    Example:
        >>> with GaugeServer(result, port=0) as server:  # doctest: +SKIP
        ...     print(server.url)  # http://127.0.0.1:<free port>/metrics
    """

    def __init__(
        self, result: MonitorResult | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        """Bind ``host:port`` (0 picks a free port) and start serving.

        Raises:
            ServingError: The address cannot be bound (in use, not an address of this host).
        """
        self._lock = threading.Lock()
        self._registry = _empty() if result is None else monitor_registry(result)
        server_class = _IPv6Server if ":" in host else _Server
        try:
            self._server = server_class((host, port), _MetricsHandler)
        except OSError as exc:
            raise ServingError(
                f"Cannot serve monitoring metrics on {host}:{port}: {exc.strerror or exc}. "
                "Pick another port (0 takes a free one) or an address of this host."
            ) from exc
        self._server.gauges = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="modelyard-gauges",
            daemon=True,
        )
        self._thread.start()
        self._closed = False
        logger.info("Serving monitoring metrics at %s", self.url)

    @property
    def host(self) -> str:
        """Return the bound address."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """Return the bound port (the one picked, when asked for port 0)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Return the URL of the metrics page."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    @property
    def registry(self) -> CollectorRegistry:
        """Return the registry being served."""
        with self._lock:
            return self._registry

    def update(self, result: MonitorResult) -> None:
        """Serve the gauges of ``result`` from now on (a scrape sees the old or the new set)."""
        registry = monitor_registry(result)
        with self._lock:
            self._registry = registry

    def close(self) -> None:
        """Stop serving and free the port; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> GaugeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _empty() -> CollectorRegistry:
    from prometheus_client import CollectorRegistry

    return CollectorRegistry(auto_describe=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # close() must not wait on a slow scraper
    gauges: GaugeServer


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _MetricsHandler(BaseHTTPRequestHandler):
    server_version = "modelyard"
    timeout = 10  # seconds a client may take to send its request

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/metrics":
            self.send_error(404, "Only /metrics is served here.")
            return
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
        body = encoder(cast(_Server, self.server).gauges.registry)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)
