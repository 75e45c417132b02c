"""The DQN optimizer: stable-baselines3 DQN picks a build configuration for each build.

- ``settings``: ``DQNSettings``, ``configs/dqn.yaml`` and ``KEY=VALUE`` overrides (no torch).
- ``runs``: the run folders: create, find the newest, read, load the model, write atomically.
- ``train``: one training run (seeding, TensorBoard, exact regret curve, resume) and
  ``ensure_trained`` (train one when none exists).
- ``evaluate``: ``evaluate_run``, ``greedy_policy``, ``policy_table``: exact evaluation of a
  run's greedy policy against the optimum and the baselines.
- ``compare``, ``tune``, ``bench``: sweeps aggregated with rliable, Optuna, throughput.
- ``commands``: ``autoops train`` and ``autoops evaluate``.

The names below are imported on first use: torch and SB3 take seconds to import, and the
command line imports this package for every command.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DQNSettings": "settings",
    "SettingsError": "settings",
    "resolve_settings": "settings",
    "parse_overrides": "settings",
    "RunError": "runs",
    "latest_run": "runs",
    "train": "train",
    "ensure_trained": "train",
    "evaluate_run": "evaluate",
    "greedy_policy": "evaluate",
    "policy_table": "evaluate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"autoops.optimizer.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'autoops.optimizer' has no attribute {name!r}")
