"""The responder agent's service: ``POST /suggest_fix`` (Alertmanager's ``/alerts`` is the controller's)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from autoops.agents.responder import ResponderAgent
from autoops.agents.schemas import Suggestion
from autoops.api.client import SUGGEST_FIX
from autoops.api.common import create_app
from autoops.responder.responder import ConfigError


class SuggestRequest(BaseModel):
    text: str = Field(min_length=1, description="A failed build's log or an error message (secrets are redacted first).")
    generator: str | None = Field(None, description="extractive, smollm2, hf or openai; default from configs/responder.yaml.")


def router(agent: ResponderAgent) -> APIRouter:
    api = APIRouter(tags=["responder"])

    @api.post(SUGGEST_FIX, response_model=Suggestion)
    def suggest_fix(request: SuggestRequest) -> dict:
        """A structured fix suggestion: summary, root cause, fix steps, the incidents it used,
        category, confidence, generator, latency, and why it fell back or declined, if it did."""
        try:
            return agent.suggest_fix(request.text, request.generator)
        except ConfigError as err:
            raise HTTPException(422, str(err)) from None

    return api


def create_responder_app(agent: ResponderAgent | None = None):
    app = create_app("AutoOps responder", "Suggests fixes for failed builds and alerts.")
    app.include_router(router(agent or ResponderAgent()))
    return app
