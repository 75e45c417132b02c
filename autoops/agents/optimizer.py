"""The optimizer agent: the build configuration for the current state, the exact cost of the builds
it chose, and (with ``AUTOOPS_OPTIMIZER_LEARN``) learning online from them.

Which agent answers (``AUTOOPS_OPTIMIZER_AGENT``: dqn, ppo or factored):

- **a trained DQN, not learning** (the default): the greedy action of the configured run, else of
  the newest complete DQN run whose model loads (a damaged model passes to the next newest run),
  with its Q-values;
- **learning, or another agent**: one agent per scenario, continued from this service's own save
  (``<results>/online/<scenario>__<agent>/``) if there is one, else from the configured run or the
  newest complete run of that agent, else (learning only) a fresh agent with the settings of
  ``configs/agents.yaml`` (``dqn.yaml`` for DQN). While learning ``best_action`` explores
  (``act``); otherwise it is greedy.

``observe`` is told each build that ran the optimizer's choice (the controller reports them): it
counts the build's exact regret (``LearningCost``: cumulative regret beside the best static
configuration's) and, while learning, passes the build to the agent. A failure to learn, evaluate
or save is counted (``autoops_optimizer_learning_errors_total``) and answered, never raised: the
builds go on. Every ``AUTOOPS_OPTIMIZER_REGRET_EVERY`` builds the exact regret of the greedy policy
is refreshed (not per request: a factored agent re-plans for its policy); every
``AUTOOPS_OPTIMIZER_SAVE_EVERY`` builds a learning agent is saved as a checkpoint folder renamed
into place (``runs.writing_checkpoint``), the older one deleted. One lock per scenario around its
agent: the API serves requests in threads.
"""

from __future__ import annotations

import copy
import logging
import math
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autoops import metrics, paths
from autoops.agents import AgentUnavailable
from autoops.envs import Scenario, describe_action, get_scenario
from autoops.envs.model import N_ACTIONS, N_STATES, OBS_SIZE, observation as observation_of, state_of
from autoops.optimizer import runs
from autoops.optimizer.agents import AGENTS, Agent, agent_class
from autoops.optimizer.evaluate import q_table
from autoops.optimizer.regret import LearningCost
from autoops.optimizer.runs import latest_run  # noqa: F401  (part of this module's API)
from autoops.optimizer.settings import resolve_agent_settings, resolve_settings
from autoops.settings import SettingsError, settings

log = logging.getLogger(__name__)

ONLINE = "online"  # <results>/online/<scenario>__<agent>/checkpoints/<builds>/{agent/,state.pkl}: a learning optimizer's save
STAGES = ("observe", "evaluate", "save")  # the label values of autoops_optimizer_learning_errors_total
MAX_REWARD = 1e6  # a build's reward is minus its weighted minutes, dollars and failure: far below this
OBSERVATIONS = np.stack([observation_of(s) for s in range(N_STATES)])  # the Q-network's input of every state


