"""One learning run of an agent (``ppo``, ``factored``, or any ``agents.base.Agent``): a single
continuing stream of builds, act -> build -> observe, as a CI team would run it, with the exact
cost of learning recorded (``autoops.optimizer.regret``). DQN keeps its own SB3 loop
(``autoops.optimizer.train``), which records the same figures; ``train`` here runs either.

A run is a folder ``<scenario>__<config>__<seed>__<YYYYmmdd-HHMMSS>/`` (config defaults to the
agent's name) with

    config.yaml            agent, scenario, seed, run and agent settings, overrides, versions
    agent/                 the agent as ``Agent.save`` wrote it (the optimizer service loads it)
    state.pkl              the environment (its position and random stream), the cost counters,
                           the curves: with ``agent/``, what ``--resume`` continues from exactly
    events.out.tfevents.*  charts/mean_reward_per_build, charts/SPS, eval/regret,
                           eval/cumulative_regret, eval/best_static_cumulative_regret
    metrics.json           status, final figures (regret, cumulative_regret,
                           best_static_cumulative_regret, break_even_build), the curves, timing,
                           size and sha256 of every saved file; written last
    checkpoints/<step>/    while learning: the newest checkpoint (agent/ and state.pkl)

The stream never restarts: one ``reset(seed)`` at the start, then one build after another (a
drifting scenario changes its world at its change points). Same seed, same numbers.
"""

from __future__ import annotations

import dataclasses
import pickle
import platform
import signal
import time
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
from tqdm import tqdm

import autoops
from autoops.envs import BuildPipelineEnv, Scenario, get_scenario
from autoops.optimizer import runs
from autoops.optimizer.agents import Agent, agent_class
from autoops.optimizer.regret import (
    LearningCost,
    final_figures,
    new_curve,
    record_evaluation,
)
from autoops.optimizer.runs import RunError
from autoops.optimizer.settings import (
    RunSettings,
    SettingsError,
    agents_config_path,
    resolve_agent_settings,
)
from autoops.optimizer.signals import Interrupted, StopRequest, stop_on_signals

TAGS = ("charts/mean_reward_per_build", "charts/SPS", "eval/regret", "eval/cumulative_regret",
        "eval/best_static_cumulative_regret")

# Called after each evaluation with (step, greedy stats, cost); returning False stops the run
# (saved as "stopped", resumable): Optuna's pruning, a notebook's live plot.
OnEvaluation = Callable[[int, object, LearningCost], "bool | None"]


def train(agent: str = "dqn", scenario: str | Scenario | None = None, seed: int | None = None,
          overrides: Iterable[str] | Mapping[str, typing.Any] | None = None, run_root: str | Path | None = None,
          progress: bool = True, config_name: str | None = None, resume_from: str | Path | None = None,
          extra_timesteps: int | None = None, on_evaluation: OnEvaluation | None = None) -> Path:
    """Train ``agent`` on ``scenario`` and return the run folder. DQN runs through its SB3 loop
    (``autoops.optimizer.train.train``), every other agent through ``train_agent``."""
    if resume_from is not None:
        agent = runs.read_run_config(resume_from).get("agent", "dqn")
    if agent == "dqn":
        from autoops.optimizer.train import train as train_dqn  # torch and SB3

        return train_dqn(scenario, seed, overrides, run_root=run_root, progress=progress, config_name=config_name or "default",
                         resume_from=resume_from, extra_timesteps=extra_timesteps, on_evaluation=on_evaluation)
    return train_agent(agent, scenario, seed, overrides, run_root, progress, config_name, resume_from, extra_timesteps, on_evaluation)


def versions() -> dict[str, str]:
    import gymnasium

    return {"python": platform.python_version(), "autoops": autoops.__version__, "numpy": np.__version__,
            "gymnasium": gymnasium.__version__}


