import pickle
from functools import partial
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env

import autoops  # noqa: F401  (registers the ids)
from autoops import paths
from autoops.envs import FAILURES, N_ACTIONS, N_STATES, OUTCOMES, BuildPipelineEnv, State, describe_action, load_all, load_scenario
from autoops.envs import model as model_module

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


def test_every_failure_carries_an_error_log_and_a_taxonomy_category():
    taxonomy = {c["id"] for c in yaml.safe_load(paths.taxonomy_file().read_text())["categories"]}
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


NODE = "AutoOps/NodeWebapp-v0"


def _steps(env, actions):
    return [(obs.tolist(), reward, info.get("failure_category"), info["duration_minutes"]) for obs, reward, _, _, info in map(env.step, actions)]


def test_stable_baselines3_one_liners_work():
    """SB3 makes its environments with render_mode="rgb_array"."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env(NODE, n_envs=2)
    vec.reset()
    vec.step(np.array([1, 17]))
    assert [image.shape for image in vec.get_images()] == [(64, 112, 3)] * 2
    vec.close()
    PPO("MlpPolicy", NODE, n_steps=32, batch_size=32, n_epochs=1, device="cpu").learn(32)


def test_subprocess_workers_give_the_same_numbers_as_in_process():
    # "spawn": each worker starts from nothing, imports autoops (the "module:" prefix of the id)
    # and builds its own model
    make = [partial(gym.make, f"autoops:{NODE}", error_logs=False)] * 2
    workers, local = gym.vector.AsyncVectorEnv(make, context="spawn"), gym.vector.SyncVectorEnv(make)
    try:
        results = []
        for envs in (workers, local):
            obs, _ = envs.reset(seed=[5, 6])
            out = [obs.tolist()]
            for actions in np.random.default_rng(0).integers(N_ACTIONS, size=(100, 2)):
                obs, reward, _, _, info = envs.step(actions)
                out.append((obs.tolist(), reward.tolist(), info["duration_minutes"].tolist()))
            results.append(out)
        assert results[0] == results[1]
    finally:
        workers.close()
        local.close()


@pytest.mark.parametrize("wrapped", [False, True])
def test_env_pickles_small_and_continues_identically(wrapped):
    env = gym.make(NODE) if wrapped else BuildPipelineEnv("NodeWebapp")
    env.reset(seed=3)
    _steps(env, range(20))
    data = pickle.dumps(env)
    assert len(data) < 200_000  # measured ~74 kB; the model made it 66 MB
    shared = pickle.loads(data)
    assert shared.unwrapped.model is env.unwrapped.model
    model_module._MODELS.clear()  # as in a fresh process
    rebuilt = pickle.loads(data)
    assert rebuilt.unwrapped.model is not env.unwrapped.model
    actions = np.random.default_rng(1).integers(N_ACTIONS, size=300)
    expected = _steps(env, actions)
    assert _steps(shared, actions) == expected and _steps(rebuilt, actions) == expected


def test_envs_share_a_model_until_the_scenario_file_changes(tmp_path):
    source = Path(load_all()["NodeWebapp"].source)
    for name in ("default.yaml", source.name):
        (tmp_path / name).write_text((source.parent / name).read_text())
    path = tmp_path / source.name
    before = BuildPipelineEnv(load_scenario(path))
    assert BuildPipelineEnv(load_scenario(path)).model is before.model
    data = yaml.safe_load(path.read_text())
    data.setdefault("commits", {})["large_change_prob"] = 0.5
    path.write_text(yaml.safe_dump(data))
    after = BuildPipelineEnv(load_scenario(path))
    assert after.model is not before.model
    assert not np.array_equal(after.model.transitions, before.model.transitions)
    with pytest.raises(ValueError, match="read-only"):
        after.model.transitions[0, 0, 0] = 1.0  # shared, so nobody may change it


def test_rgb_array_frames_show_the_state_and_the_last_build():
    env = BuildPipelineEnv("NodeWebapp", render_mode="rgb_array")
    frames = []
    for index in range(0, N_STATES, 7):
        env.reset(seed=0, options={"state_index": index})
        frames.append(env.render())
        assert frames[-1].shape == (64, 112, 3) and frames[-1].dtype == np.uint8
    assert len({frame.tobytes() for frame in frames}) == len(frames)
    env.reset(seed=0, options={"state_index": 0})
    np.testing.assert_array_equal(env.render(), frames[0])
    env.step(31)
    assert not np.array_equal(env.render(), frames[0])


def test_render_collection_and_human_mode(capsys):
    env = gym.wrappers.RenderCollection(gym.make(NODE, render_mode="rgb_array"))
    env.reset(seed=0)
    for a in range(5):
        env.step(a)
    frames = env.render()
    assert len(frames) == 6 and all(frame.shape == (64, 112, 3) for frame in frames)

    human = gym.make(NODE, render_mode="human")
    human.reset(seed=0)
    human.step(1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("[NodeWebapp]") and "use cache" in lines[1]


def test_record_video_writes_a_file(tmp_path):
    import moviepy  # noqa: F401  (a dev dependency: RecordVideo writes the video with it)
    env = gym.wrappers.RecordVideo(gym.make(NODE, render_mode="rgb_array"), str(tmp_path), episode_trigger=lambda _: True)
    env.reset(seed=0)
    for a in range(10):
        env.step(a)
    env.close()
    assert list(tmp_path.glob("*.mp4"))


def test_step_before_reset_is_a_reset_needed_error():
    with pytest.raises(ResetNeeded, match="reset"):
        BuildPipelineEnv().step(0)


def test_actions_as_numpy_integers_and_one_element_arrays():
    def run(action):
        env = BuildPipelineEnv("NodeWebapp")
        env.reset(seed=2)
        return _steps(env, [action] * 20)

    expected = run(5)
    for action in (np.int64(5), np.array(5), np.array([5]), np.array([5], np.int32), 5.0):
        assert run(action) == expected, action
    env = BuildPipelineEnv()
    env.reset(seed=0)
    for bad in (np.array([1, 2]), 2.5, "5", -1):
        with pytest.raises(ValueError, match=r"\[0, 31\]"):
            env.step(bad)
