"""The build-pipeline simulator; importing this registers one Gymnasium id per scenario."""

import warnings

import gymnasium as gym

from autoops.envs.build_pipeline import BuildPipelineEnv
from autoops.envs.categories import FAILURES, OUTCOMES
from autoops.envs.model import N_ACTIONS, N_STATES, BuildModel, State, describe_action
from autoops.envs.scenario import Scenario, ScenarioError, get_scenario, load_all, load_scenario, load_valid, scenario_files

__all__ = [
    "FAILURES", "N_ACTIONS", "N_STATES", "OUTCOMES", "BuildModel", "BuildPipelineEnv", "Scenario",
    "ScenarioError", "State", "describe_action", "get_scenario", "load_all", "load_scenario", "load_valid", "register_scenarios",
]


def register_scenarios() -> list[str]:
    """Register every scenario file as ``AutoOps/<Name>-v0``; a bad file is skipped with a warning."""
    ids = []
    for path in scenario_files():
        try:
            scenario = load_scenario(path)
        except ScenarioError as err:
            warnings.warn(f"scenario not registered: {err}", stacklevel=2)
            continue
        if scenario.env_id not in gym.registry:
            gym.register(
                id=scenario.env_id,
                entry_point="autoops.envs.build_pipeline:BuildPipelineEnv",
                kwargs={"scenario": scenario.name},  # looked up in the registry when made, never read from a path
                max_episode_steps=scenario.episode_length,
            )
        ids.append(scenario.env_id)
    return ids


register_scenarios()
