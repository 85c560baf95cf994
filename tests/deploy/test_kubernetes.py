"""The Kubernetes manifests: every overlay renders with the real `kubectl kustomize`, is valid
against the Kubernetes schemas, and says what an operator relies on."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from tests.deploy.tools import ROOT, run, tool

KUSTOMIZE = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(path.name for path in (KUSTOMIZE / "overlays").iterdir() if path.is_dir())
# Custom resources have no schema in kubernetes-validate; each is checked by its own test below.
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
SHUTDOWN_GRACE_SECONDS = 20  # bot/config.py: shutdown_grace_seconds

Doc = dict[str, Any]


@cache
def rendered(overlay: str) -> tuple[Doc, ...]:
    result = run(tool("kubectl"), "kustomize", str(KUSTOMIZE / "overlays" / overlay))
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def one(overlay: str, kind: str, name: str | None = None) -> Doc:
    found = [d for d in rendered(overlay) if d["kind"] == kind]
    found = [d for d in found if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: {len(found)} {kind}"
    return found[0]


def kinds(overlay: str) -> set[str]:
    return {doc["kind"] for doc in rendered(overlay)}


def pod_specs(overlay: str) -> Iterator[tuple[str, Doc]]:
    for doc in rendered(overlay):
        if doc["kind"] in ("Deployment", "Job"):
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def opsbot(overlay: str) -> Doc:
    containers = one(overlay, "Deployment", "opsbot")["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "opsbot")


def test_overlays_exist() -> None:
    assert OVERLAYS == ["postgres", "sqlite"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_renders_valid_against_the_oldest_and_newest_schemas(overlay: str) -> None:
    checked = 0
    for doc in rendered(overlay):
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        for version in (all_versions()[0], all_versions()[-1]):
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = ".".join(str(part) for part in error.path)
                pytest.fail(f"{overlay} {doc['kind']} at {where} ({version}): {error.message}")
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_split_liveness_from_readiness(overlay: str) -> None:
    container = opsbot(overlay)
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["port"] == "http" and ports["http"] == 3000


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_non_root_read_only_without_privileges(overlay: str) -> None:
    for name, spec in pod_specs(overlay):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert container["resources"]["requests"] and container["resources"]["limits"], name
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            volumes = {volume["name"]: volume for volume in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(overlay: str) -> None:
    assert "Secret" not in kinds(overlay)
    for name, spec in pod_specs(overlay):
        for container in spec["containers"]:
            env = {item["name"]: item for item in container.get("env", [])}
            for variable, item in env.items():
                if variable == "DATABASE_URL" and "value" in item:  # a SQLite path is no secret
                    assert "@" not in item["value"], f"{name}: credentials in DATABASE_URL"
                elif any(word in variable for word in ("TOKEN", "SECRET", "DATABASE_URL")):
                    assert "value" not in item, f"{name}: {variable} is written in the manifest"
                    assert item["valueFrom"]["secretKeyRef"]["name"] == "opsbot", variable
    env = {item["name"] for item in opsbot(overlay)["env"]}
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= env


def test_sqlite_is_one_pod_on_a_volume() -> None:
    deployment = one("sqlite", "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not kinds("sqlite") & {"HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"}
    spec = deployment["spec"]["template"]["spec"]
    data = next(v for v in spec["volumes"] if v["name"] == "data")
    claim = one("sqlite", "PersistentVolumeClaim")
    assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    container = opsbot("sqlite")
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    env = {item["name"]: item for item in container["env"]}
    assert env["DATABASE_URL"]["value"] == "sqlite:////data/opsbot.db"
    assert container["args"] == ["serve"]  # migrates at start, alone


def test_postgres_runs_three_replicas_that_leave_migrations_to_the_job() -> None:
    deployment = one("postgres", "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert opsbot("postgres")["args"] == ["serve", "--no-migrate"]
    hpa = one("postgres", "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] == 3 and hpa["spec"]["maxReplicas"] > 3
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    pdb = one("postgres", "PodDisruptionBudget")
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    job = one("postgres", "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["db", "upgrade"]
    assert container["image"] == opsbot("postgres")["image"]
    env = {item["name"]: item for item in container["env"]}
    assert env["DATABASE_URL"] == {"name": "DATABASE_URL", "valueFrom": {
        "secretKeyRef": {"name": "opsbot", "key": "DATABASE_URL"}}}  # fmt: skip


def test_the_job_alone_can_be_applied_first() -> None:
    # README: `kubectl apply -k overlays/postgres -l app.kubernetes.io/component=migrate`.
    labelled = [
        doc["kind"]
        for doc in rendered("postgres")
        if doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "migrate"
    ]
    assert labelled == ["Job"]


def test_migration_pod_is_not_behind_the_service() -> None:
    selector = one("postgres", "Service")["spec"]["selector"]
    labels = one("postgres", "Job")["spec"]["template"]["metadata"].get("labels", {})
    assert not selector.items() <= labels.items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_stop_outlasts_the_bots_shutdown_grace(overlay: str) -> None:
    spec = one(overlay, "Deployment")["spec"]["template"]["spec"]
    pre_stop = int(opsbot(overlay)["lifecycle"]["preStop"]["exec"]["command"][-1])
    # preStop, then the grace for running tasks, then 5 s of card syncs within it, then leases.
    assert spec["terminationGracePeriodSeconds"] > pre_stop + SHUTDOWN_GRACE_SECONDS + 5


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_monitor_scrapes_the_metrics_port(overlay: str) -> None:
    monitor = one(overlay, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = one(overlay, "Service")
    selects = monitor["spec"]["selector"]["matchLabels"]
    assert selects.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    service_port = next(p for p in service["spec"]["ports"] if p["name"] == endpoint["port"])
    container = opsbot(overlay)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert service_port["targetPort"] == "metrics"
    assert ports["metrics"] == int(env["OPSBOT_METRICS_PORT"]) == 9100
    assert service["spec"]["selector"].items() <= one(overlay, "Deployment")["spec"]["template"][
        "metadata"]["labels"].items()  # fmt: skip


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_file_is_mounted_where_opsbot_config_points(overlay: str) -> None:
    container = opsbot(overlay)
    env = {item["name"]: item.get("value") for item in container["env"]}
    spec = one(overlay, "Deployment")["spec"]["template"]["spec"]
    config_map = one(overlay, "ConfigMap")
    volume = next(v for v in spec["volumes"] if v.get("configMap"))
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    directory, _, file = env["OPSBOT_CONFIG"].rpartition("/")
    assert mount["mountPath"] == directory and file in config_map["data"]


def test_the_secret_example_holds_placeholders_only() -> None:
    example = yaml.safe_load((KUSTOMIZE / "secret.example.yaml").read_text())
    assert example["kind"] == "Secret" and "data" not in example
    for key, value in example["stringData"].items():
        assert "REPLACE-ME" in value, key
    for path in KUSTOMIZE.rglob("kustomization.yaml"):
        assert "secret.example" not in path.read_text()
