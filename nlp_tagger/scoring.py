"""Stage 4: turn a MatchContext into calibrated probabilities (passage evidences indicator).

Coverage does not care which scorer produced the numbers: every scorer returns an array of
probabilities shaped (n_passages, n_leaves) and its own strong/weak thresholds.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .match import MatchContext

DEFAULT_THRESHOLDS = {"strong": 0.6, "weak": 0.3}


class Scorer(Protocol):
    name: str
    thresholds: dict[str, float]

    def predict_proba(self, ctx: MatchContext) -> np.ndarray: ...


def similarity_features(sim: np.ndarray) -> np.ndarray:
    """Per (passage, indicator): cosine, and its margin below the passage's best indicator."""
    margin = sim - sim.max(axis=1, keepdims=True) if sim.size else sim
    return np.stack([sim, margin], axis=-1)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class SimilarityScorer:
    """Zero-shot: a logistic curve over cosine similarity and the margin to the passage's best match.

    Works for any framework with no labels at all. `fit` re-estimates the curve (Platt scaling) on
    labelled passages; the defaults were fitted that way on the bundled corpus's training documents.
    """

    name = "similarity"

    def __init__(self, coef: tuple[float, float] = (14.0, 10.0), intercept: float = -7.0, thresholds: dict[str, float] | None = None):
        self.coef = np.asarray(coef, dtype=float)
        self.intercept = float(intercept)
        self.thresholds = dict(thresholds or DEFAULT_THRESHOLDS)

    def predict_proba(self, ctx: MatchContext) -> np.ndarray:
        if not ctx.sim.size:
            return np.zeros_like(ctx.sim)
        return _sigmoid(similarity_features(ctx.sim) @ self.coef + self.intercept)

    def fit(self, sims: list[np.ndarray], targets: list[np.ndarray]) -> "SimilarityScorer":
        from sklearn.linear_model import LogisticRegression

        X = np.concatenate([similarity_features(s).reshape(-1, 2) for s in sims])
        y = np.concatenate([t.reshape(-1) for t in targets]).astype(int)
        lr = LogisticRegression(C=10.0, max_iter=1000).fit(X, y)
        self.coef, self.intercept = lr.coef_[0], float(lr.intercept_[0])
        return self
