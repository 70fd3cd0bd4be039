"""Scorers by name, and which one a framework gets by default."""

from __future__ import annotations

from pathlib import Path

from .baselines import BM25Baseline, TfidfBaseline
from .errors import ModelError
from .scoring import EmbeddingBaseline, Scorer, SimilarityScorer
from .types import Framework

ZERO_SHOT_NOTE = "No trained model for this framework: scores are zero-shot (embedding similarity through a fixed calibration curve)."
BASELINES = {"tfidf": TfidfBaseline, "bm25": BM25Baseline, "embedding": EmbeddingBaseline}


def available() -> list[str]:
    return ["auto", "similarity", "ranker", *BASELINES]


def resolve_scorer(framework: Framework, name: str | None, models_dir: Path | None = None) -> tuple[Scorer, list[str]]:
    """The scorer for `check`: 'auto' takes the trained ranker if one exists, else zero-shot."""
    from .ranker import RankerScorer, model_dir

    name = name or "auto"
    if name == "auto":
        if models_dir is not None:
            # a folder the user named must serve the framework: falling back to zero-shot scores
            # would quietly report something else than what was asked for
            return RankerScorer.load(framework, models_dir), []
        if (model_dir(framework.id, models_dir) / "manifest.json").exists():
            return RankerScorer.load(framework, models_dir), []
        return SimilarityScorer(), [ZERO_SHOT_NOTE]
    if name == "ranker":
        return RankerScorer.load(framework, models_dir), []
    if name == "similarity":
        return SimilarityScorer(), []
    if name in BASELINES:
        raise ModelError(name, "baselines are for `nlp-tagger evaluate`, which fits their calibration on labelled data", "Use --scorer auto, ranker or similarity with `check`")
    raise ModelError(name, "unknown scorer", f"Use one of: {', '.join(available())}")
