"""The exact model of a scenario: states, actions, outcome probabilities, rewards, transitions.

A build runs through five stages (setup, image, dependencies, compile, tests); each stage can
fail with the categories listed in ``categories.FAILURES`` with probabilities that depend on the
state and on the build configuration. The first failure ends the build. Everything here is
computed once, exactly, as arrays over all (state, action) pairs; the environment samples from
these arrays and the planner (``autoops.planning``) solves them, so both agree by construction.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from autoops.envs.categories import FAILURES, OUTCOMES
from autoops.envs.scenario import Scenario

# The latent state: five binary factors and the outcome of the previous build.
STATE_FACTORS: tuple[str, ...] = ("large_change", "deps_changed", "cache_warm", "pool_high", "disk_high")
N_OUTCOMES = len(OUTCOMES)
N_STATES = 2 ** len(STATE_FACTORS) * N_OUTCOMES

# The build configuration: five on/off knobs; action id = sum of 2**i over the knobs that are on.
KNOBS: tuple[str, ...] = ("cache", "large_runner", "shard_tests", "retry_tests", "clean_build")
KNOB_WORDS: dict[str, str] = {
    "cache": "use cache",
    "large_runner": "large runner",
    "shard_tests": "shard tests",
    "retry_tests": "retry failed tests",
    "clean_build": "clean build",
}
N_ACTIONS = 2 ** len(KNOBS)
OBS_SIZE = len(STATE_FACTORS) + N_OUTCOMES

MAX_STAGE_FAILURE = 0.95  # no single stage fails for sure, so every state stays reachable


@dataclass(frozen=True)
class State:
    large_change: int
    deps_changed: int
    cache_warm: int
    pool_high: int
    disk_high: int
    last_outcome: int  # index into OUTCOMES: 0 is success (or no build yet)

    @property
    def index(self) -> int:
        index = 0
        for bit in (self.large_change, self.deps_changed, self.cache_warm, self.pool_high, self.disk_high):
            index = index * 2 + bit
        return index * N_OUTCOMES + self.last_outcome

    @classmethod
    def from_index(cls, index: int) -> "State":
        if not 0 <= index < N_STATES:
            raise ValueError(f"state index {index} is outside [0, {N_STATES})")
        bits, last_outcome = divmod(index, N_OUTCOMES)
        factors = [(bits >> shift) & 1 for shift in range(len(STATE_FACTORS) - 1, -1, -1)]
        return cls(*factors, last_outcome)

    def describe(self) -> str:
        words = [
            "large change" if self.large_change else "small change",
            "deps changed" if self.deps_changed else "deps same",
            "cache warm" if self.cache_warm else "cache cold",
            "pool busy" if self.pool_high else "pool quiet",
            "disk high" if self.disk_high else "disk ok",
            f"last: {OUTCOMES[self.last_outcome]}",
        ]
        return ", ".join(words)


def observation(state_index: int) -> np.ndarray:
    """The observation of a state: the five factors (0 or 1), then the last outcome one-hot."""
    state = State.from_index(state_index)
    obs = np.zeros(OBS_SIZE, np.float32)
    obs[: len(STATE_FACTORS)] = [getattr(state, name) for name in STATE_FACTORS]
    obs[len(STATE_FACTORS) + state.last_outcome] = 1.0
    return obs


def state_of(obs: np.ndarray) -> int:
    """The state index of an observation (the inverse of ``observation``)."""
    bits = 0
    for bit in np.asarray(obs)[: len(STATE_FACTORS)]:
        bits = bits * 2 + int(bit > 0.5)
    return bits * N_OUTCOMES + int(np.argmax(np.asarray(obs)[len(STATE_FACTORS):]))


def action_knobs(action: int) -> dict[str, bool]:
    if not 0 <= action < N_ACTIONS:
        raise ValueError(f"action {action} is outside [0, {N_ACTIONS})")
    return {knob: bool(action >> i & 1) for i, knob in enumerate(KNOBS)}


def action_from_knobs(**knobs: bool) -> int:
    unknown = set(knobs) - set(KNOBS)
    if unknown:
        raise ValueError(f"unknown knobs {sorted(unknown)}; expected some of {KNOBS}")
    return sum(1 << i for i, knob in enumerate(KNOBS) if knobs.get(knob))


def describe_action(action: int) -> str:
    on = [KNOB_WORDS[knob] for knob, value in action_knobs(action).items() if value]
    return ", ".join(on) if on else "plain build (no cache, small runner, incremental)"


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


class BuildModel:
    """Exact arrays of one scenario, indexed [state, action(, outcome | next state)].

    - ``outcome_probs[s, a, o]``: probability of outcome ``o`` (``OUTCOMES[o]``).
    - ``duration[s, a, o]``, ``cost[s, a, o]``: expected minutes and dollars given the outcome.
    - ``expected_reward[s, a]``.
    - ``transitions[s, a, s2]``: next-state distribution (the next state records the outcome).
    - ``initial_distribution[s]``.

    The arrays are read-only: one model is shared by every environment of its scenario
    (``shared_model``).
    """

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.outcome_probs, self.duration, self.cost = self._outcomes()
        self.transitions = self._transitions()
        for array in (self.outcome_probs, self.duration, self.cost, self.transitions):
            _frozen(array)

    # -- per-build outcomes -------------------------------------------------------------------
    def _outcomes(self):
        sc, f = self.scenario, self.scenario.failures
        states = [State.from_index(i) for i in range(N_STATES)]
        col = lambda name: np.array([getattr(s, name) for s in states], float)[:, None]  # noqa: E731
        L, D, W, H, K = (col(name) for name in STATE_FACTORS)
        last = np.array([s.last_outcome for s in states])[:, None]
        knobs = [action_knobs(a) for a in range(N_ACTIONS)]
        C, R, S, T, X = (np.array([k[name] for k in knobs], float)[None, :] for name in KNOBS)

        def pick(pair, index):  # a [low, high] pair chosen per state or action
            return np.where(index > 0, pair[1], pair[0])

        def recur(category):  # failures cluster: the same failure is likelier right after itself
            return np.where(last == OUTCOMES.index(category), sc.recurrence[category], 1.0)

        small, large = sc.runners.small, sc.runners.large
        speed = np.where(R > 0, (large.cpus / 2) ** sc.runners.parallel_efficiency, (small.cpus / 2) ** sc.runners.parallel_efficiency)
        price = np.where(R > 0, large.usd_per_minute, small.usd_per_minute)
        queue = np.where(R > 0, pick(large.queue_minutes, H), pick(small.queue_minutes, H))
        cached = C * W  # a warm cache that this build restores
        download = (1 - cached) + cached * D * sc.cache.refetch_fraction  # share of dependencies fetched
        jobs = np.where(S > 0, sc.stages.shards, 1)

        st = sc.stages
        setup = st.checkout_minutes + C * st.cache_minutes
        image = (1 - cached) * st.image_pull_minutes
        deps = download * st.dependency_minutes
        compile_ = pick(st.compile_minutes, L) * np.where(X > 0, 1.0, st.incremental_fraction) / speed
        tests = pick(st.test_minutes, L) / speed / jobs + S * st.shard_overhead_minutes
        rerun = st.rerun_fraction * tests
        shape = (N_STATES, N_ACTIONS)

        oom = np.where(R > 0, pick(np.array(f.build_oom.large), L), pick(np.array(f.build_oom.small), L))
        flaky_first = np.broadcast_to(f.flaky_test * recur("flaky_test"), shape)
        # Per category: probability of failing given that the build got that far, and the
        # minutes spent by then (a failing stage is counted whole).
        stage_failure = {
            "cache_restore_failure": C * f.cache_restore_failure,
            "docker_pull_rate_limit": (1 - cached) * pick(f.docker_pull_rate_limit, H),
            "network_timeout_flaky_download": download * f.network_timeout_flaky_download,
            "dependency_version_conflict": D * (f.dependency_version_conflict + (1 - X) * f.stale_dependency_conflict),
            "disk_full": K * (1 - X) * f.disk_full,
            "build_oom": oom,
            "compilation_error": pick(f.compilation_error, L),
            "ci_runner_timeout_or_cancelled": np.where(R > 0, pick(large.lost_prob, H), pick(small.lost_prob, H)),
            "test_timeout": pick(f.test_timeout, L) * np.where(H > 0, f.slow_pool_factor, 1.0) / speed / jobs,
            "flaky_test": flaky_first * np.where(T > 0, f.flaky_again_prob, 1.0),
        }
        minutes_by_stage = {
            "cache_restore_failure": setup,
            "docker_pull_rate_limit": setup + image,
            "network_timeout_flaky_download": setup + image + deps,
            "dependency_version_conflict": setup + image + deps,
            "disk_full": setup + image + deps + compile_,
            "build_oom": setup + image + deps + compile_,
            "compilation_error": setup + image + deps + compile_,
            "ci_runner_timeout_or_cancelled": setup + image + deps + compile_,
            "test_timeout": setup + image + deps + compile_ + tests,
            # a flaky failure with retry on has paid for the rerun too
            "flaky_test": setup + image + deps + compile_ + tests + T * rerun,
        }
        assert tuple(stage_failure) == FAILURES

        probs = np.zeros((*shape, N_OUTCOMES))
        duration = np.zeros_like(probs)
        cost = np.zeros_like(probs)
        survive = np.ones(shape)
        before_tests = setup + image + deps + compile_
        for o, category in enumerate(FAILURES, start=1):
            p = np.clip(np.broadcast_to(stage_failure[category] * recur(category), shape), 0, MAX_STAGE_FAILURE)
            probs[..., o] = survive * p
            survive = survive * (1 - p)
            minutes = np.broadcast_to(minutes_by_stage[category], shape)
            duration[..., o] = queue + minutes
            test_part = np.clip(minutes - before_tests, 0, None)  # test jobs run in parallel: billed per job
            cost[..., o] = price * (minutes - test_part + jobs * test_part)
        probs[..., 0] = survive
        # A success with retry on sometimes paid for a rerun that passed.
        flaky_p = np.clip(flaky_first, 0, MAX_STAGE_FAILURE)
        passed_on_rerun = T * flaky_p * (1 - f.flaky_again_prob)
        rerun_share = passed_on_rerun / np.maximum(1 - flaky_p + passed_on_rerun, 1e-12)
        success_tests = tests + rerun_share * rerun
        duration[..., 0] = np.broadcast_to(queue + before_tests + success_tests, shape)
        cost[..., 0] = np.broadcast_to(price * (before_tests + jobs * success_tests), shape)
        return probs, duration, cost

    @cached_property
    def expected_reward(self) -> np.ndarray:
        w = self.scenario.reward
        per_outcome = -(w.duration_weight * self.duration + w.cost_weight * self.cost)
        per_outcome[..., 1:] -= w.failure_weight
        return _frozen((self.outcome_probs * per_outcome).sum(axis=-1))

    @cached_property
    def expected_duration(self) -> np.ndarray:
        return _frozen((self.outcome_probs * self.duration).sum(axis=-1))

    @cached_property
    def expected_cost(self) -> np.ndarray:
        return _frozen((self.outcome_probs * self.cost).sum(axis=-1))

    @property
    def failure_prob(self) -> np.ndarray:
        return 1.0 - self.outcome_probs[..., 0]

    # -- next state -------------------------------------------------------------------------
    def _transitions(self) -> np.ndarray:
        sc = self.scenario
        states = [State.from_index(i) for i in range(N_STATES)]
        W = np.array([s.cache_warm for s in states], float)[:, None, None]
        H = np.array([s.pool_high for s in states])
        K = np.array([s.disk_high for s in states], float)[:, None]
        C = np.array([action_knobs(a)["cache"] for a in range(N_ACTIONS)], float)[None, :, None]
        X = np.array([action_knobs(a)["clean_build"] for a in range(N_ACTIONS)], float)[None, :]

        def bernoulli(p):  # [P(0), P(1)] along a new last axis
            p = np.asarray(p, float)
            return np.stack([1 - p, p], axis=-1)

        p_large = bernoulli(sc.commits.large_change_prob)
        p_deps = bernoulli(sc.commits.deps_change_prob)
        p_pool = bernoulli(np.where(H > 0, 1 - sc.runner_pool.fall_prob, sc.runner_pool.rise_prob))  # [s, H']
        # The cache is saved only after a successful build with caching on (actions/cache does
        # the same); otherwise a stored cache survives unless it is evicted.
        success = (np.arange(N_OUTCOMES) == 0)[None, None, :]
        p_warm = np.where(success * C > 0, 1.0, W * (1 - sc.cache.eviction_prob))  # [s, a, o]
        p_outcome_warm = self.outcome_probs[..., None] * bernoulli(p_warm)  # [s, a, o, W']
        # A clean build wipes the workspace; an incremental one may fill it; a janitor cleans it.
        filled = np.where(X > 0, 0.0, np.where(K > 0, 1.0, sc.disk.fill_prob))
        p_disk = bernoulli(filled * (1 - sc.disk.cleanup_prob))  # [s, a, K']
        joint = np.einsum("l,d,sh,saow,sak->saldwhko", p_large, p_deps, p_pool, p_outcome_warm, p_disk, optimize=True)
        return joint.reshape(N_STATES, N_ACTIONS, N_STATES)

    @cached_property
    def initial_distribution(self) -> np.ndarray:
        """A cold cache, a clean workspace, no previous failure; commit and pool load drawn."""
        sc = self.scenario
        pool_high = sc.runner_pool.rise_prob / (sc.runner_pool.rise_prob + sc.runner_pool.fall_prob)
        dist = np.zeros(N_STATES)
        for large, deps, pool in itertools.product((0, 1), repeat=3):
            p = (
                (sc.commits.large_change_prob if large else 1 - sc.commits.large_change_prob)
                * (sc.commits.deps_change_prob if deps else 1 - sc.commits.deps_change_prob)
                * (pool_high if pool else 1 - pool_high)
            )
            dist[State(large, deps, 0, pool, 0, 0).index] = p
        return _frozen(dist)

    @cached_property
    def next_state_cdf(self) -> np.ndarray:
        """``transitions`` summed along the next state, for sampling by ``searchsorted``."""
        return _frozen(np.cumsum(self.transitions, axis=-1))

    @cached_property
    def initial_cdf(self) -> np.ndarray:
        return _frozen(np.cumsum(self.initial_distribution))

    @cached_property
    def observations(self) -> np.ndarray:
        """The observation of every state (row ``s`` is ``observation(s)``)."""
        return _frozen(np.stack([observation(i) for i in range(N_STATES)]))


_MODELS: OrderedDict[str, BuildModel] = OrderedDict()
_MODELS_KEPT = 4  # a model with its sampling table is ~64 MB


def shared_model(scenario: Scenario) -> BuildModel:
    """The scenario's model, built once per process (~0.12 s with its sampling table) and shared, so that environments,
    vector-env workers and unpickled environments do not each carry their own ~64 MB copy.
    Keyed by every parameter of the scenario: an edited scenario file gets a new model, and an
    environment keeps the model of the scenario it was made with."""
    key = repr(scenario)
    model = _MODELS.pop(key, None) or BuildModel(scenario)
    _MODELS[key] = model  # most recently used last
    while len(_MODELS) > _MODELS_KEPT:
        _MODELS.popitem(last=False)
    return model
