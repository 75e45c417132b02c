import pickle
import shutil

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from autoops.envs import (
    BuildPipelineEnv,
    ScenarioError,
    get_scenario,
    load_all,
    load_scenario,
)
from autoops.envs.model import shared_model
from autoops.envs.scenario import scenario_dir
from autoops.planning import evaluate, optimum, phase_models, solution

# Two changes early in the stream, so a test reaches them in a few builds: every commit becomes
# a large change after build 5, and failures cost far more after build 12.
DRIFTING = """name: Drifty
drift:
  - after_build: 5
    description: Everything is a large change.
    set:
      commits.large_change_prob: 1.0
  - after_build: 12
    description: Failures hurt.
    set:
      reward: {failure_weight: 200}
      recurrence.build_oom: 4
"""


@pytest.fixture
def folder(tmp_path):
    shutil.copy(scenario_dir() / "default.yaml", tmp_path / "default.yaml")
    return tmp_path


@pytest.fixture
def drifty(folder):
    (folder / "drifty.yaml").write_text(DRIFTING)
    return load_scenario(folder / "drifty.yaml")


def test_phases_apply_each_drift_on_the_previous_phase(drifty):
    (start0, p0), (start1, p1), (start2, p2) = drifty.phases()
    assert (start0, start1, start2) == (0, 5, 12)
    assert not (p0.drift or p1.drift or p2.drift) and {p0.name, p1.name, p2.name} == {"Drifty"}
    assert p0.commits.large_change_prob == 0.25 and p1.commits.large_change_prob == 1.0 == p2.commits.large_change_prob
    assert p1.reward.failure_weight == 20.0 and p2.reward.failure_weight == 200.0
    assert p2.recurrence["build_oom"] == 4.0 and p2.recurrence["flaky_test"] == p0.recurrence["flaky_test"]
    assert p1.description == "Everything is a large change."
    assert [drifty.phase_at(t) for t in (0, 4, 5, 11, 12, 10**6)] == [0, 0, 1, 1, 2, 2]


def test_static_scenarios_are_their_own_single_phase_and_keep_their_repr():
    for scenario in load_all().values():
        if scenario.name != "DriftingPool":
            assert scenario.drift == () and scenario.phases() == [(0, scenario)]
            assert "drift" not in repr(scenario)


def test_a_drifting_scenario_has_the_model_of_its_phase_0(drifty):
    (_, p0), (_, p1), _ = drifty.phases()
    assert repr(drifty) == repr(p0) and drifty != p0
    assert shared_model(drifty) is shared_model(p0) is not shared_model(p1)
    assert [model for _, model in phase_models(drifty)] == [shared_model(p) for _, p in drifty.phases()]


@pytest.mark.parametrize("drift,field,expected", [
    ("[{after_build: 10, description: x, set: {runner_pool.rise_prob: 1.5}}]", "drift[0].set.runner_pool.rise_prob", r"in \[0.001, 1"),
    ("[{after_build: 10, description: x, set: {runner_pool: {rise: 0.5}}}]", "drift[0].set.runner_pool.rise", "unknown field 'runner_pool.rise'"),
    ("[{after_build: 10, description: x, set: {failures.docker_pull_rate_limit: [0.6, 0.2]}}]",
     "drift[0].set.failures.docker_pull_rate_limit", "low <= high"),
    ("[{after_build: 10, description: x, set: {recurrence.gremlins: 2}}]", "drift[0].set.recurrence.gremlins", "unknown failure category"),
    ("[{after_build: 10, description: x, set: {runners.large: 3}}]", "drift[0].set.runners.large", "one number or"),
    ("[{after_build: 10, description: x, set: {cache.eviction_prob.x: 3}}]", "drift[0].set.cache.eviction_prob.x", "single value"),
    ("[{after_build: 10, description: x, set: {toolchain: npm}}]", "drift[0].set.toolchain", "does not drift"),
    ("[{after_build: 10, description: x, set: {}}]", "drift[0].set", "expected a mapping of dotted field paths"),
    ("[{after_build: 0, description: x, set: {cache.eviction_prob: 0.5}}]", "drift[0].after_build", r"in \[1, "),
    ("[{after_build: 10, description: x, set: {cache.eviction_prob: 0.5}}, {after_build: 10, description: y, set: {cache.eviction_prob: 0.6}}]",
     "drift[1].after_build", "above the previous phase's 10"),
    ("[{after_build: 10, description: x, set: {cache.eviction_prob: 0.5}, when: now}]", "drift[0].when", "unknown field"),
    ("[{after_build: 10, set: {cache.eviction_prob: 0.5}}]", "drift[0].description", "missing"),
    ("[{after_build: 10, description: x, set: {cache.eviction_prob: 0.5, cache: {eviction_prob: 0.6}}}]", "drift[0].set.cache.eviction_prob", "set twice"),
    ("{after_build: 10}", "drift", "expected a list of phases"),
])
def test_a_bad_drift_names_the_file_and_the_field(folder, drift, field, expected):
    path = folder / "broken.yaml"
    path.write_text(f"name: Broken\ndrift: {drift}\n")
    with pytest.raises(ScenarioError, match=expected) as err:
        load_scenario(path)
    assert str(path) in str(err.value) and f"'{field}'" in str(err.value)


