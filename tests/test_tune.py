import optuna
import pytest
import yaml
from typer.testing import CliRunner

from autoops.cli import app
from autoops.optimizer import runs
from autoops.optimizer.agents import AGENTS, settings_class
from autoops.optimizer.settings import SettingsError, resolve_agent_settings
from autoops.optimizer.tune import best_settings, load_space, tune

COMPLETE, PRUNED = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED


def test_tune_runs_trials_and_continues_a_shared_study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = tune("NodeWebapp", n_trials=2, seeds=(0,), timesteps=1000, storage=storage, run_root=tmp_path / "runs", progress=False)
    assert len(study.trials) == 2
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert finished and all(0 <= t.value < 2 for t in finished)
    assert all(t.intermediate_values for t in study.trials)  # the pruner saw the regret at checkpoints
    again = tune("NodeWebapp", n_trials=1, seeds=(0,), timesteps=1000, storage=storage, run_root=tmp_path / "runs", progress=False)
    assert len(again.trials) == 3  # another process (or call) continues the same study


def test_tune_command_rejects_an_unknown_scenario():
    result = CliRunner().invoke(app, ["tune", "--scenario", "Nope", "--trials", "1"])
    assert result.exit_code == 2 and "unknown scenario" in result.output


@pytest.mark.parametrize("agent, objective, timesteps, trials", [
    ("ppo", "regret", 600, 2), ("factored", "cumulative_regret", 600, 2), ("dqn", "cumulative_regret", 1000, 1)])
def test_every_agent_is_tuned_on_either_objective(agent, objective, timesteps, trials, tmp_path):
    study = tune("PythonLibrary", n_trials=trials, seeds=(0,), timesteps=timesteps, storage=f"sqlite:///{tmp_path / 's.db'}",
                 run_root=tmp_path / "runs", progress=False, agent=agent, objective=objective)
    assert study.study_name == f"{agent}-PythonLibrary" and [t.state for t in study.trials] == [COMPLETE] * trials
    folders = sorted((tmp_path / "runs").iterdir())
    assert [f.name.split("__")[1] for f in folders] == [f"{agent}-trial-{n}" for n in range(trials)]
    for trial, run in zip(study.trials, folders):
        metrics = runs.read_metrics(run)
        assert trial.value == metrics[objective] and metrics["num_timesteps"] == timesteps
        # the pruner saw the objective itself at the run's evaluation (DQN's counted beside its monitor: equal)
        assert trial.intermediate_values == {timesteps: metrics[objective]}
    assert set(study.trials[0].params) == {p.name for p in load_space(agent)}


def test_a_trial_worse_than_the_median_at_a_checkpoint_is_pruned(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="factored-NodeWebapp", storage=storage)
    for key, value in {"agent": "factored", "scenario": "NodeWebapp", "objective": "regret"}.items():
        study.set_user_attr(key, value)
    for _ in range(3):  # the median pruner's start-up trials, perfect at the checkpoint
        study.add_trial(optuna.trial.create_trial(value=0.0, intermediate_values={500: 0.0}))
    study = tune("NodeWebapp", n_trials=1, seeds=(0, 1), timesteps=1000, storage=storage, run_root=tmp_path / "runs",
                 progress=False, agent="factored", space_path=_space(tmp_path, "factored:\n  posterior_scale: {low: 0.5, high: 1.5}\n  eval_freq: {choices: [500]}\n"))
    trial = study.trials[-1]
    assert trial.state == PRUNED and list(trial.intermediate_values) == [500]
    (run,) = (tmp_path / "runs").iterdir()  # stopped at once: the second seed never ran
    assert runs.read_metrics(run)["status"] == "stopped" and runs.read_metrics(run)["num_timesteps"] == 500


def _space(tmp_path, text):
    path = tmp_path / "tune_spaces.yaml"
    path.write_text(text)
    return path


