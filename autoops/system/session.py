"""The whole system end to end, for ``notebooks/04_end_to_end_demo.ipynb``: a running system, a
driven session, its time series, the alerts that fired and the responder's answers to them.

A running system (``running_system``) is either

    stack     Debian's Prometheus and Alertmanager and the controller (``autoops.system.stack``)
              on free ports in a folder of their own: Prometheus scrapes the controller, evaluates
              the shipped alert rules and Alertmanager calls the controller's ``/alerts``, where
              the responder answers. Time series and alerts come from Prometheus's HTTP API
              (``autoops.system.prometheus``).
    embedded  when the binaries are missing: the controller in this process (uvicorn in a
              thread) and the stand-in of ``autoops.system.standin``, which reads its
              ``/metrics`` every second, computes the same panels in pandas, evaluates the rules
              on them and posts a firing alert to ``/alerts`` as Alertmanager would.

Both give the same frames: series ``(time, series, labels, value)``, alerts ``(alertname, labels,
state, pending_since, firing_since, last_seen, source)``, answers (``alert_answers``).

The optimizer the controller asks must have a trained run in ``runs_dir``:
``autoops.optimizer.train.ensure_trained`` trains a quick one when there is none.

A session (``drive``) is ``iterations`` of the controller's ``POST /run`` (optimizer -> monitor ->
responder); over its second half, "incident" builds of a bad fixed configuration (by default
action 0, the plain build: no cache, no retries) go to ``POST /simulate_build`` in between,
and with ``until_answered`` the incident goes on until the responder has answered that alert.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
from tqdm import tqdm

from autoops import paths
from autoops.api.client import bearer_header
from autoops.system.prometheus import ALERT_COLUMNS, PANELS, fired_alerts, prometheus_range
from autoops.system.stack import Stack, binaries_available
from autoops.system.standin import Recorder, Rule, load_rules, recorded_range

ANSWER_COLUMNS = ["alertname", "labels", "category", "summary", "first_fix_step", "incident_ids",
                  "generator", "declined", "fallback_reason", "latency_ms"]


# -- a running system -----------------------------------------------------------------------------
def free_ports(n: int) -> list[int]:
    """``n`` loopback ports that were free a moment ago (another process may still take one)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class System:
    """What ``running_system`` gives: the controller's URL and where series and alerts come from."""

    mode: str  # "stack" or "embedded"
    scenario: str
    controller_url: str
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    folder: Path | None = None
    recorder: Recorder | None = None

    def describe(self) -> str:
        if self.mode == "stack":
            return (f"stack: Prometheus {self.prometheus_url}, Alertmanager {self.alertmanager_url}, "
                    f"controller {self.controller_url} (folder {self.folder})")
        return (f"embedded: controller {self.controller_url} in this process, /metrics sampled every "
                f"{self.recorder.sample_s:g} s; rules evaluated in Python: {', '.join(r.name for r in self.recorder.rules)}")

    def series(self, start, end, step: str | float = "5s", queries: Iterable[str] = PANELS) -> pd.DataFrame:
        """The named ``PANELS`` over ``[start, end]``: from Prometheus, or computed from the samples."""
        if self.mode == "stack":
            return prometheus_range(self.prometheus_url, {name: PANELS[name] for name in queries}, start, end, step)
        return recorded_range(self.recorder.samples(), queries, start, end, step)

    def alerts(self, start, end) -> pd.DataFrame:
        if self.mode == "stack":
            return fired_alerts(self.prometheus_url, start, end)
        return self.recorder.alerts(start, end)[ALERT_COLUMNS]

    def answers(self) -> pd.DataFrame:
        return alert_answers(self.controller_url)


