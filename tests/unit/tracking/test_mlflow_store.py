"""Runs in a real SQLite MLflow store: what they record, how they end, and the reaper."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from modelyard.errors import TrackingError
from modelyard.tracking._backend import open_client
from modelyard.tracking.manifest import MANIFEST_NAME
from modelyard.tracking.mlflow_store import MAX_PARAM_LENGTH, Tracker


def test_run_records_params_metrics_and_tags(tracker: Tracker) -> None:
    with tracker.start_run("train", tags={"stage": "dev"}) as run:
        run.log_params({"model": {"type": "lightgbm", "num_leaves": 31}, "note": "x" * 7000})
        run.log_metrics({"roc_auc": 0.81, "log_loss": 0.4})
        run.log_metrics({"roc_auc": 0.83}, step=2)
        run.set_tags({"dsn": "postgresql://user:hunter2@db/prod"})

    record = tracker.get_run(run.run_id)

    assert record.status == "FINISHED"
    assert record.name == "train"
    assert record.params["model.type"] == "lightgbm"
    assert record.params["model.num_leaves"] == "31"
    assert len(record.params["note"]) == MAX_PARAM_LENGTH
    assert record.metrics == {"roc_auc": 0.83, "log_loss": 0.4}
    assert record.tags["stage"] == "dev"
    assert record.tags["modelyard.pid"] == str(os.getpid())
    assert record.tags["modelyard.host"] == socket.gethostname()
    assert "hunter2" not in record.tags["dsn"]
    assert record.start is not None
    assert record.end is not None
    assert record.end >= record.start


def test_run_that_raises_is_failed_and_the_error_propagates(tracker: Tracker) -> None:
    def fail_during_training() -> None:
        with tracker.start_run("broken") as run:
            runs.append(run.run_id)
            run.log_metrics({"step_loss": 1.0})
            _ = 1 / 0

    runs: list[str] = []
    with pytest.raises(ZeroDivisionError):
        fail_during_training()

    assert tracker.get_run(runs[0]).status == "FAILED"


def test_nested_runs_record_their_parent(tracker: Tracker) -> None:
    with tracker.start_run("search") as parent:
        with tracker.start_run("trial-0", nested=True) as child:
            pass
        with pytest.raises(TrackingError, match="pass nested=True"), tracker.start_run("loose"):
            pass
    with tracker.start_run("late-trial", parent_run_id=parent.run_id) as late:
        pass

    assert tracker.get_run(child.run_id).parent_run_id == parent.run_id
    assert tracker.get_run(late.run_id).parent_run_id == parent.run_id
    assert [r.name for r in tracker.list_runs()] == ["late-trial", "trial-0", "search"]
    assert [r.name for r in tracker.list_runs(status="finished")] == [
        "late-trial",
        "trial-0",
        "search",
    ]


def test_artifacts_are_logged_with_a_manifest(tracker: Tracker, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.skops").write_bytes(b"PK\x03\x04 not really")
    with tracker.start_run("train") as run:
        run.log_artifacts(folder, "model")

    logged = Path(tracker.get_run(run.run_id).artifact_uri.removeprefix("file://")) / "model"
    assert sorted(p.name for p in logged.iterdir()) == [MANIFEST_NAME, "model.skops"]


def test_dataset_is_recorded_by_digest(tracker: Tracker) -> None:
    digest = "sha256:" + "ab" * 32
    frame = pd.DataFrame({"distance": [1.0, 2.0], "carrier": ["AA", "UA"], "delayed": [1, 0]})
    with tracker.start_run("train") as run:
        run.log_dataset(
            name="flights-train",
            digest=digest,
            source="postgresql://reader:s3cret@db/flights",
            frame=frame,
        )

    client = open_client(tracker.tracking_uri)
    (entry,) = client.get_run(run.run_id).inputs.dataset_inputs
    tags = {tag.key: tag.value for tag in entry.tags}
    assert entry.dataset.name == "flights-train"
    assert entry.dataset.digest == digest[:36]
    assert tags == {"mlflow.data.context": "training", "modelyard.digest": digest}
    assert "s3cret" not in entry.dataset.source
    assert '"num_rows": 2' in entry.dataset.profile
    assert '"name": "carrier"' in entry.dataset.schema


def test_unknown_run_names_the_fix(tracker: Tracker) -> None:
    with pytest.raises(TrackingError, match=r"No run '0+' .*modelyard runs"):
        tracker.get_run("0" * 32)


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        pytest.param("sqlite:///relative/mlflow.db", "is relative", id="relative-sqlite"),
        pytest.param("ftp://example.org/x", "Unsupported tracking URI", id="scheme"),
    ],
)
def test_bad_tracking_uris_are_refused(uri: str, match: str) -> None:
    with pytest.raises(TrackingError, match=match):
        Tracker(uri, experiment="e")


@pytest.mark.parametrize("name", ["has space", "../up", "..", "a/b", "%2e%2e", ""])
def test_bad_experiment_names_are_refused(store: tuple[str, Path], name: str) -> None:
    with pytest.raises(TrackingError, match="Invalid experiment name"):
        Tracker(store[0], experiment=name)


def test_run_of_a_reused_pid_is_reaped_and_a_live_one_is_not(tracker: Tracker) -> None:
    with tracker.start_run("alive") as alive:
        client = open_client(tracker.tracking_uri)
        stale = client.create_run(
            tracker.experiment_id,
            run_name="stale",
            tags={
                "modelyard.pid": str(os.getpid()),
                "modelyard.host": socket.gethostname(),
                "modelyard.pid_started": "another-boot/1",
            },
        ).info.run_id

        reaped = tracker.reap_stale_runs()

        assert reaped == [stale]
        assert tracker.get_run(stale).status == "KILLED"
        assert tracker.get_run(alive.run_id).status == "RUNNING"


_OPEN_RUN_AND_HANG = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from modelyard.tracking.mlflow_store import Tracker

    tracker = Tracker(sys.argv[1], experiment=sys.argv[2])
    with tracker.start_run("doomed") as run:
        run.log_metrics({"loss": 1.0}, step=1)
        print(run.run_id, flush=True)
        time.sleep(120)
    """
)


def test_run_of_a_killed_process_is_reaped_on_first_use(tracker: Tracker) -> None:
    tracker.experiment_id  # noqa: B018 - create the experiment before the child uses it
    child = subprocess.Popen(
        [sys.executable, "-c", _OPEN_RUN_AND_HANG, tracker.tracking_uri, tracker.experiment],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        assert run_id, "the child process did not open a run"
        assert tracker.get_run(run_id).status == "RUNNING"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()

    started = time.monotonic()
    fresh = Tracker(tracker.tracking_uri, experiment=tracker.experiment)
    record = fresh.get_run(run_id)

    assert record.status == "KILLED"
    assert record.tags["modelyard.reaped_by"] == f"{socket.gethostname()}:{os.getpid()}"
    assert record.metrics == {"loss": 1.0}
    assert time.monotonic() - started < 5


def test_experiment_artifacts_go_where_every_client_can_read_them(tmp_path: Path) -> None:
    served = Tracker("http://127.0.0.1:5000", experiment="e")
    assert served._experiment_location() is None  # the tracking server proxies artifacts
    local = Tracker(f"sqlite:///{tmp_path}/m.db", experiment="e")
    assert local._experiment_location() == (tmp_path / "artifacts" / "e").as_uri()
    explicit = Tracker(f"sqlite:///{tmp_path}/m.db", experiment="e", artifact_root=tmp_path / "a")
    assert explicit._experiment_location() == (tmp_path / "a" / "e").as_uri()
