"""The controller and the agents over HTTP: in-process, and with an agent as a separate uvicorn service."""

import time

import pytest
from fastapi.testclient import TestClient

from autoops.agents.controller import Controller, ControllerSettings
from autoops.agents.monitor import DEFAULT_ACTION, MonitorAgent
from autoops.agents.optimizer import OptimizerAgent
from autoops.agents.responder import ResponderAgent
from autoops.api.client import RemoteMonitor
from autoops.api.main import create_controller_app
from autoops.api.monitor import create_monitor_app
from tests.conftest import serve_app


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from autoops.optimizer.train import train

    root = tmp_path_factory.mktemp("runs")
    train("NodeWebapp", seed=0, overrides=["total_timesteps=1500", "learning_starts=500", "eval_freq=1500"], run_root=root, progress=False)
    return root


@pytest.fixture(scope="module")
def responder_agent():
    return ResponderAgent(generator="extractive")


def controller(runs, responder_agent, **settings):
    return Controller(ControllerSettings(scenario="NodeWebapp", **settings), optimizer=OptimizerAgent(runs), responder=responder_agent)


def test_iterations_chain_the_three_agents(runs, responder_agent):
    c = controller(runs, responder_agent, seed=3)
    records = [c.run_once() for _ in range(40)]
    assert all(not r["errors"] for r in records)
    assert all(r["monitor"]["action_id"] == r["optimizer"]["action_id"] for r in records)
    failures = [r for r in records if r["monitor"]["status"] == "failure"]
    assert failures and all(r["responder"]["incident_ids"] or r["responder"]["declined"] for r in failures)
    assert c.status()["iterations"] == 40


def test_without_a_trained_optimizer_the_loop_carries_on_and_says_why(tmp_path, responder_agent):
    c = Controller(ControllerSettings(scenario="NodeWebapp"), optimizer=OptimizerAgent(tmp_path), responder=responder_agent)
    record = c.run_once()
    assert "autoops train --scenario NodeWebapp" in record["errors"]["optimizer"]
    assert record["monitor"]["action_id"] == DEFAULT_ACTION and c.status()["agent_errors"] == {"optimizer": 1}


def test_diagnosis_in_the_loop_feeds_the_predicted_category():
    obs = [1.0, 0, 1, 0, 0] + [0.0] * 11
    diagnosed = Controller._with_diagnosis(obs, "build_oom")
    assert diagnosed[:5] == obs[:5] and sum(diagnosed[5:]) == 1 and diagnosed[5 + 6] == 1.0  # OUTCOMES[6] == build_oom
    assert Controller._with_diagnosis(obs, None)[5] == 1.0


def test_http_api_run_alerts_and_loop(runs, responder_agent):
    c = controller(runs, responder_agent, interval_s=0.01)
    client = TestClient(create_controller_app(c))
    run = client.post("/run").json()
    assert run["iteration"] == 1 and run["monitor"]["action_id"] == run["optimizer"]["action_id"]
    best = client.post("/get_best_action", json={"scenario": "NodeWebapp", "state_index": 5}).json()
    assert len(best["q_values"]) == 32
    assert client.post("/get_best_action", json={"scenario": "NodeWebapp", "observation": [2.0]}).status_code == 422
    payload = {"version": "4", "status": "firing", "receiver": "autoops-controller", "alerts": [
        {"status": "firing", "labels": {"alertname": "AutoOpsTargetDown", "job": "autoops-controller", "instance": "127.0.0.1:9000"},
         "annotations": {"summary": "Prometheus target 127.0.0.1:9000 (job autoops-controller) is down",
                         "description": "Prometheus target 127.0.0.1:9000 is DOWN: the scrape failed (connection refused or context deadline exceeded)."}},
        {"status": "resolved", "labels": {"alertname": "AutoOpsSlowBuilds"}, "annotations": {}},
    ]}
    answered = client.post("/alerts", json=payload).json()
    assert answered["answered"] == 1
    assert answered["answers"][0]["suggestion"]["category"] == "prometheus_target_down"
    assert client.get("/answers").json()[0]["alertname"] == "AutoOpsTargetDown"
    assert client.post("/alerts", json={"alerts": "nope"}).status_code == 422
    assert client.post("/suggest_fix", json={"text": ""}).status_code == 422
    assert client.post("/loop/start").json()["started"] is True
    time.sleep(0.5)
    stopped = client.post("/loop/stop").json()
    assert stopped["stopped"] is True and stopped["iterations"] > 2 and not stopped["running"]
    metrics = client.get("/metrics").text
    for name in ("autoops_controller_iterations_total", "autoops_optimizer_actions_total", "autoops_responder_requests_total",
                 "autoops_builds_total", "autoops_agent_up"):
        assert name in metrics