def test_the_command_prints_the_best_settings_ready_to_paste(tmp_path):
    result = CliRunner().invoke(app, ["tune", "--agent", "factored", "-s", "JvmMonorepo", "--trials", "1", "--seed", "2",
                                      "--timesteps", "300", "--objective", "cumulative_regret",
                                      "--storage", f"sqlite:///{tmp_path / 's.db'}"], env={"AUTOOPS_RESULTS_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "best trial #0 of study factored-JvmMonorepo: cumulative_regret" in result.output and "seeds [2], 300 builds" in result.output
    snippet = result.output[result.output.index("factored:\n"):]
    config = tmp_path / "agents.yaml"
    config.write_text(snippet)
    pasted = yaml.safe_load(snippet)["factored"]["JvmMonorepo"]
    _, agent_settings = resolve_agent_settings("factored", settings_class("factored"), "JvmMonorepo", config_path=config)
    assert set(pasted) == {p.name for p in load_space("factored")}
    assert all(getattr(agent_settings, name) == value for name, value in pasted.items())


def test_lists_travel_as_text_and_come_back_as_lists(tmp_path):
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(
        value=0.1, params={"net_arch": "128,128", "gamma": 0.912345678},
        distributions={"net_arch": optuna.distributions.CategoricalDistribution(["64,64", "128,128", "256"]),
                       "gamma": optuna.distributions.FloatDistribution(0.8, 0.97)}))
    assert best_settings(study, load_space("dqn")) == {"net_arch": [128, 128], "gamma": 0.9123}


@pytest.mark.parametrize("agent", list(AGENTS))
def test_the_shipped_space_of_every_agent_fits_its_settings(agent):
    assert load_space(agent)  # checked against the agent's settings: a renamed field fails here


@pytest.mark.parametrize("agent, entry, message", [
    ("factored", "replan_evry: {low: 1, high: 2}", "unknown field 'replan_evry' (did you mean 'replan_every'?)"),
    ("factored", "replan_every: {low: 20, high: 10}", "factored.replan_every: expected low < high"),
    ("factored", "posterior_scale: {low: 0, high: 1, log: true}", "factored.posterior_scale: a log range needs low > 0"),
    ("factored", "prior_std: {low: -1, high: 1}", "factored.prior_std: field 'prior_std': expected a number in (0"),
    ("factored", "newton_steps: {low: 1.5, high: 3}", "field 'newton_steps': expected an integer in [1, inf)"),
    ("factored", "newton_steps: {choices: []}", "factored.newton_steps: choices: expected a non-empty list"),
    ("factored", "newton_steps: {low: 1, high: 3, step: 1}", "factored.newton_steps: expected {low: L, high: H}"),
    ("factored", "newton_steps: 3", "factored.newton_steps: expected {low: L, high: H}"),
    ("ppo", "device: {choices: [cpu, tpu]}", "ppo.device: field 'device': expected one of cpu, cuda, auto"),
    ("ppo", "device: {low: cpu, high: cuda}", "ppo.device: a range needs a numeric setting"),
    ("ppo", "net_arch: {choices: [[64], 64]}", "field 'net_arch': expected a non-empty list of positive integers"),
])
def test_a_bad_space_entry_names_the_file_and_the_field(agent, entry, message, tmp_path):
    path = _space(tmp_path, f"{agent}:\n  {entry}\n")
    with pytest.raises(SettingsError, match="tune_spaces.yaml") as err:
        load_space(agent, path)
    assert message in str(err.value)


def test_the_command_names_a_bad_space_file_and_an_unknown_agent(tmp_path):
    _space(tmp_path, "ppo:\n  n_step: {choices: [128]}\n")
    result = CliRunner().invoke(app, ["tune", "--agent", "ppo", "--trials", "1"], env={"AUTOOPS_CONFIG_DIR": str(tmp_path)})
    assert result.exit_code == 2 and str(tmp_path / "tune_spaces.yaml") in result.output and "'n_step'" in result.output
    result = CliRunner().invoke(app, ["tune", "--agent", "factored", "--trials", "1"], env={"AUTOOPS_CONFIG_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "no search space for agent 'factored'" in result.output
    result = CliRunner().invoke(app, ["tune", "--agent", "nope", "--trials", "1"])
    assert result.exit_code == 2 and "unknown agent 'nope'; expected one of dqn, ppo, factored" in result.output
    result = CliRunner().invoke(app, ["tune", "--objective", "speed", "--trials", "1"])
    assert result.exit_code == 2 and "unknown objective 'speed'" in result.output


def test_a_study_is_not_continued_with_another_agent_or_objective(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="shared", storage=storage).set_user_attr("objective", "regret")
    with pytest.raises(SettingsError, match="study 'shared' is a study of objective 'regret', not 'cumulative_regret'"):
        tune("NodeWebapp", 1, study_name="shared", storage=storage, agent="factored", objective="cumulative_regret")
    old = optuna.create_study(study_name="old", storage=storage)  # DQN trials from before the agent was recorded
    old.add_trial(optuna.trial.create_trial(value=0.1))
    with pytest.raises(SettingsError, match="of agent 'dqn', not 'ppo'"):
        tune("NodeWebapp", 1, study_name="old", storage=storage, agent="ppo")
