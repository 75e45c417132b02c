"""The optimizer agent: the build configuration a trained DQN run picks for the current state."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from autoops import metrics
from autoops.agents import AgentUnavailable
from autoops.envs import describe_action, get_scenario
from autoops.envs.model import OBS_SIZE, observation as observation_of

# where `autoops train` writes runs; AUTOOPS_RUNS_DIR points a service elsewhere
DEFAULT_RUNS = Path(os.environ.get("AUTOOPS_RUNS_DIR", Path(__file__).resolve().parents[2] / "results" / "runs"))


def latest_run(scenario: str, runs_root: Path = DEFAULT_RUNS) -> Path | None:
    """The newest finished run of ``scenario`` (folder names end in a sortable time stamp)."""
    runs = sorted(runs_root.glob(f"{scenario}__*/model.zip"), key=lambda p: p.parent.name.rsplit("__", 1)[-1])
    return runs[-1].parent if runs else None


class OptimizerAgent:
    """Greedy actions of a trained DQN, one run per scenario: the one configured, else the newest."""

    def __init__(self, runs_root: str | Path = DEFAULT_RUNS, run_dirs: dict[str, str | Path] | None = None):
        self.runs_root = Path(runs_root)
        self.run_dirs = {k: Path(v) for k, v in (run_dirs or {}).items()}
        self._models: dict[Path, object] = {}

    def run_for(self, scenario: str) -> Path:
        run = self.run_dirs.get(scenario) or latest_run(scenario, self.runs_root)
        if run is None or not (run / "model.zip").is_file():
            raise AgentUnavailable(
                f"no trained optimizer for {scenario} in {self.runs_root}: train one with "
                f"`autoops train --scenario {scenario}` (or point AUTOOPS_RUNS_DIR at a folder of runs)"
            )
        return run

    def _model(self, run: Path):
        if run not in self._models:
            from autoops.optimizer.evaluate import load_model

            self._models[run] = load_model(run)
        return self._models[run]

    def best_action(self, scenario: str, observation: list[float] | None = None, state_index: int | None = None) -> dict:
        """Q-values and the greedy action for an observation (16 floats) or a simulator state index."""
        from autoops.optimizer.evaluate import q_table

        name = get_scenario(scenario).name
        if (observation is None) == (state_index is None):
            raise ValueError("give exactly one of observation (16 numbers) or state_index")
        if state_index is not None:
            observation = observation_of(state_index)
        obs = np.asarray(observation, dtype=np.float32)
        if obs.shape != (OBS_SIZE,) or not np.all((obs >= 0) & (obs <= 1)):
            raise ValueError(f"observation must be {OBS_SIZE} numbers in [0, 1], got shape {obs.shape}")
        run = self.run_for(name)
        q = q_table(self._model(run), obs[None, :])[0]
        action = int(q.argmax())
        metrics.ACTIONS.labels(name, str(action)).inc()
        return {"scenario": name, "action_id": action, "action_description": describe_action(action),
                "q_values": [round(float(v), 6) for v in q], "run_dir": str(run)}
