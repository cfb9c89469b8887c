"""`modelyard ui` serves the MLflow UI on 127.0.0.1 only, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIG = "name: demo\ndata:\n  source: {uri: data.csv}\n  target: {column: y}\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ui_binds_loopback_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "modelyard.yaml").write_text(CONFIG)
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelyard", "ui", "--port", str(port)],
        cwd=tmp_path, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        body = b""
        while time.monotonic() < deadline:
            assert proc.poll() is None, "modelyard ui exited early"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read()
                    break
            except OSError:
                time.sleep(0.5)
        assert b"MLflow" in body or b"mlflow" in body
        listening = subprocess.run(
            ["ss", "-ltnH"], capture_output=True, text=True, check=False
        ).stdout
        bound = [
            line.split()[3]
            for line in listening.splitlines()
            if line.split()[3].endswith(f":{port}")
        ]
        assert bound
        assert all(address.startswith("127.0.0.1:") for address in bound), bound
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and is_open(port):
        time.sleep(0.5)
    assert not is_open(port), "the MLflow UI kept running after SIGTERM"


def is_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