def _index(value, size: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < size:
        raise ValueError(f"{name} must be an integer in [0, {size}), got {value!r}")
    return int(value)


_COSTS: dict[str, LearningCost] = {}  # repr(scenario) -> a LearningCost at build 0


def new_cost(scenario: Scenario) -> LearningCost:
    """A ``LearningCost`` at build 0. Making one evaluates every static configuration exactly
    (seconds), so each scenario's is made once per process and copied: its phases never change,
    and ``load_state_dict`` gives the copy counters of its own."""
    key = repr(scenario)  # as shared_model: an edited scenario is another scenario
    if key not in _COSTS:
        if len(_COSTS) >= 16:
            _COSTS.clear()
        _COSTS[key] = LearningCost(scenario)
    template = _COSTS[key]
    cost = copy.copy(template)
    cost.load_state_dict(template.state_dict())
    return cost


@dataclass
class _Stream:
    """One scenario's builds: its agent (None: answered by a trained DQN run's model), where the
    agent came from, the cost of the builds reported, the greedy policy at its latest refresh."""

    scenario: Scenario
    agent_name: str
    agent: Agent | None
    source: Path | None
    cost: LearningCost
    greedy: np.ndarray | None = None
    regret: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class OptimizerAgent:
    """The optimizer of the running system (see the module docstring). Arguments left out come
    from the settings: ``agent`` (AUTOOPS_OPTIMIZER_AGENT), ``learn`` (AUTOOPS_OPTIMIZER_LEARN),
    ``seed`` (AUTOOPS_SEED; a fresh agent's and a loaded DQN's random streams), ``save_every``
    and ``regret_every``; ``runs_root``: the runs (default ``paths.runs_dir()`` when asked);
    ``run_dirs``: a run per scenario to start from instead of the newest; ``save_root``: where a
    learning agent saves itself (default ``<results>/online``)."""

    def __init__(self, runs_root: str | Path | None = None, run_dirs: dict[str, str | Path] | None = None,
                 agent: str | None = None, learn: bool | None = None, seed: int | None = None,
                 save_root: str | Path | None = None, save_every: int | None = None, regret_every: int | None = None):
        s = settings()
        self.agent_name = agent or s.optimizer_agent
        if self.agent_name not in AGENTS:
            raise SettingsError(f"optimizer agent {self.agent_name!r} (AUTOOPS_OPTIMIZER_AGENT): expected one of {', '.join(AGENTS)}")
        self.learn = s.optimizer_learn if learn is None else bool(learn)
        self.seed = s.seed if seed is None else int(seed)
        self.save_every = save_every or s.optimizer_save_every
        self.regret_every = regret_every or s.optimizer_regret_every
        self._runs_root, self._save_root = runs_root, save_root
        self.run_dirs = {k: Path(v) for k, v in (run_dirs or {}).items()}
        self._models: dict[Path, object] = {}
        self._broken: dict[Path, tuple[tuple, str]] = {}  # run -> (model file's stat, why): not reloaded each call
        self._streams: dict[str, _Stream] = {}
        # held while a scenario's stream is opened (a model loaded, its cost made: seconds, once)
        self._streams_lock = threading.Lock()

    @property
    def runs_root(self) -> Path:
        return runs.root(self._runs_root)

    @property
    def save_root(self) -> Path:
        return Path(self._save_root) if self._save_root is not None else paths.results_dir() / ONLINE

    @property
    def served(self) -> bool:
        """Answered by a trained DQN run's Q-network, no agent object: the default."""
        return self.agent_name == "dqn" and not self.learn

    # -- answering --------------------------------------------------------------------------------
    def best_action(self, scenario: str, observation: list[float] | None = None, state_index: int | None = None) -> dict:
        """The configuration for an observation (16 floats) or a simulator state index: the
        greedy action (with Q-values when the agent has them), or the agent's ``act`` while it learns."""
        sc = get_scenario(scenario)
        if (observation is None) == (state_index is None):
            raise ValueError("give exactly one of observation (16 numbers) or state_index")
        if state_index is not None:
            observation = observation_of(_index(state_index, N_STATES, "state_index"))
        obs = np.asarray(observation, dtype=np.float32)
        if obs.shape != (OBS_SIZE,) or not np.all((obs >= 0) & (obs <= 1)):
            raise ValueError(f"observation must be {OBS_SIZE} numbers in [0, 1], got shape {obs.shape}")
        if self.served:
            run, model = self._loaded(sc.name)
            q = q_table(model, obs[None, :])[0]
            action, agent_name, source = int(q.argmax()), "dqn", run
        else:
            stream = self._stream(sc)
            state = state_of(obs)
            with stream.lock:
                if not self.learn and stream.greedy is None:
                    raise AgentUnavailable(f"the {stream.agent_name} optimizer of {sc.name} has no greedy policy: "
                                           "computing it failed (autoops_optimizer_learning_errors_total, the service's log)")
                action = int(stream.agent.act(state) if self.learn else stream.greedy[state])
                q_values = getattr(stream.agent, "q_values", None)  # DQN's; the other agents have none
                q = q_values()[state] if q_values else None
            agent_name, source = stream.agent_name, stream.source
        metrics.ACTIONS.labels(sc.name, str(action)).inc()
        return {"scenario": sc.name, "action_id": action, "action_description": describe_action(action),
                "q_values": None if q is None else [round(float(v), 6) for v in q],
                "run_dir": None if source is None else str(source), "agent": agent_name, "learning": self.learn}

    def observe(self, scenario: str, state_index: int, action_id: int, reward: float, next_state_index: int) -> dict:
        """One build that ran the optimizer's choice: ``action_id`` in ``state_index`` earned
        ``reward`` and led to ``next_state_index`` (as the optimizer will see it). Counts its exact
        cost, learns from it while learning, and answers the figures (``schemas.Observed``)."""
        sc = get_scenario(scenario)
        state, next_state = _index(state_index, N_STATES, "state_index"), _index(next_state_index, N_STATES, "next_state_index")
        action = _index(action_id, N_ACTIONS, "action_id")
        if isinstance(reward, bool) or not isinstance(reward, int | float) or not math.isfinite(reward) or abs(reward) > MAX_REWARD:
            raise ValueError(f"reward must be a finite number within ±{MAX_REWARD:g}, got {reward!r}")
        stream = self._stream(sc)
        errors = []
        with stream.lock:
            stream.cost.record(state, action)
            learned = self.learn and self._guarded(stream, "observe", errors, stream.agent.observe, state, action, float(reward), next_state)
            builds = stream.cost.builds
            if builds % self.regret_every == 0:
                self._guarded(stream, "evaluate", errors, self._refresh, stream)
            if self.learn and builds % self.save_every == 0:
                self._guarded(stream, "save", errors, self._save, stream)
            self._export(stream)
            figures = stream.cost.summary()
            regret = stream.regret
        metrics.OPTIMIZER_BUILDS.labels(sc.name, stream.agent_name).inc()
        return {"scenario": sc.name, "agent": stream.agent_name, "learning": self.learn, "learned": bool(learned),
                "builds": figures["builds"], "regret": regret, "cumulative_regret": figures["cumulative_regret"],
                "best_static_cumulative_regret": figures["best_static_cumulative_regret"],
                "break_even_build": figures["break_even_build"], "error": "; ".join(errors) or None}

    def cost(self, scenario: str) -> dict | None:
        """The figures of the builds reported for ``scenario`` so far (None: none yet), with the
        greedy regret of the latest refresh."""
        stream = self._streams.get(get_scenario(scenario).name)
        if stream is None:
            return None
        with stream.lock:
            return {**stream.cost.summary(), "regret": stream.regret, "agent": stream.agent_name}

    def _guarded(self, stream: _Stream, stage: str, errors: list[str], fn, *args) -> bool:
        """``fn(*args)``; a failure is logged, counted and added to ``errors`` instead of raised."""
        try:
            fn(*args)
            return True
        except Exception as err:  # noqa: BLE001  (a learning agent's failure of any kind must not stop the builds)
            log.exception("the %s optimizer of %s failed to %s a build", stream.agent_name, stream.scenario.name, stage)
            metrics.OPTIMIZER_LEARNING_ERRORS.labels(stream.scenario.name, stream.agent_name, stage).inc()
            errors.append(f"{stage}: {type(err).__name__}: {str(err)[:300]}")
            return False

    # -- the cost and its exports ------------------------------------------------------------------
    def _refresh(self, stream: _Stream) -> None:
        """The greedy policy now and its exact regret (the gauge is left as it was without one)."""
        stream.greedy = self._greedy(stream)
        if stream.greedy is not None:
            stream.regret = float(stream.cost.greedy_regret(stream.greedy).regret)
            metrics.OPTIMIZER_REGRET.labels(stream.scenario.name, stream.agent_name).set(stream.regret)

    def _greedy(self, stream: _Stream) -> np.ndarray | None:
        if stream.agent is not None:
            return np.asarray(stream.agent.policy())
        try:
            _, model = self._loaded(stream.scenario.name)
        except AgentUnavailable:
            return None  # builds reported without a trained run: their cost counts all the same
        return q_table(model, OBSERVATIONS).argmax(axis=1)

    @staticmethod
    def _export(stream: _Stream) -> None:
        labels = (stream.scenario.name, stream.agent_name)
        metrics.OPTIMIZER_CUMULATIVE_REGRET.labels(*labels).set(stream.cost.cumulative)
        metrics.OPTIMIZER_BEST_STATIC_REGRET.labels(*labels).set(stream.cost.best_static_line)

    # -- a scenario's stream: opened once -------------------------------------------------------------
    def _stream(self, sc: Scenario) -> _Stream:
        with self._streams_lock:
            stream = self._streams.get(sc.name)
            if stream is None:
                stream = self._streams[sc.name] = self._open(sc)
        return stream

    def _open(self, sc: Scenario) -> _Stream:
        cost = new_cost(sc)
        if self.served:
            stream = _Stream(sc, "dqn", None, None, cost)
        else:
            agent, source, saved_cost = self._start(sc)
            if saved_cost is not None:
                cost.load_state_dict(saved_cost)
            stream = _Stream(sc, agent.name, agent, source, cost)
        for stage in STAGES:  # every series from 0, so that a rate over them has data before the first failure
            metrics.OPTIMIZER_LEARNING_ERRORS.labels(sc.name, stream.agent_name, stage)
        metrics.OPTIMIZER_BUILDS.labels(sc.name, stream.agent_name)
        self._guarded(stream, "evaluate", [], self._refresh, stream)
        self._export(stream)
        return stream

    def save_folder(self, scenario: str) -> Path:
        """Where this optimizer saves its agent of ``scenario`` (a registered name: never a request's text)."""
        return self.save_root / f"{get_scenario(scenario).name}__{self.agent_name}"

    def _start(self, sc: Scenario) -> tuple[Agent, Path | None, dict | None]:
        """The agent to continue: this service's save, else a run, else a fresh one (learning only)."""
        problems: list[str] = []
        folder = self.save_folder(sc.name)
        checkpoint, passed_over = runs.latest_checkpoint(folder)
        problems += passed_over
        if checkpoint is not None:
            try:
                saved = pickle.loads((checkpoint.path / runs.STATE).read_bytes())
                return agent_class(self.agent_name).load(checkpoint.path / runs.AGENT), folder, saved["cost"]
            except Exception as err:  # noqa: BLE001  (a save from another version fails anywhere in its agent's loader)
                problems.append(f"{checkpoint.path}: does not load ({type(err).__name__}: {err})")
        configured = self.run_dirs.get(sc.name)
        for run in [configured] if configured else runs.complete_runs(sc.name, self.runs_root, self.agent_name):
            try:
                return self._from_run(run), run, None
            except runs.RunError as err:
                problems.append(str(err))
        skipped = f" (skipped: {'; '.join(problems)})" if problems else ""
        if configured:
            raise AgentUnavailable(f"the optimizer run configured for {sc.name} cannot be used{skipped}")
        if not self.learn:
            raise AgentUnavailable(
                f"no trained {self.agent_name} optimizer for {sc.name} in {self.runs_root}{skipped}: train one with "
                f"`autoops train --agent {self.agent_name} --scenario {sc.name}`, or set AUTOOPS_OPTIMIZER_LEARN=1 to learn from scratch")
        if problems:
            log.warning("the %s optimizer of %s starts from scratch%s", self.agent_name, sc.name, skipped)
        return self._fresh(sc), None, None

    def _from_run(self, run: Path) -> Agent:
        agent = runs.run_agent(run)
        if agent != self.agent_name:
            raise runs.RunError(f"{run} is a run of the {agent} agent, not of {self.agent_name} (AUTOOPS_OPTIMIZER_AGENT)")
        if agent == "dqn":  # a run of `autoops train`'s SB3 loop: its model and replay buffer
            return agent_class("dqn").from_run(run, seed=self.seed)
        return runs.load_agent(run)[0]

    def _fresh(self, sc: Scenario) -> Agent:
        cls = agent_class(self.agent_name)
        if self.agent_name == "dqn":
            agent_settings = resolve_settings(sc)
        else:
            _, agent_settings = resolve_agent_settings(self.agent_name, cls.Settings, sc)
        return cls(agent_settings, self.seed)

    def _save(self, stream: _Stream) -> None:
        """The agent and its cost, as one checkpoint folder renamed into place (the older one deleted)."""
        folder = self.save_folder(stream.scenario.name)
        folder.mkdir(parents=True, exist_ok=True)
        with runs.writing_checkpoint(folder, stream.cost.builds) as staging:
            stream.agent.save(staging / runs.AGENT)
            state = {"agent": stream.agent_name, "scenario": stream.scenario.name, "cost": stream.cost.state_dict()}
            runs.write_atomically(staging / runs.STATE, lambda tmp: tmp.write_bytes(pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))

    # -- a trained DQN run's model (the default) --------------------------------------------------
    def _loaded(self, scenario: str) -> tuple[Path, object]:
        """The run that answers for ``scenario`` and its model, or AgentUnavailable saying why."""
        configured = self.run_dirs.get(scenario)
        problems = []
        for run in [configured] if configured else runs.complete_runs(scenario, self.runs_root):
            try:
                return run, self._model(run)
            except runs.RunError as err:
                problems.append(str(err))
        if configured:
            raise AgentUnavailable(f"the optimizer run configured for {scenario} cannot be used: {problems[0]}")
        skipped = f" (skipped: {'; '.join(problems)})" if problems else ""
        raise AgentUnavailable(
            f"no trained optimizer for {scenario} in {self.runs_root}{skipped}: train one with "
            f"`autoops train --scenario {scenario}` (or point AUTOOPS_RUNS_DIR at a folder of runs)"
        )

    def _model(self, run: Path):
        if run in self._models:
            return self._models[run]
        try:
            stat = (run / runs.MODEL).stat()
            signature = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            signature = None
        if run in self._broken and self._broken[run][0] == signature:
            raise runs.RunError(self._broken[run][1])
        try:
            self._models[run] = runs.load_model(run)
        except runs.RunError as err:
            self._broken[run] = (signature, str(err))
            raise
        return self._models[run]
