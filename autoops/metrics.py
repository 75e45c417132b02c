"""The Prometheus metrics of every AutoOps agent, in one place so names and labels stay consistent.

Conventions (prometheus.io/docs/practices/naming): base units (seconds, dollars), ``_total``
counters, label values from small closed sets (registered scenario names, taxonomy ids, action
ids, generator names, the reasons below), never free text: each new value is a new series that
Prometheus and ``/metrics`` keep for ever, so a label fed from a request would let anyone grow
them without bound (and show what was sent). ``closed()`` maps anything else to ``other``. All
live in prometheus_client's default registry, so an app that runs several agents in one process
serves them all on one ``/metrics``.
"""

from collections.abc import Collection

from prometheus_client import Counter, Gauge, Histogram

OTHER = "other"
FALLBACK_REASONS = ("error", "timeout", "unsupported")  # what GenerationFailed.reason may be


def closed(value: str | None, known: Collection[str]) -> str:
    """``value`` as a label value: itself when it is one of ``known``, else ``other``."""
    return value if value in known else OTHER


BUILDS = Counter("autoops_builds_total", "Simulated CI builds.", ["scenario", "status", "failure_category"])
BUILD_DURATION = Histogram(
    "autoops_build_duration_seconds", "Wall-clock duration of a simulated build.", ["scenario"],
    buckets=(60, 120, 300, 450, 600, 900, 1200, 1800, 2700, 3600),
)
BUILD_COST = Histogram(
    "autoops_build_cost_dollars", "Runner cost of a simulated build.", ["scenario"],
    buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
)
ACTIONS = Counter("autoops_optimizer_actions_total", "Build configurations chosen by the optimizer.", ["scenario", "action"])
# The optimizer's cost of learning (autoops.optimizer.regret), per scenario and agent (dqn, ppo, factored):
# exact figures of the builds reported to it, in builds' worth of the optimal mean reward.
OPTIMIZER_REGRET = Gauge("autoops_optimizer_regret",
                         "Exact long-run regret of the optimizer's greedy policy (0.01: 1% below the optimum), refreshed every "
                         "AUTOOPS_OPTIMIZER_REGRET_EVERY builds.", ["scenario", "agent"])
OPTIMIZER_CUMULATIVE_REGRET = Gauge("autoops_optimizer_cumulative_regret",
                                    "Exact regret of the builds the optimizer chose, summed (builds' worth of the optimal mean reward).",
                                    ["scenario", "agent"])
OPTIMIZER_BEST_STATIC_REGRET = Gauge("autoops_optimizer_best_static_cumulative_regret",
                                     "Cumulative regret the best static configuration would have had over the same builds.",
                                     ["scenario", "agent"])
OPTIMIZER_BUILDS = Counter("autoops_optimizer_builds_observed_total", "Builds whose outcome was reported to the optimizer.",
                           ["scenario", "agent"])
OPTIMIZER_LEARNING_ERRORS = Counter("autoops_optimizer_learning_errors_total",
                                    "Failures of the optimizer's learning, by stage (observe, evaluate, save); the service goes on.",
                                    ["scenario", "agent", "stage"])
RESPONDER_REQUESTS = Counter(
    "autoops_responder_requests_total", "Responder suggestions by generator and outcome (suggested, declined, fallback).",
    ["generator", "outcome"],
)
RESPONDER_LATENCY = Histogram(
    "autoops_responder_latency_seconds", "Time to answer one suggestion request.", ["generator"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RETRIEVAL_SCORE = Histogram(
    "autoops_responder_retrieval_score", "Score of the best retrieved incident.",
    buckets=(0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.1, 0.5, 1.0),
)
RESPONDER_FALLBACKS = Counter("autoops_responder_fallbacks_total", "Generations that fell back to extractive.", ["reason"])
RESPONDER_DECLINES = Counter("autoops_responder_declines_total", "Requests the responder declined to answer (no good match).")
CONTROLLER_ITERATIONS = Counter("autoops_controller_iterations_total",
                                "Monitor -> optimizer -> responder iterations, by outcome (ok, or error: an agent or the controller failed).",
                                ["outcome"])
AGENT_ERRORS = Counter("autoops_agent_errors_total", "Calls from the controller to an agent that failed.", ["agent"])
AGENT_UP = Gauge("autoops_agent_up", "Whether the controller reached the agent on its last call (1) or not (0).", ["agent"])
NOTIFICATIONS = Counter(
    "autoops_notifications_total", "Alert notifications through apprise, one per answered alert and URL.", ["outcome"],
)
