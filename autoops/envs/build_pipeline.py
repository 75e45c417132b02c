"""``BuildPipelineEnv``: one step is one CI build of one commit."""

from __future__ import annotations

import random
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from autoops.envs.categories import OUTCOMES
from autoops.envs.logs import render_log
from autoops.envs.model import N_ACTIONS, N_STATES, OBS_SIZE, State, describe_action, shared_model
from autoops.envs.render import rgb_frame, text_line
from autoops.envs.scenario import Scenario, get_scenario

_BATCH = 4096  # random draws are made in batches: per-draw calls would dominate a step
_DESCRIPTIONS = [describe_action(a) for a in range(N_ACTIONS)]


class BuildPipelineEnv(gym.Env):
    """A project's CI builds, one build per step, calibrated to published CI studies.

    STATE (latent, discrete, fully observed): five binary factors and the last outcome.
        large_change   the commit touches many modules (longer compile and tests, more memory)
        deps_changed   the commit changes the dependency manifest (cache partly stale)
        cache_warm     a dependency/image cache from an earlier build is stored
        pool_high      the shared runner pool is loaded (queues, rate limits, slow runners)
        disk_high      the persistent workspace is nearly full (incremental builds fill it)
        last_outcome   success, or the failure category of the previous build (failures cluster)
      2**5 * 11 = 352 states. The observation is a float32 vector of size 16: the five factors
      (0 or 1), then the last outcome one-hot over ``OUTCOMES`` (index 0 = success).

    ACTIONS (Discrete(32)): a build configuration, five on/off knobs; the action id is the sum
      of 2**i over the knobs that are on: 1 cache, 2 large runner, 4 shard tests,
      8 retry failed tests, 16 clean build. ``describe_action(1) == "use cache"``.

    REWARD: -(duration_weight * minutes + cost_weight * dollars + failure_weight * failed), the
      weights per scenario (default 1 per minute, 10 per dollar, 20 per failed build). The
      objective is the mean reward per build (average reward); episodes are truncated at the
      scenario's ``episode_length`` and never terminate.

    DRIFT: a scenario with ``drift:`` changes its world mid-stream. ``env.builds`` counts the
      builds since the environment was made, across resets (an episode boundary does not restart
      the stream); once it reaches a phase's ``after_build``, the next builds run in that phase
      (``env.phase``, an index into ``env.scenario.phases()``) and ``env.model`` is that phase's
      model. The objective is then the mean reward per build of each phase, against each phase's
      optimum. Each environment of a vector env counts its own builds.

    INFO: ``status`` ("success" or "failure"), ``failure_category`` (a taxonomy id or None),
      ``duration_minutes``, ``cost_usd``, ``action_description``, ``state_index``, and on a failure
      ``error_log``, a log excerpt as the build's tools would print it (unless ``error_logs=False``;
      the logs draw from their own seeded stream, so outcomes are the same either way). A
      drifting scenario adds ``phase``, the phase this build ran in.

    RENDER MODES: "ansi" returns one line of text (the state and the last build); "human"
      prints that line at every reset and step; "rgb_array" returns a 64x112x3 uint8 picture of
      the state factors, the last outcome, the last build's knobs, its duration and cost
      (``autoops.envs.render``), which ``gymnasium.wrappers.RecordVideo`` can record.

    PICKLING: an environment pickles to ~73 kB (scenario, position, random streams); the model is
      rebuilt on unpickling, or shared with the environments of the same scenario already in the
      process (``model.shared_model``), and the unpickled copy continues exactly where it was.

    REFERENCE: the exact model is ``env.unwrapped.model`` (``BuildModel``; of the current phase
      when the scenario drifts); ``autoops.planning`` solves it, and ``planning.phase_models``
      gives every phase's model. Calibration: Beller, Gousios, Zaidman, MSR 2017 (about 20% of
      builds fail); Ghaleb, da Costa, Zou, EMSE 2019 (10-minute builds, caching shortens them); Google's
      reports on flaky tests (a few percent of test runs). See ``configs/scenarios/default.yaml``.

    VERSION HISTORY (a new version number only when the same seed and actions could give other
      observations, rewards or infos):
      v0  the dynamics above. Later additions that leave them unchanged: "rgb_array" and "human"
          rendering, small pickles, ``ResetNeeded`` for a step before reset, actions given as
          numpy integers or one-element arrays, drifting scenarios (a scenario file without
          ``drift:`` gives the same stream as before). A change to how drift switches phases
          is a new version of the drifting scenarios only.
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}

    def __init__(self, scenario: str | Scenario = "BuildPipeline", render_mode: str | None = None, error_logs: bool = True):
        """``error_logs=False`` leaves ``info["error_log"]`` out: rendering a log costs more than
        the rest of a step, and a training loop that never reads it gets the same outcomes."""
        self.error_logs = error_logs
        self.scenario = scenario if isinstance(scenario, Scenario) else get_scenario(scenario)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.model = shared_model(self.scenario)  # a drifting scenario's model is its phase 0's
        self.builds = 0
        self.phase = 0
        self._next_phase_at = self.scenario.drift[0].after_build if self.scenario.drift else None
        self.observation_space = spaces.Box(0.0, 1.0, shape=(OBS_SIZE,), dtype=np.float32)
        self.action_space = spaces.Discrete(N_ACTIONS)
        self._state = 0
        self._uniforms = self._noise = np.empty(0)
        self._draw = _BATCH
        self._log_rng: random.Random | None = None  # set by reset
        self._last_action: int | None = None
        self._last_info: dict[str, Any] = {}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["model"]  # ~64 MB; rebuilt or shared on unpickling
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.model = shared_model(self.scenario.phases()[self.phase][1])

    @property
    def state(self) -> State:
        return State.from_index(self._state)

    @property
    def state_index(self) -> int:
        return self._state

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._log_rng = random.Random(int(self.np_random.integers(2**63)))
        self._draw = _BATCH  # drop draws made under an earlier seed
        if options and "state_index" in options:
            self._state = int(options["state_index"])
            State.from_index(self._state)  # checks the range
        else:
            self._state = self._sample(self.model.initial_cdf)
        self._last_action = None
        self._last_info = {"state_index": self._state}
        if self.render_mode == "human":
            self.render()
        return self.model.observations[self._state].copy(), dict(self._last_info)

    def _uniform_and_noise(self) -> tuple[float, float]:
        if self._draw >= _BATCH:
            self._uniforms = self.np_random.random(_BATCH)
            sigma = self.model.scenario.stages.duration_noise
            self._noise = np.exp(sigma * self.np_random.standard_normal(_BATCH) - sigma**2 / 2)  # mean 1
            self._draw = 0
        i = self._draw
        self._draw += 1
        return self._uniforms[i], self._noise[i]

    def _sample(self, cdf: np.ndarray) -> int:
        u, _ = self._uniform_and_noise()
        return min(int(cdf.searchsorted(u, side="right")), len(cdf) - 1)

    def step(self, action):
        if self._log_rng is None:
            raise ResetNeeded("call reset() before step(): the episode has not started")
        a = _action_id(action)
        s = self._state
        u, noise = self._uniform_and_noise()
        cdf = self.model.next_state_cdf[s, a]
        s2 = min(int(cdf.searchsorted(u, side="right")), N_STATES - 1)
        outcome = s2 % len(OUTCOMES)  # the next state records this build's outcome
        model = self.model
        minutes = float(model.duration[s, a, outcome] * noise)
        dollars = float(model.cost[s, a, outcome] * noise)
        w = model.scenario.reward
        reward = -(w.duration_weight * minutes + w.cost_weight * dollars + (w.failure_weight if outcome else 0.0))
        info = {
            "status": "failure" if outcome else "success",
            "failure_category": OUTCOMES[outcome] if outcome else None,
            "duration_minutes": minutes,
            "cost_usd": dollars,
            "action_description": _DESCRIPTIONS[a],
            "state_index": s2,
        }
        if outcome and self.error_logs:
            info["error_log"] = render_log(OUTCOMES[outcome], self.scenario.toolchain, self._log_rng)
        self.builds += 1
        if self.scenario.drift:
            info["phase"] = self.phase
            if self.builds == self._next_phase_at:
                self._enter_next_phase()
        self._state = s2
        self._last_action = a
        self._last_info = info
        if self.render_mode == "human":
            self.render()
        return model.observations[s2].copy(), reward, False, False, info

    def _enter_next_phase(self) -> None:
        self.phase += 1
        phases = self.scenario.phases()
        self.model = shared_model(phases[self.phase][1])
        self._next_phase_at = phases[self.phase + 1][0] if self.phase + 1 < len(phases) else None
        self._draw = _BATCH  # the batch's durations were drawn with the previous phase's noise

    def render(self):
        if self.render_mode in ("ansi", "human"):
            line = text_line(self.scenario.name, self._state, self._last_info)
            if self.render_mode == "ansi":
                return line
            print(line)
        elif self.render_mode == "rgb_array":
            info, model = self._last_info, self.model
            fractions = (
                info.get("duration_minutes", 0.0) / float(model.duration.max()),
                info.get("cost_usd", 0.0) / max(float(model.cost.max()), 1e-12),
            )
            return rgb_frame(self._state, self._last_action, fractions)
        return None


def _action_id(action) -> int:
    """The action as an int: a Python or numpy integer, or an array holding one (as vector envs
    and some RL libraries pass it)."""
    if not isinstance(action, (int, np.integer)):
        array = np.asarray(action)
        kind = array.dtype.kind
        if array.size != 1 or kind not in "biuf" or (kind == "f" and not float(array.flat[0]).is_integer()):
            raise ValueError(f"action {action!r} is not one whole number in [0, {N_ACTIONS - 1}] (Discrete({N_ACTIONS}))")
        action = array.flat[0]
    a = int(action)
    if not 0 <= a < N_ACTIONS:
        raise ValueError(f"action {a} is outside the action space Discrete({N_ACTIONS}): expected a whole number in [0, {N_ACTIONS - 1}]")
    return a
