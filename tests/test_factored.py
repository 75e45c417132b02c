"""The ``factored`` agent: it learns from builds alone, is reproducible, and saves and loads exactly."""

import copy
import dataclasses

import numpy as np
import pytest

from autoops import planning
from autoops.envs import BuildPipelineEnv
from autoops.optimizer.agents import agent_class
from autoops.optimizer.agents.factored import FactoredAgent, FactoredSettings


def stream(agent, env, builds, state):
    """``builds`` builds of one continuing stream; the actions taken and the state reached."""
    actions = []
    for _ in range(builds):
        a = agent.act(state)
        _, reward, _, _, info = env.step(a)
        agent.observe(state, a, reward, info["state_index"])
        state = info["state_index"]
        actions.append(a)
    return actions, state


def start(scenario="JvmMonorepo", seed=0):
    env = BuildPipelineEnv(scenario, error_logs=False)
    env.reset(seed=seed)
    return env, env.state_index


def test_registered_and_every_setting_has_help():
    assert agent_class("factored") is FactoredAgent and FactoredAgent.Settings is FactoredSettings
    for f in dataclasses.fields(FactoredSettings):
        assert f.metadata["help"].strip(), f.name


def test_learns_a_good_policy_and_soon_pays_less_per_build_than_the_best_static_configuration():
    env, state = start()
    model = env.model
    best = planning.optimum(model).mean_reward
    static = max(planning.evaluate(model, np.full(352, a)).mean_reward for a in range(32))
    agent = FactoredAgent(FactoredSettings(), seed=0)
    regret = np.zeros(3000)  # of each build's configuration, exact, in builds' worth of the optimum
    for t in range(3000):
        a = agent.act(state)
        regret[t] = (best - model.expected_reward[state, a]) / abs(best)
        _, reward, _, _, info = env.step(a)
        agent.observe(state, a, reward, info["state_index"])
        state = info["state_index"]
    greedy = planning.evaluate(model, agent.policy(), optimal_reward=best).regret
    print(f"greedy {greedy:.4f}, last 1,000 builds {regret[-1000:].mean():.4f}, best static {(best - static) / abs(best):.4f}")
    assert greedy < 0.04  # a uniformly random policy is ~40% off
    assert regret[-1000:].mean() < 0.5 * (best - static) / abs(best)


def test_same_seed_same_builds_and_policy():
    runs = []
    for _ in range(2):
        env, state = start(seed=3)
        agent = FactoredAgent(FactoredSettings(first_replan=20, replan_every=100), seed=7)
        actions, _ = stream(agent, env, 600, state)
        runs.append((actions, agent.policy()))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])


def test_a_saved_and_loaded_agent_continues_exactly(tmp_path):
    settings = FactoredSettings(first_replan=20, replan_every=150)
    env, state = start(seed=1)
    agent = FactoredAgent(settings, seed=5)
    stream(agent, env, 430, state)  # mid-interval: the next re-planning (with fresh random draws) is pending
    state = env.state_index
    agent.save(tmp_path / "agent")
    loaded = FactoredAgent.load(tmp_path / "agent")
    twin_env = copy.deepcopy(env)
    kept, _ = stream(agent, env, 500, state)
    resumed, _ = stream(loaded, twin_env, 500, state)
    assert kept == resumed
    assert np.array_equal(agent.policy(), loaded.policy())
    assert loaded.settings == settings and loaded.seed == 5


def test_load_from_an_empty_folder_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="factored.json"):
        FactoredAgent.load(tmp_path)


def test_never_reads_the_exact_model(monkeypatch):
    """Fed builds recorded beforehand, the agent learns and plans with every way to the exact
    model and the exact planner broken."""
    env, state = start("NodeWebapp", seed=2)
    rng = np.random.default_rng(0)
    builds = []
    for _ in range(800):
        a = int(rng.integers(32))
        _, reward, _, _, info = env.step(a)
        builds.append((state, a, reward, info["state_index"]))
        state = info["state_index"]

    def forbidden(*args, **kwargs):
        raise AssertionError("the factored agent read the exact model")

    import autoops.envs.model as model_module

    monkeypatch.setattr(model_module, "BuildModel", forbidden)
    monkeypatch.setattr(model_module, "shared_model", forbidden)
    for name in ("solve", "optimum", "evaluate", "q_values", "solution", "solve_scenario"):
        monkeypatch.setattr(planning, name, forbidden)
    agent = FactoredAgent(FactoredSettings(first_replan=50, replan_every=200), seed=0)
    for s, a, reward, s2 in builds:
        agent.act(s)
        agent.observe(s, a, reward, s2)
    policy = agent.policy()
    assert policy.shape == (352,) and policy.min() >= 0 and policy.max() < 32
