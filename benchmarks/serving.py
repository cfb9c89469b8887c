"""Single-record HTTP serving: `modelyard serve` against `mlflow models serve` and a bare endpoint.

Run: .venv/bin/python benchmarks/serving.py [--duration S] [--warmup S] [--concurrency 1,8,32]
     [--project DIR] [--workdir DIR] [--out FILE]

One registered flights model (the champion of `--project`, an already trained flights project, or
of one created here and trained with small params) is served three ways, one server at a time,
each a child process on a free 127.0.0.1 port, stopped by its PID when done:

- `mlflow`: `mlflow models serve --env-manager local -w 1` on the same fitted scikit-learn
  pipeline, read with modelyard's loader and logged with `mlflow.sklearn.log_model` (signature,
  `predict_proba`) to a temporary tracking store. Body: one row as `{"dataframe_split": ...}`,
  cast the way the pipeline reads it (categories as text).
- `modelyard`: `modelyard serve` on the champion with an API key (sent as `X-API-Key`), metrics,
  prediction log and access log on, as configured by default. The store (downloaded versions,
  prediction log) goes to a temporary folder, so a user's project is not written to.
- `bare`: the floor to beat. A FastAPI endpoint in this file (`--bare-server`) around the same
  version's `model.onnx` with onnxruntime (one thread, as modelyard runs it), run by uvicorn with
  one worker and no access log; it feeds `record[input]` to each graph input, as text or float64.

The modelyard and bare servers get the same body, `{"records": [record]}`. Each server answers
one request first, and the report gives the positive-class probability each returned (they
should agree: it is one model). Load: `wrk -t1 -c{C} -d{D}s --timeout 10s --latency` with a Lua
script posting the body, after a c=8 warm-up, at each concurrency; where wrk is missing, an
asyncio keep-alive client in this file (slower than wrk, and it shares the CPUs with the server:
its figures are lower bounds). Errors are socket errors plus non-2xx answers. Server CPU per
request and RSS are read from /proc for the server's process group; `others` is the share of all
CPUs that other processes on the machine used during a point (from /proc/stat, less the server,
wrk and this script).

Caveats: server and load generator share this machine's CPUs (two on the development VMs), so
figures move by up to 2x between runs; compare servers only within one run, as the ratios do, and
look at `others`: where other work took a large share, req/s and p99 say more about the machine
than about the server, and server CPU per request is the steadier comparison.
"""

# no `from __future__ import annotations`: FastAPI reads the bare endpoint's annotations at run
# time, and `Request` is imported inside run_bare_server
import argparse
import asyncio
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SMALL_PARAMS = "params: {n_estimators: 20, num_leaves: 15}"
MISSING_CATEGORY = "__missing__"  # modelyard.models.onnx.MISSING_CATEGORY
TARGETS = {"vs_mlflow_throughput_c32": 20.0, "vs_mlflow_p99_c32": 0.1, "vs_bare_throughput": 0.8}
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
WRK = shutil.which("wrk")


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """How to start one server and what to send it."""

    name: str
    argv: list[str]
    ready_path: str
    predict_path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--bare-server":
        run_bare_server(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per point")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of c=8 first")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated")
    parser.add_argument("--project", type=Path, help="an already trained flights project")
    parser.add_argument("--workdir", type=Path, help="where temporary files go (default: tmp)")
    parser.add_argument("--out", type=Path, help="also write the report here, as JSON")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]

    with tempfile.TemporaryDirectory(prefix="modelyard-bench-serving-", dir=args.workdir) as tmp:
        work = Path(tmp)
        project = args.project.resolve() if args.project else create_project(work / "flights")
        specs, model = prepare(project, work)
        report: dict[str, Any] = {
            "model": model,
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0],
            "load_generator": "wrk -t1" if WRK else "python asyncio (wrk missing)",
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "servers": {},
        }
        for spec in specs:
            print(f"serving with {spec.name}...", file=sys.stderr)
            report["servers"][spec.name] = measure(
                spec, work, levels, seconds=args.duration, warmup=args.warmup
            )
    report["ratios"], report["passed"] = compare(report["servers"], levels)
    report["targets"] = TARGETS
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(render(report, levels), file=sys.stderr)


