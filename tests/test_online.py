"""The cost of learning (``optimizer.regret``) and the agents' loop (``optimizer.online``)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from autoops import planning
from autoops.cli import app
from autoops.envs import BuildPipelineEnv, get_scenario
from autoops.optimizer import runs
from autoops.optimizer.compare import read_scalars
from autoops.optimizer.evaluate import evaluate_run
from autoops.optimizer.online import TAGS, train
from autoops.optimizer.regret import LearningCost


def _stream(scenario: str, policy, builds: int, seed: int = 0) -> LearningCost:
    """Run ``policy`` (state -> action) for ``builds`` builds, counting the cost."""
    sc = get_scenario(scenario)
    env, cost = BuildPipelineEnv(sc, error_logs=False), LearningCost(sc)
    env.reset(seed=seed)
    for _ in range(builds):
        state = env.state_index
        action = int(policy(state))
        cost.record(state, action)
        env.step(action)
    return cost


def test_the_cost_of_each_build_is_its_exact_shortfall_from_the_optimum():
    sc = get_scenario("BuildPipeline")
    cost = LearningCost(sc)
    phase = cost.phases[0]
    gain = planning.optimum(phase.model).mean_reward
    assert cost.record(3, 7) == pytest.approx((gain - phase.model.expected_reward[3, 7]) / abs(gain))
    static = planning.solution(phase.model)
    assert cost.best_static == static.best_static_action
    assert phase.static_regret[static.best_static_action] == pytest.approx(static.baselines[2].regret)


def test_the_optimal_policy_breaks_even_at_once_and_a_bad_one_never():
    optimal = planning.optimum(LearningCost(get_scenario("BuildPipeline")).phases[0].model).policy
    good = _stream("BuildPipeline", lambda s: optimal[s], 3000)
    assert abs(good.cumulative) < 0.2 * good.best_static_line  # the optimum's long-run regret is 0: only noise of the states
    assert good.break_even is not None and good.break_even < 500
    plain = _stream("BuildPipeline", lambda s: 0, 3000)  # the plain build: no cache, small runner
    assert plain.break_even is None
    assert plain.cumulative > plain.best_static_line
    # the static lines are exact: builds x each configuration's regret
    np.testing.assert_allclose(plain.static_lines, 3000 * plain.phases[0].static_regret)


def test_a_drifting_scenario_is_measured_against_each_phase():
    sc = get_scenario("DriftingPool")
    cost = LearningCost(sc)
    first, second = cost.phases
    assert second.start > 0 and second.optimal_reward != first.optimal_reward
    cost.builds = second.start - 1  # the counters may start anywhere: a resumed run's do
    assert cost.record(5, 9) == pytest.approx(first.build_regret[5, 9])
    assert cost.record(5, 9) == pytest.approx(second.build_regret[5, 9])
    np.testing.assert_allclose(cost.static_lines, first.static_regret + second.static_regret)


def test_an_agent_run_records_the_cost_of_learning(tmp_path):
    run_dir = train("factored", "BuildPipeline", 0, ["total_timesteps=1500", "eval_freq=500", "log_freq=500"],
                    run_root=tmp_path, progress=False)
    metrics = runs.read_metrics(run_dir)
    assert metrics["status"] == "complete" and metrics["agent"] == "factored" and runs.is_complete(run_dir)
    for key in ("regret", "cumulative_regret", "best_static_cumulative_regret", "break_even_build"):
        assert key in metrics
    curve = metrics["curve"]
    assert curve["steps"] == [500, 1000, 1500]
    assert curve["cumulative_regret"][-1] == metrics["cumulative_regret"]
    assert np.all(np.diff(curve["best_static_cumulative_regret"]) > 0)
    assert set(TAGS) <= set(read_scalars(run_dir)["tag"])
    result = evaluate_run(run_dir)
    assert result["agent"] == "factored" and result["dqn"]["regret"] == pytest.approx(metrics["regret"])


def test_a_resumed_agent_run_continues_exactly(tmp_path):
    settings = ["eval_freq=500", "log_freq=500", "checkpoint_freq=500"]
    whole = train("factored", "NodeWebapp", 3, ["total_timesteps=1500", *settings], run_root=tmp_path / "a", progress=False)
    half = train("factored", "NodeWebapp", 3, ["total_timesteps=1000", *settings], run_root=tmp_path / "b", progress=False)
    resumed = train(resume_from=half, extra_timesteps=500, run_root=tmp_path / "b", progress=False)
    a, b = runs.read_metrics(whole), runs.read_metrics(resumed)
    assert b["num_timesteps"] == 1500
    assert b["cumulative_regret"] == a["cumulative_regret"] and b["regret"] == a["regret"]
    assert b["curve"]["steps"] == a["curve"]["steps"]


def test_train_command_takes_an_agent_and_reports_the_cost(tmp_path):
    result = CliRunner().invoke(app, ["train", "--agent", "factored", "-s", "PythonLibrary", "--timesteps", "600",
                                      "--set", "eval_freq=300", "--run-root", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "cost of learning: cumulative regret" in result.output
    bad = CliRunner().invoke(app, ["train", "--agent", "factored", "--set", "replan_evry=3", "--run-root", str(tmp_path)])
    assert bad.exit_code == 2 and "replan_every" in bad.output  # the close match is named
    help_text = CliRunner().invoke(app, ["train", "--agent", "factored", "--help"], env={"COLUMNS": "200"}).output
    assert "replan_every" in help_text and "learning_rate_end" not in help_text


def test_agents_yaml_entries_are_checked(tmp_path, monkeypatch):
    (tmp_path / "agents.yaml").write_text("factored:\n  default: {total_timesteps: 10}\n  NoSuchScenario: {}\n")
    monkeypatch.setenv("AUTOOPS_CONFIG_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["train", "--agent", "factored", "--run-root", str(tmp_path)])
    assert result.exit_code == 2 and "agents.yaml" in result.output and "NoSuchScenario" in result.output
