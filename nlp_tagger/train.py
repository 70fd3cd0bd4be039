"""Training: the evidence ranker per framework, and the framework-independent evidence-type model."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from .embed import BASE_MODEL, Embedder
from .evaluate import N_FOLDS, evaluate, gold_matrix, group_folds
from .evidence_type import TYPES, EvidenceTypeClassifier, classify
from .frameworks import ROOT
from .labels import GoldSet, is_review_only, load_gold, merge_gold
from .match import build_context
from .metrics import multilabel_f1
from .ranker import ALL_GROUPS, MODELS_DIR, EvidenceRanker, RankerScorer, build_manifest, model_dir
from .types import Framework

LABELLED_DIR = ROOT / "corpora" / "labelled"
REALISTIC_PREFIX = re.compile(r"^r\d+-")  # documents written to corpora/labelling/REALISTIC.md


def realistic_documents(doc_ids) -> set[str]:
    """The training documents written to look like real submissions: the ranker's thresholds are
    chosen on their out-of-fold scores, since real submissions are what `check` meets."""
    return {d for d in doc_ids if REALISTIC_PREFIX.match(d)}
HEADLINE_CV = ("top1", "recall_at_5", "macro_f1", "principle_top1", "doc_f1", "ece")


def crossfit_views(gold: GoldSet, framework: Framework, embedder: Embedder) -> tuple[list, list[int]] | None:
    """When the encoder was fine-tuned on these documents: the passages as seen by the two
    half-corpus encoders, and per passage the one that did not see its document (else None)."""
    from .embed import MODELS, encoder_manifest
    from .finetune import fold_encoders

    manifest = encoder_manifest(Path(embedder.model_name)) if embedder.model_name not in MODELS else None
    if not manifest or not set(manifest.get("training_documents", ())) & set(gold.doc_ids):
        return None
    folds = fold_encoders(LABELLED_DIR, embedder.cache_dir, epochs=manifest.get("epochs", 2))
    folders = sorted(set(folds.values()))
    passages = [g.as_passage(i) for i, g in enumerate(gold.passages)]
    views = [build_context(passages, framework, Embedder(f, cache_dir=embedder.cache_dir)) for f in folders]
    return views, [folders.index(folds[g.doc_id]) if g.doc_id in folds else 0 for g in gold.passages]


def training_gold(paths: Path | list[Path] | None, framework: Framework | None = None) -> tuple[GoldSet, str]:
    """The labelled passages to train on, and a note on where they came from. Several sources are
    merged; sources that hold only review corrections (exported from the HTML report) are added
    to the bundled corpus, since a handful of corrections cannot train a model alone."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths or [])
    if not paths:
        return load_gold(LABELLED_DIR, framework), ""
    sets = [load_gold(p, framework) for p in paths]
    gold, note = sets[0], ""
    for extra in sets[1:]:
        gold = merge_gold(gold, extra)
    if is_review_only(gold):
        n = len(gold.passages)
        gold = merge_gold(load_gold(LABELLED_DIR, framework), gold)
        note = f"added {n} review correction(s) to the bundled corpus"
    return gold, note


def train_ranker(framework: Framework, gold_path: Path | list[Path] | None = None, models_dir: Path | None = None, embedder: Embedder | None = None,
                 cv: bool = True, crossfit: bool = True, groups: tuple[str, ...] = ALL_GROUPS, hard_negative_weight: float = 1.0) -> dict:
    """Fit on every labelled passage of the framework and save with a manifest; the manifest's
    metrics are out-of-fold (grouped by document), from the same run."""
    t0 = time.time()
    embedder = embedder or Embedder()
    gold, gold_note = training_gold(gold_path, framework)
    metrics = {}
    if cv:
        result = evaluate(gold, framework, {"ranker": RankerScorer.factory(framework, groups)}, embedder)
        metrics = {k: round(v, 4) for k, v in result["scorers"]["ranker"].items() if k in HEADLINE_CV}
    ctx = build_context([g.as_passage(i) for i, g in enumerate(gold.passages)], framework, embedder)
    gm = gold_matrix(gold, framework)
    cross = crossfit_views(gold, framework, embedder) if crossfit else None
    views, view_of = cross or (None, None)
    realistic = realistic_documents(gold.doc_ids)
    scorer = RankerScorer(framework, groups, EvidenceRanker(hard_negative_weight=hard_negative_weight)).fit(
        ctx, gm.truth, gm.known, gm.doc_ids, views=views, view_of=view_of, threshold_docs=realistic or None)
    manifest = build_manifest(framework, gold.content_hash(), gold.doc_ids, len(gold.passages), embedder.cache_key, scorer.groups, metrics)
    manifest["crossfit_features"] = cross is not None
    if gold_note:
        manifest["training_data_note"] = gold_note
    manifest["thresholds_fitted_on"] = sorted(realistic) if realistic else "all training documents"
    if cv and embedder.model_name != BASE_MODEL:
        manifest["cv_note"] = "out of fold for the ranker; the fine-tuned encoder saw every document (see evaluation/realistic.py for held-out figures)"
    manifest["thresholds"] = scorer.thresholds
    manifest["train_seconds"] = round(time.time() - t0, 1)
    scorer.save(model_dir(framework.id, models_dir), manifest)
    return manifest


def typed_passages(gold: GoldSet) -> tuple[list[str], list[str], list[str]]:
    rows = [g for g in gold.passages if g.labels and g.evidence_type]
    return [g.text for g in rows], [g.evidence_type for g in rows], [g.doc_id for g in rows]


def evaluate_types(texts: list[str], y: list[str], docs: list[str], embedder: Embedder, n_folds: int = N_FOLDS) -> dict:
    """Out-of-fold macro F1 of the evidence-type classifier, beside the cue rules alone."""
    emb = embedder.encode(texts)
    pred = np.empty(len(texts), dtype=object)
    for test in group_folds(docs, n_folds):
        train = np.setdiff1d(np.arange(len(texts)), test)
        clf = EvidenceTypeClassifier().fit([texts[i] for i in train], emb[train], [y[i] for i in train])
        pred[test] = clf.predict([texts[i] for i in test], emb[test])
    rules = [classify(t) for t in texts]

    def scores(p) -> dict:
        P = np.asarray([[x == k for k in TYPES] for x in p])
        T = np.asarray([[x == k for k in TYPES] for x in y])
        f = multilabel_f1(P, T)
        return {"macro_f1": round(f["macro_f1"], 4), "accuracy": round(float(np.mean([a == b for a, b in zip(p, y)])), 4), "per_type_f1": {k: round(f["per_label"][j][2], 4) for j, k in enumerate(TYPES)}}

    return {"n_passages": len(texts), "n_documents": len(set(docs)), "support": {k: y.count(k) for k in TYPES}, "classifier": scores(list(pred)), "rules": scores(rules)}


def train_types(gold_path: Path | list[Path] | None = None, models_dir: Path | None = None, embedder: Embedder | None = None) -> dict:
    """One evidence-type model for all frameworks: the type of evidence does not depend on them."""
    embedder = embedder or Embedder()
    gold, _ = training_gold(gold_path)
    texts, y, docs = typed_passages(gold)
    metrics = evaluate_types(texts, y, docs, embedder)
    clf = EvidenceTypeClassifier().fit(texts, embedder.encode(texts), y)
    manifest = {
        "model": "nlp-tagger evidence-type classifier",
        "embedding_model": embedder.cache_key,
        "training_data_sha256": gold.content_hash(),
        "training_passages": len(texts),
        "cv_metrics": metrics,
    }
    clf.save((models_dir or MODELS_DIR) / "evidence-type", manifest)
    return manifest
