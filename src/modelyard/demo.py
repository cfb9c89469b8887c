"""``modelyard demo``: the whole loop on the flights example, in a few minutes, on a laptop.

1. Write the flights example; keep January-April as the data the team has (``data/raw/``) and
   the rest of 2013 as what the future will bring (``data/external/``).
2. Train, with a short hyper-parameter search: version 1 becomes champion.
3. Serve the champion on a free 127.0.0.1 port, as its own process (``modelyard serve``).
4. Replay May to August as traffic over HTTP, and send each flight's true label as feedback.
5. The labelled months land in ``data/raw/`` (as a warehouse export would), then
   ``modelyard monitor`` compares the traffic with version 1's training data: drift, and the
   live quality against the model card. The breach retrains on the latest window; the gates
   decide; a better model becomes champion.
6. The running server picks the new champion up without a restart: the demo watches
   ``X-Model-Version`` change.

Everything runs through the same project API the CLI uses, with the ``demo`` overlay
(``configs/env/demo.yaml``) holding the demo's settings.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import ServingError

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.monitoring.result import MonitorResult, RetrainAction
    from modelyard.pipelines.runner import Observer
    from modelyard.pipelines.train import TrainResult
    from modelyard.project import Project

ENV = "demo"
FUTURE = "flights-2013-later.parquet"
HISTORY_MONTHS = (1, 2, 3, 4)
REPLAY_MONTHS = (5, 6, 7, 8)
OVERLAY = """\
# The demo's settings, applied with --env demo (modelyard demo does this for you).
data:
  # the history the team has, plus what arrives later (one file per export)
  source: {uri: "data/raw/flights-*.parquet"}
model:
  params: {n_estimators: 150, learning_rate: 0.08, num_leaves: 31}
  search: {enabled: true, trials: %(trials)d, timeout_s: 600}
serving:
  watch_interval_s: 1.0   # notice a new champion within a second
  log_flush_s: 1.0        # and log predictions promptly, for monitoring
  access_log: false
monitoring:
  window: 1d
  # a breach retrains on everything up to now (set window: 180d to keep only the latest)
  retrain: {on_drift: true, on_quality: true}
"""

Say = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo did, for its summary table (``to_dict`` for ``--json``)."""

    root: Path
    seconds: float = 0.0
    versions: list[dict[str, Any]] = field(default_factory=list)
    replayed: int = 0
    feedback: int = 0
    monitor: dict[str, Any] = field(default_factory=dict)
    switch: dict[str, Any] = field(default_factory=dict)
    report: Path | None = None
    cards: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "seconds": round(self.seconds, 1),
            "versions": self.versions,
            "replayed_rows": self.replayed,
            "feedback_labels": self.feedback,
            "monitor": self.monitor,
            "switch": self.switch,
            "report": None if self.report is None else str(self.report),
            "cards": [str(path) for path in self.cards],
        }


def run_demo(
    dest: Path,
    *,
    force: bool = False,
    rows_per_month: int = 1_000,
    trials: int = 4,
    say: Say = lambda _line: None,
    observer: Observer | None = None,
) -> DemoResult:
    """Run the loop in ``dest`` (see the module docstring) and return what happened.

    ``say`` gets a line per stage; ``observer`` sees each training pipeline's steps.

    Raises:
        ExampleError: ``dest`` is not empty and ``force`` is off.
        ModelyardError: A step failed; its message says which and why.
    """
    from modelyard.project import load_project

    start = time.perf_counter()
    result = DemoResult(root=dest.resolve())
    say(f"1/6 writing the flights example into {dest}")
    future = _prepare(dest, force=force, trials=trials)
    project = load_project(dest, env=ENV)

    history = _span(HISTORY_MONTHS)
    say(f"2/6 training version 1 on {history} (short hyper-parameter search)")
    first = project.train(observer=observer)
    result.versions.append(_version_row(first, f"{history} 2013"))
    result.cards.append(first.card[1])
    say(f"    version {first.version}: {_metric_text(first)}; champion: v{first.champion}")

    key = secrets.token_hex(16)
    port = _free_port()
    say(f"3/6 serving the champion on http://127.0.0.1:{port} (its own process)")
    with _server(project, port, key) as client:
        before = client.version()
        say(f"    the server answers with version {before}")
        say(f"4/6 replaying {', '.join(_month_names(REPLAY_MONTHS))} as traffic, with labels")
        replay = _sample(future, REPLAY_MONTHS, rows_per_month, seed=project.config.model.seed)
        result.replayed, result.feedback = _replay(client, replay, project.config)
        say(f"    {result.replayed:,} predictions, {result.feedback:,} feedback labels sent")
        _wait_for_log(project, result.replayed, timeout_s=30.0)

        say("5/6 new labelled months arrive; monitoring (drift, quality), retraining on a breach")
        _arrive(dest, future, REPLAY_MONTHS)
        looked = project.monitor(retrain=True, observer=observer)
        result.monitor = _monitor_summary(looked)
        result.report = looked.html_path
        say(f"    verdict: {looked.verdict.status}; " + "; ".join(looked.verdict.reasons))
        for action in looked.retrainings:
            say(f"    retrained: {action.detail}")
            result.versions.append(_retrained_row(action))
            card = project.paths.cards / project.config.model_name / f"v{action.version}"
            result.cards.append(card / "model_card.html")

        say("6/6 waiting for the running server to pick up the champion")
        champion = project.registry().get_alias(project.config.model_name, "champion")
        probe = _records(replay, project.config)[0][0]
        result.switch = _watch_switch(client, probe, before, champion, timeout_s=60.0)
        say(f"    {result.switch['detail']}")
    result.seconds = time.perf_counter() - start
    return result


