"""The DQN optimizer: run folders, seeding, resume, settings, the CLI, exact evaluation.

Every training here is tiny (a few hundred steps): these tests check the machinery, not learning.
"""

import json
import re
import zipfile

import numpy as np
import pytest
import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback
from typer.testing import CliRunner

from autoops import planning
from autoops.cli import app
from autoops.envs import N_ACTIONS, N_STATES, BuildModel, State, get_scenario
from autoops.optimizer.evaluate import evaluate_run, greedy_policy, policy_table, q_table
from autoops.optimizer.settings import DQNSettings, SettingsError, load_dqn_config, parse_overrides, resolve_settings
from autoops.optimizer.train import TAGS, build_model, epsilon_at, learning_rate_at, make_env, train

runner = CliRunner()

TINY = [
    "total_timesteps=600", "learning_starts=100", "buffer_size=5000", "batch_size=32", "train_freq=4",
    "target_update_interval=100", "eval_freq=200", "log_freq=100", "exploration_fraction=0.5",
]


class Recorder(BaseCallback):
    """Records (step, epsilon in use, learning rate) at every step; stops at ``stop_at``."""

    def __init__(self, stop_at: int | None = None):
        super().__init__()
        self.stop_at, self.rows = stop_at, []

    def _on_step(self) -> bool:
        lr = self.model.policy.optimizer.param_groups[0]["lr"]
        self.rows.append((self.num_timesteps, self.model.exploration_rate, lr))
        return self.num_timesteps != self.stop_at


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return train("JvmMonorepo", 3, TINY, run_root=root, progress=False, config_name="tiny")