def train_agent(agent: str, scenario: str | Scenario | None = None, seed: int | None = None,
                overrides: Iterable[str] | Mapping[str, typing.Any] | None = None, run_root: str | Path | None = None,
                progress: bool = True, config_name: str | None = None, resume_from: str | Path | None = None,
                extra_timesteps: int | None = None, on_evaluation: OnEvaluation | None = None) -> Path:
    """One run of ``agent`` (see the module docstring). ``overrides``: ``KEY=VALUE`` strings or a
    mapping on top of ``configs/agents.yaml``. ``resume_from``: a run folder to continue exactly
    (from its newest checkpoint, or from where it ended) in a new folder, for ``extra_timesteps``
    builds (default: what is left of its ``total_timesteps``)."""
    if resume_from is not None:
        return _resume(Path(resume_from), scenario, seed, overrides, run_root, progress, extra_timesteps, on_evaluation)
    if extra_timesteps is not None:
        raise RunError("extra_timesteps is for resuming; set total_timesteps for a new run")
    cls = agent_class(agent)
    sc = scenario if isinstance(scenario, Scenario) else get_scenario(scenario or "BuildPipeline")
    seed = 0 if seed is None else int(seed)
    config_name = config_name or agent
    runs.check_config_name(config_name)
    run_settings, agent_settings = resolve_agent_settings(agent, cls.Settings, sc, overrides)
    run_dir = runs.new_run_dir(sc.name, config_name, seed, run_root)
    config = {
        "agent": agent,
        "scenario": sc.name,
        "env_id": sc.env_id,
        "seed": seed,
        "config_name": config_name,
        "run_settings": run_settings.as_dict(),
        "settings": _plain(agent_settings),
        "overrides": [str(o) for o in overrides] if overrides and not isinstance(overrides, Mapping) else dict(overrides or {}),
        "config_file": str(agents_config_path()),
        "resumed_from": None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
    }
    runs.write_config(run_dir, config)
    env = BuildPipelineEnv(sc, error_logs=False)
    env.reset(seed=seed)
    learner = cls(agent_settings, seed)
    loop = _Loop(learner, env, LearningCost(sc), run_settings, run_dir, new_curve(), progress, on_evaluation)
    return loop.run(run_settings.total_timesteps, config)


def _plain(settings) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(settings).items()}


class _Loop:
    """The stream of builds of one run, its measurements and its saving."""

    def __init__(self, agent: Agent, env: BuildPipelineEnv, cost: LearningCost, settings: RunSettings, run_dir: Path,
                 curve: dict, progress: bool, on_evaluation: OnEvaluation | None, rewards: tuple[float, int] = (0.0, 0)):
        self.agent, self.env, self.cost, self.settings, self.run_dir = agent, env, cost, settings, run_dir
        self.curve, self.progress, self.on_evaluation = curve, progress, on_evaluation
        self.reward_sum, self.reward_count = rewards
        self.last_stats = None

    def run(self, steps: int, config: dict) -> Path:
        from torch.utils.tensorboard import (
            SummaryWriter,  # the one TensorBoard writer of the project
        )

        self.writer = SummaryWriter(log_dir=str(self.run_dir))
        start = self.cost.builds
        target = start + steps
        status, stop = "failed", StopRequest()
        began = time.perf_counter()
        bar = tqdm(total=steps, unit="build", desc=f"{config['agent']} {config['scenario']}", dynamic_ncols=True) if self.progress else None
        agent, env, cost, s = self.agent, self.env, self.cost, self.settings
        state = env.state_index
        try:
            with stop_on_signals(stop):
                while cost.builds < target:
                    action = agent.act(state)
                    _, reward, _, _, _ = env.step(action)
                    next_state = env.state_index
                    agent.observe(state, action, reward, next_state)
                    cost.record(state, action)
                    state = next_state
                    self.reward_sum += reward
                    self.reward_count += 1
                    t = cost.builds
                    if t % s.log_freq == 0:
                        self._log(t, start, began, bar)
                    if t % s.eval_freq == 0 or t == target:
                        if self._evaluate(t) is False:
                            status = "stopped"
                            break
                    if stop.signum is not None:
                        self._checkpoint()
                        raise Interrupted(stop.signum)
                    if t % s.checkpoint_every == 0 and t < target:
                        self._checkpoint()
                else:
                    status = "complete"
        except KeyboardInterrupt as interrupt:
            status = "interrupted"
            signum = interrupt.signum if isinstance(interrupt, Interrupted) else signal.SIGINT
            raise Interrupted(signum, self.run_dir) from None
        finally:
            if bar is not None:
                bar.close()
            seconds = time.perf_counter() - began
            self.writer.close()
            self._save_final(config, status, start, target, seconds)
        return self.run_dir

    def _evaluate(self, t: int):
        stats = self.cost.greedy_regret(self.agent.policy(), f"{self.agent.name} greedy")
        record_evaluation(self.writer, self.curve, t, stats, self.cost)
        self.last_stats = stats
        return self.on_evaluation(t, stats, self.cost) if self.on_evaluation else None

    def _log(self, t: int, start: int, began: float, bar) -> None:
        self.writer.add_scalar("charts/mean_reward_per_build", self.reward_sum / max(self.reward_count, 1), t)
        self.writer.add_scalar("charts/SPS", (t - start) / max(time.perf_counter() - began, 1e-9), t)
        self.reward_sum, self.reward_count = 0.0, 0
        if bar is not None:
            bar.update(t - start - bar.n)
            regret = self.curve["regret"][-1] if self.curve["regret"] else float("nan")
            bar.set_postfix(regret=f"{regret:.2%}", cumulative=f"{self.cost.cumulative:.0f}", refresh=False)

    def _state(self) -> dict:
        return {"env": self.env, "cost": self.cost.state_dict(), "curve": self.curve,
                "rewards": (self.reward_sum, self.reward_count)}

    def _save(self, folder: Path) -> None:
        self.agent.save(folder / runs.AGENT)
        runs.write_atomically(folder / runs.STATE, lambda tmp: tmp.write_bytes(pickle.dumps(self._state(), pickle.HIGHEST_PROTOCOL)))

    def _checkpoint(self) -> None:
        self.writer.flush()  # the events up to the checkpoint survive a kill with it
        with runs.writing_checkpoint(self.run_dir, self.cost.builds) as folder:
            self._save(folder)

    def _save_final(self, config: dict, status: str, start: int, target: int, seconds: float) -> None:
        self._save(self.run_dir)
        files = [runs.STATE, *(p.relative_to(self.run_dir).as_posix() for p in sorted((self.run_dir / runs.AGENT).rglob("*")) if p.is_file())]
        done = self.cost.builds - start
        runs.write_json(self.run_dir / runs.METRICS, {
            "agent": config["agent"],
            "scenario": config["scenario"],
            "seed": config["seed"],
            "config_name": config["config_name"],
            "status": status,
            "num_timesteps": self.cost.builds,
            "total_timesteps": self.settings.total_timesteps,
            "target_timesteps": target,
            "optimal_mean_reward": self.cost.phase.optimal_reward,
            "final": self.last_stats.as_dict() if self.last_stats else None,
            **final_figures(self.cost, self.last_stats),
            "curve": self.curve,
            "timing": {"seconds": seconds, "steps": done, "steps_per_second": done / max(seconds, 1e-9)},
            "files": {name: runs.file_record(self.run_dir / name) for name in files},
        })
        runs.remove_checkpoints(self.run_dir, keep=None if status == "complete" else self.cost.builds)


