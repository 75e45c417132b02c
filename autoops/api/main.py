"""The controller with every agent in-process: ``uvicorn autoops.api.main:app --port 9000``.

Serves the monitor (``/simulate_build``), optimizer (``/get_best_action``) and responder
(``/suggest_fix``, ``/alerts``) endpoints, the controller's own (``/run``, ``/loop/start``,
``/loop/stop``, ``/status``, ``/answers``) and one ``/metrics`` for the whole system. Settings
come from ``AUTOOPS_SCENARIO``, ``AUTOOPS_SEED``, ``AUTOOPS_GENERATOR``, ``AUTOOPS_DIAGNOSE``
and ``AUTOOPS_<AGENT>_URL`` (an agent running as its own service). Each answered alert is also
sent to the apprise URLs (Slack, Discord, ...) of ``configs/notify.yaml``, or of
``AUTOOPS_NOTIFY_URLS`` (separated by whitespace or commas) when that is set.
"""

from __future__ import annotations

import collections
import os

from fastapi import APIRouter, Depends

from autoops.agents.controller import Controller, ControllerSettings
from autoops.api import monitor, optimizer, responder
from autoops.api.common import create_app, require_token
from autoops.notify import Notifier


def settings_from_environment() -> ControllerSettings:
    return ControllerSettings(
        scenario=os.environ.get("AUTOOPS_SCENARIO", "BuildPipeline"),
        seed=int(os.environ.get("AUTOOPS_SEED", "0")),
        generator=os.environ.get("AUTOOPS_GENERATOR") or None,
        diagnose=os.environ.get("AUTOOPS_DIAGNOSE", "") in ("1", "true", "yes"),
        interval_s=float(os.environ.get("AUTOOPS_INTERVAL_S", "1.0")),
        urls={name: os.environ[f"AUTOOPS_{name.upper()}_URL"] for name in ("monitor", "optimizer", "responder")
              if os.environ.get(f"AUTOOPS_{name.upper()}_URL")},
    )


def create_controller_app(controller: Controller | None = None, notifier: Notifier | None = None):
    controller = controller or Controller(settings_from_environment())
    notifier = notifier or Notifier.from_config()
    app = create_app("AutoOps controller", "Monitor -> optimizer -> responder, once or continuously.")
    answers: collections.deque = collections.deque(maxlen=200)  # the latest answers to alerts
    app.include_router(monitor.router(controller.monitor))
    app.include_router(optimizer.router(controller.optimizer))

    def on_alerts(new: list[dict]) -> None:
        answers.extend(new)
        notifier.notify(new)

    def evidence(alert: dict) -> str | None:
        """For an alert about a scenario's builds, the latest failed build's log of that scenario."""
        scenario = (alert.get("labels") or {}).get("scenario")
        log = controller.monitor.latest_failure_log(scenario) if scenario else None
        return log

    app.include_router(responder.router(controller.responder, on_alerts=on_alerts, alert_generator=controller.settings.generator,
                                        alert_evidence=evidence))
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

    @api.get("/answers")
    def latest_answers() -> list:
        """The responder's latest answers to Alertmanager's alerts, newest last."""
        return list(answers)

    app.include_router(api)
    app.state.controller = controller
    return app


app = create_controller_app()
