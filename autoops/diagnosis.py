"""What a misdiagnosis costs, exactly: a policy that reads the responder's diagnosis instead of
the simulator's true failure category, evaluated on the exact model.

In diagnosis-in-the-loop mode the optimizer observes the last outcome as the responder reported
it: the predicted category of a failure's log, or success when the responder declined. With a
confusion matrix ``C[true outcome, observed outcome]`` (estimated by running the responder on the
simulator's own logs) a deterministic policy ``pi`` becomes the stochastic policy

    P(action a | true state s) = sum_o C[outcome(s), o] * [pi(s with outcome o) == a]

on the same Markov chain, which :func:`autoops.planning.evaluate` scores exactly. The only
sampling left is in the estimate of ``C`` (``samples`` logs per category).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from autoops.envs import OUTCOMES
from autoops.envs.logs import render_log
from autoops.envs.model import N_ACTIONS, N_OUTCOMES, N_STATES, BuildModel
from autoops.planning import PolicyStats, evaluate


def confusion_matrix(responder, toolchain: str, samples: int = 30, seed: int = 0, progress: bool = False) -> np.ndarray:
    """``C[true, observed]`` over OUTCOMES: the responder's category for ``samples`` simulated logs
    of each failure category in ``toolchain`` (a decline or an unknown category reads as success,
    as the controller does). Successes have no log and are always observed as such."""
    rng = random.Random(seed)
    confusion = np.zeros((N_OUTCOMES, N_OUTCOMES))
    confusion[0, 0] = 1.0
    cases = [(true, render_log(OUTCOMES[true], toolchain, rng)) for true in range(1, N_OUTCOMES) for _ in range(samples)]
    for true, log in tqdm(cases, desc="diagnosing simulated logs", disable=not progress):
        suggestion = responder.suggest(log, generator="extractive")
        category = None if suggestion.declined else suggestion.category
        confusion[true, OUTCOMES.index(category) if category in OUTCOMES else 0] += 1.0 / samples
    return confusion


def diagnosed_policy(policy: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """The stochastic policy (states x actions) that a deterministic ``policy`` becomes when it
    sees the last outcome through ``confusion``."""
    matrix = np.zeros((N_STATES, N_ACTIONS))
    for state in range(N_STATES):
        factors, true = divmod(state, N_OUTCOMES)
        for observed in np.flatnonzero(confusion[true]):
            matrix[state, policy[factors * N_OUTCOMES + observed]] += confusion[true, observed]
    return matrix


@dataclass
class MisdiagnosisCost:
    truth: PolicyStats  # the policy reading the simulator's true category
    diagnosed: PolicyStats  # the same policy reading the responder's diagnosis
    blind: PolicyStats  # the same policy told every build succeeded: what diagnosis is worth at all
    accuracy: float  # share of failure logs whose category the responder got right (macro over categories)

    @property
    def cost(self) -> float:
        """Mean reward per build lost to misdiagnosis (>= 0 for the optimal policy)."""
        return self.truth.mean_reward - self.diagnosed.mean_reward


def misdiagnosis_cost(model: BuildModel, policy: np.ndarray, confusion: np.ndarray, optimal_reward: float | None = None) -> MisdiagnosisCost:
    truth = evaluate(model, policy, "true category", optimal_reward)
    diagnosed = evaluate(model, diagnosed_policy(policy, confusion), "responder's diagnosis", optimal_reward)
    never_told = np.zeros_like(confusion)
    never_told[:, 0] = 1.0
    blind = evaluate(model, diagnosed_policy(policy, never_told), "no diagnosis", optimal_reward)
    return MisdiagnosisCost(truth, diagnosed, blind, float(np.mean(np.diag(confusion)[1:])))