def _resume(run_dir: Path, scenario, seed, overrides, run_root, progress, extra_timesteps, on_evaluation) -> Path:
    config = runs.read_run_config(run_dir)
    if overrides:
        raise SettingsError("a resumed run keeps its settings; overrides are not allowed with resume_from")
    sc = get_scenario(config["scenario"])
    if scenario is not None and (scenario.name if isinstance(scenario, Scenario) else get_scenario(scenario).name) != sc.name:
        raise RunError(f"{run_dir} is a run of {sc.name}, not of {scenario}")
    if seed is not None and int(seed) != config["seed"]:
        raise RunError(f"{run_dir} is a run with seed {config['seed']}, not {seed}")
    checkpoint, passed_over = runs.latest_checkpoint(run_dir)
    saved = None
    if (run_dir / runs.METRICS).is_file():
        try:
            saved = int(runs.read_metrics(run_dir)["num_timesteps"])
        except (RunError, KeyError, TypeError, ValueError):
            saved = None
    if checkpoint is None and saved is None:
        why = "; ".join(passed_over) or "the run saved neither a checkpoint nor its end"
        raise RunError(f"{run_dir}: cannot resume ({why})")
    folder, done = (checkpoint.path, checkpoint.step) if checkpoint and (saved is None or checkpoint.step >= saved) else (run_dir, saved)
    if folder == run_dir:
        metrics = runs.read_metrics(run_dir)
        problem = next((p for name, record in metrics.get("files", {}).items() if (p := runs.file_problem(run_dir / name, record))), None)
        if problem:
            raise RunError(f"cannot resume: {problem}")
    run_settings = RunSettings(**config["run_settings"])
    steps = run_settings.total_timesteps - done if extra_timesteps is None else int(extra_timesteps)
    if steps < 1:
        raise RunError(f"{run_dir} has run its {run_settings.total_timesteps} builds; pass extra_timesteps to learn longer")
    cls = agent_class(config["agent"])
    try:
        learner = cls.load(folder / runs.AGENT)
        with open(folder / runs.STATE, "rb") as file:
            state = pickle.load(file)
    except (OSError, pickle.UnpicklingError, ValueError, KeyError, EOFError) as err:
        raise RunError(f"{folder}: cannot resume, the saved agent or state does not load ({type(err).__name__}: {err})") from None
    cost = LearningCost(sc)
    cost.load_state_dict(state["cost"])
    new_dir = runs.new_run_dir(sc.name, config["config_name"], config["seed"], run_root)
    config = {**config, "resumed_from": str(run_dir), "resumed_at_step": done,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions()}
    runs.write_config(new_dir, config)
    loop = _Loop(learner, state["env"], cost, run_settings, new_dir, state["curve"], progress, on_evaluation, state["rewards"])
    return loop.run(steps, config)
