"""deploy/: the image, the compose stack, the Kubernetes manifests and the monitoring files.

Static checks only (no Docker engine, no cluster): every file parses; the manifests hold
together (probes, selectors, HPA target, Secret by reference); compose publishes on loopback
only and holds no secret; the configs the containers get pass modelyard's own loader; metric
names agree between the alerts, the dashboard, deploy/README.md and the server's exposition.
Where promtool is installed (Debian package ``prometheus``) the Prometheus files are checked
and the alerts unit-tested with it; under CI=true a missing promtool is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
PROMETHEUS = DEPLOY / "prometheus"
COMPOSE = DEPLOY / "docker-compose.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "modelyard.json"
README = DEPLOY / "README.md"
FLIGHTS = ROOT / "src" / "modelyard" / "scaffold" / "flights"

METRIC = re.compile(r"\bmodelyard_[a-z0-9_]+\b")
VAR_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}")
REQUIRED_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEYS?|_KEY)$")
A_KEY = "k" * 32  # a well-formed API key for loading configs


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])


def load_yaml_docs(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def load_yaml(path: Path) -> Any:
    (doc,) = load_yaml_docs(path)
    return doc


def k8s_docs() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_yaml_docs(path):
            yield path, doc


def k8s_object(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        doc
        for _, doc in k8s_docs()
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''} in deploy/k8s, found {len(found)}"
    return found[0]


def deployment() -> dict[str, Any]:
    return k8s_object("Deployment", "modelyard")


def container() -> dict[str, Any]:
    (only,) = deployment()["spec"]["template"]["spec"]["containers"]
    return only


def configmap_files() -> dict[str, str]:
    return k8s_object("ConfigMap", "modelyard-config")["data"]


def prod_overlay() -> dict[str, Any]:
    return yaml.safe_load(configmap_files()["prod.yaml"])


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def service_env(name: str) -> dict[str, str]:
    env = compose()["services"][name].get("environment", {})
    assert isinstance(env, dict), f"compose service {name}: write environment as a mapping"
    return {key: str(value) for key, value in env.items()}


def substituted(text: str, value: str = A_KEY) -> str:
    """Return ``text`` with every ``${VAR...}`` replaced by ``value``, as compose would."""
    return VAR_REF.sub(value, text)


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def dashboard_exprs() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule for group in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for rule in group["rules"]
    ]


def readme_metrics() -> dict[str, str]:
    """The README's metric table: name -> source (serving or monitoring)."""
    rows = re.findall(
        r"^\| `(modelyard_[a-z0-9_]+)` \|[^|]*\|[^|]*\| ([a-z]+)", README.read_text(), re.M
    )
    return dict(rows)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


# --- every file parses ------------------------------------------------------------------------


def test_deploy_has_the_expected_files() -> None:
    expected = [
        "Dockerfile",
        "Dockerfile.dockerignore",
        "docker-compose.yml",
        ".env.example",
        "README.md",
        "prometheus/prometheus.yml",
        "prometheus/alerts.yml",
        "prometheus/alerts.test.yml",
        "grafana/provisioning/datasources/prometheus.yml",
        "grafana/provisioning/dashboards/dashboards.yml",
        "grafana/dashboards/modelyard.json",
        "k8s/configmap.yaml",
        "k8s/deployment.yaml",
        "k8s/service.yaml",
        "k8s/hpa.yaml",
        "k8s/kustomization.yaml",
    ]
    assert [name for name in expected if not (DEPLOY / name).is_file()] == []


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_parses(path: Path) -> None:
    docs = load_yaml_docs(path)
    assert docs, f"{path} holds no YAML document"
    assert all(isinstance(doc, dict) for doc in docs)


@pytest.mark.parametrize(
    "path", sorted(DEPLOY.rglob("*.json")), ids=lambda p: str(p.relative_to(DEPLOY))
)
def test_json_parses(path: Path) -> None:
    assert isinstance(json.loads(path.read_text()), dict)


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile_lines() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_dockerfile_is_multi_stage_and_runs_as_a_numeric_non_root_user() -> None:
    lines = dockerfile_lines()
    froms = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    assert len(froms) >= 2, "a builder stage and a runtime stage"
    assert any("--from=builder" in line for line in lines if line.upper().startswith("COPY"))
    assert 'pip install ".[postgres,redis]"' in " ".join(lines)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in lines
    users = [i for i, line in enumerate(lines) if line.upper().startswith("USER ")]
    assert users, "no USER line"
    assert users[-1] > froms[-1], "USER must be set in the final stage"
    uid = lines[users[-1]].split()[1].split(":")[0]
    assert uid.isdigit(), "numeric UID, so Kubernetes' runAsNonRoot can verify it"
    assert int(uid) != 0
    assert int(uid) == deployment()["spec"]["template"]["spec"]["securityContext"]["runAsUser"]


