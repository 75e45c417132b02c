"""The optimizer agent's service: ``POST /get_best_action``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from autoops.agents import AgentUnavailable
from autoops.agents.optimizer import OptimizerAgent
from autoops.agents.schemas import BestAction
from autoops.api.client import GET_BEST_ACTION
from autoops.api.common import create_app
from autoops.envs import N_STATES, ScenarioError


class BestActionRequest(BaseModel):
    scenario: str = Field("BuildPipeline", description="Scenario name or Gymnasium id.")
    observation: list[float] | None = Field(None, description="The simulator's observation (16 numbers in [0, 1]).")
    state_index: int | None = Field(None, ge=0, lt=N_STATES, description="Or the simulator's state index.")


def router(agent: OptimizerAgent) -> APIRouter:
    api = APIRouter(tags=["optimizer"])

    @api.post(GET_BEST_ACTION, response_model=BestAction)
    def get_best_action(request: BestActionRequest) -> dict:
        """The build configuration the trained DQN picks for a state, with its Q-values."""
        try:
            return agent.best_action(request.scenario, request.observation, request.state_index)
        except ScenarioError as err:
            raise HTTPException(404, str(err)) from None
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
        except AgentUnavailable as err:
            raise HTTPException(503, str(err)) from None

    return api


def create_optimizer_app(agent: OptimizerAgent | None = None):
    app = create_app("AutoOps optimizer", "Picks the build configuration with a trained DQN.")
    app.include_router(router(agent or OptimizerAgent()))
    return app
