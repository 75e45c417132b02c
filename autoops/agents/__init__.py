"""The agents as plain Python objects; ``autoops.api`` serves them over HTTP."""


class AgentUnavailable(RuntimeError):
    """An agent cannot answer (no trained model, a service down); the message says what to do."""