def test_a_run_folder_holds_every_file(run):
    assert re.fullmatch(r"JvmMonorepo__tiny__3__\d{8}-\d{6}", run.name)
    for name in ("config.yaml", "model.zip", "replay_buffer.pkl", "metrics.json"):
        assert (run / name).is_file(), name
    assert list(run.glob("events.out.tfevents.*"))
    assert "_layers" not in json.loads(zipfile.ZipFile(run / "model.zip").read("data"))  # FastDQN's views are not saved
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["scenario"] == "JvmMonorepo" and config["seed"] == 3 and config["config_name"] == "tiny"
    assert config["settings"]["total_timesteps"] == 600 and config["overrides"]["eval_freq"] == 200
    assert set(config["settings"]) == {f for f in DQNSettings.__dataclass_fields__}
    assert {"python", "torch", "stable_baselines3", "gymnasium", "numpy", "autoops"} <= set(config["versions"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["num_timesteps"] == 600
    assert metrics["curve"]["steps"] == [200, 400, 600]
    assert metrics["final"]["regret"] == metrics["curve"]["regret"][-1]
    assert 0 <= metrics["final"]["regret"] < 2 and metrics["optimal_mean_reward"] < 0


def test_tensorboard_has_exactly_the_documented_tags(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run)).Reload()
    assert set(events.Tags()["scalars"]) == set(TAGS)
    regret = events.Scalars("eval/regret")
    metrics = json.loads((run / "metrics.json").read_text())
    assert [e.step for e in regret] == metrics["curve"]["steps"]
    assert [e.value for e in regret] == pytest.approx(metrics["curve"]["regret"], rel=1e-6)
    assert len(events.Scalars("charts/episodic_return")) == 600 // 200  # one per finished episode


def test_same_seed_same_metrics_and_another_seed_differs(run, tmp_path):
    again = json.loads((train("JvmMonorepo", 3, TINY, run_root=tmp_path, progress=False) / "metrics.json").read_text())
    first = json.loads((run / "metrics.json").read_text())
    assert again["curve"] == first["curve"] and again["final"] == first["final"]
    other = json.loads((train("JvmMonorepo", 4, TINY, run_root=tmp_path, progress=False) / "metrics.json").read_text())
    assert other["curve"]["regret"] != first["curve"]["regret"]


def test_resume_continues_the_step_count_and_the_schedules(tmp_path):
    settings = [*TINY, "total_timesteps=1200", "learning_rate_end=0.25"]
    whole = Recorder()
    train("NodeWebapp", 5, settings, run_root=tmp_path / "whole", progress=False, callbacks=[whole])
    first = Recorder(stop_at=500)
    stopped = train("NodeWebapp", 5, settings, run_root=tmp_path / "parts", progress=False, callbacks=[first])
    metrics = json.loads((stopped / "metrics.json").read_text())
    assert metrics["status"] == "stopped" and metrics["num_timesteps"] == 500

    second = Recorder()
    resumed = train(resume_from=stopped, run_root=tmp_path / "parts", progress=False, callbacks=[second])
    assert resumed != stopped
    metrics = json.loads((resumed / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["num_timesteps"] == 1200
    assert metrics["curve"]["steps"] == [200, 400, 500, 600, 800, 1000, 1200]  # the stopped run's curve, then more
    config = yaml.safe_load((resumed / "config.yaml").read_text())
    assert config["resumed_from"] == str(stopped) and config["resumed_at_step"] == 500

    steps = [row[0] for row in first.rows + second.rows]
    assert steps == list(range(1, 1201))  # the step count continues
    eps_whole = {t: eps for t, eps, _ in whole.rows}
    for t, eps, _ in first.rows + second.rows:  # epsilon in use at each step is the uninterrupted run's
        assert eps == pytest.approx(eps_whole[t], abs=1e-9), t
    s = resolve_settings("NodeWebapp", settings)
    assert eps_whole[301] == pytest.approx(epsilon_at(s, 300)) and eps_whole[1200] == s.exploration_final_eps
    lr_whole = {t: lr for t, _, lr in whole.rows}
    for t, _, lr in second.rows:
        if t > 505:  # the optimizer's rate is set at each training phase; after the first one
            assert lr == pytest.approx(lr_whole[t], rel=1e-9), t
    assert lr_whole[1200] == pytest.approx(learning_rate_at(s, 1196), rel=1e-9)

    more = Recorder()
    longer = train(resume_from=resumed, extra_timesteps=200, run_root=tmp_path / "parts", progress=False, callbacks=[more])
    assert json.loads((longer / "metrics.json").read_text())["num_timesteps"] == 1400
    assert [row[0] for row in more.rows] == list(range(1201, 1401))
    assert all(eps == s.exploration_final_eps for _, eps, _ in more.rows)
    with pytest.raises(ValueError, match="has trained its 1200 steps"):
        train(resume_from=resumed, run_root=tmp_path / "parts", progress=False)
    with pytest.raises(ValueError, match="overrides are not allowed"):
        train(resume_from=resumed, overrides=["gamma=0.5"], extra_timesteps=10, run_root=tmp_path, progress=False)


def test_overrides_are_typed_and_checked():
    values = parse_overrides(["learning_rate=3e-4", "gamma=0.9", "net_arch=[128, 128]", "total_timesteps=2e4", "buffer_size=10_000"])
    assert values == {"learning_rate": 3e-4, "gamma": 0.9, "net_arch": (128, 128), "total_timesteps": 20000, "buffer_size": 10000}
    assert isinstance(values["total_timesteps"], int)
    assert parse_overrides({"learning_rate": 0.01}) == {"learning_rate": 0.01}
    settings = resolve_settings("AutoOps/NodeWebapp-v0", ["gamma=0.5"])
    assert settings.gamma == 0.5 and isinstance(settings, DQNSettings)
    bad = {
        "lerning_rate=1": ["override 'lerning_rate=1'", "unknown field 'lerning_rate'", "did you mean 'learning_rate'"],
        "gamma=1.5": ["override 'gamma=1.5'", "field 'gamma'", "[0, 1]", "1.5"],
        "batch_size=abc": ["field 'batch_size'", "an integer"],
        "batch_size=2.5": ["field 'batch_size'", "an integer"],
        "net_arch=[0, 64]": ["field 'net_arch'", "positive integers"],
        "learning_rate=0": ["field 'learning_rate'", "(0, inf)"],
        "device=tpu": ["field 'device'", "cpu"],
        "gamma": ["override 'gamma'", "KEY=VALUE"],
        "net_arch=[1,": ["override 'net_arch=[1,'", "not valid YAML"],
    }
    for item, parts in bad.items():
        with pytest.raises(ValueError) as err:
            parse_overrides([item])
        assert isinstance(err.value, SettingsError)
        for part in parts:
            assert part in str(err.value), (item, str(err.value))


def test_the_config_file_default_then_scenario_then_overrides(tmp_path):
    path = tmp_path / "dqn.yaml"
    path.write_text("default: {gamma: 0.9, batch_size: 64, learning_rate: 1.0e-3}\nJvmMonorepo: {batch_size: 256}\n")
    settings = resolve_settings("JvmMonorepo", ["learning_rate=5e-4"], config_path=path)
    assert (settings.gamma, settings.batch_size, settings.learning_rate) == (0.9, 256, 5e-4)
    assert resolve_settings("NodeWebapp", config_path=path).batch_size == 64
    assert resolve_settings("NodeWebapp", config_path=path).tau == DQNSettings().tau  # not in the file: SB3's default
    path.write_text("default: {gamma: 0.9}\nJvmMonorepo: {bach_size: 256}\n")
    with pytest.raises(SettingsError, match=r"dqn\.yaml: entry 'JvmMonorepo': unknown field 'bach_size'"):
        resolve_settings("JvmMonorepo", config_path=path)
    path.write_text("default: {gamma: high}\n")
    with pytest.raises(SettingsError, match=r"dqn\.yaml: entry 'default': field 'gamma': expected a number"):
        resolve_settings("JvmMonorepo", config_path=path)
    path.write_text("default: {}\nJvmMonorepoo: {}\n")
    with pytest.raises(SettingsError, match="unknown entry 'JvmMonorepoo'"):
        load_dqn_config(path)


def test_the_shipped_config_covers_every_scenario():
    config = load_dqn_config()
    for key in ("total_timesteps", "gamma", "eval_freq", "net_arch", "learning_starts", "exploration_fraction",
                "exploration_final_eps", "target_update_interval", "train_freq", "gradient_steps", "batch_size",
                "buffer_size", "learning_rate"):
        assert key in config["default"], key
    for name in ("BuildPipeline", "JvmMonorepo", "NodeWebapp", "PythonLibrary"):
        assert resolve_settings(name).total_timesteps <= 50_000


def _hand_built_run(tmp_path, scenario="PythonLibrary"):
    """A run folder whose Q-network is Q(s, a) = M[a] . obs(s): its greedy policy is known."""
    sc = get_scenario(scenario)
    settings = resolve_settings(sc.name, ["net_arch=[32, 32]", "buffer_size=100"])
    model = build_model(make_env(sc, settings), settings, seed=0)
    prefs = np.random.default_rng(7).normal(size=(N_ACTIONS, 16)).astype(np.float32)
    layers = [m for m in model.q_net.q_net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for layer in layers:
            layer.weight.zero_()
            layer.bias.zero_()
        eye = torch.eye(16)
        layers[0].weight[:16] = eye  # observations are >= 0: the ReLUs pass them through
        layers[1].weight[:16, :16] = eye
        layers[2].weight[:, :16] = torch.as_tensor(prefs)
    run = tmp_path / "hand"
    run.mkdir()
    model.save(run / "model.zip")
    (run / "config.yaml").write_text(yaml.safe_dump({"scenario": sc.name, "seed": 0, "config_name": "hand", "settings": settings.as_dict()}))
    build = BuildModel(sc)
    return run, model, build, (build.observations @ prefs.T).argmax(axis=1)


def test_greedy_policy_and_exact_evaluation_agree_with_planning(tmp_path):
    run, model, build, expected = _hand_built_run(tmp_path)
    assert len(set(expected)) > 3  # the hand-built policy depends on the state
    assert np.array_equal(greedy_policy(model, build), expected)
    assert np.array_equal(greedy_policy(run), expected)
    # SB3's predict (and FastDQN's shortcut for one observation) choose the same actions
    model._layers = model._numpy_layers()
    fast = [int(model.predict(build.observations[s][None], deterministic=True)[0][0]) for s in range(N_STATES)]
    assert fast == list(expected)
    assert np.array_equal(q_table(model, build.observations).argmax(axis=1), expected)

    result = evaluate_run(run, write=False)
    solved = planning.solution(build)  # planning.solve_scenario, cached
    exact = planning.evaluate(build, expected, "x", optimal_reward=solved.optimal.mean_reward)
    for key in ("mean_reward", "mean_duration_minutes", "mean_cost_usd", "failure_rate", "regret"):
        assert result["dqn"][key] == pytest.approx(getattr(exact, key), rel=1e-12), key
    assert [b["policy"] for b in result["baselines"][:3]] == [b.policy for b in solved.baselines[:3]]
    assert len(result["baselines"]) == 3 + N_ACTIONS
    assert result["beats_heuristic"] == (exact.mean_reward > solved.baselines[1].mean_reward)

    table = policy_table(run)
    assert len(table) == N_STATES and np.array_equal(table["action"].to_numpy(), expected)
    assert table.loc[17, "description"] == State.from_index(17).describe()
    assert np.array_equal(table["differs"].to_numpy(), expected != solved.optimal_policy)
    assert table["stationary_prob"].to_numpy() == pytest.approx(planning.stationary_distribution(build, expected))
    assert table["regret_share"].sum() == pytest.approx(exact.regret, rel=1e-6)  # performance difference, exactly
    assert (table.loc[~table["differs"], "action_loss"] == 0).all()


def test_train_and_evaluate_on_the_command_line(tmp_path):
    result = runner.invoke(app, ["train", "-s", "NodeWebapp", "--seed", "2", *sum((["--set", s] for s in TINY), []),
                                 "--timesteps", "400", "--config-name", "cli", "--run-root", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    (run,) = tmp_path.iterdir()
    assert run.name.startswith("NodeWebapp__cli__2__") and "regret" in result.output
    assert json.loads((run / "metrics.json").read_text())["num_timesteps"] == 400

    result = runner.invoke(app, ["evaluate", str(run), "--policy-table", "--rows", "5"])
    assert result.exit_code == 0, result.output
    for text in ("optimal", "dqn greedy", "heuristic", "best static", "uniform random", "most frequent states"):
        assert text in result.output
    assert "evaluation" in json.loads((run / "metrics.json").read_text())
    data = json.loads(runner.invoke(app, ["evaluate", str(run), "--json"]).output)
    assert data["num_timesteps"] == 400 and data["optimal"]["regret"] == 0

    result = runner.invoke(app, ["train", "--resume", str(run), "--timesteps", "100", "--run-root", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.iterdir())) == 2


def test_bad_input_on_the_command_line_is_a_message_not_a_traceback(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"  # a configuration but no model
    broken.mkdir()
    (broken / "config.yaml").write_text(yaml.safe_dump({"scenario": "JvmMonorepo", "seed": 0, "settings": {}}))
    root = str(tmp_path / "runs")
    cases = [
        (["train", "-s", "Nope", "--run-root", root], "unknown scenario 'Nope'"),
        (["train", "--set", "gama=0.9", "--run-root", root], "unknown field 'gama'"),
        (["train", "--set", "gamma=2", "--run-root", root], "field 'gamma'"),
        (["train", "--set", "gamma", "--run-root", root], "KEY=VALUE"),
        (["train", "--config-name", "a b", "--run-root", root], "config name 'a b'"),
        (["train", "--resume", str(empty), "--run-root", root], "not a training run"),
        (["train", "--resume", str(broken), "--run-root", root], "model.zip is missing"),
        (["evaluate", str(empty)], "not a training run"),
        (["evaluate", str(tmp_path / "missing")], "no such run folder"),
        (["evaluate", str(broken)], "no model.zip"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # no run folder created


def test_train_help_lists_the_settings_with_their_docstrings():
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("learning_rate (float", "Adam step size", "exploration_fraction", "--resume", "--set"):
        assert text in result.output, text
