"""Agents running as separate services, with the same method names as the in-process agents.

The controller is handed either a ``MonitorAgent`` or a ``RemoteMonitor`` (and so on) and cannot
tell them apart: it never knows a URL. The route paths live here, once, for the routers and the
clients; every call sends ``Authorization: Bearer $AUTOOPS_API_TOKEN`` when that is set, so a
controller with a token can reach agent services that require it.
"""

from __future__ import annotations

import time

import httpx

from autoops.agents import AgentUnavailable
from autoops.settings import Settings, settings

SIMULATE_BUILD = "/simulate_build"
GET_BEST_ACTION = "/get_best_action"
OBSERVE = "/observe"
SUGGEST_FIX = "/suggest_fix"


def bearer_header(token: str | None = None) -> dict[str, str]:
    """The header that the services' ``require_token`` accepts (empty when no token is set)."""
    token = token if token is not None else settings().api_token
    return {"Authorization": f"Bearer {token}"} if token else {}


class RemoteService:
    """POST JSON to one agent service. A refused connection or a 5xx is tried again (``retries``
    times, with backoff); a timeout is not, so a hanging agent costs one ``timeout_s`` per call and
    is reported at once; a 4xx or an answer that is not JSON is an error at once."""

    name = "agent"
    timeout_s = 10.0  # each agent's class says what fits it

    def __init__(self, url: str, timeout_s: float | None = None, retries: int = 2):
        self.url, self.retries = url.rstrip("/"), retries
        if timeout_s is not None:
            self.timeout_s = timeout_s

    def post(self, path: str, body: dict) -> dict:
        last = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(0.2 * 2 ** (attempt - 1))
            try:
                response = httpx.post(f"{self.url}{path}", json=body, timeout=self.timeout_s, headers=bearer_header())
            except httpx.TimeoutException:
                raise AgentUnavailable(f"{self.name} at {self.url}{path} did not answer within {self.timeout_s:g} s") from None
            except httpx.HTTPError as err:
                last = f"{type(err).__name__}: {err}"
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise AgentUnavailable(f"{self.name} at {self.url}{path} answered {response.status_code}: {response.text[:300]}")
            try:
                return response.json()
            except ValueError:
                raise AgentUnavailable(f"{self.name} at {self.url}{path} answered something that is not JSON: {response.text[:100]!r}") from None
        raise AgentUnavailable(f"{self.name} at {self.url} did not answer after {self.retries + 1} tries ({last})")


class RemoteMonitor(RemoteService):
    name = "monitor"
    timeout_s = 5.0  # a build is simulated in ~1 ms

    def __init__(self, url: str, timeout_s: float | None = None, retries: int = 2):
        super().__init__(url, timeout_s, retries)
        self._latest_failure_log: dict[str, str] = {}

    def simulate(self, scenario: str = "BuildPipeline", action: int | None = None, seed: int | None = None) -> dict:
        build = self.post(SIMULATE_BUILD, {"scenario": scenario, "action": action, "seed": seed})
        if build.get("error_log"):
            self._latest_failure_log[build.get("scenario", scenario)] = build["error_log"]
        return build

    def state(self, scenario: str) -> dict:
        raise AgentUnavailable(f"the monitor at {self.url} reports a state only with a build; the first build runs its default configuration")

    def latest_failure_log(self, scenario: str) -> str | None:
        """The latest failed build's log of ``scenario`` among the builds this client ran."""
        return self._latest_failure_log.get(scenario)


class RemoteOptimizer(RemoteService):
    name = "optimizer"
    timeout_s = 10.0  # one forward pass; the first call of a run also loads its model

    def best_action(self, scenario: str, observation: list[float] | None = None, state_index: int | None = None) -> dict:
        return self.post(GET_BEST_ACTION, {"scenario": scenario, "observation": observation, "state_index": state_index})

    def observe(self, scenario: str, state_index: int, action_id: int, reward: float, next_state_index: int) -> dict:
        return self.post(OBSERVE, {"scenario": scenario, "state_index": state_index, "action_id": action_id, "reward": reward,
                                   "next_state_index": next_state_index})


class RemoteResponder(RemoteService):
    name = "responder"
    timeout_s = 90.0  # an LLM generation may take its own timeout (60 s by default) after retrieval

    def suggest_fix(self, text: str, generator: str | None = None) -> dict:
        return self.post(SUGGEST_FIX, {"text": text, "generator": generator})


REMOTE = {"monitor": RemoteMonitor, "optimizer": RemoteOptimizer, "responder": RemoteResponder}


def remote_agents(s: Settings | None = None) -> dict[str, RemoteService]:
    """A client for each agent whose ``AUTOOPS_<AGENT>_URL`` is set, with that agent's timeout."""
    s = s or settings()
    return {name: REMOTE[name](url) for name, url in s.agent_urls().items()}
