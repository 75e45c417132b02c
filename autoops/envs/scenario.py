"""Scenario files: the parameters of one simulated CI project, loaded and checked.

``get_scenario(name)`` looks a scenario up by name or Gymnasium id in the registry (the files
below); only ``load_scenario(path)`` reads a file given by path.

Every file in ``configs/scenarios/`` (shipped with the package; ``$AUTOOPS_CONFIG_DIR/scenarios/``
replaces the set) is merged onto ``default.yaml``; the merged mapping is
checked against the dataclasses below, so a bad file fails with the file, the field and what
was expected instead of a ``KeyError`` deep inside the model.

A file may also list ``drift:``, the changes of a world that does not stand still::

    drift:
      - after_build: 20000             # builds 0..19999 run in the file's own world (phase 0)
        description: Three more teams share the runner pool.
        set:                           # dotted field paths (or nested mappings), checked like any field
          runner_pool.rise_prob: 0.4
          runners.large.queue_minutes: [0.8, 15.0]

``Scenario.phases()`` turns them into plain scenarios, one per phase; the environment switches
from one to the next as its builds reach each ``after_build``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import typing
from dataclasses import dataclass
from pathlib import Path

from autoops.envs.categories import FAILURES, TOOLCHAINS
from autoops.paths import config_dir, scenario_dir  # noqa: F401  (config_dir: until the optimizer imports it from paths)
from autoops.yamlfile import read_mapping

LOW_HIGH = tuple[float, float]


class ScenarioError(ValueError):
    """A scenario file is missing, unreadable or has a bad field."""


def _prob(lo: float = 0.0, hi: float = 1.0) -> dict:
    return {"range": (lo, hi)}


def _num(lo: float = 0.0, hi: float = float("inf")) -> dict:
    return {"range": (lo, hi)}


@dataclass(frozen=True)
class Reward:
    duration_weight: float = dataclasses.field(metadata=_num())
    cost_weight: float = dataclasses.field(metadata=_num())
    failure_weight: float = dataclasses.field(metadata=_num())


@dataclass(frozen=True)
class Commits:
    large_change_prob: float = dataclasses.field(metadata=_prob())
    deps_change_prob: float = dataclasses.field(metadata=_prob())


@dataclass(frozen=True)
class RunnerPool:
    rise_prob: float = dataclasses.field(metadata=_prob(0.001, 1))
    fall_prob: float = dataclasses.field(metadata=_prob(0.001, 1))


@dataclass(frozen=True)
class Runner:
    cpus: int = dataclasses.field(metadata=_num(1, 256))
    memory_gb: float = dataclasses.field(metadata=_num(0.5))
    usd_per_minute: float = dataclasses.field(metadata=_num())
    queue_minutes: LOW_HIGH = dataclasses.field(metadata=_num())
    lost_prob: LOW_HIGH = dataclasses.field(metadata=_prob(0, 0.5))


@dataclass(frozen=True)
class Runners:
    small: Runner
    large: Runner
    parallel_efficiency: float = dataclasses.field(metadata=_prob())


@dataclass(frozen=True)
class Stages:
    checkout_minutes: float = dataclasses.field(metadata=_num())
    cache_minutes: float = dataclasses.field(metadata=_num())
    image_pull_minutes: float = dataclasses.field(metadata=_num())
    dependency_minutes: float = dataclasses.field(metadata=_num())
    compile_minutes: LOW_HIGH = dataclasses.field(metadata=_num())
    incremental_fraction: float = dataclasses.field(metadata=_prob())
    test_minutes: LOW_HIGH = dataclasses.field(metadata=_num())
    shards: int = dataclasses.field(metadata=_num(2, 64))
    shard_overhead_minutes: float = dataclasses.field(metadata=_num())
    rerun_fraction: float = dataclasses.field(metadata=_prob())
    duration_noise: float = dataclasses.field(metadata=_num(0, 2))


@dataclass(frozen=True)
class Cache:
    eviction_prob: float = dataclasses.field(metadata=_prob(0.001, 1))
    refetch_fraction: float = dataclasses.field(metadata=_prob())


@dataclass(frozen=True)
class Disk:
    fill_prob: float = dataclasses.field(metadata=_prob())
    cleanup_prob: float = dataclasses.field(metadata=_prob(0.001, 1))


@dataclass(frozen=True)
class OomProbs:
    small: LOW_HIGH = dataclasses.field(metadata=_prob())
    large: LOW_HIGH = dataclasses.field(metadata=_prob())


@dataclass(frozen=True)
class Failures:
    cache_restore_failure: float = dataclasses.field(metadata=_prob())
    docker_pull_rate_limit: LOW_HIGH = dataclasses.field(metadata=_prob())
    network_timeout_flaky_download: float = dataclasses.field(metadata=_prob())
    dependency_version_conflict: float = dataclasses.field(metadata=_prob())
    stale_dependency_conflict: float = dataclasses.field(metadata=_prob())
    build_oom: OomProbs
    disk_full: float = dataclasses.field(metadata=_prob())
    compilation_error: LOW_HIGH = dataclasses.field(metadata=_prob(0, 0.9))
    test_timeout: LOW_HIGH = dataclasses.field(metadata=_prob())
    flaky_test: float = dataclasses.field(metadata=_prob())
    flaky_again_prob: float = dataclasses.field(metadata=_prob())
    slow_pool_factor: float = dataclasses.field(metadata=_num(1, 10))


@dataclass(frozen=True)
class Drift:
    """One change of a drifting scenario: from build number ``after_build`` on (counted from 0,
    so the first ``after_build`` builds run in the earlier phases), the fields named by dotted
    path in ``changes`` take their new, already checked values."""

    after_build: int
    description: str
    changes: tuple[tuple[str, typing.Any], ...]


# Fields a phase cannot change: the name and toolchain say which project it is (error logs,
# metric labels), and episode_length is fixed when the Gymnasium id is registered.
_FIXED = ("name", "description", "toolchain", "episode_length")


@dataclass(frozen=True)
class Scenario:
    """All parameters of one simulated project (see ``configs/scenarios/default.yaml``)."""

    name: str = dataclasses.field(metadata={"pattern": r"^[A-Z][A-Za-z0-9]*$"})
    description: str
    toolchain: str = dataclasses.field(metadata={"choices": TOOLCHAINS})
    episode_length: int = dataclasses.field(metadata=_num(1, 10**7))
    reward: Reward
    commits: Commits
    runner_pool: RunnerPool
    runners: Runners
    stages: Stages
    cache: Cache
    disk: Disk
    failures: Failures
    recurrence: dict[str, float] = dataclasses.field(metadata={"keys": FAILURES, **_num(0, 20)})
    source: str = dataclasses.field(default="", metadata={"internal": True})
    # Left out of the repr, which keys the shared model and the planner's cache: the model of a
    # drifting scenario is the model of its phase 0, and the repr of every static scenario stays
    # what it was.
    drift: tuple[Drift, ...] = dataclasses.field(default=(), repr=False, metadata={"internal": True})

    @property
    def env_id(self) -> str:
        return "AutoOps/BuildPipeline-v0" if self.name == "BuildPipeline" else f"AutoOps/{self.name}-v0"

    def phases(self) -> list[tuple[int, Scenario]]:
        """``[(0, phase 0), (after_build, phase 1), ...]``: each phase a plain scenario (no drift)
        with the scenario's name and source, and the description of the drift that made it.
        A static scenario is its own single phase."""
        phase = dataclasses.replace(self, drift=()) if self.drift else self
        phases = [(0, phase)]
        for drift in self.drift:
            for dotted, value in drift.changes:
                phase = _replace_at(phase, dotted.split("."), value)
            phase = dataclasses.replace(phase, description=drift.description)
            phases.append((drift.after_build, phase))
        return phases

    def phase_at(self, build: int) -> int:
        """The index in ``phases()`` of the phase that build number ``build`` (0 = the first) runs in."""
        return sum(drift.after_build <= build for drift in self.drift)


def _replace_at(value, parts: list[str], new):
    """``value`` with the field at the dotted path ``parts`` replaced by ``new``."""
    head, *rest = parts
    old = value[head] if isinstance(value, dict) else getattr(value, head)
    replaced = _replace_at(old, rest, new) if rest else new
    if isinstance(value, dict):  # recurrence: one entry per failure category
        return {**value, head: replaced}
    return dataclasses.replace(value, **{head: replaced})


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _fail(where: str, field: str, problem: str) -> typing.NoReturn:
    raise ScenarioError(f"{where}: field '{field}': {problem}")


def _check_number(value, kind: type, meta: dict, where: str, field: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(where, field, f"expected a number, got {value!r}")
    if kind is int and not float(value).is_integer():
        _fail(where, field, f"expected a whole number, got {value!r}")
    lo, hi = meta.get("range", (-float("inf"), float("inf")))
    if not lo <= value <= hi:
        _fail(where, field, f"expected a value in [{lo}, {hi}], got {value!r}")
    return kind(value)


def _build(cls, data, where: str, prefix: str = ""):
    """Build dataclass ``cls`` from a mapping, checking every field against its type and metadata."""
    if not isinstance(data, dict):
        _fail(where, prefix.rstrip(".") or "<top>", f"expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        _fail(where, prefix + unknown[0], f"unknown field; expected one of {', '.join(fields)}")
    values = {}
    for name, f in fields.items():
        path = prefix + name
        if name not in data:
            _fail(where, path, "missing")
        values[name] = _check_field(data[name], hints[name], f.metadata, where, path)
    return cls(**values)


def _check_field(value, kind, meta: dict, where: str, path: str):
    """``value`` checked against the field's type and metadata, as the dataclass holds it."""
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, where, path + ".")
    if kind == LOW_HIGH:
        if not isinstance(value, list) or len(value) != 2:
            _fail(where, path, f"expected a list of two numbers [low, high], got {value!r}")
        low, high = (_check_number(v, float, meta, where, path) for v in value)
        if low > high:
            _fail(where, path, f"expected [low, high] with low <= high, got {value!r}")
        return (low, high)
    if kind in (int, float):
        return _check_number(value, kind, meta, where, path)
    if kind is str:
        if not isinstance(value, str):
            _fail(where, path, f"expected text, got {value!r}")
        if "choices" in meta and value not in meta["choices"]:
            _fail(where, path, f"expected one of {', '.join(meta['choices'])}, got {value!r}")
        if "pattern" in meta and not re.match(meta["pattern"], value):
            _fail(where, path, f"expected a CamelCase name, got {value!r}")
        return value
    # dict[str, float] keyed by failure category
    if not isinstance(value, dict):
        _fail(where, path, f"expected a mapping of category to number, got {value!r}")
    for key, number in value.items():
        if key not in meta["keys"]:
            _fail(where, f"{path}.{key}", f"unknown failure category; expected one of {', '.join(meta['keys'])}")
        _check_number(number, float, meta, where, f"{path}.{key}")
    return {key: float(value.get(key, 1.0)) for key in meta["keys"]}


