"""DQN settings: the typed dataclass, ``configs/dqn.yaml`` and ``--set KEY=VALUE`` overrides.

Hyperparameters come from ``configs/dqn.yaml`` as in rl-baselines3-zoo: a ``default`` entry,
per-scenario entries that override it, then ``KEY=VALUE`` overrides. Each field carries its help
text in its metadata, so ``autoops train --help`` is built from the dataclass itself; this module
does not import torch, so the help costs no seconds.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from autoops import paths
from autoops.envs import Scenario, get_scenario, load_all
from autoops.yamlfile import read_mapping


class SettingsError(ValueError):
    """A bad entry in ``configs/dqn.yaml`` or a bad ``KEY=VALUE`` override."""


def _num(help: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> dict:
    return {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open}


@dataclass(frozen=True)
class DQNSettings:
    """DQN hyperparameters and run settings. The class defaults are SB3's; ``configs/dqn.yaml``
    holds the tuned values (``default``, then per scenario), ``--set KEY=VALUE`` overrides them."""

    total_timesteps: int = field(default=50_000, metadata=_num(
        "Environment steps (builds) to train for; with exploration_fraction, the exploration horizon.", 1))
    learning_rate: float = field(default=1e-4, metadata=_num("Adam step size.", 0, lo_open=True))
    learning_rate_end: float = field(default=1.0, metadata=_num(
        "Learning rate at total_timesteps as a fraction of learning_rate, linear in between (1: constant); "
        "absolute steps like epsilon, and it stays there after total_timesteps.", 0, 1))
    buffer_size: int = field(default=1_000_000, metadata=_num("Replay buffer capacity, in transitions.", 1))
    learning_starts: int = field(default=100, metadata=_num(
        "Steps of uniformly random actions that fill the buffer before the first gradient step.", 0))
    batch_size: int = field(default=32, metadata=_num("Transitions per gradient step.", 1))
    tau: float = field(default=1.0, metadata=_num(
        "Target network update coefficient (1: hard copy every target_update_interval steps).", 0, 1, lo_open=True))
    gamma: float = field(default=0.99, metadata=_num(
        "Discount factor. The objective is the mean reward per build; on these scenarios the gamma-optimal "
        "policy is also average-reward optimal from gamma 0.8 (exact check).", 0, 1))
    n_steps: int = field(default=1, metadata=_num(
        "Steps of the n-step return of the TD target (SB3's NStepReplayBuffer when > 1).", 1))
    train_freq: int = field(default=4, metadata=_num("Environment steps between training phases.", 1))
    gradient_steps: int = field(default=1, metadata=_num("Gradient steps per training phase.", 1))
    target_update_interval: int = field(default=10_000, metadata=_num("Environment steps between target network updates.", 1))
    exploration_fraction: float = field(default=0.1, metadata=_num(
        "Share of total_timesteps over which epsilon decays linearly (absolute steps: resuming continues it).", 0, 1))
    exploration_initial_eps: float = field(default=1.0, metadata=_num("Epsilon at step 0.", 0, 1))
    exploration_final_eps: float = field(default=0.05, metadata=_num("Epsilon after the decay.", 0, 1))
    max_grad_norm: float = field(default=10.0, metadata=_num("Gradient norm clipping.", 0, lo_open=True))
    net_arch: tuple[int, ...] = field(default=(64, 64), metadata={
        "help": "Hidden layer sizes of the Q-network (ReLU), a YAML list such as [64, 64]."})
    reward_scale: float = field(default=1.0, metadata=_num(
        "Rewards are multiplied by this for learning (logged rewards stay raw); the policy is unchanged.", 0, lo_open=True))
    eval_freq: int = field(default=1_000, metadata=_num(
        "Environment steps between exact evaluations of the greedy policy (eval/regret, charts/mean_q).", 1))
    log_freq: int = field(default=500, metadata=_num(
        "Environment steps between charts/mean_reward_per_build, losses/td_loss and charts/SPS points.", 1))
    checkpoint_freq: int = field(default=0, metadata=_num(
        "Environment steps between checkpoints (model, replay buffer, step, random states), at the first training "
        "phase boundary from each multiple; 0: a tenth of total_timesteps, rounded up. A kill loses at most this many "
        "steps (`autoops train --resume RUN`).", 0))
    torch_threads: int = field(default=1, metadata=_num(
        "torch.set_num_threads; 1 is fastest for this small network and keeps runs reproducible.", 1))
    device: str = field(default="cpu", metadata={"help": "Torch device.", "choices": ("cpu", "cuda", "auto")})

    @property
    def checkpoint_every(self) -> int:
        """``checkpoint_freq`` resolved: 0 means a tenth of ``total_timesteps``, rounded up."""
        return self.checkpoint_freq or -(-self.total_timesteps // 10)

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class RunSettings:
    """How long a run of a ``dqn``-less agent lasts and how often it is measured and saved (the
    same names as in ``DQNSettings``, which carries them itself)."""

    total_timesteps: int = field(default=50_000, metadata=_num("Builds to learn from.", 1))
    eval_freq: int = field(default=1_000, metadata=_num(
        "Builds between exact evaluations of the greedy policy (eval/regret, eval/cumulative_regret).", 1))
    log_freq: int = field(default=500, metadata=_num("Builds between charts/mean_reward_per_build and charts/SPS points.", 1))
    checkpoint_freq: int = field(default=0, metadata=_num(
        "Builds between checkpoints (the agent, the env, the curves); 0: a tenth of total_timesteps, rounded up. "
        "A kill loses at most this many builds (`autoops train --resume RUN`).", 0))

    @property
    def checkpoint_every(self) -> int:
        return self.checkpoint_freq or -(-self.total_timesteps // 10)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@functools.cache
def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


FIELDS = _fields(DQNSettings)
SETTING_NAMES = tuple(FIELDS)


def dqn_config_path() -> Path:
    """``dqn.yaml`` of the user's config folder (``AUTOOPS_CONFIG_DIR``) if it has one, else the shipped one."""
    return paths.config_file("dqn.yaml")


