"""The controller's own endpoints: ``/run``, ``/loop/start|stop``, ``/status``, ``/answers`` and
Alertmanager's webhook ``/alerts``."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from autoops.agents.controller import Controller
from autoops.api.common import require_token


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


def router(controller: Controller) -> APIRouter:
    api = APIRouter(tags=["controller"])

    @api.post("/run", dependencies=[Depends(require_token)])
    def run() -> dict:
        """One iteration: what the optimizer chose, the build, and the responder's suggestion."""
        return controller.run_once()

    @api.post("/loop/start", dependencies=[Depends(require_token)])
    def loop_start() -> dict:
        """Start the continuous loop (one iteration every interval)."""
        return {"started": controller.start(), **controller.status()}

    @api.post("/loop/stop", dependencies=[Depends(require_token)])
    def loop_stop() -> dict:
        return {"stopped": controller.stop(), **controller.status()}

    @api.get("/status")
    def status() -> dict:
        return controller.status()

    @api.post("/alerts", tags=["responder"])
    def alerts(payload: AlertmanagerPayload) -> dict:
        """Alertmanager's webhook: a suggestion for each firing alert (answered once per firing),
        kept for ``GET /answers`` and sent to the configured notification URLs."""
        answers = controller.answer_alerts([alert.model_dump() for alert in payload.alerts])
        return {"answered": len(answers), "answers": answers}

    @api.get("/answers")
    def latest_answers() -> list:
        """The responder's latest answers to Alertmanager's alerts, newest last."""
        return list(controller.answers)

    return api
