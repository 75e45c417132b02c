"""The responder agent's service: ``POST /suggest_fix`` and Alertmanager's webhook ``POST /alerts``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from autoops.agents.responder import ResponderAgent
from autoops.api.common import create_app


class SuggestRequest(BaseModel):
    text: str = Field(min_length=1, description="A failed build's log or an error message (secrets are redacted first).")
    generator: str | None = Field(None, description="extractive, smollm2, hf or openai; default from configs/responder.yaml.")


class Alert(BaseModel):
    status: str
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    fingerprint: str | None = None
    startsAt: str | None = None


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body (version 4); fields this service does not read are accepted."""

    version: str | None = None
    status: str | None = None
    receiver: str | None = None
    alerts: list[Alert]


def router(agent: ResponderAgent, on_alerts=None, alert_generator: str | None = None, alert_evidence=None) -> APIRouter:
    """``on_alerts`` receives each webhook's answers; ``alert_generator`` answers alerts (default:
    the configured one); ``alert_evidence(alert)`` adds text for the responder to read with an alert."""
    api = APIRouter(tags=["responder"])

    @api.post("/suggest_fix")
    def suggest_fix(request: SuggestRequest) -> dict:
        """A structured fix suggestion: summary, root cause, fix steps, the incidents it used,
        category, confidence, generator, latency, and why it fell back or declined, if it did."""
        from autoops.responder.responder import ConfigError

        try:
            return agent.suggest_fix(request.text, request.generator)
        except ConfigError as err:
            raise HTTPException(422, str(err)) from None

    @api.post("/alerts")
    def alerts(payload: AlertmanagerPayload) -> dict:
        """Alertmanager's webhook: a suggestion for each firing alert."""
        answers = agent.answer_alerts(payload.model_dump(), alert_generator, alert_evidence)
        if on_alerts:
            on_alerts(answers)
        return {"answered": len(answers), "answers": answers}

    return api


def create_responder_app(agent: ResponderAgent | None = None):
    app = create_app("AutoOps responder", "Suggests fixes for failed builds and alerts.")
    app.include_router(router(agent or ResponderAgent()))
    return app
