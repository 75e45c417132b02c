"""AutoOps: a research environment for autonomous DevOps agents.

Importing ``autoops`` registers the build simulator's Gymnasium ids (``AutoOps/BuildPipeline-v0``
and one ``AutoOps/<Scenario>-v0`` per file in ``configs/scenarios/``).
"""

from autoops import envs  # noqa: F401  (registers the environments)

__version__ = "0.1.0"
