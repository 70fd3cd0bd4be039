"""Stage 3: passages meet indicators in embedding space.

Each leaf indicator is embedded as several facets (its statement, each evidence requirement or
positive indicator) and a passage's similarity to it is the best facet. The MatchContext holds
everything a scorer may need, so scorers differ only in how they turn it into probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .embed import Embedder
from .types import Framework, Indicator, Match, Passage


@dataclass
class MatchContext:
    passages: list[Passage]
    framework: Framework
    leaves: list[Indicator]
    passage_emb: np.ndarray  # (n_passages, dim)
    sim: np.ndarray  # (n_passages, n_leaves): best-facet cosine similarity
    embedder: Embedder | None = None
    # per-passage matrices scorers compute once and reuse (lexical scores, features); rows = passages
    cache: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def leaf_ids(self) -> list[str]:
        return [i.id for i in self.leaves]

    def subset(self, rows: np.ndarray | list[int]) -> "MatchContext":
        """The same context restricted to some passages (for cross-validation folds)."""
        rows = np.asarray(rows, dtype=int)
        return MatchContext(
            [self.passages[i] for i in rows],
            self.framework,
            self.leaves,
            self.passage_emb[rows],
            self.sim[rows],
            self.embedder,
            {k: v[rows] for k, v in self.cache.items()},
        )


def indicator_facets(framework: Framework) -> tuple[list[Indicator], list[str], np.ndarray]:
    """Leaves, the facet texts, and for each facet the index of its leaf."""
    leaves = framework.leaves
    texts: list[str] = []
    owner: list[int] = []
    for j, ind in enumerate(leaves):
        parent = framework.get(ind.parent) if ind.parent else None
        for facet in ind.facets(parent):
            texts.append(facet)
            owner.append(j)
    return leaves, texts, np.asarray(owner)


def max_by_owner(facet_sim: np.ndarray, owner: np.ndarray, n_owners: int) -> np.ndarray:
    out = np.full((facet_sim.shape[0], n_owners), -1.0, dtype=np.float32)
    for j in range(n_owners):
        out[:, j] = facet_sim[:, owner == j].max(axis=1)
    return out


def build_context(passages: list[Passage], framework: Framework, embedder: Embedder) -> MatchContext:
    leaves, facet_texts, owner = indicator_facets(framework)
    facet_emb = embedder.encode(facet_texts)
    passage_emb = embedder.encode([p.text for p in passages]) if passages else np.zeros((0, facet_emb.shape[1]), np.float32)
    sim = max_by_owner(passage_emb @ facet_emb.T, owner, len(leaves))
    return MatchContext(passages, framework, leaves, passage_emb, sim, embedder)


def to_matches(ctx: MatchContext, probs: np.ndarray, min_score: float) -> list[Match]:
    """Each passage's best indicator, each indicator's best passage (the nearest thing a writer has
    to build on), and every pair scoring at least `min_score`."""
    matches: list[Match] = []
    ranks = (-probs).argsort(axis=1).argsort(axis=1) + 1 if len(probs) else probs
    best_for_leaf = np.zeros_like(probs, dtype=bool)
    if len(probs):
        best_for_leaf[probs.argmax(axis=0), np.arange(probs.shape[1])] = True
    for i, passage in enumerate(ctx.passages):
        for j in np.flatnonzero((probs[i] >= min_score) | (ranks[i] == 1) | best_for_leaf[i]):
            matches.append(Match(passage, ctx.leaves[j].id, float(ctx.sim[i, j]), float(probs[i, j]), int(ranks[i, j])))
    return matches