def create_project(root: Path) -> Path:
    """Write the flights example and train it with small params, without a search."""
    modelyard("example", "flights", str(root), "--force", cwd=root.parent)
    config = root / "modelyard.yaml"
    text = config.read_text()
    start = text.index("  params:")
    config.write_text(text[:start] + "  " + SMALL_PARAMS + text[text.index("\n", start) :])
    print("training a small flights model...", file=sys.stderr)
    modelyard("train", "--no-search", "--json", cwd=root)
    return root


def modelyard(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=_environ(),
    )
    if result.returncode != 0:
        sys.exit(f"modelyard {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def prepare(project: Path, work: Path) -> tuple[list[ServerSpec], dict[str, Any]]:
    """Download the champion, log its pipeline to a scratch MLflow store; describe the servers."""
    from modelyard.features.spec import FeatureSpec
    from modelyard.features.transform import records_to_frame
    from modelyard.project import load_project
    from modelyard.tracking.artifacts import load_model

    name, version, folder = load_project(project).download_model(None, work / "champion")
    onnx = folder / "model.onnx"
    if not onnx.exists():
        sys.exit(f"{name} version {version} has no model.onnx: the bare endpoint needs one.")
    features = json.loads((folder / "features.json").read_text())
    record = features["example"]
    spec = FeatureSpec.from_dict(features["spec"])
    frame = records_to_frame([record], spec)
    print(f"logging {name} version {version} to a scratch MLflow store...", file=sys.stderr)
    tracking_uri, run_id = log_to_mlflow(load_model(folder), frame, work / "mlflow")

    key = secrets.token_urlsafe(32)
    records_body = json.dumps({"records": [record]}).encode()
    split = frame.to_dict(orient="split")
    mlflow_body = json.dumps({"dataframe_split": split}).encode()
    mlflow = ["-m", "mlflow", "models", "serve", "-m", f"runs:/{run_id}/model", "-w", "1"]
    specs = [
        ServerSpec(
            name="mlflow",
            argv=[*mlflow, "--env-manager", "local", "-h", "127.0.0.1", "-p", "{port}"],
            ready_path="/ping",
            predict_path="/invocations",
            body=mlflow_body,
            env={"MLFLOW_TRACKING_URI": tracking_uri},
        ),
        ServerSpec(
            name="modelyard",
            argv=["-m", "modelyard", "serve", "--port", "{port}"],
            ready_path="/health/ready",
            predict_path="/v1/predict",
            body=records_body,
            headers={"X-API-Key": key},
            env={"MODELYARD_API_KEYS": key, "MODELYARD__STORES__ROOT": str(work / "store")},
            cwd=project,
        ),
        ServerSpec(
            name="bare",
            argv=[str(Path(__file__).resolve()), "--bare-server", "{port}", str(onnx)],
            ready_path="/health",
            predict_path="/predict",
            body=records_body,
        ),
    ]
    model = {"name": name, "version": version, "record": record, "project": str(project)}
    return specs, model


def log_to_mlflow(pipeline: Any, frame: Any, root: Path) -> tuple[str, str]:
    """Log ``pipeline`` as an MLflow sklearn model in a new SQLite store; return URI and run id."""
    import mlflow
    import mlflow.sklearn
    import skops.io as sio
    from mlflow.models import infer_signature

    root.mkdir(parents=True)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serving-bench", (root / "artifacts").as_uri())
    # MLflow saves with skops and refuses types it does not know: these are the model's own
    trusted = sio.get_untrusted_types(data=sio.dumps(pipeline))
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=infer_signature(frame, pipeline.predict_proba(frame)),
            pyfunc_predict_fn="predict_proba",
            skops_trusted_types=trusted,
        )
    return uri, run.info.run_id


