"""``factored``: a model-based agent that learns a factored model of builds and plans on it.

What it learns, from the builds it sees and nothing else (it never reads a scenario's model):

- **Outcomes.** A build runs through its stages and the first failure ends it, so the outcome is
  modelled as a sequence of hazards: for each failure category k, the probability that the
  build fails with k given that it got that far. Each hazard is log-linear (a Poisson
  regression of the failures on the builds that reached the stage) in the state factors, the
  knobs, "the cache is restored" (cache knob and warm cache), their pairwise products, and "the
  previous build failed with k" (failures cluster) with its products with the knobs: causes
  multiply a stage's failure rate. Main effects have a wide prior, pairwise terms a narrow one
  (causes act independently until the builds say otherwise): that is what lets one build teach
  the agent about configurations it never ran in that state.
- **Rewards** given the outcome: a ridge regression on the same factors and knobs, pairwise
  products and the large runner's products with every pair (it scales both speed and price),
  for a success also the last outcome (a test that just failed as flaky makes a paid rerun
  likelier); the failures' regression is pulled towards the successes', each category's
  towards all failures'.
- **The next state**: the commit's two factors and the pool load are counted (the pool as a
  two-state chain), the workspace by (disk high, clean build) and the cache by (cache warm,
  cache knob, success).

Each of the models above is also corrected, cell by cell, by the counts of that very cell,
weighted against the model's prediction like ``cell_prior_builds`` builds, so the model's
misfit fades where the data is plenty.

Exploration is Thompson sampling: at each re-planning the agent draws one model from its
posterior (Laplace approximation for the hazards, Gaussian for the rewards, Beta for the
counts) and follows that model's optimal policy until the next re-planning; re-planning is on a
doubling schedule up to ``replan_every`` builds. Planning is average-reward policy iteration,
warm-started from the last policy, with the expectations over the next state taken factor by
factor (the model is never expanded to its 352 x 32 x 352 transition array). ``policy()`` plans
on the posterior mean.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from autoops.envs.categories import OUTCOMES
from autoops.envs.model import (
    KNOBS,
    N_ACTIONS,
    N_STATES,
    STATE_FACTORS,
    action_knobs,
)
from autoops.optimizer.agents.base import Agent

N_OUT = len(OUTCOMES)
MAX_HAZARD = 0.99  # a log-linear hazard is capped below certainty
N_BITS = 2 ** len(STATE_FACTORS)  # state factors as one index: large, deps, warm, pool, disk (high bit first)


def _num(help: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> dict:
    return {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open}


@dataclass(frozen=True)
class FactoredSettings:
    """Settings of the ``factored`` agent (defaults tuned on the four scenarios, 10 seeds)."""

    first_replan: int = field(default=20, metadata=_num(
        "Builds of uniformly random configurations before the first model is fitted and planned on.", 1))
    replan_every: int = field(default=300, metadata=_num(
        "Builds between re-plannings once the schedule has doubled up to it (re-planning refits the model, "
        "draws a new posterior sample and solves it; it is most of the agent's time).", 1))
    posterior_scale: float = field(default=0.1, metadata=_num(
        "Width of the posterior the Thompson samples are drawn from, relative to the Bayesian one: "
        "more explores more, 0 plans on the posterior mean (no exploration beyond the start).", 0))
    explore_builds: float = field(default=2000.0, metadata=_num(
        "Builds over which the Thompson samples start wider: the width is posterior_scale x sqrt(1 + "
        "explore_builds / builds), so early plans try knobs the first fits misjudged (a knob the first plans "
        "never use is otherwise never learned) and late plans settle; 0 keeps posterior_scale throughout.", 0))
    prior_std: float = field(default=3.0, metadata=_num(
        "Prior standard deviation of the hazards' main effects (one factor or knob), on the log scale of "
        "the hazard.", 0, lo_open=True))
    interaction_std: float = field(default=0.1, metadata=_num(
        "Prior standard deviation of the hazards' pairwise terms (two knobs, a factor and a knob, ...): "
        "smaller assumes causes act independently until the builds say otherwise.", 0, lo_open=True))
    reward_prior_std: float = field(default=1.0, metadata=_num(
        "Prior standard deviation of the reward regressions' main effects (one factor or knob) as a share of "
        "the reward's scale (the mean absolute reward seen); also how far the failures' regression may depart "
        "from the successes' and one failure category's from all failures'.", 0, lo_open=True))
    reward_interaction_std: float = field(default=0.3, metadata=_num(
        "As reward_prior_std, for the pairwise terms and the large runner's three-way terms.", 0, lo_open=True))
    cell_prior_builds: float = field(default=1000.0, metadata=_num(
        "Weight, in builds, of the model's prediction against the builds seen in one exact (state, "
        "configuration) cell: the model's misfit fades as the cell's own count grows past it; 0 trusts the "
        "counts alone wherever there are any. Large, because the model class fits the scenarios closely "
        "(fitted on 100k uniform builds its plan is within 0.1% of the optimum) while a few dozen builds of "
        "one cell are noisy enough to flip the plan there (20 left the plan 0.6-1.2% off).", 0))
    newton_steps: int = field(default=3, metadata=_num(
        "Newton steps per hazard and re-planning (warm-started from the last fit).", 1))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# -- fixed design: what every cell of the data looks like ---------------------------------------
def _bits(index: int) -> tuple[int, ...]:
    return tuple((index >> shift) & 1 for shift in range(len(STATE_FACTORS) - 1, -1, -1))


_FACTOR = {name: i for i, name in enumerate(STATE_FACTORS)}
_KNOB = {name: i for i, name in enumerate(KNOBS)}
_STATE_BITS = np.array([divmod(s, N_OUT)[0] for s in range(N_STATES)])  # [352] factor index
_STATE_LAST = np.array([divmod(s, N_OUT)[1] for s in range(N_STATES)])  # [352] last outcome
_FACTOR_TABLE = np.array([_bits(b) for b in range(N_BITS)], float)  # [32, 5]
_KNOB_TABLE = np.array([[action_knobs(a)[k] for k in KNOBS] for a in range(N_ACTIONS)], float)  # [32, 5]


def _variables(factors: np.ndarray, knobs: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Named binary variables of cells: the factors, the knobs and ``restored`` (cache knob on a
    warm cache), one row per cell."""
    restored = knobs[:, _KNOB["cache"]] * factors[:, _FACTOR["cache_warm"]]
    names = [*STATE_FACTORS, *KNOBS, "restored"]
    return names, np.column_stack([factors, knobs, restored])


