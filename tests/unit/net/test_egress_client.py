"""The egress client against real loopback servers: refusals, redirects, bounds, pinning."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from loopback_server import Server

from modelyard.errors import EgressFailedError, EgressRefusedError
from modelyard.net import EgressPolicy, request

Start = Callable[[], Server]
LOOPBACK = EgressPolicy(allow_hosts=("127.0.0.1",), timeout_s=5)


def fake_dns(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> list[str]:
    """Answer getaddrinfo for ``names`` only (DNS is the one thing these tests cannot run)."""
    calls: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        calls.append(host)
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in names[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "localhost",
        "localhost.",
        "LOCALHOST",
    ],
)
def test_loopback_in_any_spelling_is_refused_and_never_reached(servers: Start, host: str) -> None:
    served = servers()

    with pytest.raises(EgressRefusedError, match=r"refusing to fetch .*egress\.allow_hosts"):
        request(served.url("/data.csv", host=host), what="data.source.uri")

    assert served.hits == []


def test_a_refusal_names_the_setting_given_by_the_caller(servers: Start) -> None:
    served = servers()
    policy = EgressPolicy(setting="monitoring.alerts.allow_hosts")

    with pytest.raises(EgressRefusedError, match=r"add '127\.0\.0\.1' to monitoring\.alerts"):
        request(served.url("/hook"), policy, method="POST", body=b"{}", what="webhook")

    assert served.hits == []


def test_path_is_shown_only_when_allowed_and_the_query_never(servers: Start) -> None:
    served = servers()
    url = served.url("/exports/rides.csv?X-Amz-Signature=s3cr3t")

    with pytest.raises(EgressRefusedError) as hidden:
        request(url)
    with pytest.raises(EgressRefusedError) as shown:
        request(url, show_path=True)

    assert "/exports" not in str(hidden.value)
    assert f"127.0.0.1:{served.port}/exports/rides.csv:" in str(shown.value)
    assert "s3cr3t" not in str(hidden.value) + str(shown.value)


def test_bad_bounds_are_refused_before_anything_connects(servers: Start) -> None:
    served = servers()

    with pytest.raises(EgressRefusedError, match="max_bytes > 0"):
        request(served.url(), EgressPolicy(allow_hosts=("127.0.0.1",), max_bytes=0))

    assert served.hits == []


# --- redirects -------------------------------------------------------------------------------


def test_redirect_from_an_allowlisted_server_to_another_loopback_port_is_refused(
    servers: Start,
) -> None:
    public, internal = servers(), servers()
    public.routes["/data.csv"] = (302, {"Location": internal.url("/admin/secret.csv")}, b"")
    policy = EgressPolicy(allow_hosts=("localhost",), timeout_s=5)

    with pytest.raises(
        EgressRefusedError,
        match=rf"refusing to fetch http://127\.0\.0\.1:{internal.port} \(reached by a redirect "
        rf"from http://localhost:{public.port}\).*127\.0\.0\.1, a loopback address",
    ):
        request(public.url("/data.csv", host="localhost"), policy)

    assert public.paths() == ["/data.csv"]
    assert internal.hits == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:10.0.0.1]/",
        "http://2852039166/",  # decimal 169.254.169.254
        "http://localhost./",
        "ftp://files.example.test/x",
    ],
)
def test_redirects_to_internal_or_foreign_targets_are_refused_at_that_hop(
    servers: Start, location: str
) -> None:
    served = servers()
    served.routes["/x"] = (301, {"Location": location}, b"")
    started = time.monotonic()

    with pytest.raises(EgressRefusedError, match="redirect"):
        request(served.url("/x"), LOOPBACK)

    assert time.monotonic() - started < 1.0
    assert served.paths() == ["/x"]


def test_credentials_stay_on_their_origin(servers: Start) -> None:
    first, second = servers(), servers()
    first.routes["/a"] = (307, {"Location": "/b"}, b"")
    first.routes["/b"] = (302, {"Location": second.url("/c")}, b"")
    headers = {"Authorization": "Bearer t0ken", "X-Trace": "1"}

    answer = request(first.url("/a"), LOOPBACK, headers=headers)

    assert answer.ok
    assert answer.redirects == (first.url("").rstrip("/"), second.url("").rstrip("/"))
    assert [hit.headers.get("Authorization") for hit in first.hits] == ["Bearer t0ken"] * 2
    (last,) = second.hits
    assert "Authorization" not in last.headers
    assert last.headers["X-Trace"] == "1"


def test_a_303_turns_a_post_into_a_get_without_body(servers: Start) -> None:
    served = servers()
    served.routes["/submit"] = (303, {"Location": "/done"}, b"")

    answer = request(served.url("/submit"), LOOPBACK, method="POST", body=b'{"a": 1}')

    assert answer.ok
    assert [(hit.method, hit.body) for hit in served.hits] == [
        ("POST", b'{"a": 1}'),
        ("GET", b""),
    ]


def test_redirect_loops_end_with_a_failure_naming_the_count(servers: Start) -> None:
    served = servers()
    served.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    policy = EgressPolicy(allow_hosts=("127.0.0.1",), max_redirects=2)

    with pytest.raises(EgressFailedError, match="gave up after 2 redirects") as caught:
        request(served.url("/loop"), policy)

    assert caught.value.status == 302
    assert len(served.hits) == 3


# --- answers and bounds ----------------------------------------------------------------------


def test_an_allowlisted_name_is_pinned_to_its_checked_address(
    servers: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = servers()
    served.routes["/rides.csv"] = (200, {"Content-Type": "text/csv"}, b"id\n1\n")
    calls = fake_dns(monkeypatch, {"data.example.test": ["127.0.0.1"]})
    policy = EgressPolicy(allow_hosts=("data.example.test",))

    answer = request(served.url("/rides.csv", host="data.example.test"), policy)

    assert (answer.status, answer.body, answer.content_type) == (200, b"id\n1\n", "text/csv")
    assert served.hits[0].headers["Host"] == f"data.example.test:{served.port}"
    assert calls == ["data.example.test"]  # one lookup: nothing left for DNS rebinding


def test_a_sink_receives_a_2xx_body_and_never_an_error_page(servers: Start) -> None:
    served = servers()
    content = b"x" * 3_000_000
    served.routes["/big"] = (200, {}, content)
    served.routes["/missing"] = (404, {}, b"no such file")
    sink, other = io.BytesIO(), io.BytesIO()

    answer = request(served.url("/big"), LOOPBACK, sink=sink)
    missing = request(served.url("/missing"), LOOPBACK, sink=other)

    assert (answer.size, answer.body, answer.truncated) == (len(content), b"", False)
    assert sink.getvalue() == content
    assert (missing.status, missing.body, other.getvalue()) == (404, b"no such file", b"")


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked-ish"])
def test_answers_beyond_max_bytes_are_cut_and_flagged(servers: Start, declared: bool) -> None:
    served = servers()
    # Without a Content-Length the server closes the connection to end the body.
    headers = {} if declared else {"Content-Length": "", "Connection": "close"}
    served.routes["/big"] = (200, headers, b"y" * 10_000)
    sink = io.BytesIO()
    policy = EgressPolicy(allow_hosts=("127.0.0.1",), max_bytes=4096)

    answer = request(served.url("/big"), policy, sink=sink)

    assert answer.truncated
    assert len(sink.getvalue()) <= 4096


def test_a_silent_server_is_cut_at_the_deadline() -> None:
    with socket.socket() as silent:  # the kernel accepts; nobody ever reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        policy = EgressPolicy(allow_hosts=("127.0.0.1",), timeout_s=0.5)
        started = time.monotonic()

        with pytest.raises(EgressFailedError, match=r"no answer within 0\.5 s"):
            request(f"http://127.0.0.1:{silent.getsockname()[1]}/x", policy)

        assert 0.4 < time.monotonic() - started < 1.5


def test_an_unresolvable_name_is_a_failure_not_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})

    with pytest.raises(EgressFailedError, match=r"cannot resolve 'data\.example\.test'"):
        request("https://data.example.test/rides.csv")


def test_localhost_is_reached_when_its_address_is_allowlisted(servers: Start) -> None:
    served = servers()

    answer = request(served.url("/x", host="localhost"), LOOPBACK)

    assert answer.ok
    assert served.paths() == ["/x"]
