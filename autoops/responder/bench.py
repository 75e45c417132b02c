"""Speed figures of the responder, for ``make bench`` (measures, never asserts).

``bench_responder()`` returns:

* ``cold_start_seconds``: a fresh ``python`` process importing the responder, building it from
  ``configs/responder.yaml`` (index read from the cache) and answering one query — what a CLI
  call costs; plus the in-process split (imports/model load/index) of a build in this process.
* ``retrieve_ms`` / ``suggest_ms``: p50/p95/mean over repeated calls on a 200-line CI log (a
  simulated failure from ``autoops.envs.logs`` at the end of build output), after warm-up.
* ``normalise_ms``: the log-reading step alone, for the 200-line log and a 10,000-line log.

The machine's load average is recorded too: the figures depend heavily on what else runs.
"""

from __future__ import annotations

import os
import platform
import random
import subprocess
import sys
import time

import numpy as np

TARGET_P50_MS = 20.0


def _log_200_lines(seed: int = 0) -> str:
    """~190 lines of ordinary build output followed by a simulated failure, 200 lines in all."""
    rng = random.Random(seed)
    try:
        from autoops.envs.logs import render_log

        failure = render_log("build_oom", "gradle", rng).splitlines()
    except ImportError:  # the simulator's log module is optional here
        failure = ["java.lang.OutOfMemoryError: Java heap space", "FAILURE: Build failed with an exception."]
    failure = failure[-10:]
    head = [
        f"2024-11-04T09:{i // 60:02d}:{i % 60:02d}.{rng.randrange(1000):03d}Z > Task :module{i % 17}:"
        f"compileKotlin UP-TO-DATE /home/runner/work/app/app/module{i % 17}/build/classes/{rng.getrandbits(32):08x}"
        for i in range(200 - len(failure))
    ]
    return "\n".join(head + failure)


def _stats(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "mean": float(ms.mean()),
            "n": len(samples)}


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_responder(repeats: int = 50, cold_runs: int = 2) -> dict:
    from autoops.responder.logtext import normalise
    from autoops.responder.responder import Responder

    load_before = os.getloadavg()
    start = time.perf_counter()
    responder = Responder.from_config()  # also makes sure the index cache exists
    in_process = {"from_config_seconds": time.perf_counter() - start, **responder.retriever.timings,
                  "index_source": responder.retriever.index_source}

    log = _log_200_lines()
    big = "\n".join([log] * 50)  # 10,000 lines
    for _ in range(3):
        responder.retrieve(log)
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "processor": platform.processor() or platform.machine(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "config": {"embedding_model": responder.retriever.model_name, "torch_threads": responder.config.torch_threads,
                   "dense_query_chars": responder.config.dense_query_chars},
        "log_lines": len(log.splitlines()),
        "retrieve_ms": _stats(_time(lambda: responder.retrieve(log), repeats)),
        "suggest_ms": _stats(_time(lambda: responder.suggest(log), max(5, repeats // 5))),
        "normalise_ms": {
            "200_lines": _stats(_time(lambda: normalise(log), 20)),
            "10000_lines": _stats(_time(lambda: normalise(big), 5)),
        },
        "in_process_start": in_process,
    }
    code = (
        "import time; t = time.perf_counter()\n"
        "from autoops.responder import Responder\n"
        "r = Responder.from_config(); r.retrieve('java.lang.OutOfMemoryError: Java heap space')\n"
        "print(time.perf_counter() - t)\n"
    )
    cold = []
    for _ in range(cold_runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode == 0:
            cold.append({"process_wall_seconds": wall, "import_build_query_seconds": float(proc.stdout.split()[-1])})
        else:
            cold.append({"error": proc.stderr.strip().splitlines()[-1:]})
    result["cold_start"] = cold
    result["cold_start_seconds"] = min((c["process_wall_seconds"] for c in cold if "process_wall_seconds" in c),
                                       default=None)
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    result["target"] = {"retrieve_p50_ms": TARGET_P50_MS,
                        "met": result["retrieve_ms"]["p50"] < TARGET_P50_MS}
    return result


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(bench_responder(), indent=1))
