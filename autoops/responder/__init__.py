"""The incident responder: knowledge base, log reading, hybrid retrieval, suggestions.

    from autoops.responder import Responder
    r = Responder.from_config()          # configs/responder.yaml
    hits = r.retrieve(log_text, k=5)
    suggestion = r.suggest(log_text)

Heavy dependencies (torch, sentence-transformers, faiss, ranx) are imported only when a
responder is built or an evaluation runs, so importing this package is cheap.
"""

from autoops.responder.kb import (
    Incident,
    KnowledgeBase,
    KnowledgeBaseError,
    Taxonomy,
    load_knowledge_base,
    load_taxonomy,
)
from autoops.responder.logtext import normalise, redact
from autoops.responder.responder import (
    ConfigError,
    ExtractiveGenerator,
    Generator,
    Hit,
    Responder,
    ResponderConfig,
    Suggestion,
)

__all__ = [
    "ConfigError",
    "ExtractiveGenerator",
    "Generator",
    "Hit",
    "Incident",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Responder",
    "ResponderConfig",
    "Suggestion",
    "Taxonomy",
    "load_knowledge_base",
    "load_taxonomy",
    "normalise",
    "redact",
]
