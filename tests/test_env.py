import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium.utils.env_checker import check_env

import autoops  # noqa: F401  (registers the ids)
from autoops.envs import FAILURES, N_ACTIONS, N_STATES, OUTCOMES, BuildPipelineEnv, State, describe_action, load_all

SCENARIOS = list(load_all())


@pytest.mark.parametrize("name", SCENARIOS)
def test_check_env_passes_for_every_registered_scenario(name):
    scenario = load_all()[name]
    env = gym.make(scenario.env_id)
    assert env.spec.max_episode_steps == scenario.episode_length
    check_env(env.unwrapped, skip_render_check=False)


def test_default_id_is_registered():
    assert gym.make("AutoOps/BuildPipeline-v0").unwrapped.scenario.name == "BuildPipeline"


def _trajectory(seed, steps=300):
    env = BuildPipelineEnv("JvmMonorepo")
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(7)
    out = [obs.tolist()]
    for a in rng.integers(N_ACTIONS, size=steps):
        obs, reward, _, _, info = env.step(a)
        out.append((obs.tolist(), reward, info.get("failure_category"), info.get("error_log")))
    return out


def test_same_seed_same_episode_and_different_seed_differs():
    assert _trajectory(3) == _trajectory(3)
    assert _trajectory(3) != _trajectory(4)


def test_reseeding_mid_episode_restarts_the_stream():
    env = BuildPipelineEnv()
    env.reset(seed=11)
    first = [env.step(1)[1] for _ in range(10)]
    env.reset(seed=11)
    assert [env.step(1)[1] for _ in range(10)] == first


def test_every_failure_carries_an_error_log_and_a_taxonomy_category(shared_dir):
    taxonomy = {c["id"] for c in yaml.safe_load((shared_dir / "incident_taxonomy.yaml").read_text())["categories"]}
    assert set(FAILURES) <= taxonomy
    env = BuildPipelineEnv("NodeWebapp")
    env.reset(seed=0)
    seen = set()
    for i in range(3000):
        _, _, _, _, info = env.step(i % N_ACTIONS)
        if info["status"] == "failure":
            seen.add(info["failure_category"])
            assert info["failure_category"] in taxonomy
            assert len(info["error_log"].splitlines()) >= 3
        else:
            assert "error_log" not in info and info["failure_category"] is None
    assert len(seen) >= 8, seen


def test_state_index_round_trips_and_observation_encodes_it():
    env = BuildPipelineEnv()
    for index in range(N_STATES):
        state = State.from_index(index)
        assert state.index == index
        obs = env.model.observations[index]
        assert obs[: 5].tolist() == [state.large_change, state.deps_changed, state.cache_warm, state.pool_high, state.disk_high]
        assert obs[5 + state.last_outcome] == 1 and obs[5:].sum() == 1


def test_model_is_a_proper_distribution_everywhere():
    for name in SCENARIOS:
        model = BuildPipelineEnv(name).model
        np.testing.assert_allclose(model.outcome_probs.sum(-1), 1.0, atol=1e-12)
        np.testing.assert_allclose(model.transitions.sum(-1), 1.0, atol=1e-12)
        assert (model.outcome_probs >= 0).all() and (model.duration > 0).all() and (model.cost >= 0).all()
        # the next state's last outcome is this build's outcome
        by_outcome = model.transitions.reshape(N_STATES, N_ACTIONS, -1, len(OUTCOMES)).sum(axis=2)
        np.testing.assert_allclose(by_outcome, model.outcome_probs, atol=1e-12)


def test_action_descriptions_follow_the_seed_design():
    assert describe_action(1) == "use cache"
    assert len({describe_action(a) for a in range(N_ACTIONS)}) == N_ACTIONS >= 8


def test_bad_action_is_a_clear_error():
    env = BuildPipelineEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="outside the action space"):
        env.step(N_ACTIONS)


def test_knobs_move_the_failures_they_should():
    """A sanity check of the mechanics, on the exact model: each knob fixes what it claims."""
    model = BuildPipelineEnv("JvmMonorepo").model
    o = OUTCOMES.index
    big_commit_after_oom = State(1, 0, 1, 0, 0, o("build_oom")).index
    assert model.outcome_probs[big_commit_after_oom, 1 + 2, o("build_oom")] < 0.1 * model.outcome_probs[big_commit_after_oom, 1, o("build_oom")]
    full_disk = State(0, 0, 1, 0, 1, 0).index
    assert model.outcome_probs[full_disk, 1 + 16, o("disk_full")] == 0 < model.outcome_probs[full_disk, 1, o("disk_full")]
    flaky = State(0, 0, 1, 0, 0, o("flaky_test")).index
    assert model.outcome_probs[flaky, 1 + 8, o("flaky_test")] < 0.5 * model.outcome_probs[flaky, 1, o("flaky_test")]


def test_turning_error_logs_off_keeps_the_outcomes():
    def run(logs):
        env = BuildPipelineEnv("PythonLibrary", error_logs=logs)
        env.reset(seed=9)
        steps = [env.step(a % N_ACTIONS) for a in range(500)]
        assert any("error_log" in info for *_, info in steps) == logs
        return [(reward, info["failure_category"], info["duration_minutes"]) for _, reward, _, _, info in steps]

    assert run(True) == run(False)
