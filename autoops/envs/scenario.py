"""Scenario files: the parameters of one simulated CI project, loaded and checked.

``get_scenario(name)`` looks a scenario up by name or Gymnasium id in the registry (the files
below); only ``load_scenario(path)`` reads a file given by path.

Every file in ``configs/scenarios/`` (shipped with the package; ``$AUTOOPS_CONFIG_DIR/scenarios/``
replaces the set) is merged onto ``default.yaml``; the merged mapping is
checked against the dataclasses below, so a bad file fails with the file, the field and what
was expected instead of a ``KeyError`` deep inside the model.
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

    @property
    def env_id(self) -> str:
        return "AutoOps/BuildPipeline-v0" if self.name == "BuildPipeline" else f"AutoOps/{self.name}-v0"


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
        value, kind, meta = data[name], hints[name], f.metadata
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, value, where, path + ".")
        elif kind == LOW_HIGH:
            if not isinstance(value, list) or len(value) != 2:
                _fail(where, path, f"expected a list of two numbers [low, high], got {value!r}")
            low, high = (_check_number(v, float, meta, where, path) for v in value)
            if low > high:
                _fail(where, path, f"expected [low, high] with low <= high, got {value!r}")
            values[name] = (low, high)
        elif kind in (int, float):
            values[name] = _check_number(value, kind, meta, where, path)
        elif kind is str:
            if not isinstance(value, str):
                _fail(where, path, f"expected text, got {value!r}")
            if "choices" in meta and value not in meta["choices"]:
                _fail(where, path, f"expected one of {', '.join(meta['choices'])}, got {value!r}")
            if "pattern" in meta and not re.match(meta["pattern"], value):
                _fail(where, path, f"expected a CamelCase name, got {value!r}")
            values[name] = value
        else:  # dict[str, float] keyed by failure category
            if not isinstance(value, dict):
                _fail(where, path, f"expected a mapping of category to number, got {value!r}")
            for key, number in value.items():
                if key not in meta["keys"]:
                    _fail(where, f"{path}.{key}", f"unknown failure category; expected one of {', '.join(meta['keys'])}")
                _check_number(number, float, meta, where, f"{path}.{key}")
            values[name] = {key: float(value.get(key, 1.0)) for key in meta["keys"]}
    return cls(**values)


def load_scenario(path: str | Path) -> Scenario:
    """Load one scenario file, merged onto ``default.yaml`` from the same folder."""
    path = Path(path)
    data = read_mapping(path, ScenarioError, "scenario file")
    default = path.with_name("default.yaml")
    if path.name != "default.yaml":
        data = _merge(read_mapping(default, ScenarioError, "scenario file"), data)
    scenario = _build(Scenario, data, str(path))
    return dataclasses.replace(scenario, source=str(path))


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
