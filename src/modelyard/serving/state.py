"""What one app holds while it serves: the model reference, limits, logs and metrics."""

from __future__ import annotations

import collections
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from modelyard.serving.access_log import AccessLog
from modelyard.serving.admission import Admission
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.model import Outputs, ServedModel
from modelyard.serving.prediction_log import ParquetLog
from modelyard.serving.settings import ServeSettings
from modelyard.serving.source import RegistrySource

log = logging.getLogger("modelyard.serving")
RECENT_REQUESTS = 100_000


@dataclass(slots=True, eq=False)
class ServingState:
    """The app's mutable state. ``model`` changes by one assignment (``swap``); a request reads
    it once, at its start, and uses that model to the end."""

    settings: ServeSettings
    metrics: ServingMetrics
    admission: Admission
    executor: ThreadPoolExecutor
    source: RegistrySource | None = None
    model: ServedModel | None = None
    predictions: ParquetLog | None = None
    feedback: ParquetLog | None = None
    access: AccessLog | None = None
    draining: bool = False
    recent: collections.OrderedDict[str, None] = field(default_factory=collections.OrderedDict)

    def drain(self) -> None:
        """Report not-ready from now on (shutdown is coming); requests are still answered."""
        self.draining = True

    def swap(self, model: ServedModel) -> None:
        """Serve ``model`` from the next request on; requests under way keep their model."""
        previous = self.model
        self.model = model
        self.metrics.set_model(model.name, model.version_label, model.runtime.name)
        if previous is not None and previous.version != model.version:
            log.info(
                "now serving %s version %s (was %s)", model.name, model.version, previous.version
            )

    def record(
        self, request_id: str, model: ServedModel, request: bytes, response: bytes, outputs: Outputs
    ) -> None:
        """Count the predictions, remember the request id, and queue the exchange for the log."""
        self.metrics.observe_predictions(model.version_label, outputs)
        self.recent[request_id] = None
        if len(self.recent) > RECENT_REQUESTS:
            self.recent.popitem(last=False)
        if self.predictions is not None:
            entry = (request_id, time.time(), model.name, model.version, len(outputs), request,
                     response)  # fmt: skip
            self.predictions.put(entry, len(request) + len(response))

    def record_feedback(self, model: ServedModel, label: dict[str, Any]) -> tuple[bool, bool]:
        """Queue a label; return (accepted, matched)."""
        request_id = label["request_id"]
        matched = request_id in self.recent
        if self.feedback is None:
            return False, matched
        entry = (
            request_id,
            label.get("row", 0),
            time.time(),
            model.name,
            model.version,
            label["label"],
            matched,
        )
        return self.feedback.put(entry), matched
