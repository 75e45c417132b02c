"""The running system around the agents: processes, monitoring and end-to-end sessions.

- ``stack``: Prometheus, Alertmanager and the controller as processes (``autoops stack``).
- ``prometheus``: Prometheus's HTTP API as pandas frames (range queries, fired alerts).
- ``standin``: an in-process stand-in for Prometheus (rates, histogram quantiles, alert rules
  evaluated in Python) for a machine without the binaries.
- ``session``: a running system (stack or embedded), a driven session, the responder's answers.

It sits above ``api`` and ``agents`` and may import them; nothing below imports it.
"""
