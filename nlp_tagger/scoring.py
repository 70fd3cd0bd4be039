"""Stage 4: turn a MatchContext into calibrated probabilities (passage evidences indicator).

Coverage does not care which scorer produced the numbers: every scorer returns an array of
probabilities shaped (n_passages, n_leaves) and its own strong/weak thresholds. `weak` is also
the decision threshold: a passage evidences an indicator when its probability reaches it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .match import MatchContext

DEFAULT_THRESHOLDS = {"strong": 0.75, "weak": 0.5}


class Scorer(Protocol):
    name: str
    thresholds: dict[str, float]

    def predict_proba(self, ctx: MatchContext) -> np.ndarray: ...


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def margin_features(raw: np.ndarray) -> np.ndarray:
    """Per (passage, indicator): the raw score, and its margin below the passage's best indicator."""
    margin = raw - raw.max(axis=1, keepdims=True) if raw.size else raw
    return np.stack([raw, margin], axis=-1)


class PlattScorer:
    """A raw similarity made into probabilities by a logistic curve over (score, margin).

    Subclasses say where the raw score comes from; `fit` estimates the curve on labelled
    passages (Platt scaling), so baselines get the same calibration as everything else.
    """

    name = "platt"
    trainable = True

    def __init__(self, coef: tuple[float, float] = (14.0, 10.0), intercept: float = -7.0, thresholds: dict[str, float] | None = None):
        self.coef = np.asarray(coef, dtype=float)
        self.intercept = float(intercept)
        self.thresholds = dict(thresholds or DEFAULT_THRESHOLDS)

    def raw(self, ctx: MatchContext) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, ctx: MatchContext) -> np.ndarray:
        raw = self.raw(ctx)
        if not raw.size:
            return np.zeros_like(raw)
        return _sigmoid(margin_features(raw) @ self.coef + self.intercept)

    def fit(self, ctx: MatchContext, truth: np.ndarray, known: np.ndarray, groups: list[str] | None = None) -> "PlattScorer":
        from sklearn.linear_model import LogisticRegression

        X = margin_features(self.raw(ctx))[known].reshape(-1, 2)
        y = truth[known].reshape(-1).astype(int)
        lr = LogisticRegression(C=10.0, max_iter=1000).fit(X, y)
        self.coef, self.intercept = lr.coef_[0], float(lr.intercept_[0])
        self.thresholds = fit_thresholds(self.predict_proba(ctx)[known], truth[known])
        return self


def claimed(probs: np.ndarray, threshold) -> np.ndarray:
    """Whether a score reaches a threshold as every report prints both (two decimals): the
    decision `check` makes, so evaluation and threshold fitting make exactly the same one."""
    return np.round(np.asarray(probs) + 1e-9, 2) >= np.round(np.asarray(threshold) + 1e-9, 2)


def fit_thresholds(probs: np.ndarray, truth: np.ndarray, strong_precision: float | None = None, negative_share: float | None = None) -> dict[str, float]:
    """Decision thresholds learned on training data: `weak` maximises F1 (evidence or not),
    `strong` maximises F0.5, which favours precision: a strong claim should rarely be wrong.
    With `strong_precision`, `strong` is instead the lowest threshold whose claims reach that
    precision (the F0.5 optimum when none does): an assessor reads "strong" as "right".
    With `negative_share`, passages that evidence nothing are weighted so that they make up that
    share of passages, as in the documents `check` meets (a prior-shift correction): training
    documents are denser in evidence than real submissions, and a threshold fitted on them alone
    claims too much on real text."""
    p, y = probs.ravel(), truth.ravel().astype(bool)
    if not y.any():
        return dict(DEFAULT_THRESHOLDS)
    w = np.ones(len(p))
    if negative_share is not None and truth.ndim == 2:
        empty = ~truth.any(axis=1)
        if 0 < empty.mean() < 1:
            scale = (negative_share / (1 - negative_share)) / (empty.mean() / (1 - empty.mean()))
            w = np.repeat(np.where(empty, scale, 1.0), truth.shape[1])
    # thresholds of two decimals, as reports print them, between the median score and the top
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    grid = grid[(grid >= np.round(np.quantile(p, 0.5), 2)) & (grid <= np.round(p.max(), 2))]
    if not len(grid):
        return dict(DEFAULT_THRESHOLDS)

    def f_beta(t: float, beta: float) -> float:
        pred = claimed(p, t)
        tp = float(w[pred & y].sum())
        if tp == 0:
            return 0.0
        prec, rec = tp / w[pred].sum(), tp / w[y].sum()
        return (1 + beta**2) * prec * rec / (beta**2 * prec + rec)

    weak = float(max(grid, key=lambda t: f_beta(t, 1.0)))
    strong = float(max((t for t in grid if t > weak), key=lambda t: f_beta(t, 0.5), default=weak))
    if strong_precision is not None:
        def precision(t: float) -> float:
            pred = claimed(p, t)
            return float(w[pred & y].sum() / w[pred].sum()) if pred.any() else 0.0

        strong = next((float(t) for t in grid if t > weak and precision(t) >= strong_precision), strong)
    return {"strong": round(max(strong, weak), 4), "weak": round(weak, 4)}


class SimilarityScorer(PlattScorer):
    """Zero-shot: embedding similarity through a fixed logistic curve; needs no labels at all.

    The curve and thresholds were fitted once (Platt scaling, F1-optimal threshold) on all the
    bundled corpus's labelled passages, the three frameworks pooled, and are used as they are for
    any framework, including a user's own. Its probabilities are low because zero-shot matching
    is uncertain: they are calibrated, not confident. `strong` was raised by hand from the fitted
    0.14 to 0.2, since the precision-weighted optimum sat almost on the weak threshold.
    """

    name = "similarity"
    trainable = False
    ZERO_SHOT = {"coef": (2.627, 15.081), "intercept": -2.850, "thresholds": {"strong": 0.2, "weak": 0.12}}

    def __init__(self, coef=None, intercept=None, thresholds=None):
        z = self.ZERO_SHOT
        super().__init__(coef or z["coef"], z["intercept"] if intercept is None else intercept, thresholds or z["thresholds"])

    def raw(self, ctx: MatchContext) -> np.ndarray:
        return ctx.sim


class EmbeddingBaseline(SimilarityScorer):
    """Baseline: raw embedding cosine with no training beyond its calibration curve."""

    name = "embedding"
    trainable = True
