"""Speed of the ``factored`` agent: builds per second of the whole online loop (act, the build in
the simulator without error logs, observe, re-planning included), on one core."""

from __future__ import annotations

import functools
import time

from threadpoolctl import threadpool_limits

from autoops.bench.machine import best_seconds, machine
from autoops.envs import BuildPipelineEnv, load_all
from autoops.optimizer.agents.factored import FactoredAgent, FactoredSettings


def bench_factored(builds: int = 20_000) -> dict:
    """One stream of ``builds`` builds per scenario with the default settings, seed 0; one
    re-planning (model fit, posterior draw, policy iteration) and the greedy policy are timed
    apart as well, on the stream's final data."""
    settings = FactoredSettings()
    result = {"machine": machine(), "settings": settings.as_dict(), "builds": builds,
              "target": {"builds_per_second": 2_000}, "scenarios": {}}
    with threadpool_limits(limits=1):  # one core, as the target says
        for name, scenario in load_all().items():
            env = BuildPipelineEnv(scenario, error_logs=False)
            env.reset(seed=0)
            agent = FactoredAgent(settings, seed=0)
            state = env.state_index
            start = time.perf_counter()
            for _ in range(builds):
                action = agent.act(state)
                _, reward, _, _, info = env.step(action)
                agent.observe(state, action, reward, info["state_index"])
                state = info["state_index"]
            seconds = time.perf_counter() - start
            result["scenarios"][name] = {
                "seconds": seconds,
                "builds_per_second": builds / seconds,
                # on the final data: refit, posterior draw and policy iteration; greedy: on the posterior mean
                "one_replanning_seconds": best_seconds(agent._replan),
                "greedy_policy_seconds": best_seconds(functools.partial(_greedy, agent)),
            }
    return result


def _greedy(agent: FactoredAgent) -> None:
    agent.greedy_at = -1  # forget the cached plan
    agent.policy()
