"""http(s) dataset URLs: fetched through the egress client, refused on loopback unless allowed.

Every server here is a real ``http.server`` on 127.0.0.1 that records the requests it gets, so
"refused" means the server saw nothing, not merely that an error was raised.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelyard.data.sources import SourceSpec, read_source
from modelyard.errors import EgressRefusedError, SourceNotFoundError, SourceReadError
from modelyard.net import EgressPolicy
from modelyard.project import load_project

LOOPBACK = EgressPolicy(allow_hosts=("127.0.0.1",), timeout_s=5)


class Recorder:
    """A loopback file server: ``files`` maps a path to (status, headers, body)."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, dict[str, str]]] = []
        self.files: dict[str, tuple[int, dict[str, str], bytes]] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.hits.append((self.path, dict(self.headers)))
                status, headers, body = recorder.files.get(
                    self.path.split("?", 1)[0], (404, {}, b"not found")
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.hits]


@pytest.fixture
def recorders() -> Iterator[Callable[[], Recorder]]:
    started: list[Recorder] = []

    def start() -> Recorder:
        started.append(Recorder())
        return started[-1]

    yield start
    for recorder in started:
        recorder.server.shutdown()
        recorder.server.server_close()


@pytest.fixture
def rides() -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [1, 2, 3], "city": ["Oslo", "Lima", "Pune"], "fare": [9.5, 12.0, 7.25]}
    )


@pytest.fixture
def served(recorders: Callable[[], Recorder], rides: pd.DataFrame) -> Recorder:
    """A loopback server holding rides as CSV and Parquet."""
    recorder = recorders()
    parquet = io.BytesIO()
    rides.to_parquet(parquet, index=False)
    recorder.files["/exports/rides.csv"] = (200, {}, rides.to_csv(index=False).encode())
    recorder.files["/exports/rides.parquet"] = (200, {}, parquet.getvalue())
    return recorder


# --- refused unless allowlisted --------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "named"),
    [
        pytest.param("127.0.0.1", "resolves to 127.0.0.1, a loopback address", id="dotted"),
        pytest.param("2130706433", "resolves to 127.0.0.1, a loopback address", id="decimal"),
        pytest.param("0177.0.0.1", "resolves to 127.0.0.1, a loopback address", id="octal"),
        pytest.param("0x7f000001", "resolves to 127.0.0.1, a loopback address", id="hex"),
        pytest.param("127.1", "resolves to 127.0.0.1, a loopback address", id="short"),
        pytest.param("[::ffff:127.0.0.1]", "IPv4-mapped form of 127.0.0.1", id="ipv6-mapped"),
        pytest.param("[::1]", "resolves to ::1, a loopback address", id="ipv6-loopback"),
        pytest.param("localhost", "a loopback address", id="localhost"),
        pytest.param("localhost.", "is a loopback name (localhost)", id="localhost-dot"),
    ],
)
def test_a_loopback_dataset_url_is_refused_and_never_fetched(
    served: Recorder, tmp_path: Path, host: str, named: str
) -> None:
    url = served.url("/exports/rides.csv?sig=s3cr3t", host=host)

    with pytest.raises(EgressRefusedError) as refused:
        read_source(SourceSpec(uri=url), base_dir=tmp_path)

    message = str(refused.value)
    assert message.startswith("data.source.uri: refusing to fetch ")
    assert f":{served.port}/exports/rides.csv" in message  # the URL, without its query
    assert named in message
    assert "to egress.allow_hosts" in message  # the fix
    assert "s3cr3t" not in message
    assert served.hits == []


def test_a_redirect_from_an_allowlisted_server_to_another_loopback_port_is_refused(
    recorders: Callable[[], Recorder], served: Recorder, tmp_path: Path
) -> None:
    internal = recorders()
    internal.files["/admin/users.csv"] = (200, {}, b"user,password\nroot,hunter2\n")
    served.files["/latest.csv"] = (302, {"Location": internal.url("/admin/users.csv")}, b"")
    spec = SourceSpec(
        uri=served.url("/latest.csv", host="localhost"),
        egress=EgressPolicy(allow_hosts=("localhost",), timeout_s=5),
    )

    with pytest.raises(
        EgressRefusedError,
        match=rf"http://127\.0\.0\.1:{internal.port}/admin/users\.csv \(reached by a redirect "
        rf"from http://localhost:{served.port}/latest\.csv\): '127\.0\.0\.1' resolves to "
        r"127\.0\.0\.1, a loopback address",
    ):
        read_source(spec, base_dir=tmp_path)

    assert served.paths() == ["/latest.csv"]
    assert internal.hits == []


