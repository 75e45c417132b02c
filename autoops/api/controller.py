"""The controller's own endpoints: ``/run``, ``/loop/start|stop``, ``/status``, ``/answers`` and
Alertmanager's webhook ``/alerts``."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from autoops.agents.controller import Controller
from autoops.api.common import StrictJSONRoute, errors, require_token
from autoops.api.responder import generation_slot


# Each firing alert is one responder call (~10 ms extractive, seconds with an LLM): a body of 1 MB
# could otherwise hold 40,000 alerts and minutes of work. monitoring/alertmanager.yml sends at
# most 20 per notification (the webhook's `max_alerts`).
MAX_ALERTS = 100


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
    alerts: list[Alert] = Field(max_length=MAX_ALERTS)


def router(controller: Controller) -> APIRouter:
    api = APIRouter(tags=["controller"], route_class=StrictJSONRoute)
    protected = {"dependencies": [Depends(require_token)], "responses": errors(401)}

    @api.post("/run", **protected)
    def run() -> dict:
        """One iteration: what the optimizer chose, the build, and the responder's suggestion."""
        return controller.run_once()

    @api.post("/loop/start", **protected)
    def loop_start() -> dict:
        """Start the continuous loop (one iteration every interval)."""
        return {"started": controller.start(), **controller.status()}

    @api.post("/loop/stop", **protected)
    def loop_stop() -> dict:
        return {"stopped": controller.stop(), **controller.status()}

    @api.get("/status")
    def status() -> dict:
        return controller.status()

    @api.post("/alerts", tags=["responder"], dependencies=[Depends(require_token)],
              responses=errors(401, 413, 503, e503="The responder's LLM generations are all busy (max_concurrent_generations); "
                                                    "Alertmanager sends the alerts again."))
    def alerts(payload: AlertmanagerPayload) -> dict:
        """Alertmanager's webhook: a suggestion for each firing alert (answered once per firing),
        kept for ``GET /answers`` and sent to the configured notification URLs."""
        # 503, not 429, when no generation slot is free: Alertmanager retries a webhook only on 5xx
        with generation_slot(controller.responder, controller.settings.generator, status=503):
            answers = controller.answer_alerts([alert.model_dump() for alert in payload.alerts])
        return {"answered": len(answers), "answers": answers}

    @api.get("/answers")
    def latest_answers() -> list:
        """The responder's latest answers to Alertmanager's alerts, newest last."""
        return list(controller.answers)

    return api
