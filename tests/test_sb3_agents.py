"""The SB3 agents (``dqn``, ``ppo``) fed one build at a time: they learn, they are reproducible,
they save and load exactly, and DQN continues a run folder of ``autoops train``."""

import copy

import numpy as np
import pytest
import torch

from autoops.envs import N_ACTIONS, N_STATES, BuildPipelineEnv
from autoops.optimizer.agents import agent_class
from autoops.optimizer.agents.ppo_settings import PPOSettings
from autoops.optimizer.agents.sb3 import DQNAgent, PPOAgent
from autoops.optimizer.evaluate import greedy_policy
from autoops.optimizer.runs import MODEL, RunError
from autoops.optimizer.settings import resolve_settings


def make(name: str, seed: int = 0):
    if name == "dqn":  # configs/dqn.yaml's settings; learning starts at build 1000
        return DQNAgent(resolve_settings("BuildPipeline"), seed)
    return PPOAgent(PPOSettings(n_steps=512, batch_size=128, n_epochs=4), seed)  # faster than the defaults


def new_env(seed: int = 0, scenario: str = "BuildPipeline"):
    env = BuildPipelineEnv(scenario, error_logs=False)
    _, info = env.reset(seed=seed)
    return env, info["state_index"]


def stream(agent, env, state: int, builds: int) -> tuple[list[int], int]:
    """The lead's loop: act, build, observe. Returns the actions and the last state."""
    actions = []
    for _ in range(builds):
        action = agent.act(state)
        _, reward, _, _, info = env.step(action)
        agent.observe(state, action, reward, info["state_index"])
        actions.append(action)
        state = info["state_index"]
    return actions, state


@pytest.mark.parametrize("name", ["dqn", "ppo"])
def test_an_agent_learns_from_a_stream_of_builds_reproducibly(name):
    np.random.seed(123)
    outer, outer_torch = np.random.get_state()[1].copy(), torch.get_rng_state()
    agent = make(name)
    before = agent.policy()
    actions, _ = stream(agent, *new_env(), 2_000)
    assert agent_class(name) is type(agent) and agent.num_timesteps == 2_000
    policy = agent.policy()
    assert policy.shape == (N_STATES,) and policy.dtype.kind == "i"
    assert policy.min() >= 0 and policy.max() < N_ACTIONS
    assert not np.array_equal(policy, before)  # it trained
    assert len(set(actions)) == N_ACTIONS  # it explored
    # the caller's streams are untouched: building the model and training used the agent's own
    assert np.array_equal(np.random.get_state()[1], outer) and torch.equal(torch.get_rng_state(), outer_torch)

    again = make(name)
    assert stream(again, *new_env(), 2_000)[0] == actions
    assert np.array_equal(again.policy(), policy)
    assert stream(make(name, seed=1), *new_env(), 2_000)[0] != actions


@pytest.mark.parametrize("name", ["dqn", "ppo"])
def test_a_saved_agent_continues_exactly(name, tmp_path):
    agent = make(name)
    env, state = new_env()
    _, state = stream(agent, env, state, 1_300)  # DQN: training; PPO: halfway through its third rollout
    agent.save(tmp_path)
    loaded = type(agent).load(tmp_path)
    assert loaded.num_timesteps == 1_300 and loaded.settings == agent.settings
    twin = copy.deepcopy(env)
    # DQN: target updates and training phases after loading; PPO: a policy update
    assert stream(loaded, twin, state, 900)[0] == stream(agent, env, state, 900)[0]
    assert np.array_equal(loaded.policy(), agent.policy())


def test_load_names_what_is_wrong(tmp_path):
    agent = make("ppo")
    agent.save(tmp_path)
    with pytest.raises(RunError, match="'ppo' agent, not 'dqn'"):
        DQNAgent.load(tmp_path)
    model = tmp_path / MODEL
    model.write_bytes(model.read_bytes()[:-10])
    with pytest.raises(RunError, match="model.zip"):
        PPOAgent.load(tmp_path)


def test_dqn_keeps_learning_from_a_trained_run(trained_run):
    outer_torch = torch.get_rng_state()
    agent = DQNAgent.from_run(trained_run)
    assert torch.equal(torch.get_rng_state(), outer_torch)
    saved = agent.model.replay_buffer.pos
    assert agent.num_timesteps == 600 and saved > 500  # the run's model and replay buffer
    assert np.array_equal(agent.policy(), greedy_policy(trained_run))
    assert agent.epsilon < 1.0  # past learning_starts: epsilon-greedy on the run's network
    stream(agent, *new_env(scenario="NodeWebapp"), 400)
    assert agent.num_timesteps == 1_000 and agent.model.replay_buffer.pos == saved + 400
