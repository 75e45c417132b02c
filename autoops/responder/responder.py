"""The incident responder: reads a failure log, finds the matching incidents, suggests a fix.

    from autoops.responder import Responder
    r = Responder.from_config()          # responder.yaml (below)
    hits = r.retrieve(log_text, k=5)     # [Hit(incident_id, category, score, title, ranks...)]
    s = r.suggest(log_text)              # Suggestion(summary, root_cause, fix_steps, ...)

Every input is passed through :func:`~autoops.responder.logtext.redact` first, so no secret in a
log reaches retrieval, a generator or the returned suggestion. ``suggest`` declines ("I don't
know") when the best hit's calibrated score is below ``decline_threshold`` rather than proposing
the fix of an unrelated incident.

Generators sit behind a one-method interface, ``generate(query, hits) -> Suggestion``
(:mod:`autoops.responder.generators`); the extractive one quotes the Fix steps and Root cause of
the best incident. A generator that fails falls back to the extractive one, and the suggestion
says why in ``fallback_reason``.

Where things are found (:mod:`autoops.paths`, so the same from any working directory):

- the settings: ``responder.yaml`` of ``AUTOOPS_CONFIG_DIR`` if it has one, else the shipped
  ``configs/responder.yaml``;
- the knowledge base: ``knowledge_base/incidents`` shipped with the package (``kb_path``);
- the taxonomy: ``AUTOOPS_TAXONOMY`` if set, else ``taxonomy`` if set, else the shipped
  ``knowledge_base/taxonomy.yaml``;
- the caches: ``<cache>/responder`` (embedding index, ONNX export; ``cache_dir``) and
  ``<cache>/llm`` (dequantized LLM weights; ``llm_cache_dir``), ``<cache>`` being
  ``AUTOOPS_CACHE_DIR`` or ``results/cache``.

A relative path written in a config file is relative to that file's folder, so a config folder
can be moved with the files it names; ``embedding_model`` and ``hf_model`` name a folder there
when one exists, else a model id. Paths given in code (``Responder.from_config(cache_dir=...)``)
are ordinary Python paths, relative to the working directory.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoops import paths
from autoops.responder.confidence import ALTERNATIVES_BELOW, ConfidenceModel, features
from autoops.responder.generators import (
    GENERATORS,
    ExtractiveGenerator,
    GenerationFailed,
    LLMGenerator,
)
from autoops.responder.kb import KnowledgeBase, load_knowledge_base
from autoops.responder.llm import OpenAIChatLM, TransformersLM
from autoops.responder.logtext import redact
from autoops.responder.retrieval import (
    BM25_FIELDS,
    DEFAULT_MODEL,
    Calibration,
    Hit,
    HybridRetriever,
    Ranking,
    resolve_model,
)
from autoops.responder.suggestion import Generator, Suggestion
from autoops.yamlfile import read_config

CONFIG_NAME = "responder.yaml"
# Settings that name a file or folder: None means the shipped or default location (module docstring).
PATH_SETTINGS = ("kb_path", "taxonomy", "cache_dir", "llm_cache_dir")
# Settings that name a model: a local folder (found beside the config file) or a model id.
MODEL_SETTINGS = ("embedding_model", "hf_model")

__all__ = ["ConfigError", "Responder", "ResponderConfig"]


class ConfigError(ValueError):
    """``responder.yaml`` (or an override) is invalid."""


# --------------------------------------------------------------------------- configuration


@dataclass
class ResponderConfig:
    """Settings, as in ``configs/responder.yaml`` (documented there); the path settings are
    None for the default locations (module docstring)."""

    kb_path: str | None = None
    taxonomy: str | None = None
    embedding_model: str = DEFAULT_MODEL
    cache_dir: str | None = None
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
    confidence: ConfidenceModel = field(default_factory=ConfidenceModel)
    generator: str = "extractive"
    max_new_tokens: int = 200
    generation_timeout_s: float = 60.0
    min_support: float = 0.6
    llm_threads: int | None = 2
    max_concurrent_generations: int = 2
    llm_cache_dir: str | None = None
    llm_precision: str = "int4"
    hf_model: str = "google/flan-t5-small"
    local_files_only: bool = True
    openai_base_url: str = "http://127.0.0.1:11434/v1"
    openai_model: str = "smollm2"
    openai_api_key_env: str = "OPENAI_API_KEY"

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, **overrides: Any) -> ResponderConfig:
        """Read a YAML config (default: ``responder.yaml`` of the config folder, see
        :func:`autoops.paths.config_file`; a missing default file means built-in defaults) and
        apply keyword overrides. Unknown keys are errors."""
        source, data = read_config(path, paths.config_file(CONFIG_NAME), ConfigError)
        _resolve_paths(data, source)
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
        conf = data.get("confidence")
        if isinstance(conf, dict):
            try:
                data["confidence"] = ConfidenceModel.from_config(conf, f"{source}: confidence")
            except ValueError as err:
                raise ConfigError(str(err)) from None
        elif conf is not None and not isinstance(conf, ConfidenceModel):
            raise ConfigError(f"{source}: confidence must be a mapping")
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
        if isinstance(self.max_concurrent_generations, bool) or not isinstance(self.max_concurrent_generations, int) \
                or self.max_concurrent_generations < 1:
            bad(f"max_concurrent_generations must be a positive integer, got {self.max_concurrent_generations!r}")
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


def _resolve_paths(data: dict[str, Any], source: Path) -> None:
    """Make the relative paths of a config file relative to the file's folder (module docstring)."""
    base = source.parent
    for key in PATH_SETTINGS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}: {key} must be a path (or null for the default), got {value!r}")
        data[key] = str(paths.resolve(value, base))
    for key in MODEL_SETTINGS:
        value = data.get(key)
        if isinstance(value, str) and value.strip() and paths.resolve(value, base).exists():
            data[key] = str(paths.resolve(value, base))