def test_a_failure_rate_alert_is_answered_from_the_latest_failed_build(runs, responder_agent):
    client = TestClient(create_controller_app(controller(runs, responder_agent)))
    builds = [client.post("/simulate_build", json={"scenario": "NodeWebapp", "action": 0, "seed": 5 if i == 0 else None}).json()
              for i in range(40)]
    latest = [b for b in builds if b["status"] == "failure"][-1]
    alert = {"status": "firing", "labels": {"alertname": "AutoOpsHighBuildFailureRate", "scenario": "NodeWebapp"},
             "annotations": {"summary": "NodeWebapp: 45% of CI builds fail",
                             "description": "More than 35% of CI builds of NodeWebapp failed over the last 2 minutes."}}
    answer = client.post("/alerts", json={"alerts": [alert]}).json()["answers"][0]
    assert answer["evidence"] == latest["error_log"] and "45% of CI builds fail" in answer["text"]
    assert answer["suggestion"]["category"] == latest["failure_category"]
    unknown = client.post("/alerts", json={"alerts": [{**alert, "labels": {"alertname": "AutoOpsHighBuildFailureRate", "scenario": "Nope"}}]})
    assert unknown.json()["answers"][0]["evidence"] is None


def test_a_firing_alert_sent_again_is_answered_once(runs, responder_agent):
    client = TestClient(create_controller_app(controller(runs, responder_agent)))
    alert = {"status": "firing", "labels": {"alertname": "AutoOpsTargetDown", "job": "autoops-controller"},
             "annotations": {"summary": "Prometheus target is down"}, "fingerprint": "c0ffee", "startsAt": "2026-11-25T02:00:00Z"}
    assert client.post("/alerts", json={"alerts": [alert]}).json()["answered"] == 1
    assert client.post("/alerts", json={"alerts": [alert]}).json()["answered"] == 0  # the group's next notification
    assert client.post("/alerts", json={"alerts": [{**alert, "startsAt": "2026-11-25T03:00:00Z"}]}).json()["answered"] == 1  # fired again
    assert len(client.get("/answers").json()) == 2


def test_remote_monitor_with_retries_and_an_agent_that_goes_down(runs, responder_agent):
    server, thread, url = serve_app(create_monitor_app(MonitorAgent()))
    c = Controller(ControllerSettings(scenario="NodeWebapp"), monitor=RemoteMonitor(url, timeout_s=2, retries=1),
                   optimizer=OptimizerAgent(runs), responder=responder_agent)
    first = c.run_once()  # no observation yet: the monitor's default configuration
    assert not first["errors"] and first["monitor"]["action_id"] == DEFAULT_ACTION
    second = c.run_once()
    assert second["monitor"]["action_id"] == second["optimizer"]["action_id"]
    server.should_exit = True
    thread.join(timeout=10)
    down = c.run_once()
    assert "did not answer after 2 tries" in down["errors"]["monitor"] and c.status()["agent_errors"]["monitor"] == 1


class RecordingOptimizer(OptimizerAgent):
    """The in-process optimizer, keeping what it is told of each build."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reported: list[tuple] = []

    def observe(self, scenario, state_index, action_id, reward, next_state_index):
        self.reported.append((scenario, state_index, action_id, reward, next_state_index))
        return super().observe(scenario, state_index, action_id, reward, next_state_index)


def test_the_loop_reports_each_build_to_the_optimizer(runs, responder_agent):
    optimizer = RecordingOptimizer(runs)
    c = Controller(ControllerSettings(scenario="NodeWebapp", seed=2, interval_s=0.01), optimizer=optimizer, responder=responder_agent)
    start_state = c.monitor.state("NodeWebapp")["state_index"]
    assert c.start()
    deadline = time.monotonic() + 60
    while c.status()["iterations"] < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    c.stop(wait_s=30)
    records = list(c.history)
    assert len(records) >= 15 and all(not r["errors"] for r in records)
    builds = [r["monitor"] for r in records]
    states = [start_state] + [b["next_state"]["state_index"] for b in builds]
    assert optimizer.reported == [("NodeWebapp", states[i], b["action_id"], b["reward"], states[i + 1]) for i, b in enumerate(builds)]
    assert optimizer.cost("NodeWebapp")["builds"] == len(builds)


def test_a_remote_optimizer_learns_from_the_builds_the_controller_reports(tmp_path, responder_agent):
    from autoops.api.client import RemoteOptimizer
    from autoops.api.optimizer import create_optimizer_app

    service = OptimizerAgent(tmp_path, agent="factored", learn=True, save_root=tmp_path, regret_every=10)
    service.best_action("NodeWebapp", state_index=0)  # opened now: its first exact evaluations take seconds on a busy machine
    server, thread, url = serve_app(create_optimizer_app(service))
    try:
        c = Controller(ControllerSettings(scenario="NodeWebapp", seed=1), optimizer=RemoteOptimizer(url), responder=responder_agent)
        records = [c.run_once() for _ in range(20)]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert all(not r["errors"] for r in records) and all(r["optimizer"]["learning"] for r in records)
    cost = service.cost("NodeWebapp")
    assert cost["builds"] == 20 and cost["agent"] == "factored" and cost["regret"] is not None
