"""What each agent answers, as pydantic models: the routers serve them as response models and the
controller validates every answer with them, local or remote, so a malformed answer is an error
of the agent that gave it (counted, shown in ``/status``) and never a crash of the loop."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autoops.envs import N_ACTIONS, N_STATES, OUTCOMES
from autoops.envs.model import OBS_SIZE

Observation = list[float]


class BuildState(BaseModel):
    state_index: int = Field(ge=0, lt=N_STATES)
    large_change: bool
    deps_changed: bool
    cache_warm: bool
    pool_high: bool
    disk_high: bool
    last_outcome: str


class BuildResult(BaseModel):
    """The monitor's answer: one simulated build."""

    scenario: str
    build: int = Field(ge=1, description="Builds since the simulation of this scenario (re)started.")
    action_id: int = Field(ge=0, lt=N_ACTIONS)
    action_description: str
    status: Literal["success", "failure"]
    failure_category: str | None = Field(description="A taxonomy id when the build failed.")
    duration_minutes: float
    cost_usd: float
    reward: float
    error_log: str | None
    next_state: BuildState
    next_observation: Observation = Field(min_length=OBS_SIZE, max_length=OBS_SIZE)


class BestAction(BaseModel):
    """The optimizer's answer: the greedy configuration for a state, with its Q-values."""

    scenario: str
    action_id: int = Field(ge=0, lt=N_ACTIONS)
    action_description: str
    q_values: list[float] = Field(min_length=N_ACTIONS, max_length=N_ACTIONS)
    run_dir: str = Field(description="The trained run whose Q-network answered.")


class Suggestion(BaseModel):
    """The responder's answer for one log: summary, root cause, fix steps, the incidents it used,
    category, calibrated confidence, generator, latency, and why it fell back or declined."""

    model_config = ConfigDict(extra="allow")

    summary: str
    root_cause: str
    fix_steps: list[str]
    incident_ids: list[str]
    category: str | None
    confidence: float
    generator: str
    latency_ms: float
    fallback_reason: str | None = None
    declined: bool = False
    hits: list[dict] = []


def diagnosed_outcome(category: str | None) -> int:
    """The outcome index the optimizer sees for a diagnosed category (unknown or declined: success)."""
    return OUTCOMES.index(category) if category in OUTCOMES else 0