def _pairs(names: list[str], values: np.ndarray, among: list[str]) -> list[np.ndarray]:
    """Products of every pair of ``among``, leaving out those that equal one of their factors
    (restored x cache, restored x cache_warm)."""
    columns = []
    for x, y in itertools.combinations(among, 2):
        if "restored" in (x, y) and {x, y} & {"cache", "cache_warm"}:
            continue
        columns.append(values[:, names.index(x)] * values[:, names.index(y)])
    return columns


def _hazard_design() -> np.ndarray:
    """Features of a hazard cell (factors, configuration, "last build failed with this category"),
    rows ordered [factors 32][action 32][recurrence 2]."""
    b, a, r = (g.ravel() for g in np.meshgrid(np.arange(N_BITS), np.arange(N_ACTIONS), np.arange(2), indexing="ij"))
    names, values = _variables(_FACTOR_TABLE[b], _KNOB_TABLE[a])
    recur = r.astype(float)
    mains = [np.ones_like(recur), *values.T, recur]
    pairs = [*_pairs(names, values, names), *(recur * _KNOB_TABLE[a].T)]
    return np.column_stack(mains + pairs), len(mains)


# Rewards do not depend on the disk or the last outcome given the build's own outcome.
_REWARD_FACTORS = ("large_change", "deps_changed", "cache_warm", "pool_high")


