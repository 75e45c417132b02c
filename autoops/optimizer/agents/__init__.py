"""Optimizer agents behind one interface (``base.Agent``): ``dqn`` and ``ppo`` (stable-baselines3)
and ``factored`` (a model-based agent that learns a factored model of builds and plans on it)."""

from autoops.optimizer.agents.base import AGENTS, Agent, agent_class, settings_class

__all__ = ["AGENTS", "Agent", "agent_class", "settings_class"]
