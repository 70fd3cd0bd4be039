"""The library API: one call from a submission file to its Coverage, through every stage."""

from __future__ import annotations

from pathlib import Path

from .coverage import build_coverage
from .diagnose import document_notes
from .errors import FrameworkError
from .embed import Embedder
from .frameworks import load_framework
from .ingest import extract
from .match import build_context, to_matches
from .nonevidence import gate
from .scoring import Scorer
from .segment import segment
from .types import Coverage, Framework


def get_scorer(framework: Framework, name: str | None = None, models_dir: Path | None = None) -> tuple[Scorer, list[str]]:
    """The scorer `name`, or the best available: the trained ranker when one exists, else zero-shot.

    Returns the scorer and notes for the report (e.g. that a custom framework is scored zero-shot).
    """
    from .scorers import resolve_scorer

    return resolve_scorer(framework, name, models_dir)


def check(
    path: str | Path,
    framework: str | Path | Framework = "concordat-2019",
    scorer: str | Scorer | None = None,
    embedder: Embedder | None = None,
    top_k: int = 3,
    use_cache: bool = True,
    audience: list[str] | None = None,
    models_dir: Path | None = None,
    ocr: str = "auto",
) -> Coverage:
    """Coverage of one submission against one framework. With `use_cache`, parsed documents and
    embeddings are reused from the embedder's cache folder on a re-run. `audience` names the
    framework audiences in scope; None infers them from the document. `ocr`: auto, never or
    always, for PDF pages without a usable text layer (see `extract`)."""
    fw = framework if isinstance(framework, Framework) else load_framework(framework)
    scope = resolve_audience(fw, audience)
    if isinstance(scorer, str) or scorer is None:
        scorer_obj, notes = get_scorer(fw, scorer, models_dir)
    else:
        scorer_obj, notes = scorer, []
    embedder = embedder or Embedder()
    trained_on = getattr(scorer_obj, "manifest", {}).get("embedding_model")
    if trained_on and trained_on != embedder.cache_key:
        notes = notes + [f"The ranker was trained on {trained_on} embeddings but this run uses {embedder.cache_key}: scores may be slightly off."]
    cache_dir = embedder.cache.path.parent if (use_cache and embedder.cache) else None
    doc = extract(path, cache_dir=cache_dir, ocr=ocr)
    passages = segment(doc)
    ctx = build_context(passages, fw, embedder)
    probs = _cached_scores(cache_dir, doc, fw, scorer_obj, embedder, lambda: scorer_obj.predict_proba(ctx), variant="" if ocr == "auto" else f"ocr={ocr}")
    probs = gate(ctx, probs)  # whatever the scorer: navigation, links and restatements are never evidence
    # the lowest score that prints as the weak threshold: statuses are decided on printed scores
    floor = round(float(scorer_obj.thresholds["weak"]) + 1e-9, 2) - 0.005
    matches = to_matches(ctx, probs, min_score=floor)
    types = evidence_types(ctx, evidence_passages(matches, floor))
    notes = notes + doc.warnings + document_notes(doc, passages, fw)
    return build_coverage(doc, fw, matches, len(passages), scorer_obj.name, scorer_obj.thresholds, top_k=top_k, notes=notes, types=types,
                          passages=passages, scope=scope, scope_reason="chosen with --audience" if scope is not None else "")


def resolve_audience(framework: Framework, audience: list[str] | None) -> tuple[str, ...] | None:
    """The audiences asked for, checked against the framework; None leaves the choice to the document."""
    if not audience:
        return None
    wanted = tuple(dict.fromkeys(a.strip() for part in audience for a in part.split(",") if a.strip()))
    if wanted == ("all",):
        return ()
    unknown = [a for a in wanted if a not in framework.audiences]
    if unknown:
        choices = ", ".join(framework.audiences) or "none: it does not declare audiences"
        raise FrameworkError(framework.path, f"has no audience {unknown[0]!r}", f"Pass --audience with one or more of: {choices}; or 'all'")
    return wanted


def scorer_fingerprint(scorer) -> str:
    """What makes two scorers give the same numbers: name, parameters, and the trained model."""
    import json

    manifest = getattr(scorer, "manifest", {}) or {}
    parts = [scorer.name, scorer.thresholds, manifest.get("training_data_sha256"), manifest.get("trained_at"),
             [float(x) for x in getattr(scorer, "coef", [])], getattr(scorer, "intercept", None)]
    return json.dumps(parts, sort_keys=True, default=str)


def _cached_scores(cache_dir, doc, fw: Framework, scorer, embedder: Embedder, compute, variant: str = ""):
    """Scores of a document already scored with the same framework file, model and embeddings
    are read back instead of recomputed: a warm re-run costs file reads only."""
    import hashlib

    import numpy as np

    if cache_dir is None:
        return compute()
    from .ingest import EXTRACTOR_VERSION
    from .segment import SEGMENTER_VERSION

    parts = [doc.content_hash, EXTRACTOR_VERSION, SEGMENTER_VERSION, fw.content_hash, embedder.cache_key, scorer_fingerprint(scorer)]
    parts += [variant] if variant else []  # another reading of the same file (--ocr never / always)
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()
    path = Path(cache_dir) / "scores" / f"{key}.npy"
    if path.exists():
        return np.load(path)
    probs = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, probs)
    tmp.replace(path)
    return probs


def evidence_passages(matches, weak: float) -> set[int]:
    """The passages at or above the weak threshold for some indicator: coverage types them all,
    since an indicator's maturity is the furthest any of its evidence goes."""
    return {m.passage.index for m in matches if m.score >= weak}


def evidence_types(ctx, indices: set[int]) -> dict[int, str]:
    """Evidence type of the given passages by the trained classifier, when one is installed."""
    from .ranker import MODELS_DIR

    clf = _type_classifier(MODELS_DIR / "evidence-type")
    if clf is None or not indices:
        return {}
    idx = sorted(indices)
    labels = clf.predict([ctx.passages[i].text for i in idx], ctx.passage_emb[idx])
    return dict(zip(idx, labels))


_TYPE_CACHE: dict = {}


def _type_classifier(path: Path):
    from .evidence_type import EvidenceTypeClassifier

    if path not in _TYPE_CACHE:
        _TYPE_CACHE[path] = EvidenceTypeClassifier.load(path)
    return _TYPE_CACHE[path]