# --------------------------------------------------------------------------- responder


class Responder:
    """Knowledge base + hybrid retriever + generator, with the decline rule."""

    def __init__(self, config: ResponderConfig | None = None, kb: KnowledgeBase | None = None,
                 generator: Generator | None = None):
        t0 = time.perf_counter()
        self.config = config or ResponderConfig()
        self.kb = kb or load_knowledge_base(self.config.kb_path, self.config.taxonomy)
        self._category_of = {incident.id: incident.category for incident in self.kb.incidents}
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
        c = self.config
        cache = c.llm_cache_dir  # None: TransformersLM's default, <cache>/llm
        if name == "smollm2":
            lm = TransformersLM.smollm2(cache_dir=cache, threads=c.llm_threads, int4=c.llm_precision == "int4")
        elif name == "hf":
            lm = TransformersLM.load(c.hf_model, cache_dir=cache, local_files_only=c.local_files_only, threads=c.llm_threads, int4=c.llm_precision == "int4")
        else:
            lm = OpenAIChatLM(c.openai_base_url, c.openai_model, c.openai_api_key_env, timeout_s=c.generation_timeout_s)
        return LLMGenerator(self.kb, lm, name, c.max_new_tokens, c.generation_timeout_s, c.min_support)

    @classmethod
    def from_config(cls, path: str | os.PathLike | None = None, **overrides: Any) -> Responder:
        """Build a responder from ``responder.yaml`` (or ``path``); keyword arguments
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
        start = time.perf_counter()
        clean = redact(text or "")
        k = self.config.k if k is None else k
        ranking = self.retriever.rank(clean) if clean.strip() else None
        hits = self.retriever.hits(ranking, k) if ranking else []
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
            self._judge(suggestion, ranking, clean)
        suggestion.latency_ms = (time.perf_counter() - start) * 1000
        return suggestion

    def confidence_features(self, ranking: Ranking, text: str) -> dict[str, float]:
        """The inputs of the confidence model for a ranking of the (redacted) ``text``."""
        top = self.kb[ranking.hybrid[0][0]] if ranking.hybrid else None
        matched = bool(top and top.evidence(text).pattern_matched)
        return features(ranking, self._category_of, matched)

    def _judge(self, suggestion: Suggestion, ranking: Ranking, text: str) -> None:
        """The calibrated probability that the answer's category is right; below ALTERNATIVES_BELOW
        the best incident of another category is named beside it."""
        suggestion.confidence = self.config.confidence.probability(self.confidence_features(ranking, text))
        if suggestion.confidence < ALTERNATIVES_BELOW:
            other = next((d for d, _ in ranking.hybrid if self._category_of[d] != suggestion.category), None)
            if other is not None:
                incident = self.kb[other]
                suggestion.alternatives = [{"incident_id": incident.id, "category": incident.category, "title": incident.title}]

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
