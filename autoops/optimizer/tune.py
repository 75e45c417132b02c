"""``autoops tune``: search an agent's hyperparameters with Optuna.

The search space of each agent is data: its entry in ``configs/tune_spaces.yaml`` (checked
against the agent's settings, so a typo names the file and the field). The objective, averaged
over seeds (lower is better), is either the exact relative regret of the greedy policy at the end
of training (``regret``) or the exact cumulative regret of the builds the agent ran while learning
(``cumulative_regret``: what a team pays). The sampler is TPE (seeded); the median pruner stops a
trial whose objective at an evaluation checkpoint of its first seed (the greedy regret, or the
cumulative regret so far) is worse than the median of earlier trials at the same step. Studies
live in SQLite under ``autoops.paths.tune_dir()`` (``results/tune/``) by default, so several
processes or machines sharing the file (or any Optuna storage URL) work on one study; the
trials' runs go to its ``runs/``. ``settings_snippet`` writes the best trial's settings as YAML
to paste under the agent and scenario in ``configs/agents.yaml`` (DQN: ``configs/dqn.yaml``).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from autoops import paths
from autoops.envs import Scenario, get_scenario
from autoops.optimizer.agents import AGENTS, settings_class
from autoops.optimizer.online import train
from autoops.optimizer.regret import LearningCost
from autoops.optimizer.runs import read_metrics
from autoops.optimizer.settings import (
    DQNSettings,
    RunSettings,
    SettingsError,
    _check_any,
    _owner,
    agents_config_path,
    dqn_config_path,
    resolve_agent_settings,
)
from autoops.yamlfile import read_mapping

OBJECTIVES = ("regret", "cumulative_regret")


def spaces_path() -> Path:
    """``tune_spaces.yaml`` of the user's config folder (``AUTOOPS_CONFIG_DIR``) if it has one, else the shipped one."""
    return paths.config_file("tune_spaces.yaml")


def _label(value: typing.Any) -> typing.Any:
    # Optuna stores categorical choices as plain values, so lists travel as text ("64,64", as the
    # studies made before this file did)
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value


