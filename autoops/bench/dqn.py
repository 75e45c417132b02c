"""DQN training throughput: environment steps per second of ``model.learn``.

The model is the one ``autoops train`` builds (settings of ``configs/dqn.yaml`` for the
scenario, one torch thread), trained from scratch for ``steps`` steps without the monitoring
callback (no exact evaluation, no TensorBoard); the figure is the best of ``repeats`` runs.
"""

from __future__ import annotations

import time

import torch

from autoops.bench.machine import machine
from autoops.envs import get_scenario
from autoops.optimizer.train import build_model, make_env, resolve_settings, versions

TARGET_STEPS_PER_SECOND = 3_000


def bench_dqn(steps: int = 20_000, scenario: str = "JvmMonorepo", repeats: int = 2, seed: int = 0) -> dict:
    """``{"machine", "versions", "settings", "dqn_throughput": {scenario: {...}}, "target"}``."""
    sc = get_scenario(scenario)
    settings = resolve_settings(sc.name)
    torch.set_num_threads(settings.torch_threads)
    runs, cpu = [], []
    for _ in range(repeats):
        model = build_model(make_env(sc, settings), settings, seed)
        start, start_cpu = time.perf_counter(), time.process_time()
        model.learn(steps, log_interval=None)
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    best = min(runs)
    return {
        "machine": machine(),
        "versions": versions(),
        "settings": settings.as_dict(),
        "dqn_throughput": {sc.name: {
            "steps": steps,
            "seconds": best,
            "steps_per_second": steps / best,
            "all_seconds": runs,
            # CPU time of this process: what one free core would give on a machine shared with other jobs
            "steps_per_cpu_second": steps / min(cpu),
            "torch_threads": settings.torch_threads,
        }},
        "target": {"steps_per_second": TARGET_STEPS_PER_SECOND},
    }
