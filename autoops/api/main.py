"""The controller with every agent in-process: ``uvicorn autoops.api.main:app --port 9000``.

Only wiring: the agents (in-process, or clients of separate services where
``AUTOOPS_<AGENT>_URL`` is set), the controller that owns them, and the routers. Serves the
monitor (``/simulate_build``), optimizer (``/get_best_action``, ``/observe``) and responder (``/suggest_fix``)
endpoints, the controller's own (``/run``, ``/loop/start``, ``/loop/stop``, ``/status``,
``/alerts``, ``/answers``) and one ``/metrics`` for the whole system. Every ``AUTOOPS_*``
variable is described in ``autoops/settings.py`` and the README.
"""

from __future__ import annotations

from autoops.agents.controller import Controller, ControllerSettings
from autoops.api import controller as controller_api
from autoops.api import monitor, optimizer, responder
from autoops.api.client import remote_agents
from autoops.api.common import create_app
from autoops.notify import Notifier
from autoops.settings import Settings, settings


def controller_from_settings(s: Settings | None = None) -> Controller:
    s = s or settings()
    config = ControllerSettings(scenario=s.scenario, seed=s.seed, generator=s.generator, diagnose=s.diagnose, interval_s=s.interval_s)
    return Controller(config, **remote_agents(s))


def create_controller_app(controller: Controller | None = None, notifier: Notifier | None = None):
    controller = controller or controller_from_settings()
    if notifier is not None:
        controller.notifier = notifier
    app = create_app("AutoOps controller", "Monitor -> optimizer -> responder, once or continuously.")
    app.include_router(monitor.router(controller.monitor))
    app.include_router(optimizer.router(controller.optimizer))
    app.include_router(responder.router(controller.responder))
    app.include_router(controller_api.router(controller))
    app.state.controller = controller
    return app


app = create_controller_app()
