"""Run folders: the one module that creates, finds, reads and writes them.

A training run is a folder ``<scenario>__<config>__<seed>__<YYYYmmdd-HHMMSS>`` under the runs
folder (``autoops.paths.runs_dir()`` unless a caller names another one) holding ``config.yaml``,
``model.zip``, ``replay_buffer.pkl``, TensorBoard events and ``metrics.json``. Training writes
``metrics.json`` last, so a folder with a ``metrics.json`` whose status is ``complete`` holds a
finished model.

Nothing here imports torch: stable-baselines3 is imported by ``load_model`` only.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

import yaml

from autoops import paths

CONFIG, MODEL, REPLAY_BUFFER, METRICS = "config.yaml", "model.zip", "replay_buffer.pkl", "metrics.json"
_CONFIG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*")  # "__" separates the parts of a folder name
_STAMP = re.compile(r"(\d{8}-\d{6})(?:-(\d+))?")


class RunError(ValueError):
    """A run folder that cannot be resumed or evaluated, or a bad run request."""


def root(runs_root: str | os.PathLike | None = None) -> Path:
    """``runs_root`` if given, else the configured runs folder (read when called)."""
    return Path(runs_root).expanduser().resolve() if runs_root is not None else paths.runs_dir()


def check_config_name(config_name: str) -> str:
    if not _CONFIG_NAME.fullmatch(config_name):
        raise RunError(f"config name {config_name!r}: use letters, digits, '.', '-' and single '_'")
    return config_name


def new_run_dir(scenario: str, config_name: str, seed: int, runs_root: str | os.PathLike | None = None) -> Path:
    """A new, empty folder ``<scenario>__<config_name>__<seed>__<time>`` (``-2``, ``-3``... when
    several runs start in the same second)."""
    check_config_name(config_name)
    parent = root(runs_root)
    parent.mkdir(parents=True, exist_ok=True)
    base = f"{scenario}__{config_name}__{seed}__{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 1000):
        path = parent / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RunError(f"cannot create a run folder beside {parent / base}")


def read_run_config(run_dir: str | os.PathLike) -> dict:
    """A run's ``config.yaml``; a RunError if the folder is not a run."""
    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder")
    if not path.is_file():
        raise RunError(f"{run_dir}: not a training run (no {CONFIG})")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise RunError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(config, dict) or not {"scenario", "seed", "settings"} <= set(config):
        raise RunError(f"{path}: not a run configuration (expected scenario, seed and settings)")
    return config


def read_metrics(run_dir: str | os.PathLike) -> dict:
    """A run's ``metrics.json``; a RunError if it is missing or unreadable."""
    path = Path(run_dir) / METRICS
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{run_dir}: no {METRICS} (its training has not saved yet)") from None
    except (OSError, ValueError) as err:
        raise RunError(f"{path}: cannot be read ({err})") from None


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder: a reader sees the old file or the new
    one, never half of one (the optimizer service may read a run while training writes it)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, data: dict) -> None:
    """``data`` as JSON at ``path``, atomically."""
    _write_text(Path(path), json.dumps(data, indent=1) + "\n")


def write_config(run_dir: str | os.PathLike, config: dict) -> None:
    """A run's ``config.yaml``, atomically."""
    _write_text(Path(run_dir) / CONFIG, yaml.safe_dump(config, sort_keys=False))


def _started(run_dir: Path) -> tuple[str, int]:
    """The sortable start time in a run folder's name (its last part)."""
    match = _STAMP.fullmatch(run_dir.name.rsplit("__", 1)[-1])
    return (match.group(1), int(match.group(2) or 1)) if match else ("", 0)


def is_complete(run_dir: str | os.PathLike) -> bool:
    """Training finished and saved the model (metrics.json is written last)."""
    run_dir = Path(run_dir)
    if not (run_dir / MODEL).is_file():
        return False
    try:
        return read_metrics(run_dir).get("status") == "complete"
    except RunError:
        return False


def latest_run(scenario: str, runs_root: str | os.PathLike | None = None) -> Path | None:
    """The newest complete run of ``scenario`` (a scenario name, as in the folder names), or None."""
    folders = [p for p in root(runs_root).glob(f"{scenario}__*") if p.name.split("__")[0] == scenario]
    return next((p for p in sorted(folders, key=_started, reverse=True) if is_complete(p)), None)


def load_model(run_dir: str | os.PathLike):
    """The SB3 model of a run folder (``model.zip``), on the CPU."""
    path = Path(run_dir) / MODEL
    if not path.is_file():
        raise RunError(f"{run_dir}: no {MODEL} (not a run folder, or its training has not saved yet)")
    from stable_baselines3 import DQN  # seconds to import: only when a model is loaded

    return DQN.load(path, device="cpu")
