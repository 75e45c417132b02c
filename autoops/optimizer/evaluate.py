"""Exact evaluation of a trained agent (DQN or any other): its greedy policy against the optimum and every baseline.

The simulator's model is exact, so a learned policy is not judged by noisy rollouts: the greedy
action of each of the 352 states (one batched forward pass of the Q-network over their
observations) makes a deterministic policy, and ``planning.evaluate`` gives its exact long-run
mean reward, duration, cost, failure rate and relative regret.

- ``greedy_policy(model_or_run_dir, scenario)``: the policy, ``np.ndarray[352]`` of action ids.
- ``evaluate_run(run)``: the greedy policy beside the optimum and the baselines of
  ``planning.solution``; also written into the run's ``metrics.json`` (``"evaluation"``).
- ``policy_table(run)``: one row per state, what the policy does, what the optimum does, and
  what it costs: ``regret_share`` sums to the policy's relative regret.

``run`` is a run folder or a ``LoadedRun`` (``load_run``): load once to ask both questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoops import planning
from autoops.envs import BuildModel, Scenario, State, describe_action, get_scenario
from autoops.optimizer import runs


def q_table(model, observations: np.ndarray) -> np.ndarray:
    """Q-values ``[len(observations), N_ACTIONS]`` of an SB3 DQN, one batched forward pass."""
    import torch  # seconds to import; whoever holds a model has imported it already

    with torch.no_grad():
        obs = torch.as_tensor(np.array(observations, dtype=np.float32), device=model.device)
        return model.q_net(obs).cpu().numpy().astype(np.float64)


def _build_model(scenario: str | Scenario | BuildModel) -> BuildModel:
    if isinstance(scenario, BuildModel):
        return scenario
    return BuildModel(scenario if isinstance(scenario, Scenario) else get_scenario(scenario))


def greedy_policy(model_or_run_dir, scenario: str | Scenario | BuildModel | None = None) -> np.ndarray:
    """The greedy action of the Q-network in each of the 352 states, ``np.ndarray[352]``.

    ``model_or_run_dir`` is an SB3 DQN or a run folder; ``scenario`` (name, id, ``Scenario`` or
    ``BuildModel``) defaults to the run's. The observations do not depend on the scenario.
    """
    if isinstance(model_or_run_dir, (str, Path)):
        if scenario is None:
            scenario = runs.read_run_config(model_or_run_dir)["scenario"]
        model = runs.load_model(model_or_run_dir)
    else:
        model = model_or_run_dir
    if scenario is None:
        raise ValueError("greedy_policy of a model needs its scenario")
    return q_table(model, _build_model(scenario).observations).argmax(axis=1)


@dataclass(frozen=True)
class LoadedRun:
    """A run folder with its model (an SB3 DQN, or an ``Agent``) loaded and its greedy policy computed."""

    run_dir: Path
    config: dict
    model: object
    build: BuildModel
    policy: np.ndarray
    num_timesteps: int

    @property
    def agent(self) -> str:
        return self.config.get("agent", "dqn")


def load_run(run: str | Path | LoadedRun) -> LoadedRun:
    if isinstance(run, LoadedRun):
        return run
    run_dir = Path(run)
    config = runs.read_run_config(run_dir)
    if config.get("agent", "dqn") == "dqn":
        model = runs.load_model(run_dir)
        steps = int(model.num_timesteps)
        build = _phase_model(config["scenario"], steps)
        return LoadedRun(run_dir, config, model, build, greedy_policy(model, build), steps)
    agent, steps = runs.load_agent(run_dir)
    return LoadedRun(run_dir, config, agent, _phase_model(config["scenario"], steps), np.asarray(agent.policy()), steps)


def _phase_model(scenario: str, builds: int) -> BuildModel:
    """The model of the world the run's last build ran in (a drifting scenario changes it)."""
    sc = get_scenario(scenario)
    return planning.phase_models(sc)[sc.phase_at(max(builds - 1, 0))][1]


def evaluate_run(run: str | Path | LoadedRun, write: bool = True) -> dict:
    """The exact figures of a run's greedy policy beside the optimum and every baseline
    (uniform random, tuned heuristic, best static, each static configuration).

    Written into the run's ``metrics.json`` under ``"evaluation"`` unless ``write`` is False.
    """
    run = load_run(run)
    config, build, policy = run.config, run.build, run.policy
    solved = planning.solution(build)
    name = f"{run.agent} greedy ({config['config_name']}, seed {config['seed']}, {run.num_timesteps} steps)"
    dqn = planning.evaluate(build, policy, name, optimal_reward=solved.optimal.mean_reward)
    heuristic, best_static = solved.baselines[1], solved.baselines[2]
    result = {
        "run_dir": str(run.run_dir),
        "scenario": config["scenario"],
        "seed": config["seed"],
        "config_name": config["config_name"],
        "agent": run.agent,
        "num_timesteps": run.num_timesteps,
        "dqn": dqn.as_dict(),  # the run's greedy policy, whatever its agent (the key is kept for readers of older files)
        "optimal": solved.optimal.as_dict(),
        "baselines": [b.as_dict() for b in solved.baselines],
        "beats_heuristic": dqn.mean_reward > heuristic.mean_reward,
        "beats_best_static": dqn.mean_reward > best_static.mean_reward,
        "states_differing_from_optimal": int((policy != solved.optimal_policy).sum()),
    }
    if write and (run.run_dir / runs.METRICS).is_file():
        runs.write_json(run.run_dir / runs.METRICS, {**runs.read_metrics(run.run_dir), "evaluation": result})
    return result


def policy_table(run: str | Path | LoadedRun):
    """One row per state (``pandas.DataFrame`` indexed by state id, in state order).

    Columns: ``description``; ``action`` and ``action_description`` (the learned greedy
    action); ``optimal_action`` and ``optimal_description``; ``differs``; ``stationary_prob``,
    the long-run share of builds in the state under the learned policy; ``action_loss``, the
    mean reward lost by taking the learned action once in that state instead of the optimal one
    (exact average-reward advantage, ``max_a Q*(s, a) - Q*(s, action)``); ``regret_share``,
    ``stationary_prob * action_loss / |optimal mean reward|``, which sums to the relative regret.
    Sort by ``stationary_prob`` or ``regret_share`` to read what matters.
    """
    import pandas as pd

    run = load_run(run)
    build, policy = run.build, run.policy
    optimum = planning.optimum(build)
    q_star = planning.q_values(build)
    states = np.arange(len(policy))
    dist = planning.stationary_distribution(build, policy)
    loss = q_star.max(axis=1) - q_star[states, policy]
    return pd.DataFrame({
        "description": [State.from_index(int(s)).describe() for s in states],
        "action": policy.astype(int),
        "action_description": [describe_action(int(a)) for a in policy],
        "optimal_action": optimum.policy.astype(int),
        "optimal_description": [describe_action(int(a)) for a in optimum.policy],
        "differs": policy != optimum.policy,
        "stationary_prob": dist,
        "action_loss": loss,
        "regret_share": dist * loss / abs(optimum.mean_reward),
    }, index=pd.Index(states, name="state"))