def _run(env, steps, seed=0, reset_every=None):
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = []
    for t, a in enumerate(rng.integers(32, size=steps)):
        if reset_every and t and t % reset_every == 0:
            env.reset()
        obs, reward, _, _, info = env.step(a)
        out.append((obs.tolist(), reward, info["phase"]))
    return out


def test_the_env_switches_phase_at_after_build_across_resets(drifty):
    env = BuildPipelineEnv(drifty, error_logs=False)
    models = [model for _, model in phase_models(drifty)]
    assert env.model is models[0] and (env.builds, env.phase) == (0, 0)
    run = _run(env, 30, reset_every=3)  # resets do not restart the stream
    assert [phase for _, _, phase in run] == [0] * 5 + [1] * 7 + [2] * 18
    assert (env.builds, env.phase) == (30, 2) and env.model is models[2]
    # from build 5 on every next state is drawn from the phase-1 world: only large changes (25 in
    # a row by chance in phase 0: 0.25 ** 25)
    assert all(obs[0] == 1.0 for obs, _, _ in run[5:])
    # phase 2's failure weight is in the reward: every failed build costs over 200
    env = BuildPipelineEnv(drifty, error_logs=False)
    env.reset(seed=0)
    for a in np.random.default_rng(0).integers(32, size=400):
        _, reward, _, _, info = env.step(a)
        if info["phase"] == 2 and info["status"] == "failure":
            assert reward < -200
        if info["phase"] < 2 and info["status"] == "failure":
            assert reward > -200


def test_same_seed_same_stream_and_pickling_keeps_the_phase(drifty):
    assert _run(BuildPipelineEnv(drifty), 40, seed=4) == _run(BuildPipelineEnv(drifty), 40, seed=4)
    env = BuildPipelineEnv(drifty, error_logs=False)
    _run(env, 8, seed=2)
    copy = pickle.loads(pickle.dumps(env))
    assert (copy.builds, copy.phase) == (8, 1) and copy.model is env.model
    actions = np.random.default_rng(9).integers(32, size=20)

    def steps(e):
        return [(o.tolist(), r, i["phase"]) for o, r, _, _, i in (e.step(a) for a in actions)]

    assert steps(copy) == steps(env)
    assert (copy.builds, copy.phase) == (28, 2)


def test_a_static_scenario_has_no_phase_in_its_info():
    env = BuildPipelineEnv("NodeWebapp")
    env.reset(seed=0)
    assert "phase" not in env.step(1)[4] and env.builds == 1 and env.phase == 0


def test_check_env_passes_for_a_drifting_scenario(drifty):
    check_env(BuildPipelineEnv(drifty), skip_render_check=True)


def test_drifting_pool_changes_its_optimum_at_the_change_point():
    scenario = get_scenario("AutoOps/DriftingPool-v0")
    (start0, before), (start1, after) = phase_models(scenario)
    assert (start0, start1) == (0, 20_000)
    old, new = optimum(before), optimum(after)
    assert (old.policy != new.policy).mean() > 0.2  # a third of the states change their best configuration
    stale = evaluate(after, old.policy, optimal_reward=new.mean_reward)
    assert stale.regret > 0.1, stale  # measured 13.9%: not noticing the change costs
    assert solution(before).best_static_action != solution(after).best_static_action
    assert before.scenario.runner_pool.rise_prob < after.scenario.runner_pool.rise_prob
