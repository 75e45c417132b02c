"""The controller: monitor -> optimizer -> responder, once or in a loop, and the answer to an alert.

Each agent is an object with the agent's methods: in-process (``MonitorAgent`` ...) or a client
of a separate service (``autoops.api.client.RemoteMonitor`` ...); the controller cannot tell them
apart and never knows a URL. A failed agent is reported (``autoops_agent_up``,
``autoops_agent_errors_total``) while the loop carries on: without the optimizer the build runs
the monitor's default configuration, without the responder a failure goes unexplained.

Feedback: each build that ran the optimizer's choice is reported back to it (``observe``: the
state it chose in, the configuration, the reward, the state it will see next), so that it counts
the exact cost of its choices and, when it learns online, learns from them. An optimizer object
without ``observe`` is not told.

Diagnosis in the loop: with ``diagnose=True`` the optimizer sees the failure category the
responder predicted from the log instead of the simulator's true one, so the cost of a
misdiagnosis shows up in the builds that follow.

Alerts: the controller owns the whole answer to an Alertmanager alert: the evidence (for an
alert about a scenario's builds, that scenario's latest failed build log), the responder's
suggestion, the store of recent answers, and the notification (Slack, Discord, ...).
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

from pydantic import ValidationError

from autoops import metrics
from autoops.agents import AgentUnavailable
from autoops.agents.monitor import MonitorAgent
from autoops.agents.optimizer import OptimizerAgent
from autoops.agents.responder import ResponderAgent
from autoops.agents.schemas import BestAction, BuildResult, Observed, Suggestion, diagnosed_outcome
from autoops.envs import OUTCOMES
from autoops.envs.model import STATE_FACTORS, state_of
from autoops.notify import Notifier
from autoops.responder.logtext import REDACTED, redact

MAX_ANSWERS = 200  # the latest answers to alerts kept for GET /answers
MAX_REMEMBERED_ALERTS = 1000
# What is kept of an alert. Alertmanager's webhook carries whatever its senders wrote, and every
# answer is stored, served by GET /answers and sent to chat, so each part is redacted and cut:
# an answer holds at most ~20,000 characters (24 labels of 2 x 200, the text, the evidence, and
# the responder's suggestion of ~2,000), so GET /answers stays under ~4 MB whatever arrives.
MAX_TEXT = 4_000  # characters of an annotation, of the alert's text and of the evidence log
MAX_LABEL = 200  # characters of a label's name or value, and of an annotation's name
MAX_PAIRS = 24  # labels, and annotations, of one alert
MAX_KEY = 128  # characters of the fingerprint and start time that tell one firing from another
CUT = " …[cut]"


@dataclass
class ControllerSettings:
    scenario: str = "BuildPipeline"
    seed: int = 0
    generator: str | None = None  # the responder's generator; None: its configured default
    diagnose: bool = False
    interval_s: float = 1.0  # pause between iterations of the continuous loop


def alert_text(alert: dict) -> str:
    """What the responder reads of one Alertmanager alert: its name, summary and description."""
    labels, notes = alert.get("labels") or {}, alert.get("annotations") or {}
    text = f"{labels.get('alertname', 'alert')}: {notes.get('summary', '')}. {notes.get('description', '')}".strip()
    return clean_text(text, MAX_TEXT)


def clean_text(text, limit: int) -> str:
    """``text`` as the controller may keep, answer, log and send it: valid UTF-8 (a lone surrogate
    could not be encoded in any answer), secrets redacted, then at most ``limit`` characters.

    Only what is kept is redacted, and 16,000 characters after it, so that a secret across the cut
    is still whole when it is recognised: a megabyte costs what 20 kB does."""
    text = str(text)[: limit + 16_000].encode("utf-8", "replace").decode("utf-8")
    text = redact(text)
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


def clean_pairs(pairs, value_limit: int) -> dict[str, str]:
    """The first ``MAX_PAIRS`` labels or annotations, cleaned. A value is redacted together with
    its name, as ``name=value``, so ``password: hunter2`` loses its value too."""
    cleaned = {}
    for name, value in list((pairs or {}).items())[:MAX_PAIRS]:
        name = clean_text(name, MAX_LABEL)
        pair = clean_text(f"{name}={value}", len(name) + 1 + value_limit)
        cleaned[name] = pair[len(name) + 1:] if pair.startswith(f"{name}=") else REDACTED
    return cleaned


def clean_alert(alert: dict) -> dict:
    """An Alertmanager alert as it enters: its labels and annotations cleaned, the fields that
    tell one firing from another cut to size."""
    return {
        "status": alert.get("status"),
        "labels": clean_pairs(alert.get("labels"), MAX_LABEL),
        "annotations": clean_pairs(alert.get("annotations"), MAX_TEXT),
        **{key: str(alert[key])[:MAX_KEY] for key in ("fingerprint", "startsAt") if alert.get(key)},
    }


class Controller:
    def __init__(self, settings: ControllerSettings | None = None, monitor=None, optimizer=None, responder=None,
                 notifier: Notifier | None = None):
        self.settings = s = settings or ControllerSettings()
        self.monitor = monitor or MonitorAgent(default_seed=s.seed)
        self.optimizer = optimizer or OptimizerAgent()
        self.responder = responder or ResponderAgent()
        self.notifier = notifier or Notifier.from_config()
        try:
            self.observation = self.monitor.state(s.scenario)["observation"]
        except AgentUnavailable:  # a remote monitor: the first build runs its default configuration
            self.observation = None
        self.history: collections.deque = collections.deque(maxlen=1000)
        self.answers: collections.deque = collections.deque(maxlen=MAX_ANSWERS)
        self.iterations = 0
        self.errors: collections.Counter = collections.Counter()
        self.last_error: dict | None = None
        self._loop: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the controller's own state; never held while an agent works
        # Alertmanager sends a firing alert again with each change of its group; answer it once
        self._answered: collections.OrderedDict[tuple, None] = collections.OrderedDict()
        self._alerts_lock = threading.Lock()  # not the iteration lock: an alert must not wait for a build

    def best_action(self, observation: list[float]) -> dict:
        return self.optimizer.best_action(self.settings.scenario, observation=observation)

    def _call(self, agent: str, fn, *args, schema=None) -> tuple[dict | None, str | None]:
        """Ask ``agent``; its answer is validated against ``schema`` (default: the agent's). Whatever
        goes wrong (unreachable, a timeout, an error, an answer of the wrong shape) is that agent's
        failure: counted, kept as the last error, and returned as a message instead of raised."""
        try:
            answer = (schema or ANSWERS[agent]).model_validate(fn(*args)).model_dump()
        except Exception as err:  # noqa: BLE001  (an agent's failure of any kind must not end the loop)
            metrics.AGENT_UP.labels(agent).set(0)
            metrics.AGENT_ERRORS.labels(agent).inc()
            message = _describe(err)
            with self._lock:
                self.errors[agent] += 1
                self.last_error = {"agent": agent, "error": message, "iteration": self.iterations, "at": time.time()}
            return None, message
        metrics.AGENT_UP.labels(agent).set(1)
        return answer, None

    def run_once(self) -> dict:
        """One build: the optimizer picks the configuration, the monitor runs it, the responder
        explains a failure. Returns what each agent said (and any agent's error). No lock is held
        while an agent works, so ``/status`` and ``/loop/stop`` answer at once."""
        with self._lock:
            self.iterations += 1
            record: dict = {"iteration": self.iterations, "errors": {}}
            observation = self.observation
        try:
            observation = self._iterate(record, observation)
        except Exception as err:  # noqa: BLE001  (a bug of ours: counted, shown in /status, the loop goes on)
            record["errors"]["controller"] = message = _describe(err)
            with self._lock:
                self.last_error = {"agent": "controller", "error": message, "iteration": record["iteration"], "at": time.time()}
        metrics.CONTROLLER_ITERATIONS.labels("error" if record["errors"] else "ok").inc()
        with self._lock:
            if observation is not None:
                self.observation = observation
            self.history.append(record)
        return record

    def _iterate(self, record: dict, observation: list[float] | None) -> list[float] | None:
        """The calls of one iteration; returns the next observation (None: keep the last)."""
        action, chosen_in = None, observation
        if observation is not None:
            choice, error = self._call("optimizer", self.best_action, observation)
            record["optimizer"] = choice
            if error:
                record["errors"]["optimizer"] = error
            else:
                action = choice["action_id"]
        build, error = self._call("monitor", self.monitor.simulate, self.settings.scenario, action)
        record["monitor"] = build
        if error:
            record["errors"]["monitor"] = error
            return None
        observation = list(build["next_observation"])
        if build["status"] == "failure":
            suggestion, error = self._call("responder", self.responder.suggest_fix, build["error_log"], self.settings.generator)
            record["responder"] = suggestion
            if error:
                record["errors"]["responder"] = error
            elif self.settings.diagnose:
                observation = self._with_diagnosis(observation, suggestion["category"])
        observe = getattr(self.optimizer, "observe", None)
        if action is not None and observe is not None:
            _, error = self._call("optimizer", observe, self.settings.scenario, state_of(chosen_in), action, build["reward"],
                                  state_of(observation), schema=Observed)
            if error:
                record["errors"]["optimizer"] = error
        return observation

    @staticmethod
    def _with_diagnosis(observation: list[float], category: str | None) -> list[float]:
        """The observation with the last outcome replaced by the responder's diagnosis (a declined
        or unknown diagnosis leaves the optimizer as blind as a success would)."""
        one_hot = [0.0] * len(OUTCOMES)
        one_hot[diagnosed_outcome(category)] = 1.0
        return observation[: len(STATE_FACTORS)] + one_hot

    # -- alerts --------------------------------------------------------------------------------------
    def answer_alerts(self, alerts: list[dict]) -> list[dict]:
        """A suggestion for each firing alert of an Alertmanager webhook, kept for ``GET /answers``
        and sent to the notifier. An alert about a scenario's builds is answered from that
        scenario's latest failed build log instead of the alert's own words, which rarely name a
        cause (read together, "builds fail" in the alert outweighed the log's own error lines in 5
        of 14 simulated cases)."""
        answers = []
        for alert in alerts:
            if alert.get("status") != "firing":
                continue
            alert = clean_alert(alert)  # before anything is kept, answered, logged or sent
            if self._seen(alert):
                continue
            labels = alert["labels"]
            text = alert_text(alert)
            evidence = self.monitor.latest_failure_log(labels["scenario"]) if labels.get("scenario") else None
            evidence = clean_text(evidence, MAX_TEXT) if evidence else None
            suggestion, error = self._call("responder", self.responder.suggest_fix, evidence or text, self.settings.generator)
            answer = {"alertname": labels.get("alertname"), "labels": labels, "text": text, "evidence": evidence, "suggestion": suggestion}
            if error:
                answer["error"] = error
            answers.append(answer)
        self.answers.extend(answers)
        self.notifier.notify([a for a in answers if a["suggestion"] is not None])
        return answers

    def _seen(self, alert: dict) -> bool:
        """Whether this firing (same fingerprint and start) was answered already; remembers it."""
        if not alert.get("fingerprint"):
            return False
        key = (alert["fingerprint"], alert.get("startsAt"))
        with self._alerts_lock:
            if key in self._answered:
                return True
            self._answered[key] = None
            while len(self._answered) > MAX_REMEMBERED_ALERTS:
                self._answered.popitem(last=False)
        return False

    # -- the continuous loop ---------------------------------------------------------------------
    def start(self) -> bool:
        with self._lock:
            if self._loop and self._loop.is_alive():
                return False
            self._stop.clear()
            self._loop = threading.Thread(target=self._run_loop, name="autoops-controller", daemon=True)
            self._loop.start()
        return True

    def _run_loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()  # never raises: failures are counted and kept in last_error
            self._stop.wait(self.settings.interval_s)

    def stop(self, wait_s: float = 0.5) -> bool:
        """Ask the loop to stop and return within ``wait_s``: an iteration under way ends after the
        call it is waiting for (each agent call has its own timeout), and ``status()`` says
        ``running`` until then."""
        running = bool(self._loop and self._loop.is_alive())
        self._stop.set()
        if self._loop:
            self._loop.join(timeout=wait_s)
        return running

    def status(self) -> dict:
        with self._lock:
            builds = [r["monitor"] for r in self.history if r.get("monitor")]
            errors, last_error, iterations = dict(self.errors), self.last_error, self.iterations
        failures = [b for b in builds if b["status"] == "failure"]
        running = bool(self._loop and self._loop.is_alive())
        return {
            "scenario": self.settings.scenario,
            "running": running,
            "stopping": running and self._stop.is_set(),
            "iterations": iterations,
            "recent_builds": len(builds),
            "recent_failure_rate": len(failures) / len(builds) if builds else None,
            "agent_errors": errors,
            "last_error": last_error,
            "diagnose": self.settings.diagnose,
        }


# what each agent's answer must look like (the routers serve the same models)
ANSWERS = {"monitor": BuildResult, "optimizer": BestAction, "responder": Suggestion}


def _describe(err: Exception, limit: int = 500) -> str:
    """An error as one bounded line for /status and the records: its type and the start of its message."""
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "answer"
        message = f"malformed answer: {where}: {first.get('msg')} ({err.error_count()} problem(s))"
    else:
        message = str(err)
    text = f"{type(err).__name__}: {message}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
