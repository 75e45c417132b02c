"""The responder agent: fix suggestions for failed builds and for Alertmanager's alerts, counted in Prometheus."""

from __future__ import annotations

import collections
import threading

from autoops import metrics


def alert_text(alert: dict) -> str:
    """What the responder reads of one Alertmanager alert: its name, summary and description."""
    labels, notes = alert.get("labels") or {}, alert.get("annotations") or {}
    return f"{labels.get('alertname', 'alert')}: {notes.get('summary', '')}. {notes.get('description', '')}".strip()


class ResponderAgent:
    """Loads the responder on first use (the embedding model takes seconds) and shares it."""

    def __init__(self, **overrides):
        self._overrides = overrides
        self._responder = None
        self._lock = threading.Lock()
        # Alertmanager sends a firing alert again with each change of its group; answer it once
        self._answered: collections.OrderedDict[tuple, None] = collections.OrderedDict()

    @property
    def responder(self):
        with self._lock:
            if self._responder is None:
                from autoops.responder import Responder

                self._responder = Responder.from_config(**self._overrides)
        return self._responder

    def suggest_fix(self, text: str, generator: str | None = None) -> dict:
        suggestion = self.responder.suggest(text, generator=generator)
        name = generator or self.responder.default_generator
        outcome = "declined" if suggestion.declined else "fallback" if suggestion.fallback_reason else "suggested"
        metrics.RESPONDER_REQUESTS.labels(name, outcome).inc()
        metrics.RESPONDER_LATENCY.labels(name).observe(suggestion.latency_ms / 1000)
        if suggestion.hits:
            metrics.RETRIEVAL_SCORE.observe(suggestion.hits[0].score)
        if suggestion.declined:
            metrics.RESPONDER_DECLINES.inc()
        if suggestion.fallback_reason:
            metrics.RESPONDER_FALLBACKS.labels(suggestion.fallback_reason.split(":")[0]).inc()
        return suggestion.as_dict()

    def _seen(self, alert: dict) -> bool:
        """Whether this firing (same fingerprint and start) was answered already; remembers it."""
        if not alert.get("fingerprint"):
            return False
        key = (alert["fingerprint"], alert.get("startsAt"))
        with self._lock:
            if key in self._answered:
                return True
            self._answered[key] = None
            while len(self._answered) > 1000:
                self._answered.popitem(last=False)
        return False

    def answer_alerts(self, payload: dict, generator: str | None = None, evidence=None) -> list[dict]:
        """A suggestion for each firing alert of an Alertmanager webhook payload. ``evidence(alert)``
        may return text to read instead of the alert's own words, which rarely name a cause (say,
        the latest failed build's log for a failure-rate alert: read together, "builds fail" in
        the alert outweighed the log's own error lines in 5 of 14 simulated cases)."""
        answers = []
        for alert in payload.get("alerts", []):
            if alert.get("status") != "firing" or self._seen(alert):
                continue
            text = alert_text(alert)
            extra = evidence(alert) if evidence else None
            answers.append({"alertname": (alert.get("labels") or {}).get("alertname"), "labels": alert.get("labels") or {},
                            "text": text, "evidence": extra,
                            "suggestion": self.suggest_fix(extra or text, generator)})
        return answers
