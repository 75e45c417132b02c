"""What a CI team pays while an agent learns: the exact regret of the builds it actually ran.

Every build's cost is the exact expected shortfall of the configuration the agent chose, in the
state it chose it in, from the optimum of the scenario's phase at that build:

    regret of build t = (g* - r(s_t, a_t)) / |g*|

with ``r`` the exact expected reward (``BuildModel.expected_reward``, no sampling noise) and
``g*`` the optimal mean reward per build; summed over builds it is the **cumulative regret**, in
builds' worth of the optimal mean reward. The alternative a team always has is to run one
configuration for every build: a static configuration ``a`` costs its exact relative regret per
build, so its line after ``t`` builds is ``t x regret(a)`` (summed phase by phase in a drifting
scenario), and the **best static** configuration is the one whose line is lowest after the builds
so far. The **break-even build** is the first build after which the agent's cumulative regret
stays below that line (``None`` while it is above).

The agent is measured, never helped: nothing here reaches the agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoops import planning
from autoops.envs import BuildModel, Scenario
from autoops.envs.model import N_ACTIONS, N_STATES


@dataclass(frozen=True)
class Phase:
    """One stretch of builds with fixed dynamics, from build ``start`` on."""

    start: int
    model: BuildModel
    optimal_reward: float
    build_regret: np.ndarray  # [N_STATES, N_ACTIONS]: (g* - r(s, a)) / |g*|
    static_regret: np.ndarray  # [N_ACTIONS]: exact relative regret of running action a on every build


def phases(scenario: Scenario) -> list[Phase]:
    """The phases of ``scenario`` (one unless it drifts), each with its optimum and static regrets."""
    result = []
    for start, model in planning.phase_models(scenario):
        gain = planning.optimum(model).mean_reward
        static = [planning.evaluate(model, np.full(N_STATES, a), optimal_reward=gain).regret for a in range(N_ACTIONS)]
        build_regret = (gain - model.expected_reward) / abs(gain)
        build_regret.setflags(write=False)
        result.append(Phase(start, model, gain, build_regret, np.array(static)))
    return result


class LearningCost:
    """Counts the exact regret of each build as the agent runs it (``record``), and answers for the
    builds so far: ``cumulative``, ``best_static``, ``best_static_line``, ``break_even``,
    ``greedy_regret`` of a policy against the current phase's optimum.

    Memory is constant (no per-build history): for every static configuration it keeps its line
    and the last build at which the agent was not below it, so a service can run it forever."""

    def __init__(self, scenario: Scenario):
        self.scenario_name = scenario.name
        self.phases = phases(scenario)
        self.builds = 0
        self.cumulative = 0.0
        self.static_lines = np.zeros(N_ACTIONS)
        self.last_not_below = np.zeros(N_ACTIONS, dtype=np.int64)  # build count; 0: both start at 0
        self._phase_index = 0

    @property
    def phase(self) -> Phase:
        """The phase of the next build."""
        return self.phases[self._phase_index]

    def record(self, state: int, action: int) -> float:
        """Count one build; returns its exact regret."""
        while self._phase_index + 1 < len(self.phases) and self.builds >= self.phases[self._phase_index + 1].start:
            self._phase_index += 1
        phase = self.phases[self._phase_index]
        regret = float(phase.build_regret[state, action])
        self.builds += 1
        self.cumulative += regret
        self.static_lines += phase.static_regret
        self.last_not_below[self.cumulative >= self.static_lines] = self.builds
        return regret

    @property
    def best_static(self) -> int:
        """The static configuration with the least cumulative regret over the builds so far."""
        return int(np.argmin(self.static_lines))

    @property
    def best_static_line(self) -> float:
        return float(self.static_lines[self.best_static])

    @property
    def break_even(self) -> int | None:
        """The first build after which the agent stays below the best static line, or None."""
        last = int(self.last_not_below[self.best_static])
        return None if last >= self.builds else last + 1

    def greedy_regret(self, policy: np.ndarray, name: str = "greedy") -> planning.PolicyStats:
        """Exact long-run figures of ``policy`` in the phase of the latest build."""
        phase = self.phases[self._phase_index]
        return planning.evaluate(phase.model, policy, name, optimal_reward=phase.optimal_reward)

    # -- checkpoints: the counters only, the phases are rebuilt from the scenario ----------------
    def state_dict(self) -> dict:
        return {"builds": self.builds, "cumulative": self.cumulative, "static_lines": self.static_lines.tolist(),
                "last_not_below": self.last_not_below.tolist(), "phase_index": self._phase_index}

    def load_state_dict(self, state: dict) -> None:
        self.builds, self.cumulative = int(state["builds"]), float(state["cumulative"])
        self.static_lines = np.array(state["static_lines"], float)
        self.last_not_below = np.array(state["last_not_below"], np.int64)
        self._phase_index = int(state["phase_index"])

    def summary(self) -> dict:
        """The figures of metrics.json and of the services' gauges."""
        return {
            "builds": self.builds,
            "cumulative_regret": self.cumulative,
            "best_static_action": self.best_static,
            "best_static_cumulative_regret": self.best_static_line,
            "break_even_build": self.break_even,
        }


# -- what a run records at each evaluation (both loops: ``train`` for DQN, ``online`` for the rest)
CURVE_KEYS = ("steps", "regret", "cumulative_regret", "best_static_cumulative_regret")


def new_curve(*extra: str) -> dict[str, list]:
    return {key: [] for key in (*CURVE_KEYS, *extra)}


def record_evaluation(writer, curve: dict[str, list], step: int, stats: planning.PolicyStats, cost: LearningCost) -> None:
    """Append one evaluation to ``curve`` and write its TensorBoard tags (``writer``: a SummaryWriter)."""
    writer.add_scalar("eval/regret", stats.regret, step)
    writer.add_scalar("eval/cumulative_regret", cost.cumulative, step)
    writer.add_scalar("eval/best_static_cumulative_regret", cost.best_static_line, step)
    curve["steps"].append(int(step))
    curve["regret"].append(stats.regret)
    curve["cumulative_regret"].append(cost.cumulative)
    curve["best_static_cumulative_regret"].append(cost.best_static_line)


def final_figures(cost: LearningCost, stats: planning.PolicyStats | None) -> dict:
    """The top-level figures of metrics.json: the final greedy regret and the cost of learning."""
    return {"regret": stats.regret if stats else None, **cost.summary(), "cost_state": cost.state_dict()}