@dataclass(frozen=True)
class Param:
    """One searched setting: a range (``low``, ``high``, ``log``) or ``choices``."""

    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial) -> typing.Any:
        if self.choices:
            labels = {_label(c): c for c in self.choices}
            return labels[trial.suggest_categorical(self.name, list(labels))]
        if isinstance(self.low, int):
            return trial.suggest_int(self.name, self.low, self.high, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def value(self, stored: typing.Any) -> typing.Any:
        """A trial's stored parameter as the setting's value (a label back to its list)."""
        return next((c for c in self.choices if _label(c) == stored), stored)


def _classes(agent: str) -> tuple[type, ...]:
    return (DQNSettings,) if agent == "dqn" else (RunSettings, settings_class(agent))


def check_agent(agent: str) -> str:
    if agent not in AGENTS:
        raise SettingsError(f"unknown agent {agent!r}; expected one of {', '.join(AGENTS)}")
    return agent


def load_space(agent: str, path: Path | None = None) -> list[Param]:
    """The checked search space of ``agent`` from ``tune_spaces.yaml``."""
    check_agent(agent)
    path = Path(path) if path else spaces_path()
    data = read_mapping(path, SettingsError, "search spaces file")
    if agent not in data:
        raise SettingsError(f"{path}: no search space for agent {agent!r} (expected an entry '{agent}:')")
    entries = data[agent]
    if not isinstance(entries, dict) or not entries:
        raise SettingsError(f"{path}: entry {agent!r}: expected a mapping of setting name to {{low, high, log}} or {{choices}}")
    classes = _classes(agent)
    space = []
    for name, spec in entries.items():
        where = f"{path}: entry {agent}.{name}"
        _owner(str(name), classes, where)  # an unknown setting is named before its spec is read
        space.append(_param(name, spec, where, classes))
    return space


def _param(name: str, spec: typing.Any, where: str, classes: tuple[type, ...]) -> Param:
    def check(value):
        return _check_any(name, value, where, classes)  # unknown field, wrong type or out of range

    if isinstance(spec, dict) and set(spec) == {"choices"}:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise SettingsError(f"{where}: choices: expected a non-empty list, got {choices!r}")
        values = tuple(check(c) for c in choices)
        if len({_label(v) for v in values}) < len(values):
            raise SettingsError(f"{where}: choices: a value is listed twice")
        return Param(name, choices=values)
    if isinstance(spec, dict) and {"low", "high"} <= set(spec) <= {"low", "high", "log"}:
        low, high, log = check(spec["low"]), check(spec["high"]), spec.get("log", False)
        if not isinstance(low, (int, float)) or isinstance(low, bool):
            raise SettingsError(f"{where}: a range needs a numeric setting; use choices")
        if not isinstance(log, bool):
            raise SettingsError(f"{where}: log: expected true or false, got {log!r}")
        if not low < high:
            raise SettingsError(f"{where}: expected low < high, got low {low!r}, high {high!r}")
        if log and low <= 0:
            raise SettingsError(f"{where}: a log range needs low > 0, got {low!r}")
        return Param(name, low, high, log)
    raise SettingsError(f"{where}: expected {{low: L, high: H}} (optionally log: true) or {{choices: [...]}}, got {spec!r}")


class _Reporter:
    """Reports the objective at each evaluation checkpoint to the trial and says whether to go on."""

    def __init__(self, trial, objective: str):
        self.trial, self.objective, self.pruned = trial, objective, False

    def __call__(self, step: int, stats, cost: LearningCost) -> bool:
        value = stats.regret if self.objective == "regret" else cost.cumulative
        self.trial.report(value, step)
        self.pruned = self.trial.should_prune()
        return not self.pruned


def _run(agent: str, sc: Scenario, seed: int, overrides: dict, run_root, config_name: str, reporter: _Reporter | None) -> Path:
    return train(agent, sc, seed, overrides, run_root=run_root, progress=False, config_name=config_name, on_evaluation=reporter)


def tune(scenario: str, n_trials: int, seeds: tuple[int, ...] = (0, 1), timesteps: int | None = None,
         study_name: str | None = None, storage: str | None = None, sampler_seed: int = 0,
         run_root: str | Path | None = None, progress: bool = True, agent: str = "dqn",
         objective: str = "regret", space_path: str | Path | None = None):
    """Run ``n_trials`` more trials of the study (created on first use) and return it."""
    import optuna

    space = load_space(agent, space_path)
    if objective not in OBJECTIVES:
        raise SettingsError(f"unknown objective {objective!r}; expected one of {', '.join(OBJECTIVES)}")
    sc = get_scenario(scenario)
    if agent != "dqn":  # the files' entries and the run settings, checked before the first trial
        resolve_agent_settings(agent, settings_class(agent), sc)
    study_name = study_name or f"{agent}-{sc.name}"
    run_root = paths.tune_dir() / "runs" if run_root is None else run_root
    if storage is None:
        paths.tune_dir().mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{paths.tune_dir() / 'optuna.db'}"
    study = optuna.create_study(
        study_name=study_name, storage=storage, load_if_exists=True, direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )
    # a study's values are comparable only for one agent, scenario and objective (studies with
    # trials from before these were recorded: DQN's final regret)
    legacy = {"agent": "dqn", "objective": "regret"} if study.trials else {}
    for key, value in (("agent", agent), ("scenario", sc.name), ("objective", objective)):
        had = study.user_attrs.get(key, legacy.get(key, value))
        if had != value:
            raise SettingsError(f"study {study_name!r} is a study of {key} {had!r}, not {value!r}; name another with --study")
        study.set_user_attr(key, value)

    def run_trial(trial) -> float:
        overrides = {p.name: p.suggest(trial) for p in space}
        if timesteps:
            overrides["total_timesteps"] = timesteps
        values = []
        for i, seed in enumerate(seeds):
            reporter = _Reporter(trial, objective) if i == 0 else None  # prune on the first seed's learning curve
            run = _run(agent, sc, seed, overrides, run_root, f"{agent}-trial-{trial.number}", reporter)
            if reporter is not None and reporter.pruned:
                raise optuna.TrialPruned()
            values.append(float(read_metrics(run)[objective]))
        trial.set_user_attr(f"{objective}_per_seed", values)
        trial.set_user_attr("seeds", list(seeds))
        trial.set_user_attr("timesteps", timesteps)
        return float(np.mean(values))

    study.optimize(run_trial, n_trials=n_trials, show_progress_bar=progress)
    return study


def best_settings(study, space: list[Param]) -> dict:
    """The best trial's searched settings as values of the settings file (4 significant digits)."""
    by_name = {p.name: p for p in space}
    values = {}
    for name, stored in study.best_trial.params.items():
        value = by_name[name].value(stored) if name in by_name else stored
        values[name] = float(f"{value:.4g}") if isinstance(value, float) else list(value) if isinstance(value, tuple) else value
    return values


def settings_snippet(agent: str, scenario: str, values: dict, comment: str = "") -> str:
    """YAML to paste into the agent's settings file: DQN's under the scenario in dqn.yaml, the
    others' under the agent and the scenario in agents.yaml (merge with an entry already there)."""
    entry = {scenario: values} if agent == "dqn" else {agent: {scenario: values}}
    target = dqn_config_path() if agent == "dqn" else agents_config_path()
    head = f"# {comment}\n" if comment else ""
    return f"{head}# for {target}\n" + yaml.dump(entry, Dumper=_SnippetDumper, sort_keys=False)


class _SnippetDumper(yaml.SafeDumper):
    """Block mappings with lists on one line ([64, 64]), as the settings files write them."""


_SnippetDumper.add_representer(list, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=True))
