"""The optimizer agent on a run trained here (a few thousand steps)."""

import numpy as np
import pytest

from autoops.agents import AgentUnavailable
from autoops.agents.optimizer import OptimizerAgent, latest_run
from autoops.envs.model import observation


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from autoops.optimizer.train import train

    root = tmp_path_factory.mktemp("runs")
    train("NodeWebapp", seed=0, overrides=["total_timesteps=1500", "learning_starts=500", "eval_freq=1500"],
          run_root=root, progress=False)
    return root


def test_best_action_is_the_greedy_action_of_the_latest_run(runs):
    from autoops.optimizer.evaluate import greedy_policy

    agent = OptimizerAgent(runs)
    run = latest_run("NodeWebapp", runs)
    policy = greedy_policy(run)
    for state in (0, 17, 200, 351):
        by_state = agent.best_action("NodeWebapp", state_index=state)
        by_obs = agent.best_action("AutoOps/NodeWebapp-v0", observation=observation(state).tolist())
        assert by_state["action_id"] == by_obs["action_id"] == policy[state]
        assert len(by_state["q_values"]) == 32 and np.argmax(by_state["q_values"]) == by_state["action_id"]


def test_no_trained_run_says_how_to_train_one(runs):
    with pytest.raises(AgentUnavailable, match="autoops train --scenario JvmMonorepo"):
        OptimizerAgent(runs).best_action("JvmMonorepo", state_index=0)


def test_bad_observation_is_a_clear_error(runs):
    agent = OptimizerAgent(runs)
    with pytest.raises(ValueError, match="16 numbers"):
        agent.best_action("NodeWebapp", observation=[0.5] * 3)
    with pytest.raises(ValueError, match="exactly one"):
        agent.best_action("NodeWebapp")