# --- the data -----------------------------------------------------------------------------------


def _prepare(dest: Path, *, force: bool, trials: int) -> pd.DataFrame:
    """Write the example, split its flights into history (raw) and future (kept aside)."""
    import pandas as pd

    from modelyard.data.sources import write_parquet_atomic
    from modelyard.scaffold.example import write_example

    if force and (dest / "configs" / "env" / f"{ENV}.yaml").is_file():
        import shutil

        shutil.rmtree(dest)  # an earlier demo's folder: start over rather than stack versions
    write_example("flights", dest, force=force)
    raw = dest / "data" / "raw"
    flights = pd.read_parquet(raw / "flights.parquet")
    months = flights["month"]
    history = f"flights-2013-{min(HISTORY_MONTHS):02d}-{max(HISTORY_MONTHS):02d}.parquet"
    write_parquet_atomic(flights.loc[months.isin(HISTORY_MONTHS)].reset_index(drop=True),
                         raw / history)  # fmt: skip
    future = flights.loc[~months.isin(HISTORY_MONTHS)].reset_index(drop=True)
    external = dest / "data" / "external"
    external.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(future, external / FUTURE)
    (raw / "flights.parquet").unlink()
    overlay = dest / "configs" / "env" / f"{ENV}.yaml"
    overlay.write_text(OVERLAY % {"trials": trials}, encoding="utf-8")
    return future


def _sample(future: pd.DataFrame, months: Sequence[int], rows: int, *, seed: int) -> pd.DataFrame:
    """``rows`` flights of each month, in time order (as traffic would come)."""
    import pandas as pd

    parts = []
    for month in months:
        flights = future.loc[future["month"] == month]
        parts.append(flights.sample(min(rows, len(flights)), random_state=seed))
    return pd.concat(parts).sort_values(["time_hour", "flight_id"]).reset_index(drop=True)


def _arrive(dest: Path, future: pd.DataFrame, months: Sequence[int]) -> None:
    """The labelled months land in ``data/raw/`` as a new export."""
    from modelyard.data.sources import write_parquet_atomic

    arrived = future.loc[future["month"].isin(months)].reset_index(drop=True)
    name = f"flights-2013-{min(months):02d}-{max(months):02d}.parquet"
    write_parquet_atomic(arrived, dest / "data" / "raw" / name)


def _span(months: Sequence[int]) -> str:
    """``January-April`` for months 1 to 4."""
    first, last = _month_names((min(months), max(months)))
    return first if first == last else f"{first}-{last}"


def _month_names(months: Sequence[int]) -> list[str]:
    import calendar

    return [calendar.month_name[m] for m in months]


# --- the server and its traffic -----------------------------------------------------------------


class Client:
    """A keep-alive HTTP client for one local server, with the API key."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
        for attempt in range(2):
            try:
                self._conn.request(method, path, body=payload, headers=headers)
                response = self._conn.getresponse()
                data = response.read()
                return (
                    response.status,
                    {k.lower(): v for k, v in response.getheaders()},
                    json.loads(data) if data else None,
                )
            except (ConnectionError, http.client.HTTPException, OSError):
                self._conn.close()
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def version(self) -> int | None:
        status, _, body = self.call("GET", "/v1/model")
        return int(body["version"]) if status == 200 else None

    def close(self) -> None:
        self._conn.close()


@contextmanager
def _server(project: Project, port: int, key: str) -> Iterator[Client]:
    """Run ``modelyard serve`` for the project as a child process; stop it by its PID."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env |= {"MODELYARD_API_KEYS": key, "MODELYARD_ENV": ENV}
    log = project.paths.store / "demo-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "modelyard", "serve", "-C", str(project.root),
            "--port", str(port)]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
    client = Client(port, key)
    try:
        _wait_ready(client, process, log, timeout_s=90.0)
        yield client
    finally:
        client.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(client: Client, process: subprocess.Popen[bytes], log: Path, *,
                timeout_s: float) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise ServingError(f"The demo's server exited with {process.returncode}:\n{tail}")
        try:
            status, _, _ = client.call("GET", "/health/ready")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise ServingError(f"The demo's server was not ready within {timeout_s:.0f}s; see {log}.")