def _check_drift(raw, where: str) -> tuple[Drift, ...]:
    """The ``drift:`` list of a file: phases in build order, each change checked like the field it sets."""
    if not isinstance(raw, list):
        _fail(where, "drift", f"expected a list of phases {{after_build, description, set}}, got {raw!r}")
    drifts: list[Drift] = []
    for i, item in enumerate(raw):
        field = f"drift[{i}]"
        if not isinstance(item, dict):
            _fail(where, field, f"expected a mapping with after_build, description and set, got {item!r}")
        for key in sorted(set(item) - {"after_build", "description", "set"}):
            _fail(where, f"{field}.{key}", "unknown field; expected one of after_build, description, set")
        for key in ("after_build", "description", "set"):
            if key not in item:
                _fail(where, f"{field}.{key}", "missing")
        after = _check_number(item["after_build"], int, {"range": (1, 10**12)}, where, f"{field}.after_build")
        if drifts and after <= drifts[-1].after_build:
            _fail(where, f"{field}.after_build", f"expected a build number above the previous phase's {drifts[-1].after_build}, got {after}")
        if not isinstance(item["description"], str):
            _fail(where, f"{field}.description", f"expected text, got {item['description']!r}")
        if not isinstance(item["set"], dict) or not item["set"]:
            _fail(where, f"{field}.set", f"expected a mapping of dotted field paths to new values, got {item['set']!r}")
        changes: dict[str, typing.Any] = {}
        for dotted, value in _leaves(item["set"]):
            if dotted in changes:
                _fail(where, f"{field}.set.{dotted}", "set twice")
            changes[dotted] = _check_change(dotted, value, where, f"{field}.set.{dotted}")
        drifts.append(Drift(after, item["description"], tuple(changes.items())))
    return tuple(drifts)


