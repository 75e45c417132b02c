"""Run folders: the one module that creates, finds, reads and writes them.

A training run is a folder ``<scenario>__<config>__<seed>__<YYYYmmdd-HHMMSS>`` under the runs
folder (``autoops.paths.runs_dir()`` unless a caller names another one) holding ``config.yaml``
(with the ``agent``), the learner's files (DQN: ``model.zip`` and ``replay_buffer.pkl``; the
agents of the online loop: ``agent/`` and ``state.pkl``), TensorBoard events and
``metrics.json``. Every file is written atomically (a temporary file in the same folder, fsync,
``os.replace``), and ``metrics.json`` last: it records the size and sha256 of the saved files,
so a folder whose ``metrics.json`` says ``complete`` holds a finished learner, and a reader can
tell when it has been damaged since.

While training, ``checkpoints/<step>/`` holds the newest checkpoint: the learner's files,
``state.pkl`` (what the loop needs to continue exactly) and ``manifest.json`` (step, size and
sha256 of each file). It is written in a staging folder and
renamed into place in one step, then the older one is deleted; a reader uses a checkpoint only
if its manifest matches its files (``latest_checkpoint``).

Nothing here imports torch: stable-baselines3 is imported by ``load_model`` only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from autoops import paths

CONFIG, MODEL, REPLAY_BUFFER, METRICS = "config.yaml", "model.zip", "replay_buffer.pkl", "metrics.json"
CHECKPOINTS, STATE, MANIFEST = "checkpoints", "state.pkl", "manifest.json"
AGENT = "agent"  # the folder of an agent of the online loop (``Agent.save``)
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


def _fsync(path: str | os.PathLike) -> None:
    """Flush a file, or a folder's entries (a rename), to the disk: a power cut after it keeps them."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` writes the file at a temporary path in the same folder, which then replaces
    ``path``: a reader sees the old file or the new one, never half of one (the optimizer service
    may read a run while training writes it, and a kill may come at any moment). The temporary
    name ends like ``path``, so libraries that add a missing suffix (SB3) keep it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync(path.parent)


def _write_text(path: Path, text: str) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | os.PathLike, data: dict) -> None:
    """``data`` as JSON at ``path``, atomically."""
    _write_text(Path(path), json.dumps(data, indent=1) + "\n")


def write_config(run_dir: str | os.PathLike, config: dict) -> None:
    """A run's ``config.yaml``, atomically."""
    _write_text(Path(run_dir) / CONFIG, yaml.safe_dump(config, sort_keys=False))


def file_record(path: str | os.PathLike) -> dict:
    """``{"bytes": size, "sha256": hex}`` of a file, as ``metrics.json`` and manifests keep them."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return {"bytes": os.path.getsize(path), "sha256": digest.hexdigest()}


def file_problem(path: Path, record: dict | None, full: bool = True) -> str | None:
    """Why ``path`` is not the file ``record`` describes (None when it is, or without a record);
    ``full=False`` compares the size only (no reading)."""
    if not path.is_file():
        return f"{path}: missing"
    if not isinstance(record, dict):
        return None
    size = path.stat().st_size
    if size != record.get("bytes"):
        return f"{path}: {size} bytes where {record.get('bytes')} were written (truncated or damaged)"
    if full and file_record(path)["sha256"] != record.get("sha256"):
        return f"{path}: its sha256 differs from the one recorded when it was written (damaged)"
    return None


# -- checkpoints ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    step: int


def _checkpoint_folders(run_dir: Path) -> list[Checkpoint]:
    """Every ``checkpoints/<step>`` folder, newest first (staging folders start with a dot)."""
    folder = Path(run_dir) / CHECKPOINTS
    found = [Checkpoint(p, int(p.name)) for p in folder.glob("*") if p.name.isdigit()] if folder.is_dir() else []
    return sorted(found, key=lambda c: c.step, reverse=True)


def checkpoint_problem(checkpoint: Checkpoint) -> str | None:
    """Why a checkpoint folder cannot be used (None when its manifest matches every file)."""
    try:
        manifest = json.loads((checkpoint.path / MANIFEST).read_text())
    except FileNotFoundError:
        return f"{checkpoint.path}: no {MANIFEST} (the checkpoint was not finished)"
    except (OSError, ValueError) as err:
        return f"{checkpoint.path / MANIFEST}: cannot be read ({err})"
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or manifest.get("step") != checkpoint.step or STATE not in files:
        return f"{checkpoint.path / MANIFEST}: not the manifest of a checkpoint at step {checkpoint.step}"
    return next((p for name, record in files.items() if (p := file_problem(checkpoint.path / name, record))), None)


def latest_checkpoint(run_dir: str | os.PathLike) -> tuple[Checkpoint | None, list[str]]:
    """The newest checkpoint of a run whose files match their manifest, and why newer ones were passed over."""
    passed_over = []
    for checkpoint in _checkpoint_folders(Path(run_dir)):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            return checkpoint, passed_over
        passed_over.append(problem)
    return None, passed_over


@contextmanager
def writing_checkpoint(run_dir: str | os.PathLike, step: int) -> Iterator[Path]:
    """A staging folder to write a checkpoint's files into (``state.pkl`` and whatever the learner
    needs: DQN's model and replay buffer, an agent's folder). On leaving the block the manifest of
    every file in it is written last, the folder becomes ``checkpoints/<step>`` in one
    rename, and the other checkpoints are deleted; on an error the staging folder is removed."""
    parent = Path(run_dir) / CHECKPOINTS
    parent.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{step}."))
    try:
        yield staging
        files = {p.relative_to(staging).as_posix(): file_record(p) for p in sorted(staging.rglob("*")) if p.is_file()}
        for name in files:
            _fsync(staging / name)
        write_json(staging / MANIFEST, {"step": int(step), "files": files, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        final = parent / str(int(step))
        if final.exists():  # a checkpoint at this step already (a run resumed from it and stopped again)
            shutil.rmtree(final)
        os.rename(staging, final)
        _fsync(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    remove_checkpoints(run_dir, keep=int(step))


def remove_checkpoints(run_dir: str | os.PathLike, keep: int | None = None) -> None:
    """Delete the checkpoints of a run (and unfinished staging folders), but the one at step ``keep``."""
    parent = Path(run_dir) / CHECKPOINTS
    if not parent.is_dir():
        return
    for path in parent.iterdir():
        if path.name != str(keep):
            shutil.rmtree(path, ignore_errors=True)
    if not any(parent.iterdir()):
        parent.rmdir()


def _started(run_dir: Path) -> tuple[str, int]:
    """The sortable start time in a run folder's name (its last part)."""
    match = _STAMP.fullmatch(run_dir.name.rsplit("__", 1)[-1])
    return (match.group(1), int(match.group(2) or 1)) if match else ("", 0)