def _replay(client: Client, flights: pd.DataFrame, config: Any, batch: int = 25) -> tuple[int, int]:
    """POST the flights in batches as predictions, then each one's true label as feedback."""
    records, labels = _records(flights, config)
    predicted = labelled = 0
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        status, _, body = client.call("POST", "/v1/predict", {"records": chunk})
        if status != 200:
            raise ServingError(f"The server answered {status} to a replayed batch: {body}")
        predicted += len(chunk)
        for row, label in enumerate(labels[start : start + batch]):
            feedback = {"request_id": body["request_id"], "row": row, "label": int(label)}
            status, _, answer = client.call("POST", "/v1/feedback", feedback)
            if status != 202:
                raise ServingError(f"The server answered {status} to feedback: {answer}")
            labelled += 1
    return predicted, labelled


def _records(flights: pd.DataFrame, config: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """The request records (the model's input columns, as JSON has them) and true labels."""
    features = list(dict.fromkeys([*config.features.numeric, *config.features.categorical]))
    records = json.loads(flights[features].to_json(orient="records"))
    return records, flights[config.data.target.column].tolist()


def _wait_for_log(project: Project, rows: int, *, timeout_s: float) -> None:
    """Wait until the server has written every replayed prediction to its log."""
    from modelyard.serving.prediction_history import read_predictions

    deadline = time.monotonic() + timeout_s
    name = project.config.model_name
    while time.monotonic() < deadline:
        if len(read_predictions(project.paths.store, name)) >= rows:
            return
        time.sleep(0.5)
    raise ServingError(
        f"The server had not logged {rows} predictions after {timeout_s:.0f}s; see "
        f"{project.paths.store / 'demo-server.log'}."
    )


def _watch_switch(
    client: Client,
    record: dict[str, Any],
    before: int | None,
    champion: int | None,
    *,
    timeout_s: float,
) -> dict[str, Any]:
    """Poll predictions until ``X-Model-Version`` names the champion (or time runs out)."""
    outcome: dict[str, Any] = {"before": before, "after": before, "seconds": 0.0}
    if champion is None or champion == before:
        detail = f"the champion is still version {before}: no switch to see"
        return outcome | {"switched": False, "detail": detail}
    start = time.monotonic()
    seen = before
    while time.monotonic() - start < timeout_s:
        status, headers, _ = client.call("POST", "/v1/predict", {"records": [record]})
        if status == 200:
            seen = int(headers.get("x-model-version", "0").split()[0] or 0)
            if seen == champion:
                waited = time.monotonic() - start
                detail = (
                    f"the running server switched from version {before} to {seen} "
                    f"({waited:.1f}s after promotion, no restart)"
                )
                return outcome | {"after": seen, "seconds": round(waited, 1),
                                  "switched": True, "detail": detail}  # fmt: skip
        time.sleep(0.25)
    detail = f"the server still answered with version {seen} after {timeout_s:.0f}s"
    return outcome | {"after": seen, "seconds": timeout_s, "switched": False, "detail": detail}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the summary --------------------------------------------------------------------------------


def _metric_text(result: TrainResult) -> str:
    test = result.metrics.get("test", {})
    return ", ".join(f"test {k} {v:.3f}" for k, v in list(test.items())[:2])


def _version_row(result: TrainResult, data: str) -> dict[str, Any]:
    return {
        "version": result.version,
        "trained_on": data,
        "trigger": "modelyard train",
        "test": result.metrics.get("test", {}),
        "promoted": result.promoted,
        "why": _why(result.gates.results, result.promoted),
    }


def _why(results: Sequence[Any], promoted: bool) -> str:
    """The one gate message that decided: the champion comparison, or the first failure."""
    failed = [str(r.message) for r in results if not r.passed]
    if failed:
        return failed[0]
    return str(results[-1].message) if results else ("promoted" if promoted else "not promoted")


def _retrained_row(action: RetrainAction) -> dict[str, Any]:
    """A row of the summary for the version monitoring's retraining made."""
    arrived = f"{_span((*HISTORY_MONTHS, *REPLAY_MONTHS))} 2013"
    return {
        "version": action.version,
        "trained_on": f"the latest {action.window} of {arrived}" if action.window else arrived,
        # "modelyard monitor: <status> on <model> v<version>: <reasons>" -> its first part
        "trigger": action.trigger.split(" on ")[0],
        "test": dict(action.metrics),
        "promoted": action.promoted,
        "why": action.why or action.gates,
    }


def _monitor_summary(result: MonitorResult) -> dict[str, Any]:
    quality = result.quality
    return {
        "status": result.verdict.status,
        "reasons": list(result.verdict.reasons),
        "drifted": list(result.drift.drifted_columns),
        "share_drifted": result.drift.share_drifted,
        "quality": {
            item.metric: {"live": _finite(item.observed), "card": _finite(item.promised)}
            for item in (() if quality is None else quality.comparisons)
        },
        "report": None if result.html_path is None else str(result.html_path),
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