@contextlib.contextmanager
def running_system(scenario: str, runs_dir: str | Path | None = None, mode: str = "auto", generator: str | None = None,
                   seed: int = 0, folder: str | Path | None = None, timeout_s: float = 120.0,
                   rules: list[Rule] | None = None) -> Iterator[System]:
    """The stack (``mode="stack"``, or ``"auto"`` when the binaries are installed) or the embedded
    controller (``"embedded"``, or ``"auto"`` without them), stopped on exit whatever happens.

    ``runs_dir``: where the optimizer's trained runs are (default: ``autoops.paths.runs_dir()``).
    ``folder``: where the stack keeps configuration, data and logs (default: a new temporary
    folder, removed on a clean exit and kept, with its logs, after an error). ``generator``: the
    responder's (default: ``configs/responder.yaml``'s). ``seed``: the simulation's. ``rules``:
    the rules the embedded mode evaluates (default: ``load_rules()``)."""
    if mode == "auto":
        mode = "stack" if binaries_available() else "embedded"
    if mode not in ("stack", "embedded"):
        raise ValueError(f"mode must be auto, stack or embedded, not {mode!r}")
    runs_dir = Path(runs_dir).resolve() if runs_dir else paths.runs_dir()
    if mode == "embedded":
        with _embedded(scenario, runs_dir, generator, seed, rules) as system:
            yield system
        return
    temporary = folder is None
    folder = Path(tempfile.mkdtemp(prefix="autoops-system-") if temporary else folder).resolve()
    prometheus, alertmanager, controller = free_ports(3)
    stack = Stack(folder, prometheus_port=prometheus, alertmanager_port=alertmanager, controller_port=controller)
    atexit.register(stack.down)  # a kernel that exits in the middle still stops the services
    try:
        # the controller's settings, as environment variables of its process
        env = {"AUTOOPS_SCENARIO": scenario, "AUTOOPS_RUNS_DIR": str(runs_dir), "AUTOOPS_SEED": str(seed)}
        urls = stack.up(timeout_s=timeout_s, env=env | ({"AUTOOPS_GENERATOR": generator} if generator else {}))
        yield System("stack", scenario, urls["controller"], urls["prometheus"], urls["alertmanager"], folder)
    finally:
        stack.down()
        atexit.unregister(stack.down)
    if temporary:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _embedded(scenario: str, runs_dir: Path, generator: str | None, seed: int, rules: list[Rule] | None) -> Iterator[System]:
    import uvicorn

    from autoops.agents.controller import Controller, ControllerSettings
    from autoops.agents.optimizer import OptimizerAgent
    from autoops.api.main import create_controller_app

    controller = Controller(ControllerSettings(scenario=scenario, seed=seed, generator=generator),
                            optimizer=OptimizerAgent(runs_dir))
    (port,) = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(create_controller_app(controller), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="autoops-system-controller", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the embedded controller did not start on port {port}")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    recorder = Recorder(url, rules=load_rules() if rules is None else rules)
    try:
        yield System("embedded", scenario, url, recorder=recorder)
    finally:
        recorder.stop()
        server.should_exit = True
        thread.join(timeout=30)


# -- a session ------------------------------------------------------------------------------------
def drive(controller_url: str, scenario: str, iterations: int, incident_builds: int = 0, incident_action: int = 0,
          interval_s: float = 1.0, until_answered: str | None = None, max_wait_s: float = 120.0,
          progress: bool = True) -> pd.DataFrame:
    """Run a session and return one row per build (``kind``: optimizer or incident).

    An iteration starts every ``interval_s`` seconds (or when the previous one ends): one ``POST
    /run``, then, from iteration ``iterations // 2`` on, its share of the ``incident_builds``
    plain ``POST /simulate_build`` builds with ``incident_action``. With ``until_answered`` (an
    alert name) the incident iterations go on until the controller's ``/answers`` has an answer
    to that alert, at most ``max_wait_s`` seconds after the planned iterations."""
    incident_from = iterations // 2
    per_iteration = incident_builds / max(1, iterations - incident_from)
    rows: list[dict] = []
    bar = tqdm(total=iterations, desc=f"{scenario}: /run", disable=not progress, mininterval=5.0)
    with httpx.Client(base_url=controller_url, headers=bearer_header(), timeout=300) as client:
        def post(path: str, body: dict | None = None) -> dict:
            response = client.post(path, json=body)
            if response.status_code != 200:
                raise RuntimeError(f"POST {controller_url}{path} answered {response.status_code}: {response.text[:500]}")
            return response.json()

        start, wait_until, i = time.monotonic(), None, 0
        while True:
            if i >= iterations:
                if until_answered is None or any(a.get("alertname") == until_answered for a in client.get("/answers").json()):
                    break
                if wait_until is None:
                    wait_until, bar.total = time.monotonic() + max_wait_s, None
                    bar.set_postfix_str(f"the incident goes on until {until_answered} is answered")
                if time.monotonic() > wait_until:
                    break
            time.sleep(max(0.0, start + i * interval_s - time.monotonic()))
            phase = "normal" if i < incident_from else "incident" if i < iterations else "incident, waiting for the answer"
            rows.append(_run_row(post("/run"), i + 1, phase))
            if i >= incident_from:
                k = i - incident_from
                for _ in range(math.floor((k + 1) * per_iteration) - math.floor(k * per_iteration)):
                    build = post("/simulate_build", {"scenario": scenario, "action": incident_action})
                    rows.append(_build_row(build, i + 1, phase, "incident"))
            i += 1
            bar.update()
    bar.close()
    return pd.DataFrame(rows)


def _build_row(build: dict, iteration: int, phase: str, kind: str) -> dict:
    return {"time": pd.Timestamp.now(tz="UTC"), "iteration": iteration, "phase": phase, "kind": kind,
            "action_id": build["action_id"], "action": build["action_description"], "status": build["status"],
            "failure_category": build["failure_category"], "duration_minutes": build["duration_minutes"],
            "cost_usd": build["cost_usd"], "reward": build["reward"]}


def _run_row(record: dict, iteration: int, phase: str) -> dict:
    if not record.get("monitor"):
        return {"time": pd.Timestamp.now(tz="UTC"), "iteration": iteration, "phase": phase, "kind": "optimizer",
                "errors": record.get("errors")}
    suggestion = record.get("responder") or {}
    return _build_row(record["monitor"], iteration, phase, "optimizer") | {
        "responder_category": suggestion.get("category"), "responder_summary": suggestion.get("summary"),
        "responder_generator": suggestion.get("generator"), "responder_declined": suggestion.get("declined"),
        "responder_latency_ms": suggestion.get("latency_ms"), "errors": record.get("errors") or None,
    }


def alert_answers(controller_url: str) -> pd.DataFrame:
    """The controller's ``/answers`` (the responder's answers to Alertmanager's alerts), oldest first."""
    answers = httpx.get(f"{controller_url}/answers", timeout=10).json()
    rows = []
    for answer in answers:
        s = answer["suggestion"]
        rows.append({"alertname": answer["alertname"], "labels": {k: v for k, v in answer["labels"].items() if k != "alertname"},
                     "category": s.get("category"), "summary": s.get("summary"),
                     "first_fix_step": (s.get("fix_steps") or [None])[0], "incident_ids": s.get("incident_ids"),
                     "generator": s.get("generator"), "declined": s.get("declined"),
                     "fallback_reason": s.get("fallback_reason"), "latency_ms": s.get("latency_ms")})
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)
