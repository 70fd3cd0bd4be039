"""Which scorer to use: the name on the command line, or the best one that exists for a framework."""

from __future__ import annotations

from pathlib import Path

from .errors import ModelError
from .scoring import Scorer, SimilarityScorer
from .types import Framework

ZERO_SHOT_NOTE = "No trained model for this framework: scores are zero-shot (embedding similarity, calibrated on other frameworks' labels)."


def available() -> list[str]:
    return ["similarity"]


def resolve_scorer(framework: Framework, name: str | None, models_dir: Path | None = None) -> tuple[Scorer, list[str]]:
    if name in (None, "auto", "similarity"):
        return SimilarityScorer(), ([ZERO_SHOT_NOTE] if name in (None, "auto") else [])
    raise ModelError(name, "unknown scorer", f"Use one of: {', '.join(available())}")
