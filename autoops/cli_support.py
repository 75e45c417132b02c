"""What every ``autoops`` command shares: the consoles and the one way to fail.

Errors go to stderr as ``error: <message>`` with exit code 2 (1 where a command says so), never a
traceback. Messages are printed as plain text, so rich never takes ``[low, high]`` for markup.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def say(message: str) -> None:
    """Print plain text (no markup, no highlighting), wrapped only by the terminal."""
    console.print(message, markup=False, highlight=False, soft_wrap=True)
