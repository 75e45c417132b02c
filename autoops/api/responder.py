"""The responder agent's service: ``POST /suggest_fix`` (Alertmanager's ``/alerts`` is the controller's)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from autoops.agents import AgentUnavailable
from autoops.agents.responder import ResponderAgent
from autoops.agents.schemas import Suggestion
from autoops.api.client import SUGGEST_FIX
from autoops.api.common import StrictJSONRoute, create_app, errors, require_token
from autoops.responder.generators import GENERATORS
from autoops.responder.responder import ConfigError


class SuggestRequest(BaseModel):
    text: str = Field(min_length=1, description="A failed build's log or an error message (secrets are redacted first).")
    generator: Literal[GENERATORS] | None = Field(None, description="Default: the generator of configs/responder.yaml.")


class GenerationSlots:
    """At most ``limit`` LLM generations at once; one more is refused at once rather than queued
    (a queued request holds a worker thread for minutes while the cores are busy anyway)."""

    RETRY_AFTER_S = 10

    def __init__(self, limit: int):
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    @contextmanager
    def hold(self, status: int) -> Iterator[None]:
        if not self._free.acquire(blocking=False):
            raise HTTPException(status, f"{self.limit} LLM generation(s) running, the most this service runs at once "
                                        "(max_concurrent_generations in configs/responder.yaml); retry later",
                                headers={"Retry-After": str(self.RETRY_AFTER_S)})
        try:
            yield
        finally:
            self._free.release()


_slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_slots_lock = threading.Lock()


def _slots_for(agent, generator: str | None) -> GenerationSlots | None:
    """The agent's generation slots, or None where no LLM generates: the extractive generator, or
    a remote responder (no ``responder`` here), which its own service bounds."""
    if generator == "extractive":
        return None
    try:
        responder = getattr(agent, "responder", None)  # loads the responder: its default generator decides
    except ConfigError as err:
        raise HTTPException(503, f"the responder cannot start: {err}") from None
    if responder is None or (generator or responder.default_generator) == "extractive":
        return None
    with _slots_lock:
        if agent not in _slots:
            _slots[agent] = GenerationSlots(responder.config.max_concurrent_generations)
        return _slots[agent]


@contextmanager
def generation_slot(agent, generator: str | None, status: int = 429) -> Iterator[None]:
    """Hold one of the agent's LLM generation slots while it answers (``status`` when none is free)."""
    slots = _slots_for(agent, generator)
    if slots is None:
        yield
    else:
        with slots.hold(status):
            yield


def router(agent: ResponderAgent) -> APIRouter:
    api = APIRouter(tags=["responder"], route_class=StrictJSONRoute)

    @api.post(SUGGEST_FIX, response_model=Suggestion, dependencies=[Depends(require_token)],
              responses=errors(401, 413, 429, 503, e503="The responder cannot start (its configuration is invalid), or it runs as a separate service that did not answer."))
    def suggest_fix(request: SuggestRequest) -> dict:
        """A structured fix suggestion: summary, root cause, fix steps, the incidents it used,
        category, confidence, generator, latency, and why it fell back or declined, if it did."""
        with generation_slot(agent, request.generator):
            try:
                return agent.suggest_fix(request.text, request.generator)
            except ConfigError as err:
                raise HTTPException(503, f"the responder cannot start: {err}") from None
            except AgentUnavailable as err:
                raise HTTPException(503, str(err)) from None

    return api


def create_responder_app(agent: ResponderAgent | None = None):
    app = create_app("AutoOps responder", "Suggests fixes for failed builds and alerts.")
    app.include_router(router(agent or ResponderAgent()))
    return app
