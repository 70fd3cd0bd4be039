"""Lexical baselines: TF-IDF cosine and BM25 between a passage and each indicator's facets."""

from __future__ import annotations

import re

import numpy as np

from .match import MatchContext, indicator_facets, max_by_owner
from .scoring import PlattScorer

TOKEN_RE = re.compile(r"[a-z0-9]+")
STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the their them they this to was were will with we our us all any".split()
)


def tokens(text: str) -> list[str]:
    return [t for t in TOKEN_RE.findall(text.lower()) if t not in STOP]


class TfidfBaseline(PlattScorer):
    name = "tfidf"

    def raw(self, ctx: MatchContext) -> np.ndarray:
        if "tfidf" not in ctx.cache:
            from sklearn.feature_extraction.text import TfidfVectorizer

            leaves, facets, owner = indicator_facets(ctx.framework)
            vec = TfidfVectorizer(tokenizer=tokens, lowercase=False, token_pattern=None, sublinear_tf=True, ngram_range=(1, 2), min_df=1)
            vec.fit(facets + [p.text for p in ctx.passages])
            sim = (vec.transform([p.text for p in ctx.passages]) @ vec.transform(facets).T).toarray()
            ctx.cache["tfidf"] = max_by_owner(sim, owner, len(leaves))
        return ctx.cache["tfidf"]


def bm25_scores(queries: list[list[str]], docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """Okapi BM25 of each query against each document (here: passage against indicator facet)."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / max(n, 1)
    df: dict[str, int] = {}
    for d in docs:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    idf = {t: np.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    postings: dict[str, list[tuple[int, float]]] = {}
    for j, d in enumerate(docs):
        norm = k1 * (1 - b + b * len(d) / avgdl)
        counts: dict[str, int] = {}
        for t in d:
            counts[t] = counts.get(t, 0) + 1
        for t, f in counts.items():
            postings.setdefault(t, []).append((j, idf[t] * f * (k1 + 1) / (f + norm)))
    out = np.zeros((len(queries), n))
    for i, q in enumerate(queries):
        for t in set(q):
            for j, w in postings.get(t, ()):
                out[i, j] += w
    return out


class BM25Baseline(PlattScorer):
    """BM25 of the passage against each facet, scaled by the passage's best score so that long and
    short passages share one calibration curve."""

    name = "bm25"

    def raw(self, ctx: MatchContext) -> np.ndarray:
        if "bm25" not in ctx.cache:
            leaves, facets, owner = indicator_facets(ctx.framework)
            s = max_by_owner(bm25_scores([tokens(p.text) for p in ctx.passages], [tokens(f) for f in facets]), owner, len(leaves))
            top = s.max(axis=1, keepdims=True) if s.size else s
            ctx.cache["bm25"] = np.where(top > 0, s / np.maximum(top, 1e-9), 0.0) * np.minimum(top / 10.0, 1.0)
        return ctx.cache["bm25"]
