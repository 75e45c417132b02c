"""SIGTERM and Ctrl-C while a run learns: the first asks it to stop where a checkpoint is whole,
a second stops it at once. Shared by the SB3 loop (``train``) and the agents' loop (``online``)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Interrupted(KeyboardInterrupt):
    """Training stopped by a signal; ``run_dir`` holds the saved run and ``signum`` the signal."""

    def __init__(self, signum: int = signal.SIGINT, run_dir: Path | None = None):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.run_dir = signum, run_dir


class StopRequest:
    """Set by SIGTERM or Ctrl-C while training; the monitor acts on it at the next training-phase
    boundary, where a checkpoint is whole."""

    signum: int | None = None


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[None]:
    """While training, the first SIGTERM or SIGINT sets ``stop``; a second one raises
    KeyboardInterrupt at once. Signal handlers belong to the main thread: elsewhere (a sweep's
    worker thread) the signals keep their handlers. The previous handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if stop.signum is not None:
            raise Interrupted(signum)
        stop.signum = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
