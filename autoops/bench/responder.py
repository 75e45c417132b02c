"""Speed figures of the responder (``python -m autoops.bench responder``; measures, never asserts).

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
import random
import subprocess
import sys
import time

import numpy as np

from autoops.bench.machine import machine
from autoops.envs.logs import render_log

TARGET_P50_MS = 20.0


def _log_200_lines(seed: int = 0) -> str:
    """~190 lines of ordinary build output followed by a simulated failure, 200 lines in all."""
    rng = random.Random(seed)
    failure = render_log("build_oom", "gradle", rng).splitlines()[-10:]
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
        "machine": {**machine(), "loadavg_before": [round(x, 2) for x in load_before]},
        "config": {"embedding_model": responder.retriever.model_name, "torch_threads": responder.config.torch_threads, "onnx_threads": responder.config.onnx_threads,
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


LLM_LOGS = [
    "> Task :app:compileKotlin\njava.lang.OutOfMemoryError: Java heap space\nExpiring Daemon because JVM heap space is exhausted",
    "Error response from daemon: toomanyrequests: You have reached your pull rate limit.",
    "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree",
    "OSError: [Errno 28] No space left on device: '/home/runner/work/app/build'",
]


def bench_llm(max_new_tokens: int = 64, repeats: int = 3) -> dict:
    """SmolLM2 through transformers, for each ``llm_precision``: load time (the first load
    dequantizes the GGUF and caches it), prefill time of the benchmark prompt and decoding
    tokens/second of a 64-token answer with the generator's repetition penalty and n-gram block
    (best of ``repeats``; EOS does not stop it); how closely int4 follows float32 on that answer
    (``fastlm.compare_with_float32``); then the end-to-end ``suggest`` latency with the
    smollm2 generator as configured (retrieval + prompt + generation)."""
    from autoops.responder.generators import SYSTEM_PROMPT, build_prompt
    from autoops.responder.llm import TransformersLM
    from autoops.responder.responder import Responder

    responder = Responder.from_config(generator="smollm2")
    c = responder.config
    prompt = build_prompt(LLM_LOGS[0], [responder.kb[h.incident_id] for h in responder.retrieve(LLM_LOGS[0], k=2)])
    result = {"loadavg_before": [round(x, 2) for x in os.getloadavg()], "threads": c.llm_threads, "prompt_chars": len(prompt),
              "configured_precision": c.llm_precision}
    for precision in ("int4", "float32"):
        start = time.perf_counter()
        lm = TransformersLM.smollm2(cache_dir=c.llm_cache_dir, threads=c.llm_threads, int4=precision == "int4")
        load = time.perf_counter() - start
        ids = lm._encode(SYSTEM_PROMPT, prompt)

        def generate_seconds(tokens: int) -> float:
            start = time.perf_counter()
            lm.decode(ids, tokens, stop_at_eos=False)
            return time.perf_counter() - start

        generate_seconds(4)  # warm-up
        # reading the prompt (prefill) and writing the answer (decoding) apart: decoding speed is
        # the usual "tokens per second"; the whole call's rate is given too
        runs = [(generate_seconds(1), generate_seconds(max_new_tokens)) for _ in range(repeats)]
        if lm.decoder is not None:
            from autoops.responder.fastlm import compare_with_float32

            result["int4_against_float32"] = compare_with_float32(lm.decoder, ids["input_ids"], max_new_tokens)
        result[precision] = {
            "load_seconds": load, "prompt_tokens": int(ids["input_ids"].shape[1]),
            "prefill_seconds": min(first for first, _ in runs),
            "tokens_per_second": max((max_new_tokens - 1) / (whole - first) for first, whole in runs),
            "tokens_per_second_with_prefill": max(max_new_tokens / whole for _, whole in runs),
        }
        del lm
    latencies, outcomes = [], []
    for log in LLM_LOGS:
        s = responder.suggest(log, generator="smollm2")
        latencies.append(s.latency_ms / 1000)
        outcomes.append(s.fallback_reason.split(":")[0] if s.fallback_reason else s.generator)
    result["suggest_smollm2"] = {**_stats(latencies), "outcomes": outcomes}
    result["target_tokens_per_second"] = 40
    return result


def bench(repeats: int = 50) -> dict:
    """``make bench``'s responder figures: retrieval, then the LLM."""
    return {"retrieval": bench_responder(repeats), "llm": bench_llm()}
