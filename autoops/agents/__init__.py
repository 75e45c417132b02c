"""The agents as plain Python objects: one per agent (monitor, optimizer, responder) and the
``Controller`` that runs them and owns the answer to an alert.

The layering rule, checked by ``tests/test_layout.py``:

- **engines** (``autoops.envs``, ``autoops.planning``, ``autoops.optimizer``, ``autoops.responder``)
  simulate, plan, train and retrieve; they know nothing of agents or of serving HTTP;
- **agents** (this package) wrap the engines for a running system: metrics, per-scenario state,
  loading on first use; they import engines, never ``autoops.api``, and never know a URL;
- **api** (``autoops.api``) serves the agents (one router per agent, ``main.py`` only wires) and
  reaches agents running elsewhere through ``api/client.py``, whose clients have the agents'
  method names, so the controller cannot tell a remote agent from a local one.
"""


class AgentUnavailable(RuntimeError):
    """An agent cannot answer (no trained model, a service down); the message says what to do."""
