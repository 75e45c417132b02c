"""The controller's loop against agents that misbehave: garbage answers, hangs, deaths and returns.

Real HTTP servers on loopback play the misbehaving agents; the loop must keep going, blame the
agent that failed (``autoops_agent_errors_total``, ``autoops_agent_up``, ``/status``'s
``last_error``) and count failed iterations (``autoops_controller_iterations_total{outcome="error"}``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from autoops.agents.controller import Controller, ControllerSettings
from autoops.agents.monitor import DEFAULT_ACTION, MonitorAgent
from autoops.api.client import RemoteMonitor, RemoteOptimizer, RemoteResponder
from autoops.api.main import create_controller_app
from autoops.api.monitor import create_monitor_app
from tests.conftest import serve_app


class Agent(ThreadingHTTPServer):
    """An agent service that answers every POST with ``body`` (bytes) after ``delay_s``."""

    daemon_threads = True

    def __init__(self, body: bytes, delay_s: float = 0.0, status: int = 200):
        self.body, self.delay_s, self.status, self.requests = body, delay_s, status, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                time.sleep(outer.delay_s)
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def agent_factory():
    servers = []

    def make(body, delay_s: float = 0.0, status: int = 200) -> Agent:
        server = Agent(body if isinstance(body, bytes) else json.dumps(body).encode(), delay_s, status)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def errors_of(agent: str) -> float:
    return sample("autoops_agent_errors_total", agent=agent)


class FixedOptimizer:
    """An optimizer that always answers configuration 3."""

    def best_action(self, scenario: str, observation=None, state_index=None) -> dict:
        return {"scenario": scenario, "action_id": 3, "action_description": "x", "q_values": [0.0] * 32, "run_dir": "r"}


class LocalResponder:
    """A responder that answers with a fixed suggestion (the loop's faults are elsewhere)."""

    def suggest_fix(self, text: str, generator: str | None = None) -> dict:
        return {"summary": "s", "root_cause": "r", "fix_steps": ["f"], "incident_ids": ["i"], "category": "build_oom",
                "confidence": 0.5, "generator": "extractive", "latency_ms": 1.0}


@pytest.mark.parametrize("garbage", [{}, [], b"not json", {"action_id": 99, "scenario": "NodeWebapp", "action_description": "x",
                                                                  "q_values": [0.0] * 32, "run_dir": "r"}])
def test_an_optimizer_that_answers_garbage_is_blamed_and_the_loop_goes_on(agent_factory, garbage):
    optimizer = agent_factory(garbage)
    before_optimizer, before_monitor = errors_of("optimizer"), errors_of("monitor")
    before_failed = sample("autoops_controller_iterations_total", outcome="error")
    c = Controller(ControllerSettings(scenario="NodeWebapp", interval_s=0.01), optimizer=RemoteOptimizer(optimizer.url, retries=0),
                   responder=LocalResponder())
    client = TestClient(create_controller_app(c))
    assert client.post("/loop/start").json()["started"] is True
    deadline = time.monotonic() + 20
    while c.status()["iterations"] < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    status = client.get("/status").json()
    assert status["running"] and status["iterations"] >= 5, status
    stopped = client.post("/loop/stop").json()
    assert stopped["stopped"] is True
    assert status["last_error"]["agent"] == "optimizer" and status["agent_errors"] == {"optimizer": status["agent_errors"]["optimizer"]}
    assert errors_of("optimizer") - before_optimizer >= 5 and errors_of("monitor") == before_monitor  # an action of 99 is the optimizer's fault
    assert sample("autoops_agent_up", agent="optimizer") == 0
    assert sample("autoops_controller_iterations_total", outcome="error") - before_failed >= 5
    builds = [r["monitor"] for r in c.history if r.get("monitor")]
    assert len(builds) >= 5 and {b["action_id"] for b in builds} == {DEFAULT_ACTION}  # builds go on with the default configuration


@pytest.mark.parametrize("garbage", [[], {"summary": 3}, b"<html>"])
def test_a_responder_list_with_diagnosis_is_the_responders_failure(agent_factory, garbage):
    responder = agent_factory(garbage)
    before = errors_of("responder")
    c = Controller(ControllerSettings(scenario="NodeWebapp", seed=1, diagnose=True), responder=RemoteResponder(responder.url, retries=0),
                   optimizer=FixedOptimizer())
    records = [c.run_once() for _ in range(30)]
    failed_builds = [r for r in records if r["monitor"]["status"] == "failure"]
    assert failed_builds and all(list(r["errors"]) == ["responder"] for r in failed_builds)
    assert errors_of("responder") - before == len(failed_builds) and c.status()["last_error"]["agent"] == "responder"
    assert c.status()["iterations"] == 30


def test_a_hanging_agent_costs_one_timeout_and_stop_answers_at_once(agent_factory):
    hanging = agent_factory({}, delay_s=30)
    c = Controller(ControllerSettings(scenario="NodeWebapp", interval_s=0.01), optimizer=RemoteOptimizer(hanging.url, timeout_s=1.0),
                   responder=LocalResponder())
    before = errors_of("optimizer")
    started = time.monotonic()
    record = c.run_once()
    assert 0.9 <= time.monotonic() - started < 3, "one timeout, no retries of a timeout"
    assert "did not answer within 1 s" in record["errors"]["optimizer"] and record["monitor"]["action_id"] == DEFAULT_ACTION
    assert errors_of("optimizer") - before == 1 and sample("autoops_agent_up", agent="optimizer") == 0  # down on the first timeout
    client = TestClient(create_controller_app(c))
    client.post("/loop/start")
    time.sleep(0.3)  # the loop is now waiting for the hanging optimizer
    asked = time.monotonic()
    stopped = client.post("/loop/stop").json()
    assert time.monotonic() - asked < 1.0 and stopped["stopped"] is True
    assert client.get("/status").json()["iterations"] >= 1  # /status does not wait for the iteration either
    deadline = time.monotonic() + 3
    while c.status()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not c.status()["running"], "the loop ends within one call's timeout"


def _serve(port: int | None = None):
    return serve_app(create_monitor_app(MonitorAgent()), port)


def test_an_agent_that_dies_and_comes_back_is_used_again():
    server, thread, url = _serve()
    port = int(url.rsplit(":", 1)[1])
    c = Controller(ControllerSettings(scenario="NodeWebapp"), monitor=RemoteMonitor(url, retries=1),
                   responder=LocalResponder(), optimizer=FixedOptimizer())
    assert not c.run_once()["errors"]
    server.should_exit = True
    thread.join(timeout=10)
    down = c.run_once()
    assert "monitor" in down["errors"] and sample("autoops_agent_up", agent="monitor") == 0
    server, thread, _ = _serve(port)
    try:
        back = c.run_once()
        assert "monitor" not in back["errors"] and sample("autoops_agent_up", agent="monitor") == 1
        assert c.status()["iterations"] == 3 and c.status()["agent_errors"]["monitor"] == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)
