"""``autoops serve AGENT``: one agent, or the controller with every agent, as an HTTP service."""

from __future__ import annotations

import typer

from autoops.cli_support import fail

AGENT_APPS = {
    "monitor": "autoops.api.monitor:create_monitor_app",
    "optimizer": "autoops.api.optimizer:create_optimizer_app",
    "responder": "autoops.api.responder:create_responder_app",
    "controller": "autoops.api.main:create_controller_app",
}


def serve_cmd(
    agent: str = typer.Argument(..., help="monitor, optimizer, responder or controller."),
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback unless you mean otherwise)."),
    port: int = typer.Option(9000, help="Port to listen on."),
) -> None:
    """Run one agent as its own HTTP service (the controller reaches it through
    AUTOOPS_<AGENT>_URL), or the controller with the others. Set AUTOOPS_API_TOKEN to require a
    bearer token on the endpoints that change state."""
    import uvicorn  # only this command needs the server

    if agent not in AGENT_APPS:
        fail(f"unknown agent {agent!r}; expected one of {', '.join(AGENT_APPS)}")
    uvicorn.run(AGENT_APPS[agent], factory=True, host=host, port=port, log_level="info")
