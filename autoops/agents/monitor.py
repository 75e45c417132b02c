"""The monitor agent: runs the CI build simulator and reports each build, counted in Prometheus."""

from __future__ import annotations

import threading

from autoops import metrics
from autoops.envs import OUTCOMES, BuildPipelineEnv, ScenarioError, State, describe_action, get_scenario
from autoops.envs.model import STATE_FACTORS, action_from_knobs

DEFAULT_ACTION = action_from_knobs(cache=True)  # what a team without an optimizer typically runs


class MonitorAgent:
    """One running simulation per scenario; ``seed`` restarts it, so a seeded run is repeatable."""

    def __init__(self, default_seed: int = 0):
        self.default_seed = default_seed
        self._envs: dict[str, BuildPipelineEnv] = {}
        self._builds: dict[str, int] = {}
        self._lock = threading.Lock()  # the HTTP handlers and the controller's loop share the simulations
        self._latest_failure_log: dict[str, str] = {}

    def _env(self, scenario: str, seed: int | None) -> BuildPipelineEnv:
        name = scenario if scenario in self._envs and seed is None else get_scenario(scenario).name  # ScenarioError if unknown
        if name not in self._envs or seed is not None:
            if name not in self._envs:
                _zero_series(name)
            env = self._envs.get(name) or BuildPipelineEnv(name)
            env.reset(seed=self.default_seed if seed is None else seed)
            self._envs[name], self._builds[name] = env, 0
        return self._envs[name]

    def latest_failure_log(self, scenario: str) -> str | None:
        """The error log of the latest failed build of ``scenario`` here, if any: what an engineer
        paged about a failure rate would open first (for the responder's answer to that alert)."""
        return self._latest_failure_log.get(scenario)

    def state(self, scenario: str) -> dict:
        env = self._env(scenario, None)
        return self.describe_state(env.state_index) | {"observation": env.model.observations[env.state_index].tolist()}

    @staticmethod
    def describe_state(index: int) -> dict:
        state = State.from_index(index)
        return {"state_index": index, **{name: bool(getattr(state, name)) for name in STATE_FACTORS},
                "last_outcome": OUTCOMES[state.last_outcome]}

    def simulate(self, scenario: str = "BuildPipeline", action: int | None = None, seed: int | None = None) -> dict:
        """Run one build; ``action`` defaults to the cache-on configuration most teams use."""
        with self._lock:
            return self._simulate(scenario, action, seed)

    def _simulate(self, scenario: str, action: int | None, seed: int | None) -> dict:
        env = self._env(scenario, seed)
        action = DEFAULT_ACTION if action is None else int(action)
        _, reward, _, _, info = env.step(action)
        name = env.scenario.name
        self._builds[name] += 1
        category = info["failure_category"]
        if info.get("error_log"):
            self._latest_failure_log[name] = info["error_log"]
        metrics.BUILDS.labels(name, info["status"], category or "none").inc()
        metrics.BUILD_DURATION.labels(name).observe(info["duration_minutes"] * 60)
        metrics.BUILD_COST.labels(name).observe(info["cost_usd"])
        return {
            "scenario": name,
            "build": self._builds[name],
            "action_id": action,
            "action_description": describe_action(action),
            "status": info["status"],
            "failure_category": category,
            "duration_minutes": round(info["duration_minutes"], 4),
            "cost_usd": round(info["cost_usd"], 5),
            "reward": round(float(reward), 4),
            "error_log": info.get("error_log"),
            "next_state": self.describe_state(env.state_index),
            "next_observation": env.model.observations[env.state_index].tolist(),
        }


def _zero_series(scenario: str) -> None:
    """Create every build series of a scenario at 0: Prometheus's rate() needs a series to exist
    before its first increase, or the first build of each kind would go uncounted."""
    metrics.BUILD_DURATION.labels(scenario)
    metrics.BUILD_COST.labels(scenario)
    metrics.BUILDS.labels(scenario, "success", "none")
    for category in OUTCOMES[1:]:
        metrics.BUILDS.labels(scenario, "failure", category)


__all__ = ["DEFAULT_ACTION", "MonitorAgent", "ScenarioError"]
