"""Reading the project's YAML files with errors that name the file (scenarios, sweeps, configs)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml


def read_mapping(path: str | os.PathLike, error: type[Exception], what: str) -> dict:
    """The top-level mapping of a required YAML file (``what``: "scenario file", "sweep file")."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping at the top level")
    return data


def read_config(path: str | os.PathLike | None, default: Path, error: type[Exception]) -> tuple[Path, dict]:
    """A settings file: ``path`` if given (it must exist), else ``default`` if it exists; an empty
    or absent default file is no settings. Returns the file read and its settings."""
    source = Path(path) if path else default
    if not source.is_file():
        if path:
            raise error(f"{source}: config file not found")
        return source, {}
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise error(f"{source}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping of settings")
    return source, data
