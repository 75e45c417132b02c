"""The incident responder: reads a failure log, finds the matching incidents, suggests a fix.

    from autoops.responder import Responder
    r = Responder.from_config()          # configs/responder.yaml
    hits = r.retrieve(log_text, k=5)     # [Hit(incident_id, category, score, title, ranks...)]
    s = r.suggest(log_text)              # Suggestion(summary, root_cause, fix_steps, ...)

Every input is passed through :func:`~autoops.responder.logtext.redact` first, so no secret in a
log reaches retrieval, a generator (later: an LLM) or the returned suggestion. ``suggest`` declines
("I don't know") when the best hit's calibrated score is below ``decline_threshold`` rather than
proposing the fix of an unrelated incident.

Generators sit behind a one-method interface, ``generate(query, hits) -> Suggestion``; the
extractive one quotes the Fix steps and Root cause of the best incident. A generator that fails
falls back to the extractive one, and the suggestion says why in ``fallback_reason``.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from autoops.responder.kb import PROJECT_ROOT, KnowledgeBase, load_knowledge_base
from autoops.responder.logtext import redact
from autoops.responder.retrieval import (
    BM25_FIELDS,
    DEFAULT_CACHE_DIR,
    DEFAULT_MODEL,
    Calibration,
    Hit,
    HybridRetriever,
    Ranking,
    resolve_model,
)
from autoops.yamlfile import read_config

DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "responder.yaml"

__all__ = [
    "DEFAULT_CONFIG", "ConfigError", "ExtractiveGenerator", "Generator", "Hit", "Responder",
    "ResponderConfig", "Suggestion",
]


class ConfigError(ValueError):
    """``configs/responder.yaml`` (or an override) is invalid."""


# --------------------------------------------------------------------------- results


@dataclass
class Suggestion:
    """A structured answer for one log. ``declined`` is True when no incident matches well
    enough; then ``fix_steps`` is empty and ``summary`` says so. ``confidence`` is the best hit's
    calibrated score. ``hits`` are the retrieved incidents (for display and audit)."""

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


class ExtractiveGenerator:
    """Quotes the knowledge base: the Root cause and numbered Fix steps of the best incident,
    a one-line summary from its title and the category's description, and the other incidents
    of the same category among the hits as further reading."""

    name = "extractive"

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def generate(self, query: str, hits: list[Hit]) -> Suggestion:
        if not hits:
            raise ValueError("no hits to generate from")
        best = hits[0]
        incident = self.kb[best.incident_id]
        category = self.kb.taxonomy.categories.get(incident.category)
        summary = incident.title
        if category and category.description:
            summary += f" ({incident.category}: {category.description})"
        same_category = [h.incident_id for h in hits if h.category == best.category]
        return Suggestion(
            summary=summary,
            root_cause=incident.root_cause,
            fix_steps=incident.fix_steps,
            incident_ids=list(dict.fromkeys([best.incident_id, *same_category])),
            category=incident.category,
            confidence=best.score,
            generator=self.name,
            hits=hits,
        )


# extractive quotes the knowledge base; the others are LLMs (autoops.responder.generators)
GENERATORS = ("extractive", "smollm2", "hf", "openai")


# --------------------------------------------------------------------------- configuration


@dataclass
class ResponderConfig:
    """Settings, as in ``configs/responder.yaml`` (documented there). Relative paths are relative
    to the project root."""

    kb_path: str = "knowledge_base/incidents"
    taxonomy: str | None = None
    embedding_model: str = DEFAULT_MODEL
    cache_dir: str = str(DEFAULT_CACHE_DIR.relative_to(PROJECT_ROOT))
    device: str = "cpu"
    torch_threads: int | None = 1
    query_runtime: str = "onnx"
    onnx_threads: int | None = 2
    k: int = 5
    rrf_k: int = 60
    bm25_weight: float = 1.0
    dense_weight: float = 0.5
    bm25_fields: tuple[str, ...] = BM25_FIELDS
    max_query_chars: int = 1000
    dense_query_chars: int = 400
    decline_threshold: float = 0.5
    calibration: Calibration = field(default_factory=Calibration)
    calibrated_model: str | None = None
    generator: str = "smollm2"
    max_new_tokens: int = 200
    generation_timeout_s: float = 60.0
    min_support: float = 0.6
    llm_threads: int | None = 2
    llm_cache_dir: str = "results/cache/llm"
    llm_precision: str = "int4"
    hf_model: str = "google/flan-t5-small"
    local_files_only: bool = True
    openai_base_url: str = "http://127.0.0.1:11434/v1"
    openai_model: str = "smollm2"
    openai_api_key_env: str = "OPENAI_API_KEY"

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, **overrides: Any) -> "ResponderConfig":
        """Read a YAML config (default ``configs/responder.yaml``; a missing default file means
        built-in defaults) and apply keyword overrides. Unknown keys are errors."""
        source, data = read_config(path, DEFAULT_CONFIG, ConfigError)
        data.update({k: v for k, v in overrides.items() if v is not None})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        cal = data.get("calibration")
        if isinstance(cal, dict):
            data["calibrated_model"] = data.get("calibrated_model") or cal.get("model")
            try:
                data["calibration"] = Calibration(
                    **{k: float(cal[k]) for k in ("intercept", "w_cosine", "w_bm25")}, w_failure=float(cal.get("w_failure", 0.0))
                )
            except (KeyError, TypeError, ValueError) as err:
                raise ConfigError(f"{source}: calibration needs numeric intercept, w_cosine, w_bm25 ({err})") from None
        elif cal is not None and not isinstance(cal, Calibration):
            raise ConfigError(f"{source}: calibration must be a mapping")
        if "bm25_fields" in data:
            data["bm25_fields"] = tuple(data["bm25_fields"])
        config = cls(**data)
        config.validate(source)
        return config

    def validate(self, source: Path | str = "config") -> None:
        def bad(msg: str) -> None:
            raise ConfigError(f"{source}: {msg}")

        if not isinstance(self.k, int) or self.k < 1:
            bad(f"k must be a positive integer, got {self.k!r}")
        if not isinstance(self.rrf_k, int) or self.rrf_k < 0:
            bad(f"rrf_k must be an integer >= 0, got {self.rrf_k!r}")
        if not 0.0 <= float(self.decline_threshold) <= 1.0:
            bad(f"decline_threshold must be in [0, 1], got {self.decline_threshold!r}")
        if self.generator not in GENERATORS:
            bad(f"unknown generator {self.generator!r}; available: {', '.join(GENERATORS)}")
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            bad(f"max_new_tokens must be a positive integer, got {self.max_new_tokens!r}")
        if float(self.generation_timeout_s) <= 0:
            bad(f"generation_timeout_s must be positive, got {self.generation_timeout_s!r}")
        if self.query_runtime not in ("onnx", "torch"):
            bad(f"query_runtime must be onnx or torch, got {self.query_runtime!r}")
        if self.llm_precision not in ("int4", "float32"):
            bad(f"llm_precision must be int4 or float32, got {self.llm_precision!r}")
        if self.torch_threads is not None and (not isinstance(self.torch_threads, int) or self.torch_threads < 1):
            bad(f"torch_threads must be a positive integer or null, got {self.torch_threads!r}")
        if self.onnx_threads is not None and (not isinstance(self.onnx_threads, int) or self.onnx_threads < 1):
            bad(f"onnx_threads must be a positive integer or null, got {self.onnx_threads!r}")


# --------------------------------------------------------------------------- responder


class Responder:
    """Knowledge base + hybrid retriever + generator, with the decline rule."""

    def __init__(self, config: ResponderConfig | None = None, kb: KnowledgeBase | None = None,
                 generator: Generator | None = None):
        t0 = time.perf_counter()
        self.config = config or ResponderConfig()
        self.kb = kb or load_knowledge_base(self.config.kb_path, self.config.taxonomy)
        if self.config.calibrated_model and resolve_model(self.config.embedding_model)[0] != resolve_model(
            self.config.calibrated_model
        )[0]:
            warnings.warn(
                f"the decline calibration was fitted for {self.config.calibrated_model!r}, not "
                f"{self.config.embedding_model!r}: re-run `python -m autoops.responder.evaluation --calibrate`",
                stacklevel=2,
            )
        self.retriever = HybridRetriever(
            self.kb,
            model=self.config.embedding_model,
            cache_dir=self.config.cache_dir,
            rrf_k=self.config.rrf_k,
            bm25_weight=self.config.bm25_weight,
            dense_weight=self.config.dense_weight,
            max_query_chars=self.config.max_query_chars,
            dense_query_chars=self.config.dense_query_chars,
            bm25_fields=self.config.bm25_fields,
            calibration=self.config.calibration,
            torch_threads=self.config.torch_threads,
            device=self.config.device,
            query_runtime=self.config.query_runtime,
            onnx_threads=self.config.onnx_threads,
        )
        self.extractive = ExtractiveGenerator(self.kb)
        self._generators: dict[str, Generator] = {"extractive": self.extractive}
        if generator is not None:
            self._generators[generator.name] = generator
        self.default_generator = generator.name if generator is not None else self.config.generator
        self.startup_seconds = time.perf_counter() - t0

    def generator(self, name: str | None = None) -> Generator:
        """The generator called ``name`` (default: the configured one), loaded on first use."""
        name = name or self.default_generator
        if name not in self._generators:
            if name not in GENERATORS:
                raise ConfigError(f"unknown generator {name!r}; available: {', '.join(GENERATORS)}")
            self._generators[name] = self._load_generator(name)
        return self._generators[name]

    def _load_generator(self, name: str) -> Generator:
        from autoops.responder.generators import LLMGenerator
        from autoops.responder.llm import OpenAIChatLM, TransformersLM

        c = self.config
        cache = PROJECT_ROOT / c.llm_cache_dir
        if name == "smollm2":
            lm = TransformersLM.smollm2(cache_dir=cache, threads=c.llm_threads, int4=c.llm_precision == "int4")
        elif name == "hf":
            lm = TransformersLM.load(c.hf_model, cache_dir=cache, local_files_only=c.local_files_only, threads=c.llm_threads, int4=c.llm_precision == "int4")
        else:
            lm = OpenAIChatLM(c.openai_base_url, c.openai_model, c.openai_api_key_env, timeout_s=c.generation_timeout_s)
        return LLMGenerator(self.kb, lm, name, c.max_new_tokens, c.generation_timeout_s, c.min_support)

    @classmethod
    def from_config(cls, path: str | os.PathLike | None = None, **overrides: Any) -> "Responder":
        """Build a responder from ``configs/responder.yaml`` (or ``path``); keyword arguments
        override single settings, e.g. ``Responder.from_config(cache_dir=tmp)``."""
        return cls(ResponderConfig.load(path, **overrides))

    @property
    def decline_threshold(self) -> float:
        return float(self.config.decline_threshold)

    def rank(self, text: str) -> Ranking:
        """Full BM25/dense/hybrid rankings (for evaluation); the text is redacted first."""
        return self.retriever.rank(redact(text or ""))

    def retrieve(self, text: str, k: int | None = None) -> list[Hit]:
        """The ``k`` best incidents for a log or question, best first (empty for empty text)."""
        if not text or not text.strip():
            return []
        k = self.config.k if k is None else k
        return self.retriever.hits(self.rank(text), k)

    def suggest(self, text: str, k: int | None = None, generator: str | None = None) -> Suggestion:
        """A structured suggestion for a log; declines below the calibrated threshold.

        ``generator`` picks the backend for this call (default: the configured one). When an LLM
        fails, times out or writes something the incidents do not support, the answer falls back
        to the extractive generator and ``fallback_reason`` starts with error, timeout or
        unsupported."""
        from autoops.responder.generators import GenerationFailed

        start = time.perf_counter()
        clean = redact(text or "")
        k = self.config.k if k is None else k
        hits = self.retriever.hits(self.retriever.rank(clean), k) if clean.strip() else []
        if not hits or hits[0].score < self.decline_threshold:
            suggestion = self._decline(hits)
        else:
            chosen = generator or self.default_generator
            try:
                suggestion = self.generator(chosen).generate(clean, hits)
            except ConfigError:
                raise
            except Exception as err:  # noqa: BLE001 - any generator failure falls back
                if chosen == "extractive":
                    raise
                reason = err.reason if isinstance(err, GenerationFailed) else "error"
                suggestion = self.extractive.generate(clean, hits)
                suggestion.fallback_reason = f"{reason}: {chosen}: {err}"
        suggestion.latency_ms = (time.perf_counter() - start) * 1000
        return suggestion

    def _decline(self, hits: list[Hit]) -> Suggestion:
        if not hits:
            summary = "No log text was given, so there is nothing to match."
            confidence = 0.0
        else:
            best = hits[0]
            confidence = best.score
            summary = (
                "I don't know: no incident in the knowledge base matches this text closely enough "
                f"(best candidate '{best.title}' [{best.category}] scored {best.score:.2f}, below the "
                f"threshold {self.decline_threshold:.2f}). Look at the first error line of the log; if it is a "
                "new kind of failure, consider adding an incident to knowledge_base/incidents/."
            )
        return Suggestion(
            summary=summary, root_cause="", fix_steps=[], incident_ids=[], category=None,
            confidence=confidence, generator="none", declined=True, hits=hits,
        )