def _leaves(mapping: dict, prefix: str = ""):
    """``(dotted path, value)`` of a mapping that may nest (``runner_pool: {rise_prob: 0.4}``)."""
    for key, value in mapping.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _check_change(dotted: str, value, where: str, field: str):
    """A drift's new ``value`` for the field at ``dotted``, checked as that field is in a file."""
    kind, meta, walked = Scenario, {}, []
    for part in dotted.split("."):
        if dataclasses.is_dataclass(kind):
            fields = {f.name: f for f in dataclasses.fields(kind) if not f.metadata.get("internal")}
            if part not in fields:
                _fail(where, field, f"unknown field {'.'.join([*walked, part])!r}; expected one of {', '.join(fields)}")
            if kind is Scenario and part in _FIXED:
                _fail(where, field, f"does not drift; a phase may change every field but {', '.join(_FIXED)}")
            kind, meta = typing.get_type_hints(kind)[part], fields[part].metadata
        elif kind == dict[str, float]:  # recurrence: one number per failure category
            if part not in meta["keys"]:
                _fail(where, field, f"unknown failure category; expected one of {', '.join(meta['keys'])}")
            kind = float
        else:
            _fail(where, field, f"{'.'.join(walked)!r} is a single value and has no field {part!r}")
        walked.append(part)
    if dataclasses.is_dataclass(kind) or kind not in (LOW_HIGH, int, float):
        _fail(where, field, f"expected a dotted path to one number or [low, high] pair (e.g. {dotted}.<field>), got the group {dotted!r}")
    return _check_field(value, kind, meta, where, field)


