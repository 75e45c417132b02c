"""Every ``AUTOOPS_*`` environment variable, read in one place.

``settings()`` reads the environment each time it is called (cheap), so a variable set by a test
or before a service starts is seen. A bad value fails with the variable's name and what was
expected. The README's "Settings" table lists the same variables (a test keeps them in step).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

AGENTS = ("monitor", "optimizer", "responder")


class SettingsError(ValueError):
    """An ``AUTOOPS_*`` variable has a value that cannot be used; the message names it."""


def _var(name: str, help: str, kind: str = "text") -> dict:
    return {"env": f"AUTOOPS_{name}", "help": help, "kind": kind}


@dataclass(frozen=True)
class Settings:
    # where things are
    config_dir: Path | None = dataclasses.field(default=None, metadata=_var(
        "CONFIG_DIR", "A folder of your own config files (scenarios/, dqn.yaml, responder.yaml, notify.yaml); "
        "each replaces the shipped file of the same name.", "path"))
    results_dir: Path | None = dataclasses.field(default=None, metadata=_var(
        "RESULTS_DIR", "Where results go (default: results/ of the checkout, else ~/.local/share/autoops).", "path"))
    runs_dir: Path | None = dataclasses.field(default=None, metadata=_var(
        "RUNS_DIR", "Training runs (default: <results>/runs); the optimizer service serves the newest complete run here.", "path"))
    cache_dir: Path | None = dataclasses.field(default=None, metadata=_var(
        "CACHE_DIR", "Rebuildable caches: embedding index, ONNX export, dequantized LLM weights (default: <results>/cache).", "path"))
    taxonomy: Path | None = dataclasses.field(default=None, metadata=_var(
        "TAXONOMY", "The incident taxonomy YAML (default: knowledge_base/taxonomy.yaml, shipped).", "path"))
    # the services
    api_token: str | None = dataclasses.field(default=None, metadata=_var(
        "API_TOKEN", "When set, endpoints that change state need 'Authorization: Bearer <token>'."))
    scenario: str = dataclasses.field(default="BuildPipeline", metadata=_var(
        "SCENARIO", "The controller's scenario."))
    seed: int = dataclasses.field(default=0, metadata=_var("SEED", "The controller's simulator seed, and a learning optimizer's.", "int"))
    generator: str | None = dataclasses.field(default=None, metadata=_var(
        "GENERATOR", "The responder's generator for the controller (default: configs/responder.yaml's)."))
    diagnose: bool = dataclasses.field(default=False, metadata=_var(
        "DIAGNOSE", "1/true/yes: the optimizer sees the responder's diagnosis instead of the true failure category.", "bool"))
    interval_s: float = dataclasses.field(default=1.0, metadata=_var(
        "INTERVAL_S", "Seconds between iterations of the controller's loop.", "float"))
    monitor_url: str | None = dataclasses.field(default=None, metadata=_var(
        "MONITOR_URL", "Base URL of a separate monitor service (default: in-process)."))
    optimizer_url: str | None = dataclasses.field(default=None, metadata=_var(
        "OPTIMIZER_URL", "Base URL of a separate optimizer service (default: in-process)."))
    responder_url: str | None = dataclasses.field(default=None, metadata=_var(
        "RESPONDER_URL", "Base URL of a separate responder service (default: in-process)."))
    optimizer_agent: str = dataclasses.field(default="dqn", metadata=_var(
        "OPTIMIZER_AGENT", "The optimizer service's agent: dqn, ppo or factored (it starts from the newest complete run "
        "of that agent, else, when learning, from a fresh one)."))
    optimizer_learn: bool = dataclasses.field(default=False, metadata=_var(
        "OPTIMIZER_LEARN", "1/true/yes: the optimizer service explores and learns from each build reported to /observe "
        "(the controller reports every build it chose).", "bool"))
    optimizer_save_every: int = dataclasses.field(default=1000, metadata=_var(
        "OPTIMIZER_SAVE_EVERY", "Builds between saves of a learning optimizer (to `<results>/online/<scenario>__<agent>/`, "
        "where it continues from when restarted).", "int"))
    optimizer_regret_every: int = dataclasses.field(default=500, metadata=_var(
        "OPTIMIZER_REGRET_EVERY", "Builds between refreshes of the optimizer's exact greedy regret (autoops_optimizer_regret).", "int"))
    notify_urls: tuple[str, ...] | None = dataclasses.field(default=None, metadata=_var(
        "NOTIFY_URLS", "Apprise URLs (Slack, Discord, ...) separated by spaces or commas; replaces configs/notify.yaml's list.", "list"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(field.metadata["env"])
            if raw is None or (raw.strip() == "" and field.metadata["kind"] != "list"):
                continue
            values[field.name] = _parse(field.metadata["env"], field.metadata["kind"], raw)
        return cls(**values)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            if field.name.endswith("_every") and getattr(self, field.name) < 1:
                raise SettingsError(f"{field.metadata['env']}={getattr(self, field.name)}: expected a positive number of builds")

    def agent_urls(self) -> dict[str, str]:
        """Agent name -> base URL, for the agents that run as separate services."""
        return {name: url for name in AGENTS if (url := getattr(self, f"{name}_url"))}


def _parse(env: str, kind: str, raw: str):
    raw = raw.strip()
    if kind == "path":
        return Path(raw).expanduser().resolve()
    if kind == "list":
        return tuple(part for part in raw.replace(",", " ").split() if part)
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{env}={raw!r}: expected 1/true/yes or 0/false/no")
    try:
        return {"int": int, "float": float}.get(kind, str)(raw)
    except ValueError:
        raise SettingsError(f"{env}={raw!r}: expected {'an integer' if kind == 'int' else 'a number'}") from None


def settings() -> Settings:
    """The settings from the current environment."""
    return Settings.from_env()


def variables() -> list[dict]:
    """Each variable's name, default and meaning (for ``--help``, the README and the tests)."""
    return [{"name": f.metadata["env"], "default": f.default, "help": f.metadata["help"]} for f in dataclasses.fields(Settings)]
