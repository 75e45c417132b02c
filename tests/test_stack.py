"""The real stack: Debian's Prometheus scrapes a running controller, evaluates the alert rules and
sends a firing alert through Debian's Alertmanager to the controller's /alerts webhook, where
the responder answers it; every Grafana panel's query returns data from that Prometheus."""

import time

import httpx
import pytest

from autoops.e2e import free_ports
from autoops.stack import Stack
from tests.test_monitoring import binary, dashboard_queries


@pytest.fixture(scope="module")
def stack(tmp_path_factory, shared_dir):
    for name in ("prometheus", "promtool", "prometheus-alertmanager"):
        binary(name)
    from autoops.optimizer.train import train

    runs = tmp_path_factory.mktemp("runs")
    train("PythonLibrary", seed=0, overrides=["total_timesteps=1500", "learning_starts=500", "eval_freq=1500"], run_root=runs, progress=False)
    prometheus, alertmanager, controller = free_ports(3)
    s = Stack(tmp_path_factory.mktemp("stack"), prometheus_port=prometheus, alertmanager_port=alertmanager, controller_port=controller)
    try:
        s.up(timeout_s=120, env={"AUTOOPS_SCENARIO": "PythonLibrary", "AUTOOPS_GENERATOR": "extractive", "AUTOOPS_RUNS_DIR": str(runs)})
        yield s
    finally:
        s.down()


def test_stack_comes_up_with_every_target_healthy(stack):
    status = stack.status()
    assert all(service["running"] for service in status.values())
    targets = httpx.get(f"{stack.urls['prometheus']}/api/v1/targets").json()["data"]["activeTargets"]
    assert targets and all(t["health"] == "up" for t in targets)


def test_failing_builds_fire_an_alert_that_the_responder_answers(stack):
    controller = stack.urls["controller"]
    for _ in range(20):  # the optimizer, the monitor and the responder, for every dashboard panel
        assert httpx.post(f"{controller}/run", timeout=60).status_code == 200
    deadline = time.monotonic() + 150
    answers = []
    while time.monotonic() < deadline and not answers:
        for _ in range(30):  # plain builds of a flaky suite: about half of them fail
            httpx.post(f"{controller}/simulate_build", json={"scenario": "PythonLibrary", "action": 0}, timeout=10)
        answers = [a for a in httpx.get(f"{controller}/answers").json() if a["alertname"] == "AutoOpsHighBuildFailureRate"]
        time.sleep(2)
    assert answers, "no AutoOpsHighBuildFailureRate alert reached /alerts in time"
    suggestion = answers[0]["suggestion"]
    assert answers[0]["labels"]["scenario"] == "PythonLibrary"
    assert suggestion["declined"] or suggestion["fix_steps"]


def test_every_dashboard_panel_returns_data(stack):
    prometheus = stack.urls["prometheus"]
    empty = []
    for title, expr in dashboard_queries():
        result = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}).json()
        if result["status"] != "success" or not result["data"]["result"]:
            empty.append(title)
    assert not empty, f"panels without data: {empty}"


def test_stack_status_and_down(stack, tmp_path):
    idle = Stack(tmp_path / "other")
    assert not any(service["running"] for service in idle.status().values())
    assert idle.down() == []
