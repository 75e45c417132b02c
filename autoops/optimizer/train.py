"""DQN (stable-baselines3) on the build simulator, with the exact regret of its greedy policy.

One readable file in the manner of CleanRL's ``dqn.py``: an explicit seeding block and fixed
TensorBoard tags. The typed settings (``DQNSettings``) and how ``configs/dqn.yaml`` and
``KEY=VALUE`` overrides resolve them live in ``autoops.optimizer.settings``; the resolved
settings are saved next to each run. ``ensure_trained`` is the one "train a model if none exists".

A run is a folder ``<scenario>__<config>__<seed>__<YYYYmmdd-HHMMSS>/`` of the runs folder
(``autoops.paths.runs_dir()``; ``autoops.optimizer.runs`` owns the folders) with

    config.yaml            resolved settings, scenario, seed, overrides, versions (+ resumed_from)
    model.zip              the SB3 model (``DQN.load``)
    replay_buffer.pkl      the replay buffer, to resume
    events.out.tfevents.*  TensorBoard events, the tags below
    metrics.json           status, final exact evaluation, the regret curve (steps, regret, epsilon),
                           size and sha256 of model.zip and replay_buffer.pkl; written last
    checkpoints/<step>/    while training: the newest checkpoint (``runs.writing_checkpoint``)

TensorBoard tags (x axis: environment steps; one step is one build):

    charts/episodic_return        raw return of each finished episode (``episode_length`` builds)
    charts/mean_reward_per_build  mean raw reward of the training builds of the last ``log_freq``
                                  steps (exploration included)
    losses/td_loss                SB3's Huber TD loss of the latest training phase, every ``log_freq`` steps
    charts/mean_q                 max_a Q(s, a) of the network averaged over the stationary distribution
                                  of the optimal policy (computed once), every ``eval_freq`` steps
                                  (network units: discounted sums of ``reward_scale`` x reward; near
                                  the optimum it tends to reward_scale x optimal mean reward / (1 - gamma))
    charts/SPS                    environment steps per second of the current ``learn`` call
    eval/regret                   exact relative regret of the greedy policy, every ``eval_freq`` steps:
                                  one batched forward pass over the 352 observations, then
                                  ``planning.evaluate``

Schedules: epsilon decays linearly from ``exploration_initial_eps`` to ``exploration_final_eps``
over the first ``exploration_fraction * total_timesteps`` environment steps of the run, and the
learning rate from ``learning_rate`` to ``learning_rate * learning_rate_end`` over
``total_timesteps``. SB3 computes both from the progress of the current ``learn`` call
(``1 - num_timesteps / _total_timesteps``), and ``_total_timesteps`` changes when a run is resumed
(``reset_num_timesteps=False`` adds the steps done so far); ``_set_schedules`` rescales SB3's
schedules before each ``learn`` call so that they stay functions of the absolute step: a resumed
run has the epsilon (and learning rate) that the uninterrupted run would have had, and training
past ``total_timesteps`` keeps the final values.

Checkpoints, kills and resuming: every ``checkpoint_freq`` steps (by default a tenth of the run),
at the first training-phase boundary from each multiple, the run saves its model (with Adam's
state), its replay buffer and ``state.pkl``: the step, the pickled environment (its position and
random stream), the random states of Python, NumPy, torch and the action space, the exploration
rate and the curve so far. At that boundary SB3's state is whole (the last transition stored,
the training phase done), so ``train(resume_from=run)`` continues from a checkpoint exactly: the
resumed run ends with the metrics and the model of the uninterrupted run. A run resumed from a
saved model (stopped by a callback, or ``extra_timesteps`` after the end) starts a new episode
with a fresh stream derived from the seed and the step instead. SIGTERM and Ctrl-C ask the run
to stop at the next boundary: it writes a checkpoint, saves itself as "interrupted" and raises
``Interrupted`` (a KeyboardInterrupt); a second signal stops at once. A finished run deletes its
checkpoints.

Same seed, same machine, ``torch_threads: 1``: same metrics (the SPS and timings aside).
"""

