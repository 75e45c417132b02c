"""``autoops stack up|down|status``: Prometheus, Alertmanager and the controller on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from autoops.cli_support import console, fail
from autoops.system.stack import Stack, StackError

app = typer.Typer(help="Prometheus, Alertmanager and the controller on loopback (Debian's binaries).", no_args_is_help=True)


def _stack(folder: Path | None, prometheus_port: int, alertmanager_port: int, controller_port: int):
    base = Stack()
    return Stack(folder or base.folder, prometheus_port=prometheus_port, alertmanager_port=alertmanager_port, controller_port=controller_port)


StackFolder = typer.Option(None, "--folder", help="Where configuration, data, logs and PID files go (default results/stack).")


@app.command("up")
def stack_up(folder: Path = StackFolder, prometheus_port: int = 9090, alertmanager_port: int = 9093, controller_port: int = 9000,
             timeout: float = typer.Option(90, help="Seconds to wait for every target to be up.")) -> None:
    """Start whatever is not running and wait until Prometheus scrapes every target; print the URLs."""
    stack = _stack(folder, prometheus_port, alertmanager_port, controller_port)
    start = time.perf_counter()
    try:
        urls = stack.up(timeout_s=timeout)
    except StackError as err:
        fail(str(err))
    console.print(f"stack up in {time.perf_counter() - start:.1f} s; every target is up")
    for name, url in urls.items():
        console.print(f"  {name:13s} {url}")


@app.command("down")
def stack_down(folder: Path = StackFolder) -> None:
    """Stop the controller, Alertmanager and Prometheus of this stack folder."""
    stopped = _stack(folder, 9090, 9093, 9000).down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command("status")
def stack_status(folder: Path = StackFolder, prometheus_port: int = 9090, alertmanager_port: int = 9093, controller_port: int = 9000) -> None:
    """Which services of the stack run, with their PIDs and URLs."""
    for name, info in _stack(folder, prometheus_port, alertmanager_port, controller_port).status().items():
        console.print(f"  {name:13s} {'running' if info['running'] else 'stopped':8s} pid {info['pid'] or '-':>7}  {info['url']}")
