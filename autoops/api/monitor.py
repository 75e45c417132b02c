"""The monitor agent's service: ``POST /simulate_build``, ``GET /metrics``, ``GET /healthz``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from autoops.agents import AgentUnavailable
from autoops.agents.monitor import MonitorAgent
from autoops.agents.schemas import BuildResult
from autoops.api.client import SIMULATE_BUILD
from autoops.api.common import StrictJSONRoute, create_app, errors, json_int, require_token
from autoops.envs import N_ACTIONS, ScenarioError


Action = json_int(ge=0, lt=N_ACTIONS)
Seed = json_int(ge=0)


class SimulateBuildRequest(BaseModel):
    scenario: str = Field("BuildPipeline", max_length=100, description="Scenario name or Gymnasium id (`autoops env list`).")
    action: Action | None = Field(None, description="Build configuration id; default 1, 'use cache'.")
    seed: Seed | None = Field(None, description="Restart this scenario's simulation with this seed.")


def router(agent: MonitorAgent) -> APIRouter:
    api = APIRouter(tags=["monitor"], route_class=StrictJSONRoute)

    @api.post(SIMULATE_BUILD, response_model=BuildResult, dependencies=[Depends(require_token)],
              responses=errors(401, 404, 413, 503, e503="The monitor runs as a separate service that did not answer."))
    async def simulate_build(request: SimulateBuildRequest) -> dict:
        """Run one simulated CI build and return its outcome and error log."""
        try:
            if isinstance(agent, MonitorAgent):  # in-process: ~1 ms, cheaper than a worker thread
                return agent.simulate(request.scenario, request.action, request.seed)
            # a remote monitor waits on the network: not on the event loop
            return await run_in_threadpool(agent.simulate, request.scenario, request.action, request.seed)
        except ScenarioError as err:
            raise HTTPException(404, str(err)) from None
        except AgentUnavailable as err:
            raise HTTPException(503, str(err)) from None

    return api


def create_monitor_app(agent: MonitorAgent | None = None):
    app = create_app("AutoOps monitor", "Simulates CI builds and exports their metrics.")
    app.include_router(router(agent or MonitorAgent()))
    return app
