"""Prometheus metrics of one app, in its own registry (several apps can share a process).

Names, all prefixed ``modelyard_``:

- ``http_requests_total`` and ``http_request_duration_seconds`` by route, method, status and
  model version (the ``X-Model-Version`` that answered; empty for other routes);
- ``http_requests_in_flight``;
- ``predictions_total`` by model version and class (classifiers), and
  ``prediction_value`` by model version (regressors, fixed symmetric buckets);
- ``model_loads_total`` by outcome (``loaded``, ``integrity_error``, ``unsafe``, ``error``);
- ``admission_rejections_total`` (503 for lack of a slot, or at the door),
  ``log_dropped_total`` by log (records dropped because the log queue was full),
  ``log_write_errors_total`` by log;
- ``connections_timed_out_total`` by phase (``headers``, ``body``: connections closed because
  a request's headers or body came too late);
- ``model_info`` (1 for the version serving now, by version and runtime);
- and the standard ``process_*`` (CPU, memory, descriptors) and ``python_*`` (GC, version)
  series.

A client gone before its answer is counted with status ``499``, apart from the 5xx. Counters
with labels start at 0 for every label value they can take (outcomes, logs, phases), so an
``increase()`` alert sees their first event.
"""

from __future__ import annotations

import collections
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
VALUE_BUCKETS = (-1e4, -1e3, -1e2, -10.0, -1.0, 0.0, 1.0, 10.0, 1e2, 1e3, 1e4, 1e5)
CONTENT_TYPE = CONTENT_TYPE_LATEST
LOAD_OUTCOMES = ("loaded", "integrity_error", "unsafe", "error")
LOGS = ("predictions", "feedback")
TIMEOUT_PHASES = ("headers", "body")


class ServingMetrics:
    """The app's metrics; label children are cached so a request pays two dict lookups."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["route", "method", "status", "model_version"]
        r = self.registry
        self.requests = Counter(
            "modelyard_http_requests_total", "HTTP requests answered.", labels, registry=r
        )
        self.latency = Histogram(
            "modelyard_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "modelyard_http_requests_in_flight", "HTTP requests being answered.", registry=r
        )
        self.predictions = Counter(
            "modelyard_predictions_total",
            "Records predicted, by class.",
            ["model_version", "class"],
            registry=r,
        )
        self.values = Histogram(
            "modelyard_prediction_value",
            "Regression predictions.",
            ["model_version"],
            buckets=VALUE_BUCKETS,
            registry=r,
        )
        self.model_loads = Counter(
            "modelyard_model_loads_total",
            "Model versions loaded, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.rejections = Counter(
            "modelyard_admission_rejections_total",
            "Predictions refused with 503: no slot and a full queue.",
            registry=r,
        )
        self.log_dropped = Counter(
            "modelyard_log_dropped_total",
            "Records not logged because the log queue was full.",
            ["log"],
            registry=r,
        )
        self.log_errors = Counter(
            "modelyard_log_write_errors_total",
            "Log batches that failed to write.",
            ["log"],
            registry=r,
        )
        self.model_info = Gauge(
            "modelyard_model_info",
            "The version serving now (value 1).",
            ["model", "model_version", "runtime"],
            registry=r,
        )
        self.timed_out = Counter(
            "modelyard_connections_timed_out_total",
            "Connections closed because a request's headers or body came too late.",
            ["phase"],
            registry=r,
        )
        for outcome in LOAD_OUTCOMES:
            self.model_loads.labels(outcome)
        for name in LOGS:
            self.log_dropped.labels(name)
            self.log_errors.labels(name)
        for phase in TIMEOUT_PHASES:
            self.timed_out.labels(phase)
        ProcessCollector(registry=r)
        r.register(_Forward(PLATFORM_COLLECTOR))
        r.register(_Forward(GC_COLLECTOR))
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        self._classes: dict[tuple[str, str], Any] = {}

    def observe_request(
        self, route: str, method: str, status: int, version: str, seconds: float
    ) -> None:
        """Count one answered request and its latency."""
        key = (route, method, str(status), version)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(*key),
                self.latency.labels(*key),
            )
        children[0].inc()
        children[1].observe(seconds)

    def observe_predictions(self, version: str, outputs: list[dict[str, Any]]) -> None:
        """Count predictions by class, or record regression values."""
        if outputs and "value" in outputs[0]:
            histogram = self.values.labels(version)
            for output in outputs:
                if output["value"] is not None:
                    histogram.observe(output["value"])
            return
        if len(outputs) == 1:
            self._class(version, str(outputs[0]["label"])).inc()
            return
        for label, count in collections.Counter(str(o["label"]) for o in outputs).items():
            self._class(version, label).inc(count)

    def _class(self, version: str, label: str) -> Any:
        key = (version, label)
        child = self._classes.get(key)
        if child is None:
            child = self._classes[key] = self.predictions.labels(version, label)
        return child

    def set_model(self, name: str, version: str, runtime: str) -> None:
        """Mark ``version`` as the one serving now."""
        self.model_info.clear()
        self.model_info.labels(name, version, runtime).set(1)

    def render(self) -> bytes:
        """Return the Prometheus text exposition."""
        return generate_latest(self.registry)


class _Forward:
    """A process-wide collector (``python_info``, ``python_gc_*``) shown in this registry too."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector

    def collect(self) -> Any:
        return self.collector.collect()
