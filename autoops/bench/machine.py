"""What every benchmark records beside its figures, and how it times a call."""

from __future__ import annotations

import os
import platform
import time

import numpy as np


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],  # other work on the machine slows every figure
        "processor": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def best_seconds(fn, repeats: int = 3) -> float:
    """The fastest of ``repeats`` calls: the one least disturbed by whatever else the machine does."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
