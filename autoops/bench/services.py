"""Speed figures of the services (``python -m autoops.bench api``, written to ``api.json``; measures, never asserts).

* ``simulate_build``: one uvicorn worker serving the monitor in its own process, driven on
  loopback by a closed-loop load generator (this process, asyncio, raw HTTP/1.1 keep-alive
  connections, so the client costs little of the other core): requests per second and latency
  percentiles at several concurrency levels.
* ``controller``: iterations per second of the in-process controller (optimizer -> monitor ->
  responder) with the extractive responder and with smollm2.
* ``stack``: seconds from ``autoops stack up`` to every Prometheus target up, and from the first
  failing build of an incident to the responder's answer to the alert arriving at ``/alerts``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np

from autoops.bench.machine import machine
from autoops.optimizer.train import ensure_trained
from autoops.system.session import free_ports, running_system

TARGET = {"requests_per_second": 1500, "p99_ms": 25.0}


def _wait_healthy(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout_s:.0f} s")


async def _connection(host: str, port: int, request: bytes, stop_at: float, record_from: float, latencies: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (sent := time.perf_counter()) < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"the service answered {head.splitlines()[0].decode()}")
            if sent >= record_from:
                latencies.append(time.perf_counter() - sent)
    finally:
        writer.close()


def load_test(url: str, path: str, body: dict, connections: int, seconds: float = 10.0, warmup_s: float = 2.0) -> dict:
    """Closed loop: each connection sends the next request when the previous answer arrives."""
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    latencies: list[float] = []

    async def run() -> None:
        start = time.perf_counter()
        await asyncio.gather(*(_connection(host, int(port), request, start + warmup_s + seconds, start + warmup_s, latencies)
                               for _ in range(connections)))

    asyncio.run(run())
    ms = np.array(latencies) * 1000
    return {"connections": connections, "seconds": seconds, "requests": len(ms), "requests_per_second": len(ms) / seconds,
            "latency_ms": {"p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
                           "p99": float(np.percentile(ms, 99)), "max": float(ms.max())}}


def bench_simulate_build(concurrency: tuple[int, ...] = (1, 4, 8, 16), seconds: float = 10.0) -> dict:
    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "autoops.api.main:app", "--port", str(port), "--workers", "1",
                               "--log-level", "warning", "--no-access-log"], env={**os.environ, "AUTOOPS_GENERATOR": "extractive"})
    try:
        _wait_healthy(url)
        body = {"scenario": "BuildPipeline"}
        return {"server": "uvicorn, 1 worker, autoops.api.main:app (the whole controller app)", "body": body,
                "levels": [load_test(url, "/simulate_build", body, n, seconds) for n in concurrency]}
    finally:
        server.terminate()
        server.wait(30)


def bench_controller(seconds: float = 60.0, min_iterations: int = 20) -> dict:
    """In-process iterations per second with a quickly trained optimizer; a build that fails
    also runs the responder."""
    from autoops.agents.controller import Controller, ControllerSettings
    from autoops.agents.optimizer import OptimizerAgent

    result = {}
    with tempfile.TemporaryDirectory() as runs:
        ensure_trained("BuildPipeline", seed=0, timesteps=2000, runs_root=runs, progress=False)
        for generator in ("extractive", "smollm2"):
            controller = Controller(ControllerSettings(scenario="BuildPipeline", seed=0, generator=generator), optimizer=OptimizerAgent(runs))
            controller.run_once()  # loads the optimizer run and the responder
            while controller.history[-1]["monitor"]["status"] == "success":
                controller.run_once()  # ...and the LLM, on the first failure
            start, n, failures = time.perf_counter(), 0, 0
            while n < min_iterations or time.perf_counter() - start < seconds:
                record = controller.run_once()
                n += 1
                failures += record["monitor"]["status"] == "failure"
                if record["errors"]:
                    raise RuntimeError(f"controller iteration failed: {record['errors']}")
            elapsed = time.perf_counter() - start
            result[generator] = {"iterations": n, "failures": failures, "seconds": elapsed, "iterations_per_second": n / elapsed}
    return result


def bench_stack(incident_timeout_s: float = 300.0) -> dict:
    """Stack up time, then an incident: plain builds of PythonLibrary (about half fail) from a
    quiet start, until the responder's answer to AutoOpsHighBuildFailureRate reaches /answers."""
    with tempfile.TemporaryDirectory() as runs:
        ensure_trained("PythonLibrary", seed=0, timesteps=1500, runs_root=runs, progress=False)
        start = time.perf_counter()
        with running_system("PythonLibrary", runs, mode="stack", generator="extractive") as system:
            up_seconds = time.perf_counter() - start
            first_failure = None
            deadline = time.monotonic() + incident_timeout_s
            while time.monotonic() < deadline:
                for _ in range(5):  # ~10 builds a second: a busy CI system
                    build = httpx.post(f"{system.controller_url}/simulate_build", json={"scenario": "PythonLibrary", "action": 0}, timeout=10).json()
                    if first_failure is None and build["status"] == "failure":
                        first_failure = time.perf_counter()
                answers = system.answers()
                answers = answers[answers.alertname == "AutoOpsHighBuildFailureRate"]
                if len(answers):
                    return {"stack_up_seconds": up_seconds, "failing_build_to_answer_seconds": time.perf_counter() - first_failure,
                            "answer": {"category": answers.iloc[0].category, "summary": answers.iloc[0].summary},
                            "lower_bound_seconds": "the rule's for: 30s + up to 5 s evaluation interval + 5 s scrape + 5 s group_wait"}
                time.sleep(0.5)
            return {"stack_up_seconds": up_seconds, "failing_build_to_answer_seconds": None,
                    "note": f"no answer within {incident_timeout_s:.0f} s"}


def bench_api() -> dict:
    return {"machine": machine(), "target": TARGET, "simulate_build": bench_simulate_build(), "controller": bench_controller(), "stack": bench_stack()}
