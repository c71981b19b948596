"""deploy/k8s/: a kustomize base and dev/prod overlays. Every manifest and both overlays' builds
validate offline against the Kubernetes schemas (kubernetes-validate ships them), every process of
the Procfile runs there as it runs under `make up`, each with an autoscaler and a disruption
budget, and only the gateway reaches the web ports. Needs no cluster and no network."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from devtools.kustomize import build
from devtools.stack import built_services
from gateway.settings import DEFAULT_PORTS, Settings as GatewaySettings
from tests.deploy import processes
from tests.test_deploy_config import variables_read_by_code

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))
KUBERNETES_VERSION = "1.30"   # the oldest release still supported upstream when this was written
KUSTOMIZATIONS = {"Kustomization", "Component"}


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def rendered(target: str) -> list[dict]:
    return build(BASE if target == "base" else K8S / "overlays" / target)


def find(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def env_names(c: dict) -> set[str]:
    return {e["name"] for e in c.get("env", [])}


def validate(doc: dict, where: str) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = ".".join(str(p) for p in err.path)
        pytest.fail(f"{where}: {doc['kind']}/{doc['metadata'].get('name')}: {path}: {err.message}")


# --------------------------------------------------------------------------- schemas, offline

def test_the_schemas_are_in_the_wheel():
    assert KUBERNETES_VERSION in {".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_validates_against_the_kubernetes_schemas(path):
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert docs, f"{path} is empty"
    for doc in docs:
        validate(doc, str(path.relative_to(ROOT)))


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_every_build_validates_against_the_kubernetes_schemas(target):
    docs = rendered(target)
    assert len(docs) > 10
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(names) == len(set(names)), "a resource is defined twice"
    for doc in docs:
        assert doc["kind"] not in KUSTOMIZATIONS
        validate(doc, f"kustomize build {target}")


def test_both_overlays_exist():
    assert {"dev", "prod"} <= set(OVERLAYS)


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl not installed: the Python rendering is used alone")
@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_the_python_rendering_is_what_kubectl_kustomize_renders(target):
    directory = BASE if target == "base" else K8S / "overlays" / target
    out = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    theirs = sorted(json.dumps(d, sort_keys=True) for d in yaml.safe_load_all(out.stdout) if d)
    ours = sorted(json.dumps(d, sort_keys=True) for d in rendered(target))
    assert ours == theirs


def test_every_base_file_is_listed_in_the_base_kustomization():
    listed = set(yaml.safe_load((BASE / "kustomization.yaml").read_text(encoding="utf-8"))["resources"])
    on_disk = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


# --------------------------------------------------------------- the Procfile's processes run there

@pytest.mark.parametrize("proc", processes(), ids=lambda p: p.name)
def test_k8s_runs_every_procfile_process_as_make_up_does(proc):
    docs = rendered("base")
    deployment = find(docs, "Deployment", proc.name)
    c = container(deployment)
    assert c["command"] == proc.argv, f"{proc.name}: the Deployment runs something else than the Procfile"
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    for key, value in proc.env.items():
        assert env.get(key) == value, f"{proc.name}: the Procfile sets {key}={value}"
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert c["securityContext"]["readOnlyRootFilesystem"] and not c["securityContext"]["allowPrivilegeEscalation"]
    metrics_port = int(find(docs, "ConfigMap", "stellary-config")["data"]["METRICS_PORT"])
    assert {"name": "metrics", "containerPort": metrics_port} in c["ports"], f"{proc.name}: no metrics port"
    if proc.web:
        assert {"name": "http", "containerPort": proc.port} in c["ports"]
        assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert c["livenessProbe"]
        service = find(docs, "Service", proc.name)
        assert service["spec"]["ports"][0]["port"] == proc.port
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    if proc.name != "gateway":
        assert proc.service in DEFAULT_PORTS, f"gateway/settings.py has no port for {proc.service}"


def test_every_built_service_is_in_the_procfile_and_in_k8s():
    names = {p.name for p in processes()}
    for name in built_services():
        assert name in names
        if (ROOT / "services" / name / "worker.py").exists():
            assert f"{name}-worker" in names


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_every_deployment_has_an_autoscaler_and_a_disruption_budget(target):
    docs = rendered(target)
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        name = deployment["metadata"]["name"]
        assert "replicas" not in deployment["spec"], f"{name}: the HorizontalPodAutoscaler owns replicas"
        hpa = find(docs, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
        pdb = find(docs, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
        assert hpa["spec"]["minReplicas"] > pdb["spec"].get("minAvailable", 0), f"{name}: the budget would block drains"


def test_prod_workers_also_scale_on_their_consumer_lag():
    docs = rendered("prod")
    workers = [p.name for p in processes() if not p.web]
    assert workers
    for name in workers:
        metrics = find(docs, "HorizontalPodAutoscaler", name)["spec"]["metrics"]
        assert {"type": "Pods", "pods": {"metric": {"name": "stellary_consumer_lag"},
                                          "target": {"type": "AverageValue", "averageValue": "500"}}} in metrics


@pytest.mark.parametrize("target", OVERLAYS)
def test_overlays_run_a_registry_image(target):
    for d in rendered(target):
        if d["kind"] == "Deployment":
            image = container(d)["image"]
            assert re.fullmatch(r"[a-z0-9.-]+/[a-z0-9/-]+:[\w.-]+", image), image


# --------------------------------------------------------------------------- configuration

def test_the_gateway_reaches_every_built_service_by_its_service_name(monkeypatch):
    config = find(rendered("base"), "ConfigMap", "stellary-config")["data"]
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    settings = GatewaySettings()
    assert set(built_services()) <= set(settings.enabled_services)
    services = {d["metadata"]["name"]: d for d in rendered("base") if d["kind"] == "Service"}
    for name in built_services():
        port = services[name]["spec"]["ports"][0]["port"]
        assert settings.service_urls[name] == f"http://{name}:{port}"


def test_k8s_sets_only_variables_the_code_reads_and_commits_no_secret():
    docs = rendered("base")
    known = variables_read_by_code()
    assert not set(find(docs, "ConfigMap", "stellary-config")["data"]) - known
    secret = find(docs, "Secret", "stellary-secrets")["stringData"]
    assert not set(secret) - known
    assert all("CHANGE-ME" in value for value in secret.values()), "secret.yaml must hold placeholders only"
    for doc in (d for d in docs if d["kind"] == "Deployment"):
        for c in doc["spec"]["template"]["spec"]["containers"]:
            unknown = env_names(c) - known
            assert not unknown, f"{doc['metadata']['name']} sets variables no code reads: {unknown}"
            for e in c.get("env", []):
                assert "value" not in e or not re.search(r"SECRET|PASSWORD|TOKEN", e["name"]), e
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    assert ref["key"] in secret, f"{doc['metadata']['name']} needs {ref['key']} in the Secret"


# --------------------------------------------------------------------------- network policies

GATEWAY_PODS = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway",
                                                "app.kubernetes.io/component": "gateway"}}}


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def test_only_the_gateway_reaches_the_web_ports():
    docs = rendered("base")
    policies = [d["spec"] for d in docs if d["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["podSelector"] == {} and "ingress" not in p]
    assert deny and "Ingress" in deny[0]["policyTypes"], "no default-deny ingress policy"
    for proc in (p for p in processes() if p.web and p.name != "gateway"):
        labels = find(docs, "Deployment", proc.name)["spec"]["template"]["metadata"]["labels"]
        rules = [rule for p in policies if _selects(p["podSelector"], labels) for rule in p.get("ingress", [])]
        reaching = [r for r in rules if not r.get("ports") or
                    any(port["port"] in ("http", proc.port) for port in r["ports"])]
        assert reaching, f"nothing may reach {proc.name}: the gateway could not either"
        for rule in reaching:
            assert rule.get("from") == [GATEWAY_PODS], f"{proc.name}'s web port is open to {rule.get('from', 'anyone')}"
    metrics = [p for p in policies if any(port["port"] == "metrics" for r in p.get("ingress", []) for port in r.get("ports", []))]
    assert metrics and all(r["from"][0].get("namespaceSelector") for p in metrics for r in p["ingress"]), \
        "the metrics ports are open to the monitoring namespace only"
    gateway = find(docs, "Deployment", "gateway")["spec"]["template"]["metadata"]["labels"]
    egress = [r for p in policies if _selects(p["podSelector"], gateway) for r in p.get("egress", [])]
    assert any(r.get("to") and any(port["port"] == "http" for port in r.get("ports", [])) for r in egress), \
        "the gateway may not reach the services' http ports"
