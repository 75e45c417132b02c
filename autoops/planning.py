"""Exact planning on a scenario's model: the optimal policy, exact policy evaluation, baselines.

The objective is the **mean reward per build** (average reward, the long-run average under the
policy's stationary distribution), which is what an engineer would read off a dashboard. The
optimum is found by relative value iteration; any policy is evaluated exactly from its
stationary distribution, so a policy's regret is a number, not a noisy rollout.

Every chain here has a single recurrent class: the commit and the pool load mix on their own,
a stored cache can always be evicted and the janitor can always clean the workspace, so the
mean reward does not depend on where a run starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from autoops.envs.categories import OUTCOMES
from autoops.envs.model import N_ACTIONS, N_STATES, BuildModel, State, action_knobs, describe_action, shared_model
from autoops.envs.scenario import Scenario

Policy = np.ndarray  # [N_STATES, N_ACTIONS] probabilities, or [N_STATES] action ids


@dataclass(frozen=True)
class PolicyStats:
    """Exact long-run figures of one policy on one scenario (per build)."""

    policy: str
    mean_reward: float
    mean_duration_minutes: float
    mean_cost_usd: float
    failure_rate: float
    regret: float = float("nan")  # (optimal mean reward - this one) / |optimal mean reward|

    def as_dict(self) -> dict:
        return asdict(self)


def as_matrix(policy: Policy) -> np.ndarray:
    """A policy as an [N_STATES, N_ACTIONS] matrix of action probabilities."""
    policy = np.asarray(policy)
    if policy.shape == (N_STATES,):
        matrix = np.zeros((N_STATES, N_ACTIONS))
        matrix[np.arange(N_STATES), policy.astype(int)] = 1.0
        return matrix
    if policy.shape != (N_STATES, N_ACTIONS):
        raise ValueError(f"a policy is [{N_STATES}] action ids or [{N_STATES}, {N_ACTIONS}] probabilities, got {policy.shape}")
    return policy


def _chain(model: BuildModel, policy: Policy) -> np.ndarray:
    """The state-to-state transition matrix under ``policy``."""
    policy = np.asarray(policy)
    if policy.shape == (N_STATES,):  # deterministic: pick rows instead of averaging over actions
        return model.transitions[np.arange(N_STATES), policy.astype(int)]
    return np.einsum("sa,sat->st", as_matrix(policy), model.transitions)


def stationary_distribution(model: BuildModel, policy: Policy) -> np.ndarray:
    """The long-run share of builds in each state under ``policy``."""
    # Solve d (P - I) = 0 with sum(d) = 1: replace one balance equation by the normalisation.
    system = _chain(model, policy).T - np.eye(N_STATES)
    system[-1] = 1.0
    rhs = np.zeros(N_STATES)
    rhs[-1] = 1.0
    dist = np.clip(np.linalg.solve(system, rhs), 0.0, None)
    return dist / dist.sum()


def evaluate(model: BuildModel, policy: Policy, name: str = "policy", optimal_reward: float | None = None) -> PolicyStats:
    """Exact mean reward, duration, cost and failure rate per build of ``policy``."""
    weights = stationary_distribution(model, policy)[:, None] * as_matrix(policy)
    reward = float((weights * model.expected_reward).sum())
    regret = float("nan") if optimal_reward is None else (optimal_reward - reward) / abs(optimal_reward)
    return PolicyStats(
        policy=name,
        mean_reward=reward,
        mean_duration_minutes=float((weights * model.expected_duration).sum()),
        mean_cost_usd=float((weights * model.expected_cost).sum()),
        failure_rate=float((weights * model.failure_prob).sum()),
        regret=regret,
    )


def solve(model: BuildModel, tol: float = 1e-9, max_iterations: int = 100_000) -> tuple[np.ndarray, float]:
    """Relative value iteration: the optimal deterministic policy and its mean reward per build.

    The chain is made aperiodic by mixing each transition with a self-loop (tau = 0.5), which
    keeps the optimal policy and halves the bias; the mean reward is read off the evaluation.
    """
    tau = 0.5
    rewards, transitions = model.expected_reward, model.transitions
    h = np.zeros(N_STATES)
    for _ in range(max_iterations):
        q = rewards + transitions @ h
        best = tau * q.max(axis=1) + (1 - tau) * h
        new_h = best - best[0]
        span = np.ptp(new_h - h)
        h = new_h
        if span < tol:
            break
    else:
        raise RuntimeError(f"relative value iteration did not converge in {max_iterations} iterations")
    policy = (rewards + transitions @ h).argmax(axis=1)
    return policy, evaluate(model, policy).mean_reward


# -- the optimum, solved once per scenario and process ----------------------------------------
# Solving takes a fraction of a second, the baselines seconds, and training, evaluation and the
# services ask for them again and again. Keyed by the scenario's full parameters, so an edited
# scenario file is solved again; ``solve`` and ``solve_scenario`` stay uncached (the benchmark
# times them).
_CACHE: dict[tuple[str, str], object] = {}
_CACHE_LOCK = threading.Lock()
T = TypeVar("T")


def _cached(kind: str, model: BuildModel, compute: Callable[[BuildModel], T]) -> T:
    key = (kind, repr(model.scenario))
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = compute(model)  # outside the lock: two threads may both compute it once, never wait on each other
    with _CACHE_LOCK:
        return _CACHE.setdefault(key, value)


@dataclass(frozen=True)
class Optimum:
    """The optimal policy of a scenario, its mean reward per build and its stationary distribution."""

    policy: np.ndarray
    mean_reward: float
    stationary: np.ndarray


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)  # shared by every caller of the cache
    return array


def optimum(model: BuildModel) -> Optimum:
    """``solve(model)`` with the stationary distribution of its policy, cached."""

    @threadpool_limits.wrap(limits=1, user_api="blas")  # as solve_scenario: the same sums to the last bit
    def compute(model: BuildModel) -> Optimum:
        policy, gain = solve(model)
        return Optimum(_read_only(policy), gain, _read_only(stationary_distribution(model, policy)))

    return _cached("optimum", model, compute)


def q_values(model: BuildModel) -> np.ndarray:
    """Optimal average-reward Q-values (relative to state 0): Q(s, a) = r(s, a) - g + E[h(s')]."""
    best = optimum(model)
    policy, gain = best.policy, best.mean_reward
    # Bias of the optimal policy: h = r_pi - g + P_pi h, with h[0] = 0.
    system = np.eye(N_STATES) - _chain(model, policy)
    system[:, 0] = 1.0  # the column of h[0] carries the gain-free normalisation
    rhs = model.expected_reward[np.arange(N_STATES), policy] - gain
    h = np.linalg.solve(system, rhs)
    h[0] = 0.0
    return model.expected_reward - gain + model.transitions @ h


def phase_models(scenario: Scenario) -> list[tuple[int, BuildModel]]:
    """``[(first build, model), ...]`` of each phase of a drifting scenario (one entry for a
    static one), shared with the environments. Build ``t`` runs in phase
    ``scenario.phase_at(t)``; its regret is against ``optimum(model)`` of that phase."""
    return [(start, shared_model(phase)) for start, phase in scenario.phases()]


# -- baselines ------------------------------------------------------------------------------

# What a good engineer does after each failure: the knob that addresses it (on, or off for the cache).
HEURISTIC_RULES: dict[str, tuple[str, bool]] = {
    "build_oom": ("large_runner", True),
    "docker_pull_rate_limit": ("cache", True),
    "network_timeout_flaky_download": ("cache", True),
    "dependency_version_conflict": ("clean_build", True),
    "disk_full": ("clean_build", True),
    "test_timeout": ("shard_tests", True),
    "flaky_test": ("retry_tests", True),
    "cache_restore_failure": ("cache", False),
}


def heuristic_policy(base_action: int, rules: dict[str, tuple[str, bool]] = HEURISTIC_RULES) -> np.ndarray:
    """Run ``base_action``; right after a failure with a rule, switch that rule's knob."""
    policy = np.full(N_STATES, base_action)
    for index in range(N_STATES):
        last = OUTCOMES[State.from_index(index).last_outcome]
        if last in rules:
            knob, value = rules[last]
            knobs = action_knobs(base_action)
            knobs[knob] = value
            policy[index] = sum(1 << i for i, on in enumerate(knobs.values()) if on)
    return policy


# Hundreds of small (352 x 352) solves: one BLAS thread is several times faster than a pool
# of threads competing for two busy cores.
@threadpool_limits.wrap(limits=1, user_api="blas")
def tune_heuristic(model: BuildModel) -> tuple[np.ndarray, int, dict[str, tuple[str, bool]]]:
    """The best heuristic, tuned honestly by exact evaluation: for every base configuration, drop
    each rule that does not pay (one coordinate pass), and keep the best combination."""
    best = (-np.inf, None, None, None)
    for base in range(N_ACTIONS):
        rules = dict(HEURISTIC_RULES)
        score = evaluate(model, heuristic_policy(base, rules)).mean_reward
        for failure in HEURISTIC_RULES:
            trial = {k: v for k, v in rules.items() if k != failure}
            trial_score = evaluate(model, heuristic_policy(base, trial)).mean_reward
            if trial_score > score:
                rules, score = trial, trial_score
        if score > best[0]:
            knobs = action_knobs(base)
            rules = {failure: (knob, on) for failure, (knob, on) in rules.items() if knobs[knob] != on}  # drop no-ops
            best = (score, heuristic_policy(base, rules), base, rules)
    return best[1], best[2], best[3]


@dataclass(frozen=True)
class Solution:
    """The optimum and the baselines of one scenario."""

    scenario: str
    optimal_policy: np.ndarray
    optimal: PolicyStats
    baselines: list[PolicyStats]  # random, heuristic, best static, then every static configuration
    best_static_action: int
    heuristic_base_action: int
    heuristic_rules: dict

    def table(self) -> list[PolicyStats]:
        return [self.optimal, *self.baselines]


@threadpool_limits.wrap(limits=1, user_api="blas")
def solve_scenario(model: BuildModel, best: Optimum | None = None) -> Solution:
    """The optimum (``best`` if already solved) and every baseline, computed now."""
    policy, gain = (best.policy, best.mean_reward) if best is not None else solve(model)

    def stats(p, name):
        return evaluate(model, p, name, optimal_reward=gain)

    static = [stats(np.full(N_STATES, a), f"static {a:2d}: {describe_action(a)}") for a in range(N_ACTIONS)]
    best_static_action = int(np.argmax([s.mean_reward for s in static]))
    heuristic, base, rules = tune_heuristic(model)
    rule_words = ", ".join(f"{failure}->{'+' if on else '-'}{knob}" for failure, (knob, on) in rules.items())
    baselines = [
        stats(np.full((N_STATES, N_ACTIONS), 1 / N_ACTIONS), "uniform random"),
        stats(heuristic, f"heuristic (base {base}; {rule_words or 'no rules'})"),
        stats(np.full(N_STATES, best_static_action), f"best static ({best_static_action}: {describe_action(best_static_action)})"),
        *static,
    ]
    return Solution(
        scenario=model.scenario.name,
        optimal_policy=policy,
        optimal=stats(policy, "optimal"),
        baselines=baselines,
        best_static_action=best_static_action,
        heuristic_base_action=base,
        heuristic_rules=rules,
    )


def solution(model: BuildModel) -> Solution:
    """``solve_scenario(model)``, cached (it takes seconds)."""
    return _cached("solution", model, lambda model: solve_scenario(model, optimum(model)))


POLICY_NAMES = "optimal, heuristic, best-static, random or static:N (N an action id)"


def named_policy(model: BuildModel, name: str) -> np.ndarray:
    """A policy by name: ``POLICY_NAMES``. Random is a probability matrix, the rest action ids."""
    if name == "optimal":
        return optimum(model).policy.copy()
    if name == "heuristic":
        solved = solution(model)
        return heuristic_policy(solved.heuristic_base_action, solved.heuristic_rules)
    if name == "random":
        return np.full((N_STATES, N_ACTIONS), 1 / N_ACTIONS)
    if name == "best-static":
        return np.full(N_STATES, solution(model).best_static_action)
    if name.startswith("static:") and name[7:].isdigit() and int(name[7:]) < N_ACTIONS:
        return np.full(N_STATES, int(name[7:]))
    raise ValueError(f"unknown policy {name!r}; expected {POLICY_NAMES}")
