"""What a generator returns (:class:`Suggestion`) and what it must provide (:class:`Generator`).

A module of its own so that the generators and the responder that calls them both import it,
and neither imports the other's module for it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

from autoops.responder.retrieval import Hit


@dataclass
class Suggestion:
    """A structured answer for one log. ``summary``: one sentence (at most 160 characters) on what
    failed in this log, with its own names; ``root_cause``: the one cause the log points to;
    ``fix_steps``: at most three one-line actions, most specific first; ``evidence``: the log lines
    that matched (redacted, with their line numbers); ``details``: the incident in full (other
    causes, every step, how to verify); ``alternatives``: close runner-up incidents of another
    category. ``declined`` is True when no incident matches well enough; then ``fix_steps`` is
    empty and ``summary`` says so. ``confidence`` is the best hit's calibrated score. ``hits`` are
    the retrieved incidents (for display and audit)."""

    summary: str
    root_cause: str
    fix_steps: list[str]
    incident_ids: list[str]
    category: str | None
    confidence: float
    generator: str = "extractive"
    latency_ms: float = 0.0
    fallback_reason: str | None = None
    declined: bool = False
    hits: list[Hit] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    alternatives: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "hits"}
        out["confidence"] = round(self.confidence, 4)
        out["latency_ms"] = round(self.latency_ms, 2)
        out["hits"] = [h.as_dict() for h in self.hits]
        return out


class Generator(Protocol):
    """Turns retrieved incidents into a suggestion. ``name`` goes into ``Suggestion.generator``."""

    name: str

    def generate(self, query: str, hits: list[Hit]) -> Suggestion: ...
