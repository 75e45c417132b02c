"""The exact cost of misdiagnosis: a policy reading the responder's diagnosis, scored on the exact model."""

import numpy as np
import pytest

from autoops.diagnosis import confusion_matrix, diagnosed_policy, misdiagnosis_cost
from autoops.envs import OUTCOMES, BuildModel, get_scenario
from autoops.envs.model import N_OUTCOMES
from autoops.planning import evaluate, solve_scenario


@pytest.fixture(scope="module")
def python_library():
    model = BuildModel(get_scenario("PythonLibrary"))
    return model, solve_scenario(model)


def test_a_perfect_diagnosis_costs_nothing(python_library):
    model, solution = python_library
    cost = misdiagnosis_cost(model, solution.optimal_policy, np.eye(N_OUTCOMES), solution.optimal.mean_reward)
    assert cost.cost == pytest.approx(0.0, abs=1e-9) and cost.accuracy == 1.0


def test_the_optimal_policy_loses_reward_when_it_is_never_told_of_a_failure(python_library):
    model, solution = python_library
    blind = np.zeros((N_OUTCOMES, N_OUTCOMES))
    blind[:, 0] = 1.0
    cost = misdiagnosis_cost(model, solution.optimal_policy, blind, solution.optimal.mean_reward)
    assert cost.accuracy == 0.0 and cost.cost > 0 and cost.diagnosed.regret > 0
    assert cost.blind.mean_reward == pytest.approx(cost.diagnosed.mean_reward)


def test_a_diagnosed_policy_is_a_distribution_that_follows_the_confusion():
    confusion = np.eye(N_OUTCOMES)
    disk_full = OUTCOMES.index("disk_full")
    confusion[disk_full] = 0.0
    confusion[disk_full, 0], confusion[disk_full, OUTCOMES.index("build_oom")] = 0.25, 0.75
    policy = np.arange(N_OUTCOMES * 32) % 32  # a different action for every observed outcome
    matrix = diagnosed_policy(policy, confusion)
    assert np.allclose(matrix.sum(axis=1), 1.0)
    assert matrix[disk_full, 0] == 0.25 and matrix[disk_full, OUTCOMES.index("build_oom")] == 0.75


def test_confusion_of_the_real_responder_on_simulated_logs(python_library):
    from autoops.responder import Responder

    model, solution = python_library
    confusion = confusion_matrix(Responder.from_config(generator="extractive"), "python", samples=4, seed=3)
    assert np.allclose(confusion.sum(axis=1), 1.0) and confusion[0, 0] == 1.0
    assert np.mean(np.diag(confusion)[1:]) > 0.7  # the responder mostly names the simulator's categories
    again = confusion_matrix(Responder.from_config(generator="extractive"), "python", samples=4, seed=3)
    assert np.array_equal(confusion, again)
    cost = misdiagnosis_cost(model, solution.optimal_policy, confusion, solution.optimal.mean_reward)
    # a policy that sees through a noisy channel is still a policy of the same chain: never better than optimal
    assert cost.diagnosed.mean_reward <= solution.optimal.mean_reward + 1e-9
    assert evaluate(model, solution.optimal_policy).mean_reward == pytest.approx(cost.truth.mean_reward)
