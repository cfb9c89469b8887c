"""A real `modelyard serve` attacked as an outsider and operated as an operator would.

Idle and slow connections, a duplicate Host, an absolute-form target, unknown routes, scoped
keys, a client gone mid-body and the offline docs page, against one server with an admin port;
saturation and big bodies against their own servers (tests/integration/test_serve_load.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from serve_support import API_KEY, MODEL, Server, Trained, trained_flights
from test_report_browser import FLAGS, PLACE_PIPES, DevTools, Visit, chromium

from modelyard.tracking.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["chromium"]  # the fixture, from the report's browser test
METRICS_KEY = "metrics-only-key-0123456789abcdef"
AUTH = {"authorization": f"Bearer {API_KEY}"}
SCRAPER = {"authorization": f"Bearer {METRICS_KEY}"}
HEADER_TIMEOUT_S = 1.5
BODY_TIMEOUT_S = 1.5
IDLE_CONNECTIONS = 700
# every host name unresolvable, as for the report; the server's literal address still reached
OFFLINE_FLAGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    if flag.startswith("--host-resolver-rules")
    else flag
    for flag in FLAGS
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, flights_template: Path) -> Trained:
    project = trained_flights(tmp_path_factory, flights_template)
    Registry(project.tracking_uri).set_alias(MODEL, "champion", 1)
    return project


@pytest.fixture(scope="module")
def server(trained: Trained) -> Iterator[Server]:
    env = {
        "MODELYARD_API_KEYS": API_KEY,
        "MODELYARD__SERVING__METRICS_KEYS": METRICS_KEY,
        "MODELYARD__SERVING__DOCS_PUBLIC": "true",
        "MODELYARD__SERVING__HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "MODELYARD__SERVING__BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    }
    with Server(trained.root, env=env, admin=True) as running:
        yield running


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def closed_after(sock: socket.socket, limit_s: float) -> tuple[float | None, bytes]:
    """Seconds until the server closes ``sock`` (None if not within ``limit_s``), and what it
    sent before closing."""
    start = time.monotonic()
    received = b""
    sock.settimeout(0.2)
    while time.monotonic() - start < limit_s:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start, received
        if not chunk:
            return time.monotonic() - start, received
        received += chunk
    return None, received


def raw_request(port: int, data: bytes) -> tuple[int, dict[str, object]]:
    """Send ``data`` as it is; return the status and JSON body of the answer."""
    with connect(port) as sock:
        sock.sendall(data)
        _, answer = closed_after(sock, 5.0)
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_idle_connections_starve_neither_health_nor_keyed_predict(
    server: Server, trained: Trained
) -> None:
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            idle.append(connect(server.port))
        assert server.admin_url is not None
        for path in ("/health/live", "/health/ready"):
            response = httpx.get(f"{server.admin_url}{path}", timeout=5)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
        predicted = httpx.post(
            f"{server.url}/v1/predict",
            json={"records": [trained.example]},
            headers=AUTH,
            timeout=5,
        )
        assert predicted.status_code == 200, predicted.text
        # and the idle ones are closed once the header deadline passes
        time.sleep(HEADER_TIMEOUT_S + 1.0)
        closed = sum(closed_after(sock, 0.05)[0] is not None for sock in idle)
        assert closed == IDLE_CONNECTIONS
    finally:
        for sock in idle:
            sock.close()
    metrics = httpx.get(f"{server.admin_url}/metrics", headers=SCRAPER, timeout=5).text
    assert 'modelyard_connections_timed_out_total{phase="headers"}' in metrics


def test_half_sent_headers_are_cut_off_at_the_header_deadline(server: Server) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST /v1/predict HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        start = time.monotonic()
        took = None
        for byte in b"x-slow: " + b"a" * 40:  # a byte every 0.2 s: slow loris
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                took = time.monotonic() - start
                break
            seconds, _ = closed_after(sock, 0.2)
            if seconds is not None:
                took = time.monotonic() - start
                break
    assert took is not None, "the connection was still open after 8 s"
    assert took <= HEADER_TIMEOUT_S + 0.5


def test_a_slow_body_gets_408_at_the_body_deadline(server: Server) -> None:
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            + f"authorization: Bearer {API_KEY}\r\ncontent-length: 5000\r\n\r\n".encode()
            + b'{"records": ['
        )
        start = time.monotonic()
        answer, took = b"", None
        for _ in range(40):  # a byte every 0.2 s
            try:
                sock.sendall(b" ")
            except OSError:
                took = time.monotonic() - start
                break
            seconds, received = closed_after(sock, 0.2)
            answer += received
            if seconds is not None:
                took = time.monotonic() - start
                break
    assert took is not None, "the connection was still open after 8 s"
    assert took <= BODY_TIMEOUT_S + 0.5
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["type"] == "body_timeout"


def test_a_client_gone_mid_body_is_a_499_not_an_error(server: Server) -> None:
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            + f"authorization: Bearer {API_KEY}\r\ncontent-length: 100000\r\n\r\n".encode()
            + b'{"records": ['
            + b" " * 1000
        )
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{server.url}/metrics", headers=SCRAPER, timeout=5).text
        if 'route="/v1/predict",status="499"' in metrics:
            break
        time.sleep(0.2)
    assert 'route="/v1/predict",status="499"' in metrics
    time.sleep(0.3)  # the access log writes every 0.1 s
    output = server.output()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    assert any(line["status"] == 499 and line["path"] == "/v1/predict" for line in lines)
    assert "ERROR" not in output
    assert "Traceback" not in output
    assert '"status": 500' not in output


@pytest.mark.parametrize(
    ("request_line", "headers"),
    [
        pytest.param(b"GET /health/ready HTTP/1.1", [b"host: 127.0.0.1", b"host: 127.0.0.1"],
                     id="two-hosts"),
        pytest.param(b"GET http://evil.example/health/ready HTTP/1.1", [b"host: 127.0.0.1"],
                     id="foreign-absolute-form"),
    ],
)  # fmt: skip
def test_ambiguous_hosts_get_400(server: Server, request_line: bytes, headers: list[bytes]) -> None:
    data = b"\r\n".join([request_line, *headers]) + b"\r\n\r\n"
    assert server.admin_port is not None
    for port in (server.port, server.admin_port):
        status, body = raw_request(port, data)
        assert status == 400
        assert body["error"]["type"] == "invalid_host"  # type: ignore[index]


def test_an_absolute_form_target_on_an_allowed_host_is_answered(server: Server) -> None:
    status, body = raw_request(
        server.port, b"GET http://127.0.0.1/health/live HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
    )
    assert (status, body) == (200, {"status": "live"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/no/such/route", id="unknown-route"),
        pytest.param("DELETE", "/v1/predict", id="wrong-method"),
        pytest.param("GET", "/metrics/", id="trailing-slash"),
        pytest.param("POST", "/v1/model", id="wrong-method-on-get"),
    ],
)
def test_unknown_routes_and_methods_need_a_key_first(
    server: Server, method: str, path: str
) -> None:
    anonymous = httpx.request(method, f"{server.url}{path}", timeout=5)
    keyed = httpx.request(method, f"{server.url}{path}", headers=AUTH, timeout=5)

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "unauthorized"
    assert keyed.status_code in (404, 405)


def test_a_metrics_key_scrapes_and_cannot_predict(server: Server, trained: Trained) -> None:
    assert server.admin_url is not None
    for url in (server.url, server.admin_url):
        scraped = httpx.get(f"{url}/metrics", headers=SCRAPER, timeout=5)
        assert scraped.status_code == 200
        assert "process_resident_memory_bytes" in scraped.text
        assert 'modelyard_model_loads_total{outcome="integrity_error"} 0.0' in scraped.text
        assert httpx.get(f"{url}/metrics", timeout=5).status_code == 401
    body = {"records": [trained.example]}
    refused = httpx.post(f"{server.url}/v1/predict", json=body, headers=SCRAPER, timeout=5)
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "forbidden"
    assert httpx.get(f"{server.url}/v1/model", headers=SCRAPER, timeout=5).status_code == 403
    allowed = httpx.post(f"{server.url}/v1/predict", json=body, headers=AUTH, timeout=5)
    assert allowed.status_code == 200


def test_docs_are_public_when_configured_and_need_no_cdn(server: Server) -> None:
    page = httpx.get(f"{server.url}/docs", timeout=5)
    schema = httpx.get(f"{server.url}/openapi.json", timeout=5)

    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert schema.status_code == 200
    assert "/v1/predict" in schema.json()["paths"]
    script = httpx.get(f"{server.url}/docs/assets/swagger-ui-bundle.js", timeout=5)
    assert script.status_code == 200
    assert len(script.content) > 100_000
    assert httpx.get(f"{server.url}/docs/assets/..%2Fsecret", timeout=5).status_code == 401


def test_admin_port_answers_health_and_model_readiness_only(server: Server) -> None:
    assert server.admin_url is not None
    ready = httpx.get(f"{server.admin_url}/v1/models/{MODEL}/ready", timeout=5)
    other = httpx.get(f"{server.admin_url}/v1/models/other/ready", timeout=5)
    predict = httpx.post(f"{server.admin_url}/v1/predict", json={}, headers=AUTH, timeout=5)

    assert ready.status_code == 200
    assert ready.json()["model"] == MODEL
    assert other.status_code == 404
    assert predict.status_code == 404
    assert httpx.post(f"{server.admin_url}/v1/predict", json={}, timeout=5).status_code == 401


def test_two_workers_share_the_admin_port(trained: Trained) -> None:
    with Server(trained.root, "--workers", "2", "--model", f"{MODEL}/1", admin=True) as server:
        assert server.admin_url is not None
        statuses = {httpx.get(f"{server.admin_url}/health/ready", timeout=5).status_code
                    for _ in range(10)}  # fmt: skip
        assert statuses == {200}
        server.terminate()
        assert server.wait(timeout=30) == 0


def test_docs_render_offline_in_headless_chromium(
    server: Server, chromium: str, tmp_path: Path
) -> None:
    """Every host name unresolvable: the page, its script and styles and the schema all come
    from the server, and Swagger UI draws the predict operation."""
    seen, operations = open_docs(chromium, f"{server.url}/docs", tmp_path / "profile")

    local = f"{server.url}/"
    assert seen.requests, "Chromium made no request"
    assert [url for url in seen.requests if not url.startswith(local)] == []
    assert f"{server.url}/docs/assets/swagger-ui-bundle.js" in seen.requests
    assert f"{server.url}/openapi.json" in seen.requests
    assert seen.failures == []
    assert seen.errors == []
    assert "/v1/predict" in operations


def open_docs(chromium: str, url: str, profile: Path) -> tuple[Visit, str]:
    """Open ``url`` in a fresh headless Chromium; wait until Swagger UI lists operations."""
    commands_in, commands_out = os.pipe()
    replies_in, replies_out = os.pipe()
    log = (profile.parent / "chromium.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", PLACE_PIPES, str(commands_in), str(replies_out), chromium,
         *OFFLINE_FLAGS, f"--user-data-dir={profile}"],
        pass_fds=(commands_in, replies_out), stdin=subprocess.DEVNULL,
        stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    os.close(commands_in)
    os.close(replies_out)
    found, operations = Visit(), ""
    try:
        tools = DevTools(replies_in, commands_out, time.monotonic() + 60, found)
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Page", "Log", "Runtime"):
            tools.call(f"{domain}.enable", session)
        navigation = tools.call("Page.navigate", session, url=url)
        assert "errorText" not in navigation, navigation
        tools.wait_for("Page.loadEventFired")
        listed = "Array.from(document.querySelectorAll('.opblock-summary-path'))"
        listed += ".map(e => e.innerText.replace(/\u200b/g, '')).join(' ')"  # zero-width spaces
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not operations:
            result = tools.call("Runtime.evaluate", session, expression=listed, returnByValue=True)
            operations = str(result["result"].get("value") or "")
            time.sleep(0.2)
        tools.call("Browser.close")
        process.wait(timeout=30)
    finally:
        os.close(replies_in)
        os.close(commands_out)
        log.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the group holds only what we started
            process.wait(timeout=10)
    return found, operations