def measure(
    spec: ServerSpec, work: Path, levels: list[int], *, seconds: float, warmup: float
) -> dict[str, Any]:
    """Start ``spec``'s server, warm it, load it ``seconds`` at each concurrency; stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / f"{spec.name}.log"
    argv = [sys.executable, *(part.replace("{port}", str(port)) for part in spec.argv)]
    with started(argv, spec, log) as child:
        began = time.perf_counter()
        try:
            wait_ready(child, url + spec.ready_path, log)
        except RuntimeError as exc:
            return {"error": str(exc)}
        result: dict[str, Any] = {"startup_s": round(time.perf_counter() - began, 2)}
        try:
            answer = post_once(url + spec.predict_path, spec)
        except urllib.error.HTTPError as exc:
            return {"error": f"answered {exc.code}: {exc.read()[:1000]!r}"}
        result["answer"] = answer
        result["positive_probability"] = positive_probability(answer)
        script = work / f"{spec.name}.lua"
        script.write_text(lua_script(spec))
        load(url + spec.predict_path, script, spec, 8, warmup)
        points = []
        for level in levels:
            point = measure_point(url + spec.predict_path, script, spec, child.pid, level, seconds)
            points.append(point)
            print(
                f"  {spec.name} c={level}: {point['requests_per_s']:,.1f} req/s, "
                f"p99 {point['p99_ms']:.2f} ms, others used {point['others_cpu_share']:.0%} "
                "of the CPUs",
                file=sys.stderr,
            )
        result["points"] = points
        result["rss_bytes_after_load"] = group_rss_bytes(child.pid)
    return result


def measure_point(
    url: str, script: Path, spec: ServerSpec, group: int, level: int, seconds: float
) -> dict[str, Any]:
    """Load ``url`` at ``level``; add the server's CPU per request and what else ran meanwhile.

    ``others_cpu_share`` is the busy CPU time of every process but the server, the load
    generator and this script, as a share of all CPUs over the point: other work on the machine.
    """
    loadavg = os.getloadavg()[0]
    server, busy, ours = group_cpu_seconds(group), busy_cpu_seconds(), own_cpu_seconds()
    began = time.perf_counter()
    point = load(url, script, spec, level, seconds)
    elapsed = time.perf_counter() - began
    server = group_cpu_seconds(group) - server
    others = busy_cpu_seconds() - busy - server - (own_cpu_seconds() - ours)
    point["server_cpu_ms_per_request"] = round(server * 1e3 / max(point["requests"], 1), 3)
    point["others_cpu_share"] = round(max(others, 0.0) / ((os.cpu_count() or 1) * elapsed), 3)
    point["load_average_at_start"] = loadavg
    return point


@contextmanager
def started(argv: list[str], spec: ServerSpec, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` in its own process group; on exit SIGTERM that group, SIGKILL after 30 s."""
    with log.open("wb") as out:
        child = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env=_environ() | spec.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield child
        finally:
            stop(child)


def stop(child: subprocess.Popen[bytes]) -> None:
    """Stop the group ``child`` leads (mlflow's CLI starts uvicorn as a grandchild)."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 10.0)):
        with suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        try:
            child.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + wait
        while group_members(child.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not group_members(child.pid):
            return


def wait_ready(child: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"exited {child.returncode}: {_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"not ready in {READY_TIMEOUT_S:.0f} s: {_tail(log)}")


def post_once(url: str, spec: ServerSpec) -> Any:
    headers = {"Content-Type": "application/json", **spec.headers}
    request = urllib.request.Request(url, data=spec.body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def positive_probability(answer: Any) -> float | None:
    """Return the last entry of the first list or mapping of floats in an answer (any server's)."""
    values = list(answer.values()) if isinstance(answer, dict) else answer
    if not isinstance(values, list) or not values:
        return None
    if all(isinstance(value, float) for value in values):
        return float(values[-1])
    return next((p for v in values if (p := positive_probability(v)) is not None), None)


def lua_script(spec: ServerSpec) -> str:
    headers = {"Content-Type": "application/json", **spec.headers}
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{spec.body.decode()}]==]"]
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    return "\n".join(lines) + "\n"


