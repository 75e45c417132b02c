"""``make bench``: measured speed figures, written as JSON under ``results/bench/``.

Benchmarks measure; they never assert. Each figure is the best of a few repeats, which is
the least disturbed by whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from autoops.envs import N_ACTIONS, BuildModel, BuildPipelineEnv, load_all
from autoops.planning import solve, solve_scenario

RESULTS = Path(__file__).resolve().parents[1] / "results" / "bench"


def _machine() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],  # other work on the machine slows every figure
        "processor": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _best_seconds(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_env(steps: int = 200_000) -> dict:
    """Raw ``env.step`` throughput (unwrapped env, random actions), with the error logs rendered
    (the default) and without them (``error_logs=False``, what a training loop can use), and
    exact-solve times."""
    result = {"machine": _machine(), "step_throughput": {}, "solve_seconds": {}, "target": {
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

            seconds = _best_seconds(run)
            result["step_throughput"][name]["with_error_logs" if logs else "without_error_logs"] = {
                "steps": steps, "seconds": seconds, "steps_per_second": steps / seconds}
        result["solve_seconds"][name] = {
            "build_model": _best_seconds(lambda: BuildModel(scenario)),
            "solve_optimal": _best_seconds(lambda: solve(env.model)),
            "solve_with_all_baselines": _best_seconds(lambda: solve_scenario(env.model), repeats=1),
        }
    return result


def bench_dqn() -> dict:
    from autoops.optimizer.bench import bench_dqn as run

    return run()


def bench_responder() -> dict:
    from autoops.responder.bench import bench_llm, bench_responder as run

    return {"retrieval": run(), "llm": bench_llm()}


def bench_api() -> dict:
    from autoops.api.bench import bench_api as run

    return run()


BENCHES = {"env": bench_env, "dqn": bench_dqn, "responder": bench_responder, "api": bench_api}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run, of {', '.join(BENCHES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark {sorted(unknown)[0]!r}; expected one of {', '.join(BENCHES)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.names or BENCHES:
        result = BENCHES[name]()
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
        print(f"written to {path}")


if __name__ == "__main__":
    main()
