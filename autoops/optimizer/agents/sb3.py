"""``dqn`` and ``ppo``: stable-baselines3's DQN and PPO as online agents (``base.Agent``).

SB3 trains by driving an environment itself (``learn``); here the caller drives: ``act`` picks the
configuration of a build, ``observe`` stores its outcome in SB3's replay or rollout buffer and runs
SB3's own training step when SB3's ``learn`` would have run it. The stream of builds is continuing
(no episodes): every transition bootstraps from the value of the next state.

The network input of a state is ``autoops.envs.model.observation(state)``, the same vector the
Gymnasium environment returns; the models are built on an environment that only declares the
spaces. Acting uses NumPy views of the network's parameters (they share memory with torch, so they
follow every Adam step): SB3's ``predict`` costs more than a simulated build.

Random draws: the agent's own generator picks exploratory actions (DQN) or samples the policy
(PPO); SB3 samples replay batches and minibatches from NumPy's global stream, so the agent swaps
its own stream in around each training phase, and agents in one process do not disturb each other.
Building a model seeds torch (the initial weights) without changing the caller's streams.

``save(folder)`` writes ``model.zip`` (networks, Adam's state, step counters), the buffer, ``state.pkl``
(the agent's random states) and, last, ``agent.json`` (agent, seed, settings and the size and
sha256 of each file, checked by ``load``: a save cut short is refused, never half loaded). A loaded
agent continues exactly: the same actions and networks as the agent that was saved.

``DQNAgent.from_run(run_dir)`` opens a DQN run folder of ``autoops train`` (its model, replay
buffer and settings) to keep learning online from where the run ended.
"""

from __future__ import annotations

import json
import pickle
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import FloatSchedule, LinearSchedule

from autoops.envs.model import N_ACTIONS, N_STATES, OBS_SIZE, observation
from autoops.optimizer import runs
from autoops.optimizer.agents.base import Agent
from autoops.optimizer.agents.ppo_settings import PPOSettings
from autoops.optimizer.settings import DQNSettings, settings_from_dict
from autoops.optimizer.train import build_model, epsilon_at

OBSERVATIONS = np.stack([observation(s) for s in range(N_STATES)])  # [N_STATES, OBS_SIZE], the network inputs
OBSERVATIONS.setflags(write=False)
AGENT_FILE, ROLLOUT_BUFFER = "agent.json", "rollout_buffer.pkl"
_GLOBAL_STREAM = threading.Lock()  # held while an agent's stream is NumPy's global one
_NO_INFO = [{}]  # SB3's buffers read "TimeLimit.truncated" from the infos: never, here


class SpacesOnly(gym.Env):
    """The spaces of ``BuildPipelineEnv`` and nothing else: SB3 builds its networks and buffers
    from an environment's spaces; the agents feed it observations themselves."""

    observation_space = gym.spaces.Box(0.0, 1.0, shape=(OBS_SIZE,), dtype=np.float32)
    action_space = gym.spaces.Discrete(N_ACTIONS)

    def reset(self, *, seed=None, options=None):
        raise RuntimeError("SpacesOnly has no dynamics: the agent's caller runs the builds")

    def step(self, action):
        raise RuntimeError("SpacesOnly has no dynamics: the agent's caller runs the builds")


class Forward:
    """A torch MLP (Linear layers with ReLU or Tanh between them) as a NumPy function."""

    def __init__(self, *modules: torch.nn.Module):
        self.torch = torch.nn.Sequential(*modules)
        self.layers: list | None = []
        for module in self.torch.modules():
            if isinstance(module, torch.nn.Linear):
                self.layers.append((module.weight.detach().numpy().T, module.bias.detach().numpy()))
            elif isinstance(module, (torch.nn.ReLU, torch.nn.Tanh)):
                self.layers.append(np.tanh if isinstance(module, torch.nn.Tanh) else _relu)
        if next(self.torch.parameters()).device.type != "cpu":
            self.layers = None  # no views of GPU memory: torch's forward

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.layers is None:
            with torch.no_grad():
                return self.torch(torch.as_tensor(x, device=next(self.torch.parameters()).device)).cpu().numpy()
        for layer in self.layers:
            x = layer(x) if callable(layer) else x @ layer[0] + layer[1]
        return x


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