def test_dockerfile_serves_on_8000_with_a_liveness_healthcheck() -> None:
    lines = dockerfile_lines()
    assert "EXPOSE 8000 8001" in lines
    (healthcheck,) = [line for line in lines if line.upper().startswith("HEALTHCHECK")]
    assert "http://127.0.0.1:8001/health/live" in healthcheck  # the admin listener
    (cmd,) = [line for line in lines if line.upper().startswith("CMD ")]
    assert json.loads(cmd[4:]) == [
        "modelyard", "serve", "--host", "0.0.0.0", "--port", "8000", "--admin-port", "8001"
    ]  # fmt: skip
    assert container()["command"] == json.loads(cmd[4:])


def test_dockerignore_lets_through_what_the_dockerfile_copies() -> None:
    patterns = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in patterns if line.startswith("!")}
    assert "*" in patterns
    copies = [
        line.split()[1:-1]
        for line in dockerfile_lines()
        if line.upper().startswith("COPY ") and "--from=" not in line
    ]
    assert copies, "the Dockerfile copies nothing from the context"
    for sources in copies:
        for source in sources:
            assert source.rstrip("/") in allowed, f"{source} is excluded from the context"
            assert (ROOT / source).exists()


# --- Kubernetes -------------------------------------------------------------------------------


def test_every_manifest_has_api_version_kind_and_name_and_no_namespace() -> None:
    docs = list(k8s_docs())
    assert len(docs) >= 5
    for path, doc in docs:
        assert doc.get("apiVersion"), path
        assert doc.get("kind"), path
        assert doc.get("metadata", {}).get("name"), path
        assert "namespace" not in doc["metadata"], f"{path}: keep manifests namespace-agnostic"


def test_no_secret_manifest_only_references() -> None:
    assert [path for path, doc in k8s_docs() if doc["kind"] == "Secret"] == []
    refs = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for env in container()["env"]
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    assert refs == {"modelyard-secrets"}
    assert re.search(r"kubectl .*create secret generic modelyard-secrets", README.read_text())


def test_kustomization_lists_the_manifests() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    resources = kustomization["resources"]
    assert all((K8S / name).is_file() for name in resources)
    optional = {"servicemonitor.yaml"}  # needs the Prometheus Operator's CRD
    manifests = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(resources) == manifests - optional


def test_deployment_probes_hit_the_health_routes_on_the_admin_port() -> None:
    c = container()
    ports = {port["name"]: port["containerPort"] for port in c["ports"]}
    assert ports == {"http": 8000, "admin": 8001}

    def probe(name: str) -> tuple[str, int]:
        get = c[name]["httpGet"]
        port = get["port"]
        return get["path"], ports[port] if isinstance(port, str) else port

    assert probe("livenessProbe") == ("/health/live", 8001)
    assert probe("readinessProbe") == ("/health/ready", 8001)
    assert probe("startupProbe") == ("/health/live", 8001)
    assert prod_overlay()["serving"]["admin_port"] == 8001
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        headers = {h["name"]: h["value"] for h in c[name]["httpGet"].get("httpHeaders", [])}
        assert headers.get("Host") == "localhost", f"{name}: the server checks Host headers"


def test_deployment_runs_as_non_root_read_only_with_resources() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    c = container()
    assert deployment()["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    security = c["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind]), f"resources.{kind}"


def test_deployment_mounts_config_and_writable_store() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container()["volumeMounts"]}
    assert {mount["name"] for mount in mounts.values()} <= set(volumes)
    config = mounts["/srv/modelyard"]
    assert config["readOnly"] is True
    items = volumes[config["name"]]["configMap"]["items"]
    assert {item["path"] for item in items} == {"modelyard.yaml", "configs/env/prod.yaml"}
    assert {item["key"] for item in items} <= set(configmap_files())
    store_root = prod_overlay()["stores"]["root"]
    assert "emptyDir" in volumes[mounts[store_root]["name"]]
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]


def test_termination_grace_covers_prestop_drain_and_grace_period() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    command = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    serving = prod_overlay()["serving"]
    needed = int(command[1]) + serving["drain_delay_s"] + serving["grace_period_s"]
    assert pod["terminationGracePeriodSeconds"] > needed


