"""The real stack: Debian's Prometheus scrapes a running controller, evaluates the alert rules and
sends a firing alert through Debian's Alertmanager to the controller's /alerts webhook, where
the responder answers it; every Grafana panel's query returns data from that Prometheus. The
stack runs with AUTOOPS_API_TOKEN set, as a deployment would, so Alertmanager must send it."""

import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from autoops.system.session import free_ports
from autoops.system.stack import TOKEN_FILE, Stack, StackError
from tests.test_monitoring import binary, dashboard_queries
from tests.conftest import Receiver
from tests.test_notify import eventually

TOKEN = "stack-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


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
        s.up(timeout_s=120, env={"AUTOOPS_SCENARIO": "PythonLibrary", "AUTOOPS_GENERATOR": "extractive", "AUTOOPS_RUNS_DIR": str(runs),
                                 "AUTOOPS_API_TOKEN": TOKEN})
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
    # the alert below can only come from Alertmanager with the token: /alerts refuses anyone without
    assert httpx.post(f"{controller}/alerts", json={"alerts": []}).status_code == 401
    for _ in range(20):  # the optimizer, the monitor and the responder, for every dashboard panel
        assert httpx.post(f"{controller}/run", headers=AUTH, timeout=60).status_code == 200
    deadline = time.monotonic() + 150
    answers = []
    while time.monotonic() < deadline and not answers:
        for _ in range(30):  # plain builds of a flaky suite: about half of them fail
            httpx.post(f"{controller}/simulate_build", json={"scenario": "PythonLibrary", "action": 0}, headers=AUTH, timeout=10)
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


def test_the_token_is_on_disk_for_alertmanager_only(stack):
    token_file = stack.folder / TOKEN_FILE
    assert token_file.read_text() == TOKEN and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert TOKEN not in (stack.folder / "alertmanager.yml").read_text()


@pytest.mark.parametrize("token", [None, TOKEN])
def test_alertmanager_sends_the_token_only_when_one_is_set(tmp_path, token):
    """Debian's Alertmanager with the configuration `stack up` writes, its webhook pointed at a
    receiver that records headers: `Bearer <token>` with a token, no Authorization header without."""
    receiver = Receiver()
    alertmanager_port, = free_ports(1)
    s = Stack(tmp_path / "stack", alertmanager_port=alertmanager_port, controller_port=receiver.port)
    s.render_configs(api_token=token)
    assert (s.folder / TOKEN_FILE).exists() == bool(token)
    check = subprocess.run([binary("amtool"), "check-config", str(s.folder / "alertmanager.yml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    process = subprocess.Popen(s.commands()["alertmanager"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        api = s.urls["alertmanager"]
        eventually(lambda: _ready(api), timeout_s=30)
        alert = [{"labels": {"alertname": "TokenCheck", "scenario": "PythonLibrary"}, "annotations": {"summary": "check"}}]
        assert httpx.post(f"{api}/api/v2/alerts", json=alert).status_code == 200
        (request,) = eventually(lambda: receiver.requests, timeout_s=30)  # after group_wait
    finally:
        process.terminate()
        process.wait(timeout=30)
        receiver.server.shutdown()
        receiver.server.server_close()
    assert request["path"] == "/alerts"
    assert request["headers"].get("Authorization") == (f"Bearer {token}" if token else None)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_stack_status_and_down(stack, tmp_path):
    idle = Stack(tmp_path / "other")
    assert not any(service["running"] for service in idle.status().values())
    assert idle.down() == []


def _processes_with(text: str) -> list[str]:
    """Command lines of the running processes that contain ``text`` (arguments joined by spaces)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        if text in command:
            found.append(command)
    return found


def test_a_failed_up_stops_what_it_started(tmp_path):
    """A busy port makes Prometheus exit; the Alertmanager and controller that `up` had started
    must not be left running."""
    for name in ("prometheus", "prometheus-alertmanager"):
        binary(name)
    prometheus, alertmanager, controller = free_ports(3)
    s = Stack(tmp_path / "stack", prometheus_port=prometheus, alertmanager_port=alertmanager, controller_port=controller)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", prometheus))
        busy.listen()
        with pytest.raises(StackError, match="prometheus exited"):
            s.up(timeout_s=60)
    assert not any(service["running"] for service in s.status().values())
    assert _processes_with(str(s.folder)) == [] and _processes_with(f"--port {controller} ") == []