from __future__ import annotations

import pickle
import platform
import random
import signal
import subprocess
import time
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch
from gymnasium.wrappers import TimeLimit
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.utils import (
    ConstantSchedule,
    FloatSchedule,
    LinearSchedule,
)
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

import autoops
from autoops import paths, planning
from autoops.envs import BuildModel, BuildPipelineEnv, Scenario, get_scenario
from autoops.envs.model import state_of
from autoops.optimizer import runs
from autoops.optimizer.evaluate import q_table
from autoops.optimizer.regret import (
    LearningCost,
    final_figures,
    new_curve,
    record_evaluation,
)
from autoops.optimizer.runs import RunError, read_run_config
from autoops.optimizer.settings import (
    DQNSettings,
    SettingsError,
    dqn_config_path,
    parse_overrides,
    resolve_settings,
    settings_from_dict,
)
from autoops.optimizer.signals import Interrupted, StopRequest, stop_on_signals

TAGS = (
    "charts/episodic_return",
    "charts/mean_reward_per_build",
    "losses/td_loss",
    "charts/mean_q",
    "charts/SPS",
    "eval/regret",
    "eval/cumulative_regret",
    "eval/best_static_cumulative_regret",
)


# -- environment, model, exploration ---------------------------------------------------------


class ScaledReward(gym.RewardWrapper):
    """Multiplies the reward by ``scale`` (placed outside Monitor, which records raw returns)."""

    def __init__(self, env: gym.Env, scale: float):
        super().__init__(env)
        self.scale = scale

    def reward(self, reward):
        return reward * self.scale


class DropInfo(gym.Wrapper):
    """Empties the step info (status, failure category, the log excerpt...): the learner does not
    read it, and SB3's DummyVecEnv deep-copies every info dict at every step."""

    def step(self, action):
        obs, reward, terminated, truncated, _ = self.env.step(action)
        return obs, reward, terminated, truncated, {}


def make_env(scenario: Scenario, settings: DQNSettings) -> gym.Env:
    """BuildPipelineEnv -> DropInfo -> TimeLimit(episode_length) -> Monitor (raw episode returns)
    -> ScaledReward (if reward_scale != 1)."""
    env: gym.Env = TimeLimit(DropInfo(BuildPipelineEnv(scenario)), max_episode_steps=scenario.episode_length)
    env = Monitor(env)
    if settings.reward_scale != 1.0:
        env = ScaledReward(env, settings.reward_scale)
    return env