@contextmanager
def _caller_streams_kept() -> Iterator[None]:
    """SB3 seeds Python's, NumPy's and torch's global streams when it builds or seeds a model;
    the caller's streams are put back after."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def _check_state(state: int) -> int:
    state = int(state)
    if not 0 <= state < N_STATES:
        raise ValueError(f"state {state} is outside [0, {N_STATES})")
    return state


def _check_action(action: int) -> int:
    action = int(action)
    if not 0 <= action < N_ACTIONS:
        raise ValueError(f"action {action} is outside [0, {N_ACTIONS})")
    return action


class SB3Agent(Agent):
    """What DQN and PPO share: the model, the agent's random streams, save and load."""

    BUFFER: str  # the buffer's file name in a saved folder

    def __init__(self, settings, seed: int, model=None):
        super().__init__(settings, seed)
        torch.set_num_threads(settings.torch_threads)
        if model is None:
            with _caller_streams_kept():
                model = self._build(seed)
        model.set_logger(Logger(folder=None, output_formats=[]))  # values only: the caller logs what it wants
        self.model = model
        # streams of their own, from the seed and the step (an agent opened from a run starts a new segment)
        streams = np.random.SeedSequence([self.seed, int(model.num_timesteps)]).spawn(2)
        self.rng = np.random.default_rng(streams[0])
        self._sb3_numpy = np.random.RandomState(np.random.MT19937(streams[1])).get_state()
        self._bind()

    def _build(self, seed: int):
        raise NotImplementedError

    def _bind(self) -> None:
        """(Re)make the NumPy views of the networks (after building or loading parameters)."""
        raise NotImplementedError

    @property
    def num_timesteps(self) -> int:
        """Builds observed so far (for a model opened from a run: its training steps included)."""
        return int(self.model.num_timesteps)

    @contextmanager
    def _sb3_stream(self) -> Iterator[None]:
        """NumPy's global stream is the agent's own while SB3 samples batches (one agent at a
        time: agents training in other threads would draw from it too)."""
        with _GLOBAL_STREAM:
            outer = np.random.get_state()
            np.random.set_state(self._sb3_numpy)
            try:
                yield
            finally:
                self._sb3_numpy = np.random.get_state()
                np.random.set_state(outer)

    # -- saving ---------------------------------------------------------------------------------

    def _save_buffer(self, path: Path) -> None:
        raise NotImplementedError

    def _load_buffer(self, path: Path) -> None:
        raise NotImplementedError

    def _state(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "sb3_numpy": self._sb3_numpy}

    def _set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self._sb3_numpy = state["sb3_numpy"]

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        runs.write_atomically(folder / runs.MODEL, self.model.save)
        runs.write_atomically(folder / self.BUFFER, self._save_buffer)
        runs.write_atomically(folder / runs.STATE, lambda tmp: tmp.write_bytes(pickle.dumps(self._state(), protocol=pickle.HIGHEST_PROTOCOL)))
        # last, with the records of the files above: a folder whose agent.json matches its files is whole
        runs.write_json(folder / AGENT_FILE, {
            "agent": self.name,
            "seed": self.seed,
            "num_timesteps": self.num_timesteps,
            "settings": self.settings.as_dict(),
            "files": {name: runs.file_record(folder / name) for name in (runs.MODEL, self.BUFFER, runs.STATE)},
        })

    @classmethod
    def load(cls, folder: Path) -> SB3Agent:
        folder = Path(folder)
        path = folder / AGENT_FILE
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise runs.RunError(f"{path}: cannot read the saved agent ({err})") from None
        if not isinstance(record, dict) or record.get("agent") != cls.name:
            saved = record.get("agent") if isinstance(record, dict) else None
            raise runs.RunError(f"{path}: a saved {saved!r} agent, not {cls.name!r}")
        for name in (runs.MODEL, cls.BUFFER, runs.STATE):
            problem = runs.file_problem(folder / name, runs.recorded(record, name))
            if problem:
                raise runs.RunError(f"{folder}: cannot load the agent: {problem}")
        settings = cls._settings_from(record["settings"], str(path))
        torch.set_num_threads(settings.torch_threads)
        try:
            with _caller_streams_kept():  # loading builds the networks (torch draws) before setting the saved weights
                model = cls._model_class().load(folder / runs.MODEL, device=settings.device)
            agent = cls(settings, record["seed"], model=model)
            agent._load_buffer(folder / cls.BUFFER)
            agent._set_state(pickle.loads((folder / runs.STATE).read_bytes()))
        except Exception as err:  # noqa: BLE001 - the records matched: files from another version of a library
            raise runs.RunError(f"{folder}: the saved agent does not load ({type(err).__name__}: {err})") from None
        return agent

    @classmethod
    def _settings_from(cls, values: dict, where: str):
        raise NotImplementedError

    @classmethod
    def _model_class(cls):
        raise NotImplementedError


