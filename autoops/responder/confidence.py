"""How likely the top incident's category is right: a calibrated probability, not the in-domain score.

The hit score (``Calibration`` in ``retrieval``) says whether a text is a CI/ops failure at all
(it drives the decline); it was 0.98-0.99 for right and wrong answers alike. This model reads
what separates a right answer from a wrong one among in-domain texts:

- ``evidence``: the in-domain score itself;
- ``bm25_margin``: log1p(BM25 of the best incident) - log1p(BM25 of the best incident of another category);
- ``dense_margin``: cosine of the best incident - cosine of the best incident of another category;
- ``agree``: 1 when BM25's and the dense ranking's first incidents share a category;
- ``pattern``: 1 when one of the best incident's own patterns matched a line of the log.

``p = sigmoid(intercept + w . features)``, fitted by logistic regression on labelled in-domain
queries (``python -m autoops.responder.evaluation --calibrate-confidence``; the values go into
``configs/responder.yaml`` under ``confidence``). When ``p`` is below ``ALTERNATIVES_BELOW`` the
answer also names the best incident of another category: the top two are then close enough that
an engineer should look at both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FEATURES = ("evidence", "bm25_margin", "dense_margin", "agree", "pattern")
ALTERNATIVES_BELOW = 0.7


@dataclass(frozen=True)
class ConfidenceModel:
    intercept: float = -2.0
    weights: tuple[float, ...] = (3.0, 1.0, 10.0, 1.0, 1.5)

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(w * features[name] for w, name in zip(self.weights, FEATURES))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def as_config(self) -> dict:
        return {"intercept": round(self.intercept, 4), **{name: round(w, 4) for name, w in zip(FEATURES, self.weights)}}

    @classmethod
    def from_config(cls, data: dict, where: str = "confidence") -> ConfidenceModel:
        missing = [name for name in ("intercept", *FEATURES) if not isinstance(data.get(name), (int, float))]
        if missing:
            raise ValueError(f"{where}: needs numbers for intercept, {', '.join(FEATURES)} (missing or not a number: {', '.join(missing)})")
        return cls(float(data["intercept"]), tuple(float(data[name]) for name in FEATURES))


def features(ranking, category_of: dict[str, str], pattern_matched: bool) -> dict[str, float]:
    """The model's inputs for one ranking (``category_of``: incident id -> category)."""
    if not ranking.hybrid:
        return dict.fromkeys(FEATURES, 0.0)
    top = ranking.hybrid[0][0]
    category = category_of[top]

    def margin(scored: list[tuple[str, float]], transform) -> float:
        own = next((s for d, s in scored if d == top), 0.0)
        other = next((s for d, s in scored if category_of[d] != category), 0.0)
        return transform(own) - transform(other)

    bm25_first = category_of[ranking.bm25[0][0]] if ranking.bm25 else None
    dense_first = category_of[ranking.dense[0][0]] if ranking.dense else None
    return {
        "evidence": float(ranking.evidence),
        "bm25_margin": margin(ranking.bm25, lambda s: math.log1p(max(s, 0.0))),
        "dense_margin": margin(ranking.dense, float),
        "agree": float(bm25_first is not None and bm25_first == dense_first),
        "pattern": float(pattern_matched),
    }


def fit(rows: list[dict[str, float]], correct: list[bool], l2: float = 1.0) -> ConfidenceModel:
    """Logistic regression (L2 on the weights, not the intercept), by Newton's method."""
    import numpy as np

    x = np.array([[1.0, *(r[name] for name in FEATURES)] for r in rows])
    y = np.array(correct, dtype=float)
    w = np.zeros(x.shape[1])
    penalty = np.diag([0.0] + [l2] * len(FEATURES))
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x.T * (p * (1 - p))) @ x + penalty + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return ConfidenceModel(float(w[0]), tuple(float(v) for v in w[1:]))


def expected_calibration_error(probabilities: list[float], correct: list[bool], bins: int = 10) -> tuple[float, list[dict]]:
    """ECE over equal-width bins, and the reliability table (mean confidence, accuracy, count per bin)."""
    table, total, ece = [], len(probabilities), 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [(p, c) for p, c in zip(probabilities, correct) if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if not members:
            continue
        confidence = sum(p for p, _ in members) / len(members)
        accuracy = sum(c for _, c in members) / len(members)
        ece += len(members) / total * abs(confidence - accuracy)
        table.append({"bin": f"[{lo:.1f}, {hi:.1f})", "confidence": round(confidence, 4), "accuracy": round(accuracy, 4),
                      "n": len(members)})
    return ece, table
