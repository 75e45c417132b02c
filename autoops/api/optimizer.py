"""The optimizer agent's service: ``POST /get_best_action`` and ``POST /observe`` (a build's outcome, to
count its exact cost and, with ``AUTOOPS_OPTIMIZER_LEARN``, to learn from)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictFloat, model_validator
from pydantic_core import PydanticCustomError

from autoops.agents import AgentUnavailable
from autoops.agents.optimizer import MAX_REWARD, OptimizerAgent
from autoops.agents.schemas import BestAction, Observed
from autoops.api.client import GET_BEST_ACTION, OBSERVE
from autoops.api.common import StrictJSONRoute, create_app, errors, field_error, json_int, require_token
from autoops.envs import N_ACTIONS, N_STATES, ScenarioError
from autoops.envs.model import OBS_SIZE


StateIndex = json_int(ge=0, lt=N_STATES)
ActionId = json_int(ge=0, lt=N_ACTIONS)
ScenarioName = Annotated[str, Field(max_length=100, description="Scenario name or Gymnasium id.")]


def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("float_type", "Input should be a number (not a boolean or a string)")
    return value


class ObserveRequest(BaseModel):
    """One build that ran the optimizer's choice: configuration ``action_id`` in ``state_index``
    earned ``reward`` and led to ``next_state_index`` (the simulator's state indices)."""

    model_config = ConfigDict(extra="forbid")

    scenario: ScenarioName = "BuildPipeline"
    state_index: StateIndex = Field(description="The state the configuration was chosen in.")
    action_id: ActionId = Field(description="The configuration the build ran.")
    reward: Annotated[float, Field(ge=-MAX_REWARD, le=MAX_REWARD), BeforeValidator(_json_number)] = Field(
        description="The build's reward (the monitor's `reward`).")
    next_state_index: StateIndex = Field(description="The state after the build, as the optimizer will see it.")


class BestActionRequest(BaseModel):
    """Exactly one of ``observation`` and ``state_index`` (the other absent or null), so ``{}`` is
    refused by the schema as by the service."""

    scenario: ScenarioName = "BuildPipeline"
    observation: list[Annotated[StrictFloat, Field(ge=0, le=1)]] | None = Field(
        None, min_length=OBS_SIZE, max_length=OBS_SIZE, description=f"The simulator's observation ({OBS_SIZE} numbers in [0, 1]).")
    state_index: StateIndex | None = Field(None, description="Or the simulator's state index.")

    # the rule in the schema too (each branch whole: a generator may draw from one branch alone)
    model_config = {"json_schema_extra": {"oneOf": [
        {"required": ["observation"], "properties": {"observation": {
            "type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}, "minItems": OBS_SIZE, "maxItems": OBS_SIZE}}},
        {"required": ["state_index"], "properties": {"state_index": {"type": "integer", "minimum": 0, "maximum": N_STATES - 1}}},
    ]}}

    @model_validator(mode="after")
    def _one_of(self) -> BestActionRequest:
        if (self.observation is None) == (self.state_index is None):
            raise ValueError(f"give exactly one of observation ({OBS_SIZE} numbers) or state_index")
        return self


def router(agent: OptimizerAgent) -> APIRouter:
    api = APIRouter(tags=["optimizer"], route_class=StrictJSONRoute)

    @api.post(GET_BEST_ACTION, response_model=BestAction, dependencies=[Depends(require_token)],
              responses=errors(401, 404, 413, 503, e503="No trained optimizer for this scenario (the message says how to train one)."))
    def get_best_action(request: BestActionRequest) -> dict:
        """The build configuration the trained DQN picks for a state, with its Q-values."""
        try:
            return agent.best_action(request.scenario, request.observation, request.state_index)
        except ScenarioError as err:
            raise HTTPException(404, str(err)) from None
        except ValueError as err:
            raise field_error("observation", str(err)) from None
        except AgentUnavailable as err:
            raise HTTPException(503, str(err)) from None

    @api.post(OBSERVE, response_model=Observed, dependencies=[Depends(require_token)],
              responses=errors(401, 404, 413, 503, e503="The configured agent has no trained run to start from and is not learning "
                                                        "(the message says how to train one)."))
    def observe(request: ObserveRequest) -> dict:
        """A build's outcome: its exact cost is counted (autoops_optimizer_cumulative_regret ...) and, when
        AUTOOPS_OPTIMIZER_LEARN is set, the agent learns from it. A failure to learn is counted and answered
        in ``error``, not raised."""
        try:
            return agent.observe(request.scenario, request.state_index, request.action_id, request.reward, request.next_state_index)
        except ScenarioError as err:
            raise HTTPException(404, str(err)) from None
        except ValueError as err:
            raise field_error("", str(err)) from None
        except AgentUnavailable as err:
            raise HTTPException(503, str(err)) from None

    return api


def create_optimizer_app(agent: OptimizerAgent | None = None):
    app = create_app("AutoOps optimizer", "Picks the build configuration (a trained DQN by default) and learns from "
                                          "the builds reported to it when AUTOOPS_OPTIMIZER_LEARN is set.")
    app.include_router(router(agent or OptimizerAgent()))
    return app