class DQNAgent(SB3Agent):
    """SB3's DQN (``autoops.optimizer.train``'s model and settings) fed one build at a time.

    ``act``: uniformly random actions for the first ``learning_starts`` builds, then epsilon-greedy
    with epsilon ``train.epsilon_at(settings, builds so far)`` (absolute steps, as in a run).
    ``observe``: the transition (reward times ``reward_scale``) goes into SB3's replay buffer; then
    what SB3's ``learn`` does after each environment step: the target network update every
    ``target_update_interval`` builds (``DQN._on_step``), and after every ``train_freq`` builds past
    ``learning_starts`` a training phase of ``gradient_steps`` (``DQN.train``), at the learning
    rate ``train.learning_rate_at`` of the step.
    """

    name = "dqn"
    Settings = DQNSettings
    BUFFER = runs.REPLAY_BUFFER

    def _build(self, seed: int):
        return build_model(SpacesOnly(), self.settings, seed)

    def _bind(self) -> None:
        model, settings = self.model, self.settings
        # LinearSchedule of SB3's progress (1 - step / total_timesteps): learning_rate_at of the step
        lr = settings.learning_rate
        model.lr_schedule = FloatSchedule(LinearSchedule(lr, lr * settings.learning_rate_end, 1.0))
        self.q = Forward(model.q_net.q_net)

    @classmethod
    def from_run(cls, run_dir: str | Path, seed: int | None = None) -> DQNAgent:
        """The agent of a DQN run folder of ``autoops train``: its model (checked against its
        metrics.json), its replay buffer when it saved one, its settings; ``seed`` (default the
        run's) and the run's step seed the agent's streams from here on."""
        run_dir = Path(run_dir)
        config = runs.read_run_config(run_dir)
        settings = settings_from_dict(config["settings"], f"{run_dir / runs.CONFIG}")
        torch.set_num_threads(settings.torch_threads)
        with _caller_streams_kept():
            model = runs.load_model(run_dir)
        buffer = run_dir / runs.REPLAY_BUFFER
        if buffer.is_file():
            try:
                record = runs.recorded(runs.read_metrics(run_dir), runs.REPLAY_BUFFER)
            except runs.RunError:
                record = None
            problem = runs.file_problem(buffer, record)
            if problem:
                raise runs.RunError(problem)
            try:
                model.load_replay_buffer(buffer)
            except Exception as err:  # noqa: BLE001 - a damaged pickle fails anywhere in pickle or numpy
                raise runs.RunError(f"{buffer}: not a loadable replay buffer ({type(err).__name__}: {err})") from None
        return cls(settings, config["seed"] if seed is None else seed, model=model)

    @property
    def epsilon(self) -> float:
        """The exploration rate of the next ``act`` (1 before ``learning_starts``)."""
        step = self.model.num_timesteps
        return 1.0 if step < self.settings.learning_starts else epsilon_at(self.settings, step)

    def act(self, state: int) -> int:
        state = _check_state(state)
        step = self.model.num_timesteps
        if step < self.settings.learning_starts or self.rng.random() < epsilon_at(self.settings, step):
            return int(self.rng.integers(N_ACTIONS))
        return int(self.q(OBSERVATIONS[state: state + 1]).argmax())

    def observe(self, state: int, action: int, reward: float, next_state: int) -> None:
        model, settings = self.model, self.settings
        model.replay_buffer.add(OBSERVATIONS[_check_state(state)], OBSERVATIONS[_check_state(next_state)],
                                np.array([_check_action(action)]), np.array([reward * settings.reward_scale]), np.array([False]), _NO_INFO)
        model.num_timesteps += 1
        step = model.num_timesteps
        model._current_progress_remaining = 1.0 - step / settings.total_timesteps  # the learning rate's schedule
        model._on_step()  # SB3: the target network every target_update_interval steps
        if step > settings.learning_starts and step % settings.train_freq == 0:
            with self._sb3_stream():
                model.train(gradient_steps=settings.gradient_steps, batch_size=settings.batch_size)

    def policy(self) -> np.ndarray:
        return self.q(OBSERVATIONS).argmax(axis=1)

    def q_values(self) -> np.ndarray:
        """``[N_STATES, N_ACTIONS]`` Q-values (network units: ``reward_scale`` x discounted reward)."""
        return self.q(OBSERVATIONS).astype(np.float64)

    def _save_buffer(self, path: Path) -> None:
        self.model.save_replay_buffer(path)

    def _load_buffer(self, path: Path) -> None:
        self.model.load_replay_buffer(path)

    @classmethod
    def _settings_from(cls, values: dict, where: str) -> DQNSettings:
        return settings_from_dict(values, where)

    @classmethod
    def _model_class(cls):
        return DQN