def load_scenario(path: str | Path) -> Scenario:
    """Load one scenario file, merged onto ``default.yaml`` from the same folder."""
    path = Path(path)
    data = read_mapping(path, ScenarioError, "scenario file")
    default = path.with_name("default.yaml")
    if path.name != "default.yaml":
        data = _merge(read_mapping(default, ScenarioError, "scenario file"), data)
    drift = _check_drift(data.pop("drift"), str(path)) if "drift" in data else ()
    scenario = _build(Scenario, data, str(path))
    return dataclasses.replace(scenario, source=str(path), drift=drift)


def scenario_files() -> list[Path]:
    """Every scenario file, the default first."""
    files = sorted(scenario_dir().glob("*.yaml"), key=lambda p: (p.name != "default.yaml", p.name))
    if not files:
        raise ScenarioError(f"{scenario_dir()}: no scenario files (*.yaml) found")
    return files


def load_valid() -> tuple[dict[str, Scenario], list[ScenarioError]]:
    """Every scenario that loads, by name, the default first, and the error of each file that does
    not: one bad file must not hide the others. Read again only when a file changes (reading and
    checking them takes ~45 ms, and services look a scenario up on every request)."""
    scenarios, errors = _load_files(tuple((path, path.stat().st_mtime_ns) for path in scenario_files()))
    return dict(scenarios), list(errors)


def load_all() -> dict[str, Scenario]:
    """Every scenario by name, the default first; raises the first file's error if any file is bad."""
    scenarios, errors = load_valid()
    if errors:
        raise errors[0]
    return scenarios


@functools.lru_cache(maxsize=4)
def _load_files(files: tuple[tuple[Path, int], ...]) -> tuple[dict[str, Scenario], list[ScenarioError]]:
    scenarios, errors = {}, []
    for path, _ in files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as err:
            errors.append(err)
            continue
        if scenario.name in scenarios:
            errors.append(ScenarioError(f"{path}: field 'name': {scenario.name!r} is already used by {scenarios[scenario.name].source}"))
            continue
        scenarios[scenario.name] = scenario
    return scenarios, errors


def get_scenario(name: str) -> Scenario:
    """A registered scenario by name (``JvmMonorepo``) or Gymnasium id (``AutoOps/JvmMonorepo-v0``).

    Never a file: names come from services and config files, and a path would let anyone who can
    reach an endpoint read any YAML file on the server. ``load_scenario(path)`` reads a file, and
    ``BuildPipelineEnv(load_scenario(path))`` simulates it."""
    scenarios, errors = load_valid()
    for scenario in scenarios.values():
        if name in (scenario.name, scenario.env_id):
            return scenario
    # the count only: a bad file's error names its path and may quote its lines
    broken = f" ({len(errors)} scenario file(s) could not be read; `autoops env list` says why)" if errors else ""
    raise ScenarioError(f"unknown scenario {_as_asked(name)}; known: {', '.join(scenarios)}{broken}")


# What an error may repeat of an unknown name: a CamelCase word or its Gymnasium id, short. The
# words rule out what secrets and paths are made of (AKIA..., ghp_..., slashes, dots, runs of
# capitals or digits), so nothing pasted by mistake comes back in an HTTP answer or a log.
_ECHOABLE = re.compile(r"(?:AutoOps/)?(?:[A-Z][a-z]+[0-9]?){1,6}(?:-v[0-9])?")


def _as_asked(name) -> str:
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str):
        return f"(a {type(name).__name__}, not a name)"
    if len(name) <= 48 and _ECHOABLE.fullmatch(name):
        return repr(name)
    if re.search(r"[/\\]|\.ya?ml$", name, re.IGNORECASE):
        return "(a file path: a scenario is a name from the registry; Python reads a file with load_scenario(path))"
    return "(not shown: not a CamelCase name)"
