"""The one interface every optimizer agent implements, and the registry of agents by name.

An agent picks a build configuration (an action id in ``[0, N_ACTIONS)``) for a state index in
``[0, N_STATES)`` (``autoops.envs.model.State`` decodes it: five state factors and the last
outcome), is told what happened (``observe``), and can say at any time what it would do without
exploring (``policy``: one greedy action per state, evaluated exactly by ``autoops.planning``).
It learns only from what it observes: no agent reads a scenario's exact model.

    agent = make_agent("factored", seed=0, overrides={"replan_every": 500})
    a = agent.act(s)                      # may explore
    agent.observe(s, a, reward, s2)       # reward: the build's raw reward; s2 records its outcome
    agent.policy()                        # [N_STATES] greedy action ids
    agent.save(folder); type(agent).load(folder)

Settings are a frozen dataclass per agent whose fields carry ``metadata={"help": ...}`` (the
text of ``autoops train --agent NAME --help``); values come from ``configs/agents.yaml`` keyed
by agent, then scenario (``default`` first), then ``--set KEY=VALUE``.
"""

from __future__ import annotations

import abc
import importlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class Agent(abc.ABC):
    """An optimizer agent: ``act``, ``observe``, ``policy``, ``save``/``load``."""

    name: ClassVar[str]
    Settings: ClassVar[type]  # a frozen dataclass; every field has metadata["help"]

    def __init__(self, settings: Any, seed: int):
        self.settings = settings
        self.seed = int(seed)

    @abc.abstractmethod
    def act(self, state: int) -> int:
        """The configuration to run in ``state`` now (exploration included)."""

    @abc.abstractmethod
    def observe(self, state: int, action: int, reward: float, next_state: int) -> None:
        """Learn from one build: ``action`` ran in ``state``, earned ``reward``, led to ``next_state``."""

    @abc.abstractmethod
    def policy(self) -> np.ndarray:
        """The greedy configuration of every state, ``[N_STATES]`` action ids."""

    @abc.abstractmethod
    def save(self, folder: Path) -> None:
        """Write everything needed to continue learning exactly where this agent is (files in ``folder``)."""

    @classmethod
    @abc.abstractmethod
    def load(cls, folder: Path) -> "Agent":
        """The agent that ``save`` wrote to ``folder``."""


# name -> "module:class"; imported on first use (the SB3 agents import torch).
AGENTS: dict[str, str] = {
    "dqn": "autoops.optimizer.agents.sb3:DQNAgent",
    "ppo": "autoops.optimizer.agents.sb3:PPOAgent",
    "factored": "autoops.optimizer.agents.factored:FactoredAgent",
}


# name -> its settings class, importable without torch (`autoops train --agent NAME --help`).
SETTINGS: dict[str, str] = {
    "dqn": "autoops.optimizer.settings:DQNSettings",
    "ppo": "autoops.optimizer.agents.ppo_settings:PPOSettings",
    "factored": "autoops.optimizer.agents.factored:FactoredSettings",
}


def _load(table: dict[str, str], name: str):
    if name not in table:
        raise ValueError(f"unknown agent {name!r}; expected one of {', '.join(table)}")
    module, attribute = table[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def agent_class(name: str) -> type[Agent]:
    return _load(AGENTS, name)


def settings_class(name: str) -> type:
    return _load(SETTINGS, name)
