"""What every ``autoops`` command shares: the consoles and the one way to fail.

Errors go to stderr as ``error: <message>`` with exit code 2 (1 where a command says so), never a
traceback. Messages are printed as plain text, so rich never takes ``[low, high]`` for markup.
"""

from __future__ import annotations

import inspect
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


def help_text(doc: str | None) -> str:
    """A docstring as typer should show it: paragraphs of one line each, which the terminal wraps at
    its width (typer keeps a docstring's own line breaks after the first paragraph)."""
    text = inspect.cleandoc(doc or "")
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n"))


def tidy_help(app: typer.Typer) -> None:
    """Every command's docstring of ``app`` and its groups made into help text."""
    for info in app.registered_commands:
        info.callback.__doc__ = help_text(info.callback.__doc__)
    for group in app.registered_groups:
        tidy_help(group.typer_instance)
