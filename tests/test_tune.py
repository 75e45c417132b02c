import optuna
from typer.testing import CliRunner

from autoops.cli import app
from autoops.optimizer.tune import tune


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
