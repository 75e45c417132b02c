"""The optimizer agent: the build configuration a trained DQN run picks for the current state."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autoops import metrics
from autoops.agents import AgentUnavailable
from autoops.envs import describe_action, get_scenario
from autoops.envs.model import OBS_SIZE, observation as observation_of
from autoops.optimizer import runs
from autoops.optimizer.evaluate import q_table
from autoops.optimizer.runs import latest_run  # noqa: F401  (part of this module's API)


class OptimizerAgent:
    """Greedy actions of a trained DQN, one run per scenario: the one configured, else the newest
    complete run in ``runs_root`` (default: ``autoops.paths.runs_dir()`` when asked) whose model
    loads; a damaged model (``runs.load_model`` checks it) passes to the next newest run."""

    def __init__(self, runs_root: str | Path | None = None, run_dirs: dict[str, str | Path] | None = None):
        self._runs_root = runs_root
        self.run_dirs = {k: Path(v) for k, v in (run_dirs or {}).items()}
        self._models: dict[Path, object] = {}
        self._broken: dict[Path, tuple[tuple, str]] = {}  # run -> (model file's stat, why): not reloaded each call

    @property
    def runs_root(self) -> Path:
        return runs.root(self._runs_root)

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

    def best_action(self, scenario: str, observation: list[float] | None = None, state_index: int | None = None) -> dict:
        """Q-values and the greedy action for an observation (16 floats) or a simulator state index."""
        name = get_scenario(scenario).name
        if (observation is None) == (state_index is None):
            raise ValueError("give exactly one of observation (16 numbers) or state_index")
        if state_index is not None:
            observation = observation_of(state_index)
        obs = np.asarray(observation, dtype=np.float32)
        if obs.shape != (OBS_SIZE,) or not np.all((obs >= 0) & (obs <= 1)):
            raise ValueError(f"observation must be {OBS_SIZE} numbers in [0, 1], got shape {obs.shape}")
        run, model = self._loaded(name)
        q = q_table(model, obs[None, :])[0]
        action = int(q.argmax())
        metrics.ACTIONS.labels(name, str(action)).inc()
        return {"scenario": name, "action_id": action, "action_description": describe_action(action),
                "q_values": [round(float(v), 6) for v in q], "run_dir": str(run)}