@pytest.mark.parametrize(
    ("uri", "storage_options"),
    [
        pytest.param("simplecache::{url}", {}, id="chained"),
        pytest.param("blockcache::{url}", {}, id="chained-blockcache"),
        pytest.param("simplecache://{hostpath}", {"target_protocol": "http"}, id="target-protocol"),
        pytest.param("zip://rides.csv", {"fo": "{url}"}, id="zip-over-http"),
    ],
)
def test_fsspec_never_reaches_http_whatever_the_uri_or_options(
    served: Recorder, tmp_path: Path, uri: str, storage_options: dict[str, str]
) -> None:
    url = served.url("/exports/rides.csv")
    fill = {"url": url, "hostpath": url.removeprefix("http://")}
    options = {"storage_options": {k: v.format(**fill) for k, v in storage_options.items()}}
    spec = SourceSpec(uri=uri.format(**fill), options=options, egress=LOOPBACK)

    with pytest.raises(SourceReadError, match="bypass"):
        read_source(spec, base_dir=tmp_path)

    assert served.hits == []


def test_a_duckdb_query_cannot_read_a_url(served: Recorder, tmp_path: Path) -> None:
    query = f"select * from read_csv('{served.url('/exports/rides.csv')}')"

    with pytest.raises(SourceReadError, match=r"reaches outside local files.*data\.source\.uri"):
        read_source(SourceSpec(query=query, egress=LOOPBACK), base_dir=tmp_path)

    assert served.hits == []


# --- allowlisted: read end to end ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/exports/rides.csv", "/exports/rides.parquet?v=2"])
def test_an_allowlisted_url_is_read_like_a_file(
    served: Recorder, tmp_path: Path, rides: pd.DataFrame, path: str
) -> None:
    df = read_source(SourceSpec(uri=served.url(path), egress=LOOPBACK), base_dir=tmp_path)

    pd.testing.assert_frame_equal(df, rides)
    assert served.paths() == [path]


def test_headers_from_storage_options_are_sent(served: Recorder, tmp_path: Path) -> None:
    options = {"storage_options": {"headers": {"Authorization": "Bearer t0ken"}}, "sep": ","}
    spec = SourceSpec(uri=served.url("/exports/rides.csv"), options=options, egress=LOOPBACK)

    read_source(spec, base_dir=tmp_path)

    ((_, headers),) = served.hits
    assert headers["Authorization"] == "Bearer t0ken"


@pytest.mark.parametrize(
    ("project_egress", "overrides"),
    [
        pytest.param("egress: {allow_hosts: [127.0.0.1]}\n", None, id="modelyard.yaml"),
        pytest.param("", {"egress.allow_hosts": ["127.0.0.1"]}, id="override"),
    ],
)
def test_a_project_reads_an_allowlisted_url_source(
    served: Recorder,
    tmp_path: Path,
    rides: pd.DataFrame,
    project_egress: str,
    overrides: dict[str, Any] | None,
) -> None:
    config = (
        "name: rides\n"
        f"data: {{source: {{uri: '{served.url('/exports/rides.csv')}'}}, target: {{column: fare}}}}\n"
    )
    (tmp_path / "modelyard.yaml").write_text(config + project_egress, encoding="utf-8")

    df, _ = load_project(tmp_path, overrides=overrides).read()

    pd.testing.assert_frame_equal(df, rides)
    assert served.paths() == ["/exports/rides.csv"]


def test_a_project_without_the_allowlist_is_refused_with_the_fix(
    served: Recorder, tmp_path: Path
) -> None:
    url = served.url("/exports/rides.csv")
    config = f"name: rides\ndata: {{source: {{uri: '{url}'}}, target: {{column: fare}}}}\n"
    (tmp_path / "modelyard.yaml").write_text(config, encoding="utf-8")

    with pytest.raises(EgressRefusedError, match=r"add '127\.0\.0\.1' to egress\.allow_hosts"):
        load_project(tmp_path).read()

    assert served.hits == []


# --- failures name the URL and the fix -------------------------------------------------------


def test_a_missing_file_is_not_found(served: Recorder, tmp_path: Path) -> None:
    with pytest.raises(
        SourceNotFoundError, match=r"No data at 'http://127\.0\.0\.1:\d+/nope\.csv'"
    ):
        read_source(SourceSpec(uri=served.url("/nope.csv?t=x"), egress=LOOPBACK), base_dir=tmp_path)


def test_a_file_beyond_max_bytes_is_refused_with_the_setting(
    served: Recorder, tmp_path: Path
) -> None:
    policy = EgressPolicy(allow_hosts=("127.0.0.1",), max_bytes=16)

    with pytest.raises(SourceReadError, match=r"larger than egress\.max_bytes \(16 bytes\)"):
        read_source(
            SourceSpec(uri=served.url("/exports/rides.csv"), egress=policy), base_dir=tmp_path
        )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param(
            {"storage_options": {"client_kwargs": {}}}, "do not apply", id="fsspec-option"
        ),
        pytest.param({}, "unknown format of extension '.txt'", id="format"),
    ],
)
def test_url_options_that_cannot_apply_are_refused_before_fetching(
    served: Recorder, tmp_path: Path, options: dict[str, Any], match: str
) -> None:
    path = "/exports/rides.csv" if options else "/exports/rides.txt"
    spec = SourceSpec(uri=served.url(path), options=options, egress=LOOPBACK)

    with pytest.raises(SourceReadError, match=match):
        read_source(spec, base_dir=tmp_path)

    assert served.hits == []