def test_service_selects_the_deployment_pods_on_the_container_port() -> None:
    service = k8s_object("Service", "modelyard")
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"]["selector"]
    assert selector
    assert selector.items() <= labels.items()
    assert deployment()["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ports = {port["name"]: port for port in service["spec"]["ports"]}
    assert set(ports) == {"http", "admin"}
    for port in ports.values():
        assert port["targetPort"] in {p["name"] for p in container()["ports"]}


def test_hpa_targets_the_deployment_on_cpu() -> None:
    hpa = k8s_object("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "modelyard"}
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"


def test_pdb_and_servicemonitor_select_the_pods() -> None:
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    pdb = k8s_object("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    monitor = k8s_object("ServiceMonitor")
    service = k8s_object("Service", "modelyard")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "admin"  # health and metrics: serving.admin_port
    assert "admin" in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["authorization"]["credentials"]["name"] == "modelyard-secrets"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No MODELYARD_* variable of the test run leaks into the configs loaded here."""
    for name in list(os.environ):
        if name.startswith("MODELYARD"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_configmap_is_a_valid_prod_config_for_serving(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    from modelyard.project import load_project

    files = configmap_files()
    (tmp_path / "configs" / "env").mkdir(parents=True)
    (tmp_path / "modelyard.yaml").write_text(files["modelyard.yaml"])
    (tmp_path / "configs" / "env" / "prod.yaml").write_text(files["prod.yaml"])
    env = {e["name"]: e for e in container()["env"]}
    assert env["MODELYARD_ENV"]["value"] == "prod"
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    clean_env.setenv("MODELYARD_API_KEYS", f"{A_KEY},{'m' * 32}")
    clean_env.setenv("MODELYARD_METRICS_KEY", "p" * 32)
    clean_env.setenv("POD_IP", "10.1.2.3")

    settings = load_project(tmp_path, env="prod").serve_settings()  # validates keys vs. host

    assert settings.serving.host == "0.0.0.0"
    assert settings.serving.port == 8000
    assert settings.serving.admin_port == 8001
    assert settings.serving.workers == 1
    assert settings.api_keys == (A_KEY, "m" * 32)
    assert settings.metrics_keys == ("p" * 32,)
    assert {"modelyard", "10.1.2.3"} <= settings.host_allowlist
    assert settings.store == Path(prod_overlay()["stores"]["root"])
    assert settings.tracking_uri.startswith("http://")


def test_configmap_refuses_to_start_without_keys(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    from modelyard.config.loader import load_config
    from modelyard.errors import InterpolationError

    files = configmap_files()
    (tmp_path / "configs" / "env").mkdir(parents=True)
    (tmp_path / "modelyard.yaml").write_text(files["modelyard.yaml"])
    (tmp_path / "configs" / "env" / "prod.yaml").write_text(files["prod.yaml"])
    with pytest.raises(InterpolationError):
        load_config(tmp_path, env="prod", environ={})


def test_kustomize_builds_when_kubectl_is_installed() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed; the manifests are checked by hand above")
    done = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    kinds = {doc["kind"] for doc in yaml.safe_load_all(done.stdout) if doc}
    assert {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"} <= kinds


# --- docker compose ---------------------------------------------------------------------------


def test_compose_has_the_stack() -> None:
    services = compose()["services"]
    assert {"postgres", "mlflow", "train", "serve", "prometheus", "grafana"} <= set(services)


def test_compose_references_only_defined_volumes_networks_secrets_and_services() -> None:
    spec = compose()
    volumes = set(spec.get("volumes") or {})
    networks = set(spec.get("networks") or {})
    secrets = set(spec.get("secrets") or {})
    services = spec["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), f"{name}: bind source {source}"
            else:
                assert source in volumes, f"{name}: volume {source} is not defined"
        for network in service.get("networks", []):
            assert network in networks, f"{name}: network {network} is not defined"
        for secret in service.get("secrets", []):
            secret_name = secret if isinstance(secret, str) else secret["source"]
            assert secret_name in secrets, f"{name}: secret {secret_name} is not defined"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name}: depends on unknown {dependency}"


def test_compose_publishes_ports_on_loopback_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert isinstance(port, str), f"{name}: write ports as '127.0.0.1:HOST:CONTAINER'"
            assert port.startswith("127.0.0.1:"), (
                f"{name} publishes {port!r} on every interface; bind 127.0.0.1 (SR-6)"
            )


def test_compose_holds_no_secret_values() -> None:
    required: set[str] = set()
    for name in compose()["services"]:
        for key, value in service_env(name).items():
            required |= set(REQUIRED_REF.findall(value))
            if SECRET_NAME.search(key):
                literal = VAR_REF.sub("", value).strip(", ")
                assert not literal, f"{name}: {key} holds a literal; use ${{VAR:?...}} from .env"
                assert REQUIRED_REF.search(value), f"{name}: {key} needs ${{VAR:?...}}"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert REQUIRED_REF.fullmatch(password), f"{name}: {key} embeds a password"
    for secret in compose().get("secrets", {}).values():
        assert "environment" in secret or "file" in secret
        required |= {secret["environment"]} if "environment" in secret else set()
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(example) == required, "deploy/.env.example lists exactly the variables compose needs"
    assert all(value == "" for value in example.values()), ".env.example holds placeholders only"
    assert ".env" in (DEPLOY / ".gitignore").read_text().split()


def test_compose_serve_is_prod_on_the_tracking_server_with_readiness() -> None:
    spec = compose()
    serve = spec["services"]["serve"]
    env = service_env("serve")
    assert env["MODELYARD_ENV"] == "prod"
    assert env["MODELYARD__STORES__TRACKING_URI"] == "http://mlflow:5000"
    assert "127.0.0.1:8001/health/ready" in " ".join(serve["healthcheck"]["test"])
    assert env["MODELYARD__SERVING__ADMIN_PORT"] == "8001"
    assert serve["ports"] == ["127.0.0.1:8000:8000"]
    assert serve["depends_on"]["train"]["condition"] == "service_completed_successfully"
    grace = int(str(serve["stop_grace_period"]).rstrip("s"))
    assert grace > 30 + 1, "stop_grace_period must exceed drain_delay_s + grace_period_s"
    assert spec["services"]["train"]["restart"] == "no"


def test_compose_mlflow_uses_postgres_and_proxied_artifacts() -> None:
    services = compose()["services"]
    mlflow = services["mlflow"]
    command = mlflow["command"]
    assert command[:2] == ["mlflow", "server"]
    assert command[command.index("--artifacts-destination") + 1] == "/mlartifacts"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert "--serve-artifacts" in command
    assert "mlflow:5000" in command[command.index("--allowed-hosts") + 1].split(",")
    uri = service_env("mlflow")["MLFLOW_BACKEND_STORE_URI"]
    assert uri.startswith("postgresql+psycopg://mlflow:")
    assert uri.endswith("@postgres:5432/mlflow")
    postgres = services["postgres"]
    assert "pgdata:/var/lib/postgresql/data" in postgres["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "ports" not in postgres


def test_compose_serve_environment_is_a_valid_config(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    """The serve container's variables over the flights example (what `train` writes) load."""
    from modelyard.project import load_project

    shutil.copytree(FLIGHTS, tmp_path / "project")
    for key, value in service_env("serve").items():
        clean_env.setenv(key, substituted(value))

    settings = load_project(tmp_path / "project").serve_settings(host="0.0.0.0", port=8000)

    assert settings.tracking_uri == "http://mlflow:5000"
    assert settings.serving.workers == 1
    assert len(settings.api_keys) == 1  # the client keys
    assert len(settings.metrics_keys) == 1  # the key Prometheus scrapes with, /metrics only
    assert settings.serving.admin_port == 8001
    assert "serve" in settings.host_allowlist  # Prometheus scrapes serve:8001
    assert settings.store == Path(service_env("serve")["MODELYARD__STORES__ROOT"])


def test_prometheus_scrapes_serve_with_the_metrics_secret() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "modelyard"]
    assert job["metrics_path"] == "/metrics"
    (target,) = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    services = compose()["services"]
    assert host in services
    assert port == service_env(host)["MODELYARD__SERVING__ADMIN_PORT"]  # the admin listener
    secret_file = job["authorization"]["credentials_file"]
    assert secret_file.startswith("/run/secrets/")
    assert secret_file.removeprefix("/run/secrets/") in services["prometheus"]["secrets"]
    assert all((PROMETHEUS / rule).is_file() for rule in config["rule_files"])
    alert_jobs = set(re.findall(r'job="([^"]+)"', (PROMETHEUS / "alerts.yml").read_text()))
    assert alert_jobs == {"modelyard"}


def test_grafana_provisioning_points_at_the_mounted_dashboards() -> None:
    grafana = compose()["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    (provider,) = load_yaml(DEPLOY / "grafana/provisioning/dashboards/dashboards.yml")["providers"]
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    (source,) = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"


# --- dashboard and metric names ---------------------------------------------------------------


def test_dashboard_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert board["uid"]
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"


def test_dashboard_covers_the_requested_panels() -> None:
    exprs = " ".join(expr for _, expr in dashboard_exprs())
    for needed in (
        "rate(modelyard_http_requests_total",  # request rate
        "histogram_quantile(0.5,",  # latency p50
        "histogram_quantile(0.99,",  # latency p99
        'status=~"5.."',  # error rate
        "modelyard_http_requests_in_flight",
        "sum by (class) (rate(modelyard_predictions_total",
        "modelyard_model_info",  # model version
        "modelyard_drift_share",
        "max by (feature) (modelyard_feature_drift)",
        "modelyard_quality_metric",
    ):
        assert needed in exprs, needed


def test_dashboard_shows_every_metric_the_alerts_use() -> None:
    alert_metrics = {name for rule in alert_rules() for name in METRIC.findall(rule["expr"])}
    dashboard_metrics = {name for _, expr in dashboard_exprs() for name in METRIC.findall(expr)}
    assert alert_metrics
    assert alert_metrics - dashboard_metrics == set()


def test_metric_names_are_listed_once_in_readme_and_alerts_header() -> None:
    table = readme_metrics()
    used = {name for rule in alert_rules() for name in METRIC.findall(rule["expr"])}
    used |= {name for _, expr in dashboard_exprs() for name in METRIC.findall(expr)}
    assert set(table) == used, "deploy/README.md's table lists exactly the metrics in use"
    header = "".join(
        line
        for line in (PROMETHEUS / "alerts.yml").read_text().splitlines()
        if line.startswith("#")
    )
    alert_metrics = {name for rule in alert_rules() for name in METRIC.findall(rule["expr"])}
    assert alert_metrics <= set(METRIC.findall(header)), "alerts.yml's header lists its metrics"
    assert set(METRIC.findall(header)) <= set(table)


def test_serving_metric_names_match_the_server_exposition() -> None:
    pytest.importorskip("prometheus_client")
    from modelyard.serving.metrics import ServingMetrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    exported = {
        family.name + suffix
        for family in ServingMetrics().registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }
    serving = {name for name, source in readme_metrics().items() if source == "serving"}
    assert serving
    assert serving - exported == set(), "rename in deploy/ or in modelyard.serving.metrics"
    monitoring = {name for name, source in readme_metrics().items() if source == "monitoring"}
    assert monitoring
    assert monitoring & exported == set(), "now exported by serving: mark it so in the README"


# --- promtool -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = (
            "promtool not found: install Debian's prometheus package "
            "(apt-get install -y --no-install-recommends prometheus, or make deploy-tools)"
        )
        if in_ci():
            pytest.fail(f"{message}; CI requires it", pytrace=False)
        pytest.skip(message)
    return path


def run_promtool(promtool: str, *args: str, cwd: Path = ROOT) -> None:
    done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_check_rules(promtool: str) -> None:
    run_promtool(promtool, "check", "rules", str(PROMETHEUS / "alerts.yml"))


def test_promtool_test_rules(promtool: str) -> None:
    run_promtool(promtool, "test", "rules", "alerts.test.yml", cwd=PROMETHEUS)


def test_promtool_check_config(promtool: str, tmp_path: Path) -> None:
    """The whole config, rules included; the compose secret is a file only in the container."""
    key = tmp_path / "metrics_key"
    key.write_text(A_KEY)
    text = (PROMETHEUS / "prometheus.yml").read_text()
    secret_file = load_yaml(PROMETHEUS / "prometheus.yml")["scrape_configs"][0]["authorization"][
        "credentials_file"
    ]
    (tmp_path / "prometheus.yml").write_text(text.replace(secret_file, str(key)))
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    run_promtool(promtool, "check", "config", str(tmp_path / "prometheus.yml"))
    run_promtool(promtool, "check", "config", "--syntax-only", str(PROMETHEUS / "prometheus.yml"))


def test_promtool_parses_every_dashboard_query(promtool: str, tmp_path: Path) -> None:
    """Each panel's PromQL, Grafana variables filled in, as a recording rule promtool checks."""
    rules = [
        {
            "record": f"dashboard:query:{index}",
            "expr": expr.replace("$__rate_interval", "5m").replace("$job", ".*"),
        }
        for index, (_, expr) in enumerate(dashboard_exprs())
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run_promtool(promtool, "check", "rules", str(path))
