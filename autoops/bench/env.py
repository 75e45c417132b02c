"""Simulator speed: raw ``env.step`` throughput and exact-solve times, per scenario."""

from __future__ import annotations

import numpy as np

from autoops.bench.machine import best_seconds, machine
from autoops.envs import N_ACTIONS, BuildModel, BuildPipelineEnv, load_all
from autoops.planning import solve, solve_scenario


def bench_env(steps: int = 200_000) -> dict:
    """Raw ``env.step`` throughput (unwrapped env, random actions), with the error logs rendered
    (the default) and without them (``error_logs=False``, what a training loop can use), and
    exact-solve times."""
    result = {"machine": machine(), "step_throughput": {}, "solve_seconds": {}, "target": {
        "steps_per_second": 100_000, "solve_seconds": 1.0}}
    actions = np.random.default_rng(0).integers(N_ACTIONS, size=steps).tolist()
    for name, scenario in load_all().items():
        result["step_throughput"][name] = {}
        for logs in (True, False):
            env = BuildPipelineEnv(scenario, error_logs=logs)

            def run():
                env.reset(seed=0)
                step = env.step
                for a in actions:
                    step(a)

            seconds = best_seconds(run)
            result["step_throughput"][name]["with_error_logs" if logs else "without_error_logs"] = {
                "steps": steps, "seconds": seconds, "steps_per_second": steps / seconds}
        result["solve_seconds"][name] = {
            "build_model": best_seconds(lambda: BuildModel(scenario)),
            "solve_optimal": best_seconds(lambda: solve(env.model)),
            "solve_with_all_baselines": best_seconds(lambda: solve_scenario(env.model), repeats=1),
        }
    return result
