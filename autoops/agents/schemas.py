"""What each agent answers, as pydantic models: the routers serve them as response models and the
controller validates every answer with them, local or remote, so a malformed answer is an error
of the agent that gave it (counted, shown in ``/status``) and never a crash of the loop."""

from __future__ import annotations

from typing import Annotated, Literal

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
    """The optimizer's answer: the configuration for a state (greedy, or exploring while it learns),
    with its Q-values when its agent has them (DQN)."""

    scenario: str
    action_id: int = Field(ge=0, lt=N_ACTIONS)
    action_description: str
    q_values: Annotated[list[float], Field(min_length=N_ACTIONS, max_length=N_ACTIONS)] | None
    run_dir: str | None = Field(description="The trained run (or the optimizer's own save) it started from; "
                                            "null: an agent that learns from scratch.")
    agent: str = "dqn"
    learning: bool = False


class Observed(BaseModel):
    """The optimizer's answer to a reported build: the exact cost of its builds so far (``autoops.
    optimizer.regret``, in builds' worth of the optimal mean reward) and whether it learned."""

    scenario: str
    agent: str
    learning: bool
    learned: bool = Field(description="The agent learned from this build (false when it is not learning, or its learning failed: see error).")
    builds: int = Field(ge=0, description="Builds reported for this scenario (continued from the optimizer's save, if any).")
    regret: float | None = Field(description="Exact long-run regret of the greedy policy at its latest refresh; null: none yet.")
    cumulative_regret: float
    best_static_cumulative_regret: float
    break_even_build: int | None
    error: str | None = Field(None, description="Why learning, evaluating or saving failed on this build (counted; the optimizer goes on).")


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
