"""The controller: monitor -> optimizer -> responder, once or in a loop.

Each agent is either in-process (the default) or a service at a URL; a remote call has a
timeout and retries, and a failed agent is reported (``autoops_agent_up``,
``autoops_agent_errors_total``) while the loop carries on: without the optimizer the build runs
the monitor's default configuration, without the responder a failure goes unexplained.

Diagnosis in the loop: with ``diagnose=True`` the optimizer sees the failure category the
responder predicted from the log instead of the simulator's true one, so the cost of a
misdiagnosis shows up in the builds that follow.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

import httpx

from autoops import metrics
from autoops.agents import AgentUnavailable
from autoops.envs import OUTCOMES
from autoops.envs.model import STATE_FACTORS


@dataclass
class ControllerSettings:
    scenario: str = "BuildPipeline"
    seed: int = 0
    generator: str | None = None  # the responder's generator; None: its configured default
    diagnose: bool = False
    interval_s: float = 1.0  # pause between iterations of the continuous loop
    urls: dict = field(default_factory=dict)  # agent name -> base URL of a separate service
    timeout_s: float = 30.0
    retries: int = 2


class RemoteAgent:
    """POST JSON to an agent service with a timeout and retries."""

    def __init__(self, name: str, url: str, timeout_s: float, retries: int):
        self.name, self.url, self.timeout_s, self.retries = name, url.rstrip("/"), timeout_s, retries

    def post(self, path: str, body: dict) -> dict:
        last = None
        for attempt in range(self.retries + 1):
            try:
                response = httpx.post(f"{self.url}{path}", json=body, timeout=self.timeout_s)
                if response.status_code < 500:
                    if response.status_code >= 400:
                        raise AgentUnavailable(f"{self.name} at {self.url}{path} answered {response.status_code}: {response.text[:300]}")
                    return response.json()
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as err:
                last = f"{type(err).__name__}: {err}"
            time.sleep(0.2 * 2**attempt)
        raise AgentUnavailable(f"{self.name} at {self.url} did not answer after {self.retries + 1} tries ({last})")


class Controller:
    def __init__(self, settings: ControllerSettings | None = None, monitor=None, optimizer=None, responder=None):
        from autoops.agents.monitor import MonitorAgent
        from autoops.agents.optimizer import OptimizerAgent
        from autoops.agents.responder import ResponderAgent

        self.settings = s = settings or ControllerSettings()
        remote = {name: RemoteAgent(name, url, s.timeout_s, s.retries) for name, url in s.urls.items()}
        self.monitor = monitor or MonitorAgent(default_seed=s.seed)
        self.optimizer = optimizer or OptimizerAgent()
        self.responder = responder or ResponderAgent()
        if "monitor" in remote:
            self.simulate = lambda action: remote["monitor"].post("/simulate_build", {"scenario": s.scenario, "action": action})
        else:
            self.simulate = lambda action: self.monitor.simulate(s.scenario, action)
        if "optimizer" in remote:
            self.best_action = lambda obs: remote["optimizer"].post("/get_best_action", {"scenario": s.scenario, "observation": obs})
        else:
            self.best_action = lambda obs: self.optimizer.best_action(s.scenario, observation=obs)
        if "responder" in remote:
            self.suggest = lambda text: remote["responder"].post("/suggest_fix", {"text": text, "generator": s.generator})
        else:
            self.suggest = lambda text: self.responder.suggest_fix(text, s.generator)
        self.observation = self.monitor.state(s.scenario)["observation"] if "monitor" not in remote else None
        self.history: collections.deque = collections.deque(maxlen=1000)
        self.iterations = 0
        self.errors: collections.Counter = collections.Counter()
        self._loop: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _call(self, agent: str, fn, *args):
        try:
            result = fn(*args)
            metrics.AGENT_UP.labels(agent).set(1)
            return result, None
        except (AgentUnavailable, ValueError, RuntimeError) as err:
            metrics.AGENT_UP.labels(agent).set(0)
            metrics.AGENT_ERRORS.labels(agent).inc()
            self.errors[agent] += 1
            return None, f"{type(err).__name__}: {err}"

    def run_once(self) -> dict:
        """One build: the optimizer picks the configuration, the monitor runs it, the responder
        explains a failure. Returns what each agent said (and any agent's error)."""
        with self._lock:
            record: dict = {"iteration": self.iterations + 1, "errors": {}}
            action = None
            if self.observation is not None:
                choice, error = self._call("optimizer", self.best_action, self.observation)
                record["optimizer"] = choice
                if error:
                    record["errors"]["optimizer"] = error
                else:
                    action = choice["action_id"]
            build, error = self._call("monitor", self.simulate, action)
            record["monitor"] = build
            if error:
                record["errors"]["monitor"] = error
                self._finish(record)
                return record
            observation = list(build["next_observation"])
            if build["status"] == "failure":
                suggestion, error = self._call("responder", self.suggest, build["error_log"])
                record["responder"] = suggestion
                if error:
                    record["errors"]["responder"] = error
                elif self.settings.diagnose:
                    observation = self._with_diagnosis(observation, suggestion.get("category"))
            self.observation = observation
            self._finish(record)
            return record

    @staticmethod
    def _with_diagnosis(observation: list[float], category: str | None) -> list[float]:
        """The observation with the last outcome replaced by the responder's diagnosis (a declined
        or unknown diagnosis leaves the optimizer as blind as a success would)."""
        outcome = OUTCOMES.index(category) if category in OUTCOMES else 0
        one_hot = [0.0] * len(OUTCOMES)
        one_hot[outcome] = 1.0
        return observation[: len(STATE_FACTORS)] + one_hot

    def _finish(self, record: dict) -> None:
        self.iterations += 1
        metrics.CONTROLLER_ITERATIONS.inc()
        self.history.append(record)

    # -- the continuous loop ---------------------------------------------------------------------
    def start(self) -> bool:
        if self._loop and self._loop.is_alive():
            return False
        self._stop.clear()
        self._loop = threading.Thread(target=self._run_loop, name="autoops-controller", daemon=True)
        self._loop.start()
        return True

    def _run_loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.settings.interval_s)

    def stop(self) -> bool:
        running = bool(self._loop and self._loop.is_alive())
        self._stop.set()
        if self._loop:
            self._loop.join(timeout=60)
        return running

    def status(self) -> dict:
        builds = [r["monitor"] for r in self.history if r.get("monitor")]
        failures = [b for b in builds if b["status"] == "failure"]
        return {
            "scenario": self.settings.scenario,
            "running": bool(self._loop and self._loop.is_alive()),
            "iterations": self.iterations,
            "recent_builds": len(builds),
            "recent_failure_rate": len(failures) / len(builds) if builds else None,
            "agent_errors": dict(self.errors),
            "diagnose": self.settings.diagnose,
        }
