"""Alert webhooks: the Slack payload, delivery to a real server, and the SSRF refusals."""

from __future__ import annotations

import datetime
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import WebhookRefusedError
from modelyard.monitoring.alerts import alert_payload, send_webhook
from modelyard.monitoring.drift import detect_drift
from modelyard.monitoring.quality import QualityReport
from modelyard.monitoring.report import DriftReport
from modelyard.monitoring.result import Breach, CurrentWindow, MonitoredModel, MonitorResult

from .builders import comparison, monitor_result, quality_report

PAYLOAD = {"text": "drift on flights-delay v3"}
SECRET = "T0000/B0000/XXXXsecretXXXX"
REFUSED = WebhookRefusedError  # what a refusal raises (alerts._refused); a ValueError either way


# --- a real webhook receiver on 127.0.0.1 ------------------------------------------------------


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    hits: list[Hit] = field(default_factory=list)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    sni: list[str | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]


def start_receiver(tls: ssl.SSLContext | None = None) -> Receiver:
    class Handler(BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            receiver.hits.append(Hit(self.command, self.path, dict(self.headers), body))
            status, headers, answer = receiver.routes.get(self.path, (200, {}, b"ok"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = handle_one  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: receiver.sni.append(name)  # type: ignore[assignment,misc]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def fake_dns(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> list[str]:
    """Answer getaddrinfo for ``names`` only (DNS is the one thing these tests cannot run)."""
    calls: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        calls.append(host)
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in names[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


# --- refusals by URL -------------------------------------------------------------------------


def test_loopback_receiver_is_refused_without_allowlist(receiver: Receiver) -> None:
    with pytest.raises(REFUSED, match=r"127\.0\.0\.1, a loopback address.*allow_hosts"):
        send_webhook(receiver.url(), PAYLOAD)

    assert receiver.hits == []


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "[::1]",
        "[::]",
        "[fc00::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
        "0x7f000001",  # hexadecimal 127.0.0.1
        "2130706433",  # decimal 127.0.0.1
        "0177.0.0.1",  # octal 127.0.0.1
        "127.1",
        "localhost",
    ],
)
def test_urls_naming_internal_addresses_are_refused(host: str) -> None:
    started = time.monotonic()

    with pytest.raises(REFUSED, match="refusing to send to"):
        send_webhook(f"http://{host}/latest/meta-data", PAYLOAD, timeout_s=5)

    assert time.monotonic() - started < 1.0  # refused before any connection attempt


def test_hostname_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = fake_dns(monkeypatch, {"hooks.example.test": ["93.184.216.34", "10.1.2.3"]})

    with pytest.raises(REFUSED, match=r"'hooks\.example\.test' resolves to 10\.1\.2\.3"):
        send_webhook("https://hooks.example.test/services/x", PAYLOAD)

    assert calls == ["hooks.example.test"]


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("ftp://hooks.example.test/x", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("https://user:hunter2@hooks.example.test/x", "carries credentials"),
        ("https:///x", "names no host"),
        ("https://hooks.example.test/a b", "spaces or control characters"),
        ("https://hooks.example.test:99999/x", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, match: str) -> None:
    with pytest.raises(REFUSED, match=match) as caught:
        send_webhook(url, PAYLOAD)

    assert "hunter2" not in str(caught.value)


def test_egress_allow_hosts_reach_webhooks_too(receiver: Receiver) -> None:
    from modelyard.config.schema import MonitoringConfig
    from modelyard.pipelines.monitor import ActionSpec

    config = MonitoringConfig.model_validate(
        {"alerts": {"webhook": receiver.url(), "allow_hosts": ["relay.internal"]}}
    )
    spec = ActionSpec.from_config(
        config, alert=True, retrain=None, retrainer=None, egress_hosts=("127.0.0.1",)
    )

    result = send_webhook(spec.webhook or "", PAYLOAD, allow_hosts=spec.allow_hosts)

    assert spec.allow_hosts == ("relay.internal", "127.0.0.1")
    assert result.ok, result.detail
    assert receiver.paths() == ["/hook"]


# --- delivery --------------------------------------------------------------------------------


def test_allowlisted_receiver_gets_the_json_payload(receiver: Receiver) -> None:
    result = send_webhook(receiver.url(), PAYLOAD, allow_hosts=["127.0.0.1"])

    assert result.ok
    assert result.status == 200
    assert result.url_host == f"http://127.0.0.1:{receiver.port}"
    (hit,) = receiver.hits
    assert (hit.method, hit.path) == ("POST", "/hook")
    assert hit.headers["Content-Type"] == "application/json"
    assert json.loads(hit.body) == PAYLOAD
    assert result.to_dict()["target"] == result.url_host


def test_the_secret_path_is_never_reported_or_logged(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="modelyard")
    url = receiver.url(f"/services/{SECRET}")
    receiver.routes[f"/services/{SECRET}"] = (404, {}, b"no_service")

    result = send_webhook(url, PAYLOAD, allow_hosts=["127.0.0.1"])
    with pytest.raises(REFUSED) as refused:
        send_webhook(url, PAYLOAD)

    assert not result.ok
    assert receiver.paths() == [f"/services/{SECRET}"]
    for text in (result.detail, result.url_host, str(refused.value), caplog.text):
        assert SECRET not in text
    assert "not delivered" in caplog.text


def test_allowlisted_name_is_connected_to_its_checked_address_with_its_host_header(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_dns(monkeypatch, {"hooks.example.test": ["127.0.0.1"]})

    result = send_webhook(
        receiver.url(host="hooks.example.test"), PAYLOAD, allow_hosts=["Hooks.Example.Test."]
    )

    assert result.ok, result.detail
    assert receiver.hits[0].headers["Host"] == f"hooks.example.test:{receiver.port}"
    assert calls == ["hooks.example.test"]  # one lookup: nothing left for DNS rebinding


def test_a_non_ascii_path_is_percent_encoded(receiver: Receiver) -> None:
    result = send_webhook(receiver.url("/hooks/café?x=1"), PAYLOAD, allow_hosts=["127.0.0.1"])

    assert result.ok
    assert receiver.paths() == ["/hooks/caf%C3%A9?x=1"]


def test_non_2xx_is_a_failure_with_the_status(receiver: Receiver) -> None:
    receiver.routes["/hook"] = (500, {}, b"invalid_payload")

    result = send_webhook(receiver.url(), PAYLOAD, allow_hosts=["127.0.0.1"])

    assert (result.ok, result.status) == (False, 500)
    assert "HTTP 500" in result.detail
    assert "invalid_payload" in result.detail


def test_a_closed_port_is_a_failure_not_an_exception() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    result = send_webhook(f"http://127.0.0.1:{port}/hook", PAYLOAD, allow_hosts=["127.0.0.1"])

    assert (result.ok, result.status) == (False, None)
    assert "ConnectionRefusedError" in result.detail


# --- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]/x"],
)
def test_redirect_to_an_internal_address_is_refused_at_that_hop(
    receiver: Receiver, location: str
) -> None:
    receiver.routes["/hook"] = (302, {"Location": location}, b"")
    started = time.monotonic()

    with pytest.raises(REFUSED, match=r"reached by a redirect from http://127\.0\.0\.1"):
        send_webhook(receiver.url(), PAYLOAD, allow_hosts=["127.0.0.1"], timeout_s=5)

    assert time.monotonic() - started < 1.0
    assert receiver.paths() == ["/hook"]


def test_redirect_to_a_loopback_address_the_allowlist_does_not_name_never_reaches_it(
    receiver: Receiver,
) -> None:
    receiver.routes["/hook"] = (307, {"Location": receiver.url("/internal")}, b"")

    with pytest.raises(REFUSED, match=r"127\.0\.0\.1, a loopback address"):
        send_webhook(receiver.url(host="localhost"), PAYLOAD, allow_hosts=["localhost"])

    assert receiver.paths() == ["/hook"]  # the "internal" route got no hit


@pytest.mark.parametrize(
    ("status", "method", "has_body"),
    [(307, "POST", True), (308, "POST", True), (302, "GET", False), (303, "GET", False)],
)
def test_allowed_redirects_are_followed(
    receiver: Receiver, status: int, method: str, has_body: bool
) -> None:
    receiver.routes["/old"] = (status, {"Location": "/hook"}, b"")

    result = send_webhook(receiver.url("/old"), PAYLOAD, allow_hosts=["127.0.0.1"])

    assert result.ok
    assert "after 1 redirect" in result.detail
    assert receiver.paths() == ["/old", "/hook"]
    assert receiver.hits[1].method == method
    assert (json.loads(receiver.hits[1].body) == PAYLOAD) if has_body else not receiver.hits[1].body


def test_redirect_loops_are_capped(receiver: Receiver) -> None:
    receiver.routes["/hook"] = (302, {"Location": "/hook"}, b"")

    result = send_webhook(receiver.url(), PAYLOAD, allow_hosts=["127.0.0.1"], max_redirects=3)

    assert (result.ok, result.status) == (False, 302)
    assert "gave up after 3 redirects" in result.detail
    assert len(receiver.hits) == 4


# --- timeouts --------------------------------------------------------------------------------


def test_a_server_that_never_answers_times_out_within_the_bound() -> None:
    with socket.socket() as silent:  # the kernel accepts; nobody ever reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        started = time.monotonic()

        result = send_webhook(
            f"http://127.0.0.1:{silent.getsockname()[1]}/hook",
            PAYLOAD,
            allow_hosts=["127.0.0.1"],
            timeout_s=0.5,
        )

        elapsed = time.monotonic() - started
    assert not result.ok
    assert "no answer within 0.5 s" in result.detail
    assert 0.4 < elapsed < 1.5


def test_a_server_that_trickles_its_answer_is_cut_at_the_deadline() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(200):  # one byte every 50 ms, at most 10 s
                if stop.wait(0.05):
                    break
                try:
                    conn.sendall(b"a")
                except OSError:
                    break

    worker = threading.Thread(target=trickle, daemon=True)
    worker.start()
    started = time.monotonic()
    try:
        result = send_webhook(
            f"http://127.0.0.1:{listener.getsockname()[1]}/hook",
            PAYLOAD,
            allow_hosts=["127.0.0.1"],
            timeout_s=0.5,
        )
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        worker.join(5)
        listener.close()
    assert not result.ok
    assert "no answer within 0.5 s" in result.detail
    assert elapsed < 1.5


# --- https: the pinned address is checked against the original name --------------------------


def make_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, Path]]:
    cert, key = make_certificate(tmp_path, "hooks.example.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver = start_receiver(context)
    yield receiver, cert
    receiver.server.shutdown()
    receiver.server.server_close()


def client_trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def test_https_sends_sni_and_checks_the_certificate_for_the_original_name(
    tls_receiver: tuple[Receiver, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, cert = tls_receiver
    fake_dns(monkeypatch, {"hooks.example.test": ["127.0.0.1"]})

    result = send_webhook(
        receiver.url(host="hooks.example.test", scheme="https"),
        PAYLOAD,
        allow_hosts=["hooks.example.test"],
        ssl_context=client_trusting(cert),
    )

    assert result.ok, result.detail
    assert receiver.sni == ["hooks.example.test"]
    assert json.loads(receiver.hits[0].body) == PAYLOAD


@pytest.mark.parametrize(
    ("name", "trusted", "problem"),
    [
        pytest.param("other.example.test", True, "CERTIFICATE_VERIFY_FAILED", id="wrong-name"),
        pytest.param("hooks.example.test", False, "CERTIFICATE_VERIFY_FAILED", id="untrusted"),
    ],
)
def test_https_certificate_failures_are_failures_not_exceptions(
    tls_receiver: tuple[Receiver, Path],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    trusted: bool,
    problem: str,
) -> None:
    receiver, cert = tls_receiver
    fake_dns(monkeypatch, {name: ["127.0.0.1"]})

    result = send_webhook(
        receiver.url(host=name, scheme="https"),
        PAYLOAD,
        allow_hosts=[name],
        ssl_context=client_trusting(cert) if trusted else None,
    )

    assert not result.ok
    assert problem in result.detail
    assert receiver.hits == []


# --- the payload -----------------------------------------------------------------------------


def drift_report(seed: int, shifts: list[float], rows: int = 400) -> DriftReport:
    rng = np.random.default_rng(seed)
    names = [f"f{i:02d}" for i in range(len(shifts))]
    reference = pd.DataFrame({n: rng.normal(size=rows) for n in names})
    current = pd.DataFrame(
        {n: rng.normal(s, size=rows) for n, s in zip(names, shifts, strict=True)}
    )
    reference["<!channel>"] = rng.choice(["a", "b"], size=rows)
    current["<!channel>"] = rng.choice(["a", "b", "c"], size=rows, p=[0.2, 0.2, 0.6])
    return detect_drift(reference, current)


def monitor_report(drift: DriftReport, quality: QualityReport | None) -> MonitorResult:
    return replace(
        monitor_result(
            drift,
            quality=quality,
            reasons=[f"reason {i}: " + "x" * 120 for i in range(40)],
            rows=(400, 400),
        ),
        current=CurrentWindow(
            description="prediction log 2013-07-01 to 2013-07-08",
            rows=400,
            rows_of_this_version=400,
            since=None,
            until=None,
        ),
    )


QUALITY = quality_report(
    comparisons=[comparison("roc_auc", 0.69, 0.61), comparison("accuracy", 0.80, 0.79)]
)


def test_payload_summarises_a_realistic_report_within_slack_limits(seed: int) -> None:
    shifts = [0.0] * 6 + [0.4 + 0.25 * i for i in range(14)]  # f19 moves furthest
    drift = drift_report(seed, shifts)
    drifted = drift.drifted_columns

    payload = alert_payload(monitor_report(drift, QUALITY))

    text = json.loads(json.dumps(payload))["text"]
    assert len(text) < 3000
    header, *sections, context = payload["blocks"]
    assert (
        header["text"]["text"] == "modelyard monitor: flights-delay v3 (champion): drift+degraded"
    )
    assert all(len(s["text"]["text"]) < 3000 for s in sections)
    verdict, features, quality = (s["text"]["text"] for s in sections)
    assert "• … and 32 more" in verdict
    assert f"({len(drifted)} of {len(drift.columns)} columns" in features
    assert features.splitlines()[1].startswith("• `f19` ks ")
    assert f"• … and {len(drifted) - 8} more" in features
    assert "roc_auc 0.610 vs 0.690 promised (-0.080) *degraded*" in quality
    assert quality.endswith("accuracy 0.790 vs 0.800 promised (-0.010)")
    assert "prediction log 2013-07-01 to 2013-07-08 (400 rows)" in context["elements"][0]["text"]


def test_payload_escapes_names_that_would_ping_a_channel(seed: int) -> None:
    drift = drift_report(seed, [0.0, 0.0])

    payload = alert_payload(monitor_report(drift, None))

    assert "<!channel>" not in json.dumps(payload)
    assert "`&lt;!channel&gt;` chisquare" in payload["text"]
    assert "unseen category" in payload["text"]


def test_payload_of_a_quiet_report_has_no_drift_or_quality_sections() -> None:
    quiet = DriftReport(
        columns=(), drift_share=0.3, dataset_drifted=False, n_drifted=0,
        reference_rows=10, current_rows=10,
    )  # fmt: skip
    result = replace(
        monitor_result(quiet, breaches=Breach(0), alias=None),
        model=MonitoredModel(name="m", version=1, alias=None, task="regression"),
    )

    payload = alert_payload(result)

    assert [b["type"] for b in payload["blocks"]] == ["header", "context"]
    assert payload["text"].startswith("modelyard monitor: m v1: ok\ncurrent: ")


@pytest.mark.parametrize("bad", [0, -1.0])
def test_bad_limits_are_refused(bad: float, receiver: Receiver) -> None:
    with pytest.raises(REFUSED, match="timeout_s must be > 0"):
        send_webhook(receiver.url(), PAYLOAD, allow_hosts=["127.0.0.1"], timeout_s=bad)

    assert receiver.hits == []