class FastDQN(DQN):
    """SB3's DQN with a shortcut in ``predict`` for the one observation of a single env.

    SB3's ``predict`` (training mode switch, tensor conversion, forward, reshape) costs more
    than a build step; here the greedy action of one observation is a NumPy forward pass through
    views of the Q-network's parameters (they share memory, so they follow every Adam step). The
    epsilon draw and the random action are SB3's, in the same order; batches and any other
    network go through SB3's ``predict``. Models load with ``DQN.load``.
    """

    _layers: list[tuple[np.ndarray, np.ndarray]] | None = None

    def _numpy_layers(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        modules = list(self.q_net.q_net)
        linear = [m for m in modules if isinstance(m, torch.nn.Linear)]
        others = [m for m in modules if not isinstance(m, torch.nn.Linear)]
        if self.device.type != "cpu" or not all(isinstance(m, torch.nn.ReLU) for m in others):
            return None
        return [(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in linear]

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_layers"]

    def _setup_learn(self, *args, **kwargs):
        self._layers = self._numpy_layers()  # (re)bound at each learn call: parameters may have been replaced
        return super()._setup_learn(*args, **kwargs)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        layers = self._layers
        if layers is None or not isinstance(observation, np.ndarray) or observation.shape != (1, layers[0][0].shape[0]):
            return super().predict(observation, state, episode_start, deterministic)
        if not deterministic and np.random.rand() < self.exploration_rate:
            return np.array([self.action_space.sample()]), state
        h = observation
        for i, (weight, bias) in enumerate(layers):
            h = h @ weight + bias
            if i < len(layers) - 1:
                np.maximum(h, 0.0, out=h)
        return h.argmax(axis=1), state


def epsilon_at(settings: DQNSettings, step: int) -> float:
    """The exploration rate after ``step`` environment steps of a run."""
    horizon = settings.exploration_fraction * settings.total_timesteps
    if step >= horizon:
        return settings.exploration_final_eps
    return settings.exploration_initial_eps + step / horizon * (settings.exploration_final_eps - settings.exploration_initial_eps)


def learning_rate_at(settings: DQNSettings, step: int) -> float:
    """The learning rate after ``step`` environment steps of a run."""
    fraction = min(step / settings.total_timesteps, 1.0)
    return settings.learning_rate * (1.0 + fraction * (settings.learning_rate_end - 1.0))


def _set_schedules(model: DQN, settings: DQNSettings, learn_steps: int) -> None:
    """Rescale SB3's schedules (functions of the progress of one ``learn`` call, which ends at
    ``num_timesteps + learn_steps``) so that epsilon and the learning rate are
    ``epsilon_at(settings, num_timesteps)`` and ``learning_rate_at(settings, num_timesteps)``."""
    end = model.num_timesteps + learn_steps
    horizon = settings.exploration_fraction * settings.total_timesteps
    if horizon <= 0:
        model.exploration_schedule = ConstantSchedule(settings.exploration_final_eps)
    else:
        model.exploration_fraction = horizon / end
        model.exploration_schedule = LinearSchedule(settings.exploration_initial_eps, settings.exploration_final_eps, horizon / end)
    model.exploration_rate = epsilon_at(settings, model.num_timesteps)
    lr = settings.learning_rate
    model.lr_schedule = FloatSchedule(LinearSchedule(lr, lr * settings.learning_rate_end, settings.total_timesteps / end))


def build_model(env: gym.Env, settings: DQNSettings, seed: int) -> FastDQN:
    model = FastDQN(
        "MlpPolicy",
        env,
        learning_rate=settings.learning_rate,
        buffer_size=settings.buffer_size,
        learning_starts=settings.learning_starts,
        batch_size=settings.batch_size,
        tau=settings.tau,
        gamma=settings.gamma,
        n_steps=settings.n_steps,
        train_freq=settings.train_freq,
        gradient_steps=settings.gradient_steps,
        target_update_interval=settings.target_update_interval,
        exploration_fraction=settings.exploration_fraction,
        exploration_initial_eps=settings.exploration_initial_eps,
        exploration_final_eps=settings.exploration_final_eps,
        max_grad_norm=settings.max_grad_norm,
        # torch's fused Adam on the CPU: the same update in one kernel, three times faster here
        policy_kwargs={"net_arch": list(settings.net_arch), "optimizer_kwargs": {"fused": True} if settings.device == "cpu" else {}},
        seed=seed,
        device=settings.device,
        verbose=0,
    )
    model.set_logger(Logger(folder=None, output_formats=[]))  # values only: TensorBoard is ours
    return model


# -- monitoring ----------------------------------------------------------------------------------


class TrainingMonitor(BaseCallback):
    """Writes the TensorBoard tags, evaluates the greedy policy exactly every ``eval_freq``
    steps (the regret curve of metrics.json), drives the progress bar, and at training-phase
    boundaries writes checkpoints and acts on a stop request."""

    def __init__(self, settings: DQNSettings, build: BuildModel, writer: SummaryWriter, curve: dict[str, list],
                 progress: bool, learn_steps: int, checkpoint: Callable[[], None], stop: StopRequest,
                 cost: LearningCost, rewards: tuple[float, int] = (0.0, 0)):
        super().__init__()
        self.settings, self.build, self.writer, self.cost = settings, build, writer, cost
        self.optimum = planning.optimum(build)
        self.curve, self.progress, self.learn_steps = curve, progress, learn_steps
        self.checkpoint, self.stop, self._rewards_at_start = checkpoint, stop, rewards
        self.last_stats: planning.PolicyStats | None = None
        self.on_evaluation = None  # as the online loop's: (step, greedy stats, cost) -> False stops the run
        self.seconds = 0.0

    def _on_training_start(self) -> None:
        self._start, self._start_steps = time.perf_counter(), self.num_timesteps
        self.end = self.num_timesteps + self.learn_steps
        every = self.settings.checkpoint_every
        self._next_checkpoint = (self.num_timesteps // every + 1) * every
        self._reward_sum, self._reward_count = self._rewards_at_start
        self._bar = tqdm(total=self.learn_steps, unit="step", desc=self.build.scenario.name, dynamic_ncols=True) if self.progress else None
        self._bar_at = self.num_timesteps

    def _on_rollout_start(self) -> None:
        # SB3 is between a training phase and the next rollout: its state is whole here
        t = self.num_timesteps
        if self.stop.signum is not None:
            self.checkpoint()
            raise Interrupted(self.stop.signum)
        if t >= self._next_checkpoint:
            self.checkpoint()
            self._next_checkpoint = (t // self.settings.checkpoint_every + 1) * self.settings.checkpoint_every

    def _on_step(self) -> bool:
        t = self.num_timesteps
        # SB3 stores the transition after the callbacks: _last_obs is still the state the action ran in
        self.cost.record(state_of(self.model._last_obs[0]), int(self.locals["actions"][0]))
        self._reward_sum += float(np.sum(self.locals["rewards"])) / self.settings.reward_scale
        self._reward_count += len(self.locals["rewards"])
        for info in self.locals["infos"]:
            if "episode" in info:
                self.writer.add_scalar("charts/episodic_return", info["episode"]["r"], t)
        go_on = True
        if t % self.settings.eval_freq == 0:
            stats = self.evaluate(t)
            go_on = self.on_evaluation is None or self.on_evaluation(t, stats, self.cost) is not False
        if t % self.settings.log_freq == 0:
            self._log(t)
        return go_on and t < self.end  # SB3 would finish the rollout of train_freq steps past the end

    def _log(self, t: int) -> None:
        self.writer.add_scalar("charts/mean_reward_per_build", self._reward_sum / max(self._reward_count, 1), t)
        self._reward_sum, self._reward_count = 0.0, 0
        loss = self.model.logger.name_to_value.get("train/loss")
        if loss is not None:
            self.writer.add_scalar("losses/td_loss", float(loss), t)
        sps = (t - self._start_steps) / max(time.perf_counter() - self._start, 1e-9)
        self.writer.add_scalar("charts/SPS", sps, t)
        if self._bar is not None:
            self._bar.update(t - self._bar_at)
            self._bar_at = t
            regret = self.curve["regret"][-1] if self.curve["regret"] else float("nan")
            self._bar.set_postfix(regret=f"{regret:.2%}", eps=f"{self.model.exploration_rate:.3f}", refresh=False)

    def evaluate(self, t: int) -> planning.PolicyStats:
        q = q_table(self.model, self.build.observations)
        policy = q.argmax(axis=1)
        stats = self.cost.greedy_regret(policy, "dqn greedy")
        self.writer.add_scalar("charts/mean_q", float(self.optimum.stationary @ q.max(axis=1)), t)
        record_evaluation(self.writer, self.curve, t, stats, self.cost)
        self.curve["epsilon"].append(float(self.model.exploration_rate))
        self.last_stats = stats
        return stats

    def _on_training_end(self) -> None:
        self.seconds = time.perf_counter() - self._start
        if not self.curve["steps"] or self.curve["steps"][-1] != self.num_timesteps:
            self.evaluate(self.num_timesteps)
        if self._bar is not None:
            self._bar.update(self.num_timesteps - self._bar_at)
            self._bar.close()


# -- runs ------------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    result = {
        "python": platform.python_version(),
        "autoops": autoops.__version__,
        "torch": str(torch.__version__),
        "stable_baselines3": str(stable_baselines3.__version__),
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
    }
    root = paths.project_root()  # None for an installed package: no commit to record
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5) if root else None
        if commit is not None and commit.returncode == 0:
            result["git_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return result


def train(
    scenario: str | Scenario | None = None,
    seed: int | None = None,
    overrides: Iterable[str] | Mapping[str, typing.Any] | None = None,
    run_root: str | Path | None = None,
    progress: bool = True,
    config_name: str = "default",
    resume_from: str | Path | None = None,
    extra_timesteps: int | None = None,
    callbacks: Iterable[BaseCallback] = (),
    on_evaluation: Callable | None = None,
) -> Path:
    """Train DQN on ``scenario`` and return the new run folder (see the module docstring).

    ``overrides``: ``KEY=VALUE`` strings or a mapping, on top of ``configs/dqn.yaml``.
    ``run_root``: where the run folder goes (default ``autoops.paths.runs_dir()``).
    ``config_name``: a short name of the configuration for the folder name ("default" otherwise).
    ``resume_from``: a run folder to continue in a new folder, with its settings and scenario, for
    ``extra_timesteps`` steps (by default, whatever is left of its ``total_timesteps``): exactly
    from its newest valid checkpoint when that is at least as new as the model the run saved at its
    end (always after a kill, which saves none); else from that model and its replay buffer, with
    a fresh random stream.
    ``callbacks``: extra SB3 callbacks (one returning False stops the run; it is saved as "stopped"
    and can be resumed). ``on_evaluation(step, stats, cost)``: called after each exact evaluation
    with the greedy figures and the run's ``LearningCost``, as in ``online.train``; False stops the
    run the same way. SIGTERM or Ctrl-C: the run writes a checkpoint at the next training-phase
    boundary, saves itself as "interrupted" and raises ``Interrupted`` (a KeyboardInterrupt).
    """
    runs.check_config_name(config_name)
    if resume_from is not None:
        return _resume(Path(resume_from), scenario, seed, overrides, run_root, progress, extra_timesteps, callbacks, on_evaluation)
    if extra_timesteps is not None:
        raise RunError("extra_timesteps is for resuming; set total_timesteps for a new run")
    sc = _scenario(scenario or "BuildPipeline")
    seed = 0 if seed is None else int(seed)
    override_values = parse_overrides(overrides)
    settings = resolve_settings(sc, override_values)
    run_dir = runs.new_run_dir(sc.name, config_name, seed, run_root)

    env = _seeded_env(sc, settings, seed)  # Python, NumPy, torch, the env (reset and action space)
    model = build_model(env, settings, seed)  # SB3 seeds all of them again and the VecEnv's first reset

    config = {
        "scenario": sc.name,
        "env_id": sc.env_id,
        "seed": seed,
        "config_name": config_name,
        "settings": settings.as_dict(),
        "overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in override_values.items()},
        "config_file": str(dqn_config_path()),
        "resumed_from": None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
    }
    runs.write_config(run_dir, config)
    curve = new_curve("epsilon")
    return _learn(model, run_dir, sc, settings, config, settings.total_timesteps, False, curve, progress, callbacks,
                  on_evaluation=on_evaluation)


def ensure_trained(scenario: str, seed: int = 0, timesteps: int = 20_000, runs_root: str | Path | None = None,
                   config_name: str = "demo", progress: bool = True) -> Path:
    """The newest complete run of ``scenario`` in ``runs_root`` (default ``paths.runs_dir()``);
    when there is none, trains one of ``timesteps`` builds with ``seed`` and returns it (the
    caller says so if it wants to: ``runs.latest_run`` tells whether one exists)."""
    sc = get_scenario(scenario)
    existing = runs.latest_run(sc.name, runs_root)  # a model truncated since it was written is passed over
    if existing is not None:
        return existing
    overrides: dict[str, typing.Any] = {"total_timesteps": timesteps}
    settings = resolve_settings(sc, overrides)
    if settings.learning_starts > timesteps // 3:  # a short run must still learn something
        overrides["learning_starts"] = timesteps // 3
    overrides["eval_freq"] = min(settings.eval_freq, timesteps)  # at least the final evaluation
    return train(sc, seed=seed, overrides=overrides, run_root=runs_root, progress=progress, config_name=config_name)


def _scenario(scenario: str | Scenario) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else get_scenario(scenario)


def _seeded_env(sc: Scenario, settings: DQNSettings, seed: int):
    """Seed Python, NumPy and torch, then make the env and seed its reset and action space."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(settings.torch_threads)
    env = make_env(sc, settings)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def _resume(run_dir, scenario, seed, overrides, run_root, progress, extra_timesteps, callbacks, on_evaluation=None) -> Path:
    config = read_run_config(run_dir)
    settings = settings_from_dict(config["settings"], f"{run_dir / runs.CONFIG}")
    checkpoint, passed_over = runs.latest_checkpoint(run_dir)
    saved, missing = _saved_step(run_dir)
    if checkpoint is None and saved is None:
        why = "; ".join(passed_over) or f"training writes the first one at step {settings.checkpoint_every}"
        raise RunError(f"{run_dir}: cannot resume, {missing} and there is no valid checkpoint ({why})")
    if overrides:
        raise SettingsError("a resumed run keeps its settings; overrides are not allowed with resume_from")
    sc = get_scenario(config["scenario"])
    if scenario is not None and _scenario(scenario).name != sc.name:
        raise RunError(f"{run_dir} is a run of {sc.name}, not of {scenario}")
    if seed is not None and int(seed) != config["seed"]:
        raise RunError(f"{run_dir} is a run with seed {config['seed']}, not {seed}")
    exact = checkpoint is not None and (saved is None or checkpoint.step >= saved)  # the newer state wins
    done = checkpoint.step if exact else saved
    steps = settings.total_timesteps - done if extra_timesteps is None else int(extra_timesteps)
    if steps < 1:
        raise RunError(f"{run_dir} has trained its {settings.total_timesteps} steps; pass extra_timesteps to train longer")

    if exact:
        model, state = _load_checkpoint(checkpoint, settings)
        curve, restored = _curve_from(state["curve"]), state
        config = {**config, "resumed_from_checkpoint": str(checkpoint.path)}
    else:
        segment_seed = int(np.random.SeedSequence([config["seed"], done]).generate_state(1)[0] >> 1)
        model, curve, cost_state = _load_saved(run_dir, sc, settings, segment_seed, done)
        restored = {"cost": cost_state} if cost_state else None
        config = {**config, "resumed_from_checkpoint": None, "segment_seed": segment_seed}
    new_dir = runs.new_run_dir(sc.name, config["config_name"], config["seed"], run_root)
    config = {**config, "resumed_from": str(run_dir), "resumed_at_step": done,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions()}
    runs.write_config(new_dir, config)
    return _learn(model, new_dir, sc, settings, config, steps, True, curve, progress, callbacks, restored, on_evaluation)


def _saved_step(run_dir: Path) -> tuple[int | None, str]:
    """The step of the model a run saved when its training ended, or None and what is missing
    (a killed run saved none)."""
    for name in (runs.MODEL, runs.REPLAY_BUFFER, runs.METRICS):
        if not (run_dir / name).is_file():
            return None, f"{name} is missing"
    try:
        return int(runs.read_metrics(run_dir)["num_timesteps"]), ""
    except (RunError, KeyError, TypeError, ValueError) as err:
        return None, f"{runs.METRICS} has no step ({err})"


def _load_saved(run_dir: Path, sc: Scenario, settings: DQNSettings, segment_seed: int, done: int) -> tuple[FastDQN, dict, dict | None]:
    """The model and replay buffer a run saved at its end, for a new segment: a new episode and a
    fresh stream for every random draw (``segment_seed``)."""
    metrics = runs.read_metrics(run_dir)
    for name in (runs.MODEL, runs.REPLAY_BUFFER):
        problem = runs.file_problem(run_dir / name, runs.recorded(metrics, name))
        if problem:
            raise RunError(f"cannot resume: {problem}")
    env = _seeded_env(sc, settings, segment_seed)
    try:
        model = FastDQN.load(run_dir / runs.MODEL, env=env, device=settings.device)  # force_reset: a new episode
        model.load_replay_buffer(run_dir / runs.REPLAY_BUFFER)
    except Exception as err:  # damaged without a record to tell: anything in zipfile, pickle or torch
        raise RunError(f"{run_dir}: cannot resume, its saved model or replay buffer does not load ({type(err).__name__}: {err})") from None
    model.set_logger(Logger(folder=None, output_formats=[]))
    model.set_random_seed(segment_seed)
    if model.num_timesteps != done:
        raise RunError(f"{run_dir}: {runs.MODEL} is at step {model.num_timesteps}, {runs.METRICS} at {done}")
    return model, _curve_from(metrics["curve"]), metrics.get("cost_state")


def _curve_from(saved: dict) -> dict[str, list]:
    """A saved curve with every key; a run from before the cost of learning was recorded has
    no such curves: its points are None."""
    return {key: list(saved.get(key) or [None] * len(saved["steps"])) for key in new_curve("epsilon")}


def save_checkpoint(model: FastDQN, run_dir: Path, monitor: TrainingMonitor) -> None:
    """A checkpoint of the run at ``model.num_timesteps`` (call it at a training-phase boundary)."""
    state = {
        "step": int(model.num_timesteps),
        "env": model.get_env().envs[0],  # pickles with its position and random stream (BuildPipelineEnv)
        "random": random.getstate(),
        "numpy": np.random.get_state(),  # epsilon draws (FastDQN.predict) and replay sampling
        "torch": torch.get_rng_state(),
        "action_space": model.action_space.np_random.bit_generator.state,  # random actions
        "exploration_rate": model.exploration_rate,
        "curve": monitor.curve,
        "cost": monitor.cost.state_dict(),
        "rewards": (monitor._reward_sum, monitor._reward_count),  # charts/mean_reward_per_build so far
    }
    with runs.writing_checkpoint(run_dir, model.num_timesteps) as folder:
        model.save(folder / runs.MODEL)
        model.save_replay_buffer(folder / runs.REPLAY_BUFFER)
        with open(folder / runs.STATE, "wb") as file:
            pickle.dump(state, file, protocol=pickle.HIGHEST_PROTOCOL)


def _load_checkpoint(checkpoint: runs.Checkpoint, settings: DQNSettings) -> tuple[FastDQN, dict]:
    """The model of a checkpoint with its replay buffer, environment and random states restored."""
    try:
        with open(checkpoint.path / runs.STATE, "rb") as file:
            state = pickle.load(file)
        torch.set_num_threads(settings.torch_threads)
        # force_reset=False: continue the pickled env's episode; seed=None: SB3 would reseed every
        # stream (and the env at its next reset) on loading, the checkpoint's states are set below
        model = FastDQN.load(checkpoint.path / runs.MODEL, env=state["env"], device=settings.device, force_reset=False, seed=None)
        model.load_replay_buffer(checkpoint.path / runs.REPLAY_BUFFER)
    except Exception as err:  # the manifest matched: a file from another version of a library
        raise RunError(f"{checkpoint.path}: the checkpoint does not load ({type(err).__name__}: {err})") from None
    model.set_logger(Logger(folder=None, output_formats=[]))
    random.setstate(state["random"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    model.action_space.np_random.bit_generator.state = state["action_space"]
    if model.num_timesteps != checkpoint.step:
        raise RunError(f"{checkpoint.path}: {runs.MODEL} is at step {model.num_timesteps}, its manifest at {checkpoint.step}")
    return model, state


def _learn(model: FastDQN, run_dir: Path, sc: Scenario, settings: DQNSettings, config: dict, steps: int,
           resume: bool, curve: dict, progress: bool, callbacks: Iterable[BaseCallback], restored: dict | None = None,
           on_evaluation: Callable | None = None) -> Path:
    build = model.get_env().envs[0].unwrapped.model
    writer = SummaryWriter(log_dir=str(run_dir))
    stop = StopRequest()

    def checkpoint() -> None:
        writer.flush()  # the events up to the checkpoint survive a kill with it
        save_checkpoint(model, run_dir, monitor)

    cost = LearningCost(sc)
    if restored and restored.get("cost"):
        cost.load_state_dict(restored["cost"])
    monitor = TrainingMonitor(settings, build, writer, curve, progress, steps, checkpoint, stop, cost,
                              restored.get("rewards", (0.0, 0)) if restored else (0.0, 0))
    monitor.on_evaluation = on_evaluation
    start = model.num_timesteps
    target = start + steps
    _set_schedules(model, settings, steps)
    if restored and "exploration_rate" in restored:  # SB3's value at the checkpoint, which epsilon_at matches only to the last bits
        model.exploration_rate = restored["exploration_rate"]
    status = "failed"  # until learn returns or is interrupted
    with stop_on_signals(stop):
        try:
            model.learn(steps, callback=[monitor, *callbacks], log_interval=None, reset_num_timesteps=not resume)
            status = "complete" if model.num_timesteps >= target else "stopped"
        except KeyboardInterrupt as interrupt:
            status = "interrupted"
            if hasattr(monitor, "_start"):
                monitor._on_training_end()  # SB3 does not call it when learn raises
            signum = interrupt.signum if isinstance(interrupt, Interrupted) else signal.SIGINT
            raise Interrupted(signum, run_dir) from None  # for the caller's message; the run is saved below
        finally:
            writer.flush()
            writer.close()
            model_path, buffer_path = run_dir / runs.MODEL, run_dir / runs.REPLAY_BUFFER
            runs.write_atomically(model_path, model.save)
            runs.write_atomically(buffer_path, model.save_replay_buffer)
            final = monitor.last_stats
            # last: a run folder with a complete metrics.json has its model saved (runs.latest_run),
            # and the records let readers tell a model damaged since
            runs.write_json(run_dir / runs.METRICS, {
                "scenario": sc.name,
                "seed": config["seed"],
                "config_name": config["config_name"],
                "status": status,
                "num_timesteps": int(model.num_timesteps),
                "total_timesteps": settings.total_timesteps,
                "target_timesteps": int(target),
                "epsilon": float(model.exploration_rate),
                "optimal_mean_reward": monitor.optimum.mean_reward,
                "final": final.as_dict() if final else None,
                **final_figures(cost, final),
                "curve": curve,
                "timing": {  # of this learn call; exact evaluations included
                    "seconds": monitor.seconds,
                    "steps": int(model.num_timesteps - start),
                    "steps_per_second": (model.num_timesteps - start) / max(monitor.seconds, 1e-9),
                },
                "files": {runs.MODEL: runs.file_record(model_path), runs.REPLAY_BUFFER: runs.file_record(buffer_path)},
            })
            # a checkpoint older than the saved model is never used; one at its step resumes exactly
            runs.remove_checkpoints(run_dir, keep=None if status == "complete" else int(model.num_timesteps))
    return run_dir