def load(url: str, script: Path, spec: ServerSpec, level: int, seconds: float) -> dict[str, Any]:
    """Drive ``url`` with ``level`` keep-alive connections for ``seconds``; return the figures."""
    if WRK is None:
        return asyncio.run(python_load(url, spec, level, seconds))
    argv = [
        WRK,
        "-t1",
        f"-c{level}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        sys.exit(f"wrk failed ({result.returncode}):\n{result.stderr}{result.stdout}")
    return parse_wrk(result.stdout, level)


def parse_wrk(text: str, level: int) -> dict[str, Any]:
    def number(pattern: str) -> float:
        found = re.search(pattern, text)
        return float(found[1]) if found else 0.0

    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    errors = sum(int(n) for n in sockets.groups()) if sockets else 0
    errors += int(number(r"Non-2xx or 3xx responses: (\d+)"))
    return {
        "concurrency": level,
        "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"),
        "p50_ms": _milliseconds(re.search(r"\s50%\s+([\d.]+)(us|ms|s|m)\b", text)),
        "p99_ms": _milliseconds(re.search(r"\s99%\s+([\d.]+)(us|ms|s|m)\b", text)),
        "requests": int(number(r"(\d+) requests in")),
        "errors": errors,
    }


def _milliseconds(found: re.Match[str] | None) -> float:
    if found is None:
        return float("nan")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[found[2]]
    return round(float(found[1]) * scale, 3)


async def python_load(url: str, spec: ServerSpec, level: int, seconds: float) -> dict[str, Any]:
    """The fallback load: ``level`` keep-alive HTTP/1.1 connections posting the body in a loop."""
    host, port_path = url.removeprefix("http://").split(":", 1)
    port, path = port_path.split("/", 1)
    headers = {
        "Host": f"{host}:{port}",
        "Content-Type": "application/json",
        "Content-Length": str(len(spec.body)),
        **spec.headers,
    }
    head = f"POST /{path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = head.encode() + b"\r\n" + spec.body
    latencies: list[float] = []
    counts = {"errors": 0}
    deadline = time.monotonic() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                writer.write(request)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                counts["errors"] += status >= 400
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            counts["errors"] += 1
        finally:
            writer.close()

    began = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(level))), seconds + 30)
    latencies.sort()

    def percentile(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3, 3)

    return {
        "concurrency": level,
        "requests_per_s": round(len(latencies) / (time.monotonic() - began), 1),
        "p50_ms": percentile(0.5) if latencies else float("nan"),
        "p99_ms": percentile(0.99) if latencies else float("nan"),
        "requests": len(latencies),
        "errors": counts["errors"],
    }