def recorded(metrics: object, name: str) -> dict | None:
    """The size and sha256 that a ``metrics.json`` recorded for a file of its run (None: no
    record, as in runs written before records were kept)."""
    files = metrics.get("files") if isinstance(metrics, dict) else None
    record = files.get(name) if isinstance(files, dict) else None
    return record if isinstance(record, dict) else None


def is_complete(run_dir: str | os.PathLike) -> bool:
    """Training finished and saved the model (metrics.json is written last), and the model file has
    the size recorded then (a cheap check: ``load_model`` compares the sha256 too)."""
    run_dir = Path(run_dir)
    try:
        metrics = read_metrics(run_dir)
    except RunError:
        return False
    if not isinstance(metrics, dict) or metrics.get("status") != "complete":
        return False
    if metrics.get("agent", "dqn") != "dqn":  # an agent's folder: every file it saved
        files = metrics.get("files") or {}
        return bool(files) and all(file_problem(run_dir / name, record, full=False) is None for name, record in files.items())
    return file_problem(run_dir / MODEL, recorded(metrics, MODEL), full=False) is None


def run_agent(run_dir: str | os.PathLike) -> str:
    """The agent of a run folder ("dqn" for runs from before there were others)."""
    try:
        return read_run_config(run_dir).get("agent", "dqn")
    except RunError:
        return "dqn"


def complete_runs(scenario: str, runs_root: str | os.PathLike | None = None, agent: str | None = "dqn") -> Iterator[Path]:
    """The complete runs of ``scenario`` (a scenario name, as in the folder names) by ``agent``
    (None: any agent), newest first."""
    folders = [p for p in root(runs_root).glob(f"{scenario}__*") if p.name.split("__")[0] == scenario]
    return (p for p in sorted(folders, key=_started, reverse=True)
            if is_complete(p) and (agent is None or run_agent(p) == agent))


def latest_run(scenario: str, runs_root: str | os.PathLike | None = None, agent: str | None = "dqn") -> Path | None:
    """The newest complete run of ``scenario`` by ``agent`` (None: any agent), or None."""
    return next(complete_runs(scenario, runs_root, agent), None)


def _resume_hint(run_dir: Path) -> str:
    checkpoint, _ = latest_checkpoint(run_dir)
    return (f"; its training stopped without saving it (killed?), and its checkpoint at step {checkpoint.step} "
            f"can be finished with `autoops train --resume {run_dir}`") if checkpoint else ""


def load_model(run_dir: str | os.PathLike):
    """The SB3 model of a run folder (``model.zip``), on the CPU, checked against the size and
    sha256 recorded in ``metrics.json`` when it was written; a RunError naming the file otherwise."""
    run_dir = Path(run_dir)
    path = run_dir / MODEL
    if not path.is_file():
        raise RunError(f"{run_dir}: no {MODEL} (not a run folder, or its training has not saved yet){_resume_hint(run_dir)}")
    try:
        record = recorded(read_metrics(run_dir), MODEL)
    except RunError:  # a model saved by hand, or by a run that has no metrics.json
        record = None
    problem = file_problem(path, record)
    if problem:
        raise RunError(problem)
    from stable_baselines3 import DQN  # seconds to import: only when a model is loaded

    try:
        return DQN.load(path, device="cpu")
    except Exception as err:  # a damaged zip fails anywhere in SB3, zipfile, pickle or torch
        raise RunError(f"{path}: not a loadable model ({type(err).__name__}: {err})") from None


def load_agent(run_dir: str | os.PathLike):
    """The agent of a run folder of the online loop (``agent/``) and the builds it has seen, each
    saved file checked against ``metrics.json``; a RunError naming the file otherwise."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    if not (run_dir / METRICS).is_file():
        raise RunError(f"{run_dir}: no {METRICS} (its training has not saved yet){_resume_hint(run_dir)}")
    metrics = read_metrics(run_dir)
    for name, record in (metrics.get("files") or {}).items():
        problem = file_problem(run_dir / name, record)
        if problem:
            raise RunError(problem)
    from autoops.optimizer.agents import agent_class  # the SB3 agents import torch

    try:
        return agent_class(config["agent"]).load(run_dir / AGENT), int(metrics["num_timesteps"])
    except (OSError, ValueError, KeyError) as err:
        raise RunError(f"{run_dir}: its agent does not load ({type(err).__name__}: {err})") from None