def _reward_design() -> np.ndarray:
    """Features of a reward cell (the four factors that set a build's minutes and dollars, the
    configuration), rows ordered [factors 16][action 32]: pairwise products, and the large
    runner times every pair (it changes both the speed and the price of everything)."""
    f, a = (g.ravel() for g in np.meshgrid(np.arange(16), np.arange(N_ACTIONS), indexing="ij"))
    factors = np.zeros((len(f), len(STATE_FACTORS)))
    for i, name in enumerate(_REWARD_FACTORS):
        factors[:, _FACTOR[name]] = (f >> (3 - i)) & 1
    names, values = _variables(factors, _KNOB_TABLE[a])
    keep = [n for n in names if n != "disk_high"]
    others = [n for n in keep if n != "large_runner"]
    runner = values[:, names.index("large_runner")]
    mains = [np.ones(len(f)), *(values[:, names.index(n)] for n in keep)]
    interactions = [*_pairs(names, values, keep), *(runner * c for c in _pairs(names, values, others))]
    return np.column_stack(mains + interactions), np.array([0] + [1] * (len(mains) - 1) + [2] * len(interactions))


def _success_design() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reward design with the last outcome added (a success after a failure can cost more: a
    flaky test that just failed makes a rerun likelier), rows ordered [factors 16][last 11][action 32];
    and the columns of ``_REWARD_X`` within it."""
    f, last, a = (g.ravel() for g in np.meshgrid(np.arange(16), np.arange(N_OUT), np.arange(N_ACTIONS), indexing="ij"))
    failed = (last[:, None] == np.arange(1, N_OUT)[None, :]).astype(float)  # [rows, 10]
    knobs = _KNOB_TABLE[a]
    extra_mains, extra_pairs = failed, (failed[:, :, None] * knobs[:, None, :]).reshape(len(f), -1)
    X = np.column_stack([_REWARD_X[f * N_ACTIONS + a], extra_mains, extra_pairs])
    kinds = np.concatenate([_REWARD_KINDS, np.ones(extra_mains.shape[1], int), np.full(extra_pairs.shape[1], 2)])
    return X, kinds, np.arange(_REWARD_X.shape[1])


_HAZARD_X, _HAZARD_MAINS = _hazard_design()  # [2048, p]; the first _HAZARD_MAINS columns are main effects
_REWARD_X, _REWARD_KINDS = _reward_design()  # [512, q]; kinds: 0 intercept, 1 main effect, 2 interaction
_SUCCESS_X, _SUCCESS_KINDS, _SUCCESS_BASE = _success_design()  # [5632, q + 60]
# index of the reward cell of a state: its large, deps, warm, pool bits
_REWARD_CELL = (_STATE_BITS >> 1)  # drop the disk bit (the lowest)


class FactoredAgent(Agent):
    """Thompson sampling on a learned factored model of builds, re-planned by policy iteration."""

    name = "factored"
    Settings = FactoredSettings

    def __init__(self, settings: FactoredSettings, seed: int):
        super().__init__(settings, seed)
        self.rng = np.random.default_rng(self.seed)
        self.builds = 0
        self.next_replan = settings.first_replan
        self.interval = settings.first_replan
        # data, all counts: outcomes and reward sums per (state, action, outcome)
        self.outcomes = np.zeros((N_STATES, N_ACTIONS, N_OUT))
        self.reward_sum = np.zeros((N_STATES, N_ACTIONS, N_OUT))
        self.reward_sq = np.zeros((N_STATES, N_ACTIONS, N_OUT))
        self.commit = np.zeros((2, 2))  # [large, deps] x [0, 1] of the next state
        self.pool = np.zeros((2, 2))  # [pool now, pool next]
        self.disk = np.zeros((2, 2, 2))  # [disk now, clean build, disk next]
        self.cache = np.zeros((2, 2, 2, 2))  # [warm now, cache knob, success, warm next]
        # warm starts: they change the result only below the fits' tolerance, but are saved so that
        # a loaded agent continues bit for bit
        self.hazard_w = np.zeros((N_OUT - 1, _HAZARD_X.shape[1]))
        self.hazard_w[:, 0] = -4.0
        self.explore_policy: np.ndarray | None = None  # None: uniformly random until the first plan
        self.greedy: np.ndarray | None = None
        self.greedy_at = -1  # self.builds when greedy was planned
        # per-call lookups as Python lists: numpy scalar indexing costs more than the rest of a step
        self._bits = _STATE_BITS.tolist()
        self._last = _STATE_LAST.tolist()
        self._factor_bits = [_bits(b) for b in range(N_BITS)]
        self._knob_bits = [tuple(int(v) for v in row) for row in _KNOB_TABLE]
        self._policy_list: list[int] | None = None

    # -- the interface ----------------------------------------------------------------------------
    def act(self, state: int) -> int:
        if self._policy_list is None:
            return int(self.rng.integers(N_ACTIONS))
        return self._policy_list[state]

    def observe(self, state: int, action: int, reward: float, next_state: int) -> None:
        outcome = self._last[next_state]
        self.outcomes[state, action, outcome] += 1
        self.reward_sum[state, action, outcome] += reward
        self.reward_sq[state, action, outcome] += reward * reward
        _, _, warm, pool, disk = self._factor_bits[self._bits[state]]
        nxt = self._factor_bits[self._bits[next_state]]
        knobs = self._knob_bits[action]
        self.commit[0, nxt[0]] += 1
        self.commit[1, nxt[1]] += 1
        self.pool[pool, nxt[3]] += 1
        self.disk[disk, knobs[_KNOB["clean_build"]], nxt[4]] += 1
        self.cache[warm, knobs[_KNOB["cache"]], int(outcome == 0), nxt[2]] += 1
        self.builds += 1
        if self.builds >= self.next_replan:
            self._replan()

    def policy(self) -> np.ndarray:
        if self.greedy_at != self.builds:
            with threadpool_limits(limits=1, user_api="blas"):
                self.greedy = self._plan(self._model(0.0), self.greedy if self.greedy is not None else self.explore_policy)
            self.greedy_at = self.builds
        return self.greedy.copy()

    _ARRAYS = ("outcomes", "reward_sum", "reward_sq", "commit", "pool", "disk", "cache", "hazard_w")

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        for name in ("explore_policy", "greedy"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        state = {
            "agent": self.name, "seed": self.seed, "settings": self.settings.as_dict(), "builds": self.builds,
            "next_replan": self.next_replan, "interval": self.interval, "greedy_at": self.greedy_at,
            "rng": self.rng.bit_generator.state,
        }
        _write_atomic(folder / "factored.npz", lambda f: np.savez(f, **arrays))
        _write_atomic(folder / "factored.json", lambda f: f.write(json.dumps(state, indent=1).encode()))

    @classmethod
    def load(cls, folder: Path) -> FactoredAgent:
        folder = Path(folder)
        try:
            state = json.loads((folder / "factored.json").read_text())
            arrays = np.load(folder / "factored.npz")
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{err.filename}: no saved factored agent there (FactoredAgent.save writes it)") from None
        agent = cls(FactoredSettings(**state["settings"]), state["seed"])
        for name in cls._ARRAYS:
            setattr(agent, name, arrays[name].copy())
        for name in ("explore_policy", "greedy"):
            setattr(agent, name, arrays[name].copy() if name in arrays else None)
        agent.builds, agent.next_replan = state["builds"], state["next_replan"]
        agent.interval, agent.greedy_at = state["interval"], state["greedy_at"]
        agent.rng.bit_generator.state = state["rng"]
        agent._policy_list = None if agent.explore_policy is None else agent.explore_policy.tolist()
        return agent

    # -- learning -----------------------------------------------------------------------------
    def _replan(self) -> None:
        self.interval = min(2 * self.interval, self.settings.replan_every)
        self.next_replan = self.builds + self.interval
        with threadpool_limits(limits=1, user_api="blas"):  # small arrays: one thread is fastest, and the sums stay the same
            scale = self.settings.posterior_scale * np.sqrt(1.0 + self.settings.explore_builds / self.builds)
            self.explore_policy = self._plan(self._model(scale), self.explore_policy)
        self._policy_list = self.explore_policy.tolist()

    def _model(self, scale: float) -> dict:
        """The model's arrays: outcome probabilities [352, 32, 11], rewards [352, 32, 11] and the
        next-state factors' probabilities; a posterior sample of width ``scale`` (relative to the
        Bayesian posterior), or the posterior mean (0)."""
        probs = self._outcome_probs(scale)
        rewards = self._rewards(scale)

        def beta(counts):  # P(next = 1) from [..., 2] counts, Beta(1, 1) prior
            if scale > 0:
                g = self.rng.standard_gamma(1.0 + counts / scale**2)  # Beta with the variance scaled by ~scale**2
                return g[..., 1] / g.sum(axis=-1)
            return (counts[..., 1] + 1.0) / (counts.sum(axis=-1) + 2.0)

        return {
            "probs": probs,
            "reward": rewards,
            "commit": beta(self.commit),  # [2]: large, deps
            "pool": beta(self.pool),  # [2]: by pool now
            "disk": beta(self.disk),  # [2, 2]: disk now, clean
            "cache": beta(self.cache),  # [2, 2, 2]: warm now, cache knob, success
        }

    def _outcome_probs(self, scale: float) -> np.ndarray:
        counts = self.outcomes.reshape(N_BITS, N_OUT, N_ACTIONS, N_OUT)  # [bits, last, a, o]
        # builds that reached category k's stage: successes and failures at k or later
        reached = counts[..., 0:1] + np.cumsum(counts[..., :0:-1], axis=-1)[..., ::-1]  # [bits, last, a, 10]
        hazards = np.empty((N_STATES, N_ACTIONS, N_OUT - 1))
        m = self.settings.cell_prior_builds
        for k in range(1, N_OUT):
            trials = reached[..., k - 1]  # [bits, last, a]
            fails = counts[..., k]
            same = np.arange(N_OUT) == k  # the last build failed with k
            cell_trials = np.stack([trials[:, ~same].sum(1), trials[:, same].sum(1)], axis=-1).ravel()  # [bits, a, recur]
            cell_fails = np.stack([fails[:, ~same].sum(1), fails[:, same].sum(1)], axis=-1).ravel()
            w = self._fit_hazard(k - 1, cell_trials, cell_fails, scale)
            predicted = np.exp(np.minimum(_HAZARD_X @ w, np.log(MAX_HAZARD))).reshape(N_BITS, N_ACTIONS, 2)  # [bits, a, recur]
            # per state: its factors, recurrence flag = (last == k)
            p = predicted[:, :, same.astype(int)]  # [bits, a, last]
            p = np.transpose(p, (0, 2, 1)).reshape(N_STATES, N_ACTIONS)
            if m > 0:
                n, f = trials.reshape(N_STATES, N_ACTIONS), fails.reshape(N_STATES, N_ACTIONS)
                p = (f + m * p) / (n + m)
            hazards[..., k - 1] = p
        survive = np.cumprod(1.0 - hazards, axis=-1)
        probs = np.empty((N_STATES, N_ACTIONS, N_OUT))
        probs[..., 0] = survive[..., -1]
        probs[..., 1] = hazards[..., 0]
        probs[..., 2:] = survive[..., :-1] * hazards[..., 1:]
        return probs

    def _fit_hazard(self, k: int, trials: np.ndarray, fails: np.ndarray, scale: float) -> np.ndarray:
        """MAP regression of one hazard from binomial cell counts (Newton, warm-started), or a draw
        from its Laplace approximation."""
        seen = trials > 0
        X, n, y = _HAZARD_X[seen], trials[seen], fails[seen]
        prior_mean = np.zeros(X.shape[1])
        prior_mean[0] = -4.0
        precision = np.full(X.shape[1], 1.0 / self.settings.interaction_std**2)
        precision[:_HAZARD_MAINS] = 1.0 / self.settings.prior_std**2
        precision[0] = 1.0 / 4.0**2  # the base rate is anyone's guess

        # Poisson: a cell's failures are its builds times the hazard e^z. With a log link the
        # binomial's score equations are the same, so the fit is consistent, and it stays concave.
        def log_posterior(w):
            z = X @ w
            return (y * z - n * np.exp(z)).sum() - 0.5 * (precision * (w - prior_mean) ** 2).sum()

        w = self.hazard_w[k].copy()
        current = log_posterior(w)
        for _ in range(self.settings.newton_steps):
            mean = n * np.exp(X @ w)
            gradient = X.T @ (y - mean) - precision * (w - prior_mean)
            hessian = (X.T * mean) @ X + np.diag(precision)
            step = np.linalg.solve(hessian, gradient)
            # Newton overshoots where a category never happens (its coefficients head for -inf):
            # halve the step until the posterior improves
            for _ in range(20):
                trial = log_posterior(w + step)
                if trial >= current:
                    w, current = w + step, trial
                    break
                step = step / 2
        self.hazard_w[k] = w
        if scale == 0:
            return w
        hessian = (X.T * (n * np.exp(X @ w))) @ X + np.diag(precision)
        chol = np.linalg.cholesky(hessian)  # H = L L^T, so L^-T z ~ N(0, H^-1)
        return w + scale * np.linalg.solve(chol.T, self.rng.standard_normal(len(w)))

    def _rewards(self, scale: float) -> np.ndarray:
        """Expected reward given the outcome, [352, 32, 11]."""
        # Reward cells: a success by (four factors, last outcome, action), a failure by (four
        # factors, action); the disk never changes a build's minutes or dollars.
        shape = (16, 2, N_OUT, N_ACTIONS, N_OUT)  # [rcell, disk, last, a, o]
        n = self.outcomes.reshape(shape).sum(axis=1)  # [rcell, last, a, o]
        total = self.reward_sum.reshape(shape).sum(axis=1)
        sq = self.reward_sq.reshape(shape).sum(axis=1)
        seen = n > 0
        scale_r = max(float(np.abs(total).sum() / max(n.sum(), 1)), 1.0)  # the reward's size, for the priors
        within = (sq - np.where(seen, total**2 / np.maximum(n, 1), 0)).sum()  # spread inside cells: the noise
        dof = (n - seen).sum()
        noise = max(within / dof if dof > 0 else scale_r**2, 1e-6 * scale_r**2)
        stds = {0: 2.0, 1: self.settings.reward_prior_std, 2: self.settings.reward_interaction_std}

        def ridge(X, kinds, counts, sums, prior_mean):
            prior_var = (np.array([stds[k] for k in kinds]) * scale_r) ** 2
            rows = counts > 0
            Xs = X[rows]
            precision = (Xs.T * (counts[rows] / noise)) @ Xs + np.diag(1 / prior_var)
            rhs = Xs.T @ (sums[rows] / noise) + prior_mean / prior_var
            chol = np.linalg.cholesky(precision)
            beta = np.linalg.solve(chol.T, np.linalg.solve(chol, rhs))
            if scale > 0:
                beta = beta + scale * np.linalg.solve(chol.T, self.rng.standard_normal(len(beta)))
            return beta

        base = np.zeros(_REWARD_X.shape[1])
        base[0] = -scale_r
        prior = np.zeros(_SUCCESS_X.shape[1])
        prior[_SUCCESS_BASE] = base
        success = ridge(_SUCCESS_X, _SUCCESS_KINDS, n[..., 0].ravel(), total[..., 0].ravel(), prior)
        m = self.settings.cell_prior_builds
        rewards = np.empty((16, N_OUT, N_ACTIONS, N_OUT))
        pred = (_SUCCESS_X @ success).reshape(16, N_OUT, N_ACTIONS)
        rewards[..., 0] = (total[..., 0] + m * pred) / (n[..., 0] + m) if m > 0 else np.where(seen[..., 0], total[..., 0] / np.maximum(n[..., 0], 1), pred)
        # failures: pooled over categories (pulled towards the successes), then each category pulled towards the pool
        n_f, total_f = n.sum(axis=1).reshape(16 * N_ACTIONS, N_OUT), total.sum(axis=1).reshape(16 * N_ACTIONS, N_OUT)
        pooled = ridge(_REWARD_X, _REWARD_KINDS, n_f[:, 1:].sum(1), total_f[:, 1:].sum(1), success[_SUCCESS_BASE])
        for o in range(1, N_OUT):
            pred = _REWARD_X @ ridge(_REWARD_X, _REWARD_KINDS, n_f[:, o], total_f[:, o], pooled)
            cell = (total_f[:, o] + m * pred) / (n_f[:, o] + m) if m > 0 else np.where(n_f[:, o] > 0, total_f[:, o] / np.maximum(n_f[:, o], 1), pred)
            rewards[..., o] = cell.reshape(16, 1, N_ACTIONS)
        # state s = (rcell * 2 + disk) * 11 + last
        return rewards[_REWARD_CELL, _STATE_LAST]  # [352, 32, 11]

    # -- planning -----------------------------------------------------------------------------
    def _plan(self, model: dict, start: np.ndarray | None) -> np.ndarray:
        """Average-reward policy iteration on ``model`` from the policy ``start``."""
        probs, reward = model["probs"], model["reward"]
        expected = (probs * reward).sum(axis=-1)  # [352, 32]
        next_bits = _next_bits(model)  # [32 kinds, 11 o, 32 next bits]
        policy = np.zeros(N_STATES, int) if start is None else start.copy()
        rows = np.arange(N_STATES)
        for _ in range(100):
            a = policy
            # P(s' | s, pi(s)), with s' = next bits * 11 + outcome
            chain = (probs[rows, a][:, :, None] * next_bits[_KIND[rows, a]]).transpose(0, 2, 1).reshape(N_STATES, N_STATES)
            system = np.eye(N_STATES) - chain
            system[:, 0] = 1.0  # h[0] = 0: the first column carries the gain instead
            h = np.linalg.solve(system, expected[rows, a])
            h[0] = 0.0
            # E[h(s') | s, a] = sum_o P(o | s, a) sum_b P(b | kind(s, a), o) h[b, o]
            by_kind = np.einsum("kob,bo->ko", next_bits, h.reshape(N_BITS, N_OUT))
            q = expected + (probs * by_kind[_KIND]).sum(axis=-1)
            best = q.argmax(axis=1)
            current = q[rows, policy]
            improve = q[rows, best] > current + 1e-9 * (1.0 + np.abs(current))
            if not improve.any():
                return policy
            policy = np.where(improve, best, policy)
        return policy


# The next state's factors depend on (s, a) only through five bits, its "kind": pool high, disk
# high, clean build, cache warm, cache knob.
def _kinds() -> np.ndarray:
    F = _FACTOR_TABLE[_STATE_BITS].astype(int)
    K = _KNOB_TABLE.astype(int)
    H, D, W = F[:, _FACTOR["pool_high"]], F[:, _FACTOR["disk_high"]], F[:, _FACTOR["cache_warm"]]
    X, C = K[:, _KNOB["clean_build"]], K[:, _KNOB["cache"]]
    return (((H[:, None] * 2 + D[:, None]) * 2 + X[None, :]) * 2 + W[:, None]) * 2 + C[None, :]


_KIND = _kinds()  # [352, 32] -> 0..31


def _next_bits(model: dict) -> np.ndarray:
    """P(next state's factors | kind, outcome): [32 kinds, 11, 32 next bits]."""
    large, deps = model["commit"]
    pool, disk, cache = model["pool"], model["disk"], model["cache"]
    bern = lambda p: np.stack([1.0 - p, p], axis=-1)
    success = (np.arange(N_OUT) == 0).astype(int)
    p_w = bern(cache[:, :, success])  # [warm, cache knob, outcome, warm next]
    # kind: h pool, k disk, x clean, w warm, c cache; next bits: l large, d deps, v warm, i pool, j disk
    joint = np.einsum("l,d,hi,kxj,wcov->hkxwcoldvij", bern(large), bern(deps), bern(pool), bern(disk), p_w)
    return joint.reshape(N_BITS, N_OUT, N_BITS)


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)  # an interrupted save leaves the previous one whole
