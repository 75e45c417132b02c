"""The incident responder: knowledge base, log reading, hybrid retrieval, suggestions.

    from autoops.responder import Responder
    r = Responder.from_config()          # responder.yaml of the config folder
    hits = r.retrieve(log_text, k=5)
    suggestion = r.suggest(log_text)

The knowledge base, its taxonomy and the default settings ship with the package, so this works
from any directory (:mod:`autoops.responder.responder` says where each file is found).
Heavy dependencies (torch, sentence-transformers, faiss, ranx) are imported only when a
responder is built or an evaluation runs, so importing this package is cheap.
"""

from autoops.responder.generators import GENERATORS, ExtractiveGenerator
from autoops.responder.kb import (
    Incident,
    KnowledgeBase,
    KnowledgeBaseError,
    Taxonomy,
    load_knowledge_base,
    load_taxonomy,
)
from autoops.responder.logtext import first_error_line, normalise, redact
from autoops.responder.responder import ConfigError, Responder, ResponderConfig
from autoops.responder.retrieval import Hit
from autoops.responder.suggestion import Generator, Suggestion

__all__ = [
    "GENERATORS",
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
    "first_error_line",
    "load_knowledge_base",
    "load_taxonomy",
    "normalise",
    "redact",
]
