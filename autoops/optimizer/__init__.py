"""The DQN optimizer: stable-baselines3 DQN picks a build configuration for each build.

- ``train``: one training run (``configs/dqn.yaml``, seeding, TensorBoard, exact regret curve,
  resume), see ``autoops.optimizer.train``.
- ``evaluate_run``, ``greedy_policy``, ``policy_table``: exact evaluation of a run's greedy
  policy against the optimum and the baselines, see ``autoops.optimizer.evaluate``.
- ``autoops train`` and ``autoops evaluate``: ``autoops.optimizer.commands``.

The names below are imported on first use: torch and SB3 take seconds to import, and the
command line imports this package for every command.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DQNSettings": "train",
    "SettingsError": "train",
    "RunError": "train",
    "resolve_settings": "train",
    "parse_overrides": "train",
    "train": "train",
    "evaluate_run": "evaluate",
    "greedy_policy": "evaluate",
    "policy_table": "evaluate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"autoops.optimizer.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'autoops.optimizer' has no attribute {name!r}")