class PPOAgent(SB3Agent):
    """SB3's PPO fed one build at a time.

    ``act`` samples the policy's distribution with the agent's generator. ``observe`` adds the
    build to SB3's rollout buffer with the value and log-probability of the action under the
    current networks (so a build the agent did not choose is learned from too); when ``n_steps``
    builds are in, it computes GAE advantages bootstrapped from the value of the next state (the
    stream goes on), runs ``PPO.train`` and starts a new rollout.
    """

    name = "ppo"
    Settings = PPOSettings
    BUFFER = ROLLOUT_BUFFER

    def _build(self, seed: int):
        s = self.settings
        return PPO("MlpPolicy", SpacesOnly(), learning_rate=s.learning_rate, n_steps=s.n_steps, batch_size=s.batch_size,
                   n_epochs=s.n_epochs, gamma=s.gamma, gae_lambda=s.gae_lambda, clip_range=s.clip_range,
                   ent_coef=s.ent_coef, vf_coef=s.vf_coef, max_grad_norm=s.max_grad_norm,
                   policy_kwargs={"net_arch": list(s.net_arch)}, seed=seed, device=s.device, verbose=0)

    def _bind(self) -> None:
        policy = self.model.policy
        self.logits = Forward(policy.mlp_extractor.policy_net, policy.action_net)
        self.value = Forward(policy.mlp_extractor.value_net, policy.value_net)

    def _log_probs(self, state: int) -> np.ndarray:
        z = self.logits(OBSERVATIONS[state: state + 1])[0].astype(np.float64)
        z -= z.max()
        return z - np.log(np.exp(z).sum())

    def act(self, state: int) -> int:
        cdf = np.cumsum(np.exp(self._log_probs(_check_state(state))))
        return min(int(cdf.searchsorted(self.rng.random() * cdf[-1], side="right")), N_ACTIONS - 1)

    def observe(self, state: int, action: int, reward: float, next_state: int) -> None:
        model, settings = self.model, self.settings
        state, next_state, buffer = _check_state(state), _check_state(next_state), model.rollout_buffer
        action = _check_action(action)
        obs = OBSERVATIONS[state: state + 1]
        buffer.add(obs, np.array([action]), np.array([reward * settings.reward_scale]), np.array([False]),
                   torch.as_tensor(self.value(obs)), torch.as_tensor([self._log_probs(state)[action]]))
        model.num_timesteps += 1
        if buffer.full:
            last_value = torch.as_tensor(self.value(OBSERVATIONS[next_state: next_state + 1]))
            buffer.compute_returns_and_advantage(last_values=last_value, dones=np.array([False]))
            with self._sb3_stream():
                model.train()
            buffer.reset()

    def policy(self) -> np.ndarray:
        return self.logits(OBSERVATIONS).argmax(axis=1)

    def _save_buffer(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self.model.rollout_buffer, protocol=pickle.HIGHEST_PROTOCOL))

    def _load_buffer(self, path: Path) -> None:
        self.model.rollout_buffer = pickle.loads(path.read_bytes())

    @classmethod
    def _settings_from(cls, values: dict, where: str) -> PPOSettings:
        try:
            return PPOSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
        except TypeError as err:
            raise runs.RunError(f"{where}: bad PPO settings ({err})") from None

    @classmethod
    def _model_class(cls):
        return PPO
