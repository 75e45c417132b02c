"""``autoops tune``: search DQN hyperparameters with Optuna.

The objective is the exact relative regret of the greedy policy at the end of training, averaged
over seeds (lower is better). The sampler is TPE (seeded); the median pruner stops a trial whose
regret at an evaluation checkpoint of its first seed is worse than the median of earlier trials
at the same step. Studies live in SQLite under ``autoops.paths.tune_dir()`` (``results/tune/``)
by default, so several processes or machines sharing the file (or any Optuna storage URL) work
on one study; the trials' runs go to its ``runs/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from autoops import paths, planning
from autoops.envs import BuildModel, get_scenario
from autoops.optimizer.evaluate import greedy_policy
from autoops.optimizer.runs import load_model
from autoops.optimizer.settings import resolve_settings
from autoops.optimizer.train import train


def suggest_overrides(trial) -> dict:
    """The search space: the knobs that moved the regret most in hand tuning (configs/dqn.yaml)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "gamma": trial.suggest_float("gamma", 0.8, 0.97),
        "train_freq": trial.suggest_categorical("train_freq", [1, 4, 8, 16]),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256, 512]),
        "target_update_interval": trial.suggest_categorical("target_update_interval", [250, 500, 1000, 2000]),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.05, 0.4),
        "exploration_final_eps": trial.suggest_float("exploration_final_eps", 0.01, 0.2),
        # Optuna stores categorical choices as plain values, so layer sizes travel as text
        "net_arch": [int(n) for n in trial.suggest_categorical("net_arch", ["64,64", "128,128", "256"]).split(",")],
    }


class _PruningCallback(BaseCallback):
    """Reports the exact regret of the greedy policy every ``eval_freq`` steps; stops pruned trials."""

    def __init__(self, trial, build: BuildModel, optimal: float, eval_freq: int):
        super().__init__()
        self.trial, self.build, self.optimal, self.eval_freq = trial, build, optimal, eval_freq
        self.pruned = False

    def _on_step(self) -> bool:
        if self.num_timesteps % self.eval_freq:
            return True
        policy = greedy_policy(self.model, self.build)
        regret = planning.evaluate(self.build, policy, optimal_reward=self.optimal).regret
        self.trial.report(regret, self.num_timesteps)
        self.pruned = self.trial.should_prune()
        return not self.pruned


def tune(scenario: str, n_trials: int, seeds: tuple[int, ...] = (0, 1), timesteps: int | None = None,
         study_name: str | None = None, storage: str | None = None, sampler_seed: int = 0,
         run_root: str | Path | None = None, progress: bool = True):
    """Run ``n_trials`` more trials of the study (created on first use) and return it."""
    import optuna

    sc = get_scenario(scenario)
    study_name = study_name or f"dqn-{sc.name}"
    run_root = paths.tune_dir() / "runs" if run_root is None else run_root
    if storage is None:
        paths.tune_dir().mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{paths.tune_dir() / 'optuna.db'}"
    study = optuna.create_study(
        study_name=study_name, storage=storage, load_if_exists=True, direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )
    build = BuildModel(sc)
    optimal = planning.optimum(build).mean_reward

    def objective(trial) -> float:
        overrides = suggest_overrides(trial)
        if timesteps:
            overrides["total_timesteps"] = timesteps
        eval_freq = resolve_settings(sc, overrides).eval_freq
        regrets = []
        for i, seed in enumerate(seeds):
            callbacks = []
            if i == 0:  # prune on the first seed's learning curve
                callbacks.append(_PruningCallback(trial, build, optimal, eval_freq))
            run = train(sc, seed=seed, overrides=overrides, run_root=run_root,
                        config_name=f"trial-{trial.number}", progress=False, callbacks=callbacks)
            if callbacks and callbacks[0].pruned:
                raise optuna.TrialPruned()
            policy = greedy_policy(load_model(run), build)
            regrets.append(planning.evaluate(build, policy, optimal_reward=optimal).regret)
        trial.set_user_attr("regret_per_seed", regrets)
        return float(np.mean(regrets))

    study.optimize(objective, n_trials=n_trials, show_progress_bar=progress)
    return study