def _check(name: str, value: typing.Any, where: str, cls: type = DQNSettings) -> typing.Any:
    """``value`` as the type of field ``name`` of the settings class ``cls``, or a SettingsError
    naming ``where`` and the field."""
    fields = _fields(cls)
    if name not in fields:
        close = difflib.get_close_matches(name, list(fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SettingsError(f"{where}: unknown field {name!r}{hint}; expected one of {', '.join(fields)}")
    kind, meta = typing.get_type_hints(cls)[name], fields[name].metadata

    def bad(expected: str) -> SettingsError:
        return SettingsError(f"{where}: field {name!r}: expected {expected}, got {value!r}")

    if kind is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind is str:
        if value not in meta["choices"]:
            raise bad(f"one of {', '.join(meta['choices'])}")
        return value
    if kind == tuple[int, ...]:
        if not isinstance(value, (list, tuple)) or not value or any(type(v) is not int or v < 1 for v in value):
            raise bad("a non-empty list of positive integers such as [64, 64]")
        return tuple(value)
    # numbers; YAML 1.1 reads 3e-4 as a string, so numeric strings are accepted
    number = value
    if isinstance(value, str):
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        number = None
    lo, hi, lo_open = meta["lo"], meta["hi"], meta["lo_open"]
    rng = f"{'(' if lo_open else '['}{lo}, {hi if hi is not None else 'inf'}{']' if hi is not None else ')'}"
    if kind is int:
        if number is None or float(number) != int(number):
            raise bad(f"an integer in {rng}")
        number = int(number)
    elif number is None:
        raise bad(f"a number in {rng}")
    else:
        number = float(number)
    if (lo is not None and (number < lo or (lo_open and number == lo))) or (hi is not None and number > hi):
        raise bad(f"{'an integer' if kind is int else 'a number'} in {rng}")
    return number


def parse_overrides(overrides: Iterable[str] | Mapping[str, typing.Any] | None, cls: type = DQNSettings) -> dict[str, typing.Any]:
    """``["gamma=0.9", "net_arch=[128, 128]"]`` or a mapping -> checked ``{field: value}``.

    Values are parsed with ``yaml.safe_load``; an unknown field or a bad value is a SettingsError
    that names the override and the field.
    """
    return _parse(overrides, lambda key, value, where: _check(key, value, where, cls))


def _parse(overrides, check: typing.Callable[[str, typing.Any, str], typing.Any]) -> dict[str, typing.Any]:
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return {k: check(k, v, f"override {k}={v!r}") for k, v in overrides.items()}
    if isinstance(overrides, str):
        overrides = [overrides]
    result = {}
    for item in overrides:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingsError(f"override {item!r}: expected KEY=VALUE, for example learning_rate=3e-4")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as err:
            raise SettingsError(f"override {item!r}: field {key!r}: the value is not valid YAML ({err.problem})") from None
        result[key] = check(key, value, f"override {item!r}")
    return result


def load_dqn_config(path: Path | None = None) -> dict[str, dict[str, typing.Any]]:
    """``configs/dqn.yaml``, checked: ``{"default": {...}, "<Scenario>": {...}}``."""
    path = Path(path) if path else dqn_config_path()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise SettingsError(f"{path}: cannot read the DQN configuration ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise SettingsError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("default"), dict):
        raise SettingsError(f"{path}: expected a mapping with a 'default' entry and one entry per scenario")
    scenarios = set(load_all())
    checked = {}
    for entry, values in data.items():
        if entry != "default" and entry not in scenarios:
            raise SettingsError(f"{path}: unknown entry {entry!r}; expected 'default' or a scenario of {', '.join(sorted(scenarios))}")
        if not isinstance(values, dict):
            raise SettingsError(f"{path}: entry {entry!r}: expected a mapping of settings, got {values!r}")
        checked[entry] = {k: _check(k, v, f"{path}: entry {entry!r}") for k, v in values.items()}
    return checked


def resolve_settings(
    scenario: str | Scenario,
    overrides: Iterable[str] | Mapping[str, typing.Any] | None = None,
    config_path: Path | None = None,
) -> DQNSettings:
    """Class defaults <- ``default`` <- the scenario's entry of ``configs/dqn.yaml`` <- overrides."""
    config = load_dqn_config(config_path)
    name = scenario.name if isinstance(scenario, Scenario) else get_scenario(scenario).name
    values = {**config["default"], **config.get(name, {}), **parse_overrides(overrides)}
    return DQNSettings(**values)


def settings_from_dict(values: Mapping[str, typing.Any], where: str) -> DQNSettings:
    return DQNSettings(**{k: _check(k, v, where) for k, v in values.items()})


def settings_help(cls: type = DQNSettings, defaults: Mapping[str, typing.Any] | None = None) -> str:
    """One paragraph per field of ``cls``: name, type, the value in ``defaults`` (for DQN, the
    ``default`` entry of dqn.yaml) else the class default, and the help text; one line each, so
    the terminal wraps it at its width."""
    if defaults is None and cls is DQNSettings:
        # read, not checked: --help works with a broken file (`autoops train` names the problem), and
        # every command of the CLI builds this text, so it skips loading the scenarios
        try:
            defaults = yaml.safe_load(dqn_config_path().read_text()).get("default") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            defaults = {}
    defaults = defaults or {}
    types = typing.get_type_hints(cls)
    lines = []
    for name, spec in _fields(cls).items():
        kind = "list of int" if types[name] == tuple[int, ...] else types[name].__name__
        value = defaults.get(name, spec.default)
        value = list(value) if isinstance(value, tuple) else value
        lines.append(f"{name} ({kind}, default {value}): {spec.metadata['help']}")
    return "\n\n".join(lines)


# -- the other agents: configs/agents.yaml ------------------------------------------------------
# One entry per agent, each with a `default` and per-scenario entries, as dqn.yaml; a key is a
# field of RunSettings or of the agent's own settings class.


def agents_config_path() -> Path:
    return paths.config_file("agents.yaml")


def agent_defaults(agent: str) -> dict:
    """``agents.yaml``'s ``<agent>.default``, read but not checked (for --help, which must work
    with a broken file: `autoops train` names the problem)."""
    try:
        return dict(yaml.safe_load(agents_config_path().read_text())[agent]["default"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return {}


def _owner(name: str, classes: tuple[type, ...], where: str) -> type:
    for cls in classes:
        if name in _fields(cls):
            return cls
    known = [n for cls in classes for n in _fields(cls)]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise SettingsError(f"{where}: unknown field {name!r}{hint}; expected one of {', '.join(known)}")


def _check_any(name: str, value: typing.Any, where: str, classes: tuple[type, ...]) -> typing.Any:
    return _check(name, value, where, _owner(name, classes, where))


def _agent_entries(agent: str, path: Path) -> dict:
    data = read_mapping(path, SettingsError, "agents' configuration")
    entries = data.get(agent) or {"default": {}}
    if not isinstance(entries, dict) or not isinstance(entries.get("default", {}), dict):
        raise SettingsError(f"{path}: entry {agent!r}: expected a mapping with a 'default' entry and one entry per scenario")
    return entries


def resolve_agent_settings(agent: str, agent_settings: type, scenario: str | Scenario,
                           overrides: Iterable[str] | Mapping[str, typing.Any] | None = None,
                           config_path: Path | None = None) -> tuple[RunSettings, typing.Any]:
    """Class defaults <- ``agents.yaml`` ``<agent>.default`` <- ``<agent>.<scenario>`` <- overrides,
    split into the run's settings and the agent's own."""
    path = Path(config_path) if config_path else agents_config_path()
    classes = (RunSettings, agent_settings)
    entries = _agent_entries(agent, path)
    scenarios = set(load_all())
    values: dict[str, typing.Any] = {}
    name = scenario.name if isinstance(scenario, Scenario) else get_scenario(scenario).name
    for entry, entry_values in entries.items():
        if entry != "default" and entry not in scenarios:
            raise SettingsError(f"{path}: entry {agent}.{entry}: unknown; expected 'default' or a scenario of {', '.join(sorted(scenarios))}")
        if not isinstance(entry_values, dict):
            raise SettingsError(f"{path}: entry {agent}.{entry}: expected a mapping of settings, got {entry_values!r}")
        checked = {k: _check_any(k, v, f"{path}: entry {agent}.{entry}", classes) for k, v in entry_values.items()}
        if entry == "default":
            values = {**checked, **values}
        elif entry == name:
            values = {**values, **checked}
    items = _parse(overrides, lambda key, value, where: _check_any(key, value, where, classes))
    values.update(items)
    split = [{k: v for k, v in values.items() if k in _fields(cls)} for cls in classes]
    return RunSettings(**split[0]), agent_settings(**split[1])
