"""Replayable episodes: a run is written as a record (scenario, seed, actions, outcomes) and
re-run later to check that the simulator still gives the same builds."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from autoops.envs.build_pipeline import BuildPipelineEnv
from autoops.envs.model import N_ACTIONS
from autoops.envs.scenario import Scenario, get_scenario

RECORD_VERSION = 1


@dataclass
class Build:
    action: int
    status: str
    failure_category: str | None
    duration_minutes: float
    cost_usd: float
    reward: float


@dataclass
class EpisodeRecord:
    scenario: str
    seed: int
    policy: str
    builds: list[Build] = field(default_factory=list)
    version: int = RECORD_VERSION

    @property
    def actions(self) -> list[int]:
        return [b.action for b in self.builds]

    @property
    def mean_reward(self) -> float:
        return float(np.mean([b.reward for b in self.builds])) if self.builds else float("nan")

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "EpisodeRecord":
        try:
            data = json.loads(Path(path).read_text())
            if data.get("version") != RECORD_VERSION:
                raise ValueError(f"record version {data.get('version')!r}, expected {RECORD_VERSION}")
            builds = [Build(**b) for b in data.pop("builds")]
            return cls(**data, builds=builds)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
            raise ValueError(f"{path}: not an episode record: {err}") from None


def run_episode(scenario: str | Scenario, policy, builds: int, seed: int, policy_name: str = "policy") -> EpisodeRecord:
    """Run ``builds`` builds with ``policy`` (an [N_STATES] array of actions, or an [N_STATES,
    N_ACTIONS] matrix of probabilities sampled with a generator derived from ``seed``)."""
    env = BuildPipelineEnv(scenario)
    policy = np.asarray(policy)
    policy_rng = np.random.default_rng([seed, 1])  # independent of the environment's stream
    env.reset(seed=seed)
    record = EpisodeRecord(scenario=env.scenario.name, seed=seed, policy=policy_name)
    for _ in range(builds):
        s = env.state_index
        action = int(policy[s]) if policy.ndim == 1 else int(policy_rng.choice(N_ACTIONS, p=policy[s]))
        _, reward, _, _, info = env.step(action)
        record.builds.append(
            Build(action, info["status"], info["failure_category"], info["duration_minutes"], info["cost_usd"], float(reward))
        )
    return record


def replay(record: EpisodeRecord, rel_tol: float = 1e-9) -> list[str]:
    """Re-run a record's actions from its seed; return one line per build that differs."""
    env = BuildPipelineEnv(get_scenario(record.scenario))
    env.reset(seed=record.seed)
    mismatches = []
    for i, expected in enumerate(record.builds):
        _, reward, _, _, info = env.step(expected.action)
        got = Build(expected.action, info["status"], info["failure_category"], info["duration_minutes"], info["cost_usd"], float(reward))
        for name in ("status", "failure_category", "duration_minutes", "cost_usd", "reward"):
            a, b = getattr(expected, name), getattr(got, name)
            same = math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12) if isinstance(a, float) else a == b
            if not same:
                mismatches.append(f"build {i}: {name} recorded {a!r}, replayed {b!r}")
    return mismatches
