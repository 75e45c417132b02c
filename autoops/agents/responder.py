"""The responder agent: fix suggestions for failed builds (and, through the controller, alerts), counted in Prometheus."""

from __future__ import annotations

import threading

from autoops import metrics
from autoops.responder.generators import GENERATORS


class ResponderAgent:
    """Loads the responder on first use (the embedding model takes seconds) and shares it."""

    def __init__(self, **overrides):
        self._overrides = overrides
        self._responder = None
        self._lock = threading.Lock()

    @property
    def responder(self):
        with self._lock:
            if self._responder is None:
                from autoops.responder import Responder

                self._responder = Responder.from_config(**self._overrides)
        return self._responder

    def suggest_fix(self, text: str, generator: str | None = None) -> dict:
        suggestion = self.responder.suggest(text, generator=generator)
        # a declined text never reaches a generator, so the name asked for is not checked: it is
        # counted under a known name or "other", never as itself
        name = metrics.closed(generator or self.responder.default_generator, GENERATORS)
        outcome = "declined" if suggestion.declined else "fallback" if suggestion.fallback_reason else "suggested"
        metrics.RESPONDER_REQUESTS.labels(name, outcome).inc()
        metrics.RESPONDER_LATENCY.labels(name).observe(suggestion.latency_ms / 1000)
        if suggestion.hits:
            metrics.RETRIEVAL_SCORE.observe(suggestion.hits[0].score)
        if suggestion.declined:
            metrics.RESPONDER_DECLINES.inc()
        if suggestion.fallback_reason:
            reason = suggestion.fallback_reason.split(":")[0]
            metrics.RESPONDER_FALLBACKS.labels(metrics.closed(reason, metrics.FALLBACK_REASONS)).inc()
        return suggestion.as_dict()