def compare(servers: dict[str, Any], levels: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ratios the targets are set on, and whether each is met (None: not measured)."""

    def point(name: str, level: int) -> dict[str, Any] | None:
        points = servers.get(name, {}).get("points", [])
        return next((p for p in points if p["concurrency"] == level), None)

    def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> float | None:
        return round(a[key] / b[key], 4) if a and b and b[key] else None

    ours, theirs = point("modelyard", 32), point("mlflow", 32)
    ratios: dict[str, Any] = {
        "vs_mlflow_throughput_c32": ratio(ours, theirs, "requests_per_s"),
        "vs_mlflow_p99_c32": ratio(ours, theirs, "p99_ms"),
        "vs_bare_throughput": {
            str(level): ratio(point("modelyard", level), point("bare", level), "requests_per_s")
            for level in levels
        },
        # not a target: how much more CPU a request costs, which bounds throughput once the
        # server is CPU-bound, and which other work on the machine disturbs less than req/s
        "server_cpu_per_request_vs_bare": {
            str(level): ratio(
                point("modelyard", level), point("bare", level), "server_cpu_ms_per_request"
            )
            for level in levels
        },
    }
    throughput, p99 = ratios["vs_mlflow_throughput_c32"], ratios["vs_mlflow_p99_c32"]
    passed = {
        "vs_mlflow_throughput_c32": None if throughput is None else throughput >= 20.0,
        "vs_mlflow_p99_c32": None if p99 is None else p99 <= 0.1,
        "vs_bare_throughput": {
            level: None if value is None else value >= 0.8
            for level, value in ratios["vs_bare_throughput"].items()
        },
    }
    return ratios, passed


def render(report: dict[str, Any], levels: list[int]) -> str:
    """The report as Markdown: a row per server and concurrency, then the ratios."""
    rows = [
        "| server | startup | conc | req/s | p50 | p99 | errors/requests | srv CPU/req | others |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in report["servers"].items():
        if "error" in result:
            rows.append(f"| {name} | failed: {result['error'][:200]} ||||||||")
            continue
        for p in result["points"]:
            rows.append(
                f"| {name} | {result['startup_s']:.2f} s | {p['concurrency']} | "
                f"{p['requests_per_s']:,.1f} | {p['p50_ms']:,.2f} ms | {p['p99_ms']:,.2f} ms | "
                f"{p['errors']}/{p['requests']} | {p['server_cpu_ms_per_request']:.2f} ms | "
                f"{p['others_cpu_share']:.0%} |"
            )
    ratios, passed = report["ratios"], report["passed"]

    def verdict(value: bool | None) -> str:
        return "not measured" if value is None else "pass" if value else "FAIL"

    def times(value: float | None) -> str:
        return "-" if value is None else f"{value:.3g}x"

    bare = ", ".join(
        f"c={level}: {times(ratios['vs_bare_throughput'][str(level)])} "
        f"({verdict(passed['vs_bare_throughput'][str(level)])})"
        for level in levels
    )
    cpu = ", ".join(
        f"c={c}: {times(r)}" for c, r in ratios["server_cpu_per_request_vs_bare"].items()
    )
    probabilities = ", ".join(
        f"{name} {result.get('positive_probability')}" for name, result in report["servers"].items()
    )
    return "\n".join(
        [
            *rows,
            "",
            f"modelyard vs mlflow throughput at c=32: {times(ratios['vs_mlflow_throughput_c32'])} "
            f"(target >= 20x: {verdict(passed['vs_mlflow_throughput_c32'])})",
            f"modelyard p99 / mlflow p99 at c=32: {times(ratios['vs_mlflow_p99_c32'])} "
            f"(target <= 0.1x: {verdict(passed['vs_mlflow_p99_c32'])})",
            f"modelyard vs bare ONNX endpoint throughput (target >= 0.8x): {bare}",
            f"modelyard server CPU per request vs bare (not a target): {cpu}",
            f"positive-class probability answered: {probabilities}",
            f"{report['cpus']} CPUs shared by servers and {report['load_generator']}; "
            f"load average {report['load_average_at_start']:.2f} at start; others = CPU share "
            "other processes used during the point",
        ]
    )


def run_bare_server(port: int, model: Path) -> None:
    """The floor: the simplest FastAPI endpoint around the ONNX model, one uvicorn worker."""
    import numpy as np
    import onnxruntime as ort
    import uvicorn
    from fastapi import FastAPI, Request

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    inputs = [(node.name, node.type == "tensor(string)") for node in session.get_inputs()]
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        record = (await request.json())["records"][0]
        feed = {
            name: np.array(
                [[MISSING_CATEGORY if record[name] is None else str(record[name])]], dtype=object
            )
            if is_text
            else np.array([[np.nan if record[name] is None else float(record[name])]])
            for name, is_text in inputs
        }
        probabilities = session.run(["probabilities"], feed)[0]
        return {"probabilities": probabilities[0].tolist()}

    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, access_log=False, log_level="warning")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def group_members(group: int) -> list[Path]:
    """The /proc entries of live processes in process group ``group``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(entry)
    return members


def group_cpu_seconds(group: int) -> float:
    ticks = 0
    for entry in group_members(group):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def busy_cpu_seconds() -> float:
    """CPU time this machine's CPUs have been busy since boot (steal and idle excluded)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time of this process and its finished children (wrk)."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def group_rss_bytes(group: int) -> int:
    total = 0
    for entry in group_members(group):
        try:
            found = re.search(r"VmRSS:\s+(\d+) kB", (entry / "status").read_text())
        except OSError:
            continue
        total += int(found[1]) * 1024 if found else 0
    return total


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


def _environ() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    return environ


if __name__ == "__main__":
    main()
