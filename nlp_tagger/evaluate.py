"""Stage 6: score gold passages with every scorer in one run and compute the metrics side by side.

Anything that learns from labels (a calibration curve, the trained ranker) is evaluated on
documents it never saw: either out-of-fold predictions with folds grouped by document, or, when a
separate training set is given (or the gold cannot train anything: labels only at the top level,
no positive passage, one document), fitted on that set and applied to the gold. A scorer that was
trained beforehand is used as it is only on gold documents outside its training set.

Metrics are computed at the levels the gold supports: obligation (leaf) level where labels name
leaves, principle (top) level always; a level the gold does not support is reported as None.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np

from . import metrics as M
from .embed import Embedder
from .errors import LabelError
from .labels import GoldSet
from .match import MatchContext, build_context
from .scoring import claimed
from .types import Framework

N_FOLDS = 5


@dataclass
class GoldMatrix:
    """Gold labels in matrix form, aligned with a MatchContext's leaves and roots."""

    truth: np.ndarray  # (n, n_leaves) bool
    known: np.ndarray  # (n,) bool: leaf-level gold exists (labels are leaves, or [])
    leaf_sets: list[set[int]]
    root_sets: list[set[int]]
    roots: list[str]
    leaf_root: np.ndarray  # (n_leaves,) index of each leaf's root
    doc_ids: list[str]


def gold_matrix(gold: GoldSet, framework: Framework) -> GoldMatrix:
    leaf_ids = [l.id for l in framework.leaves]
    leaf_index = {lid: j for j, lid in enumerate(leaf_ids)}
    roots = [r.id for r in framework.roots]
    leaf_root = np.asarray([roots.index(framework.root_of(l)) for l in leaf_ids])
    leaf_sets, root_sets, known = [], [], []
    for g in gold.passages:
        leaf_sets.append({leaf_index[l] for l in g.labels if l in leaf_index})
        root_sets.append({roots.index(framework.root_of(l)) for l in g.labels})
        known.append(all(l in leaf_index for l in g.labels))
    truth = M.to_matrix(leaf_sets, len(leaf_ids))
    return GoldMatrix(truth, np.asarray(known), leaf_sets, root_sets, roots, leaf_root, [g.doc_id for g in gold.passages])


def group_folds(doc_ids: list[str], n_folds: int = N_FOLDS) -> list[np.ndarray]:
    """Test-row indices per fold; documents are dealt to folds largest first, so folds balance."""
    docs: dict[str, list[int]] = {}
    for i, d in enumerate(doc_ids):
        docs.setdefault(d, []).append(i)
    k = max(2, min(n_folds, len(docs)))
    folds: list[list[int]] = [[] for _ in range(k)]
    for d in sorted(docs, key=lambda d: (-len(docs[d]), d)):
        min(folds, key=len).extend(docs[d])
    return [np.asarray(sorted(f)) for f in folds if f]


def can_train(gm: GoldMatrix) -> bool:
    """Whether this gold can fit a scorer out of fold: leaf-level positives in at least 2 documents."""
    pos_docs = {d for d, k, t in zip(gm.doc_ids, gm.known, gm.truth.any(axis=1)) if k and t}
    return len(pos_docs) >= 2


def fit_and_score(make_scorer, train_ctx: MatchContext, train_gm: GoldMatrix, ctx: MatchContext) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities for the gold from a scorer fitted on a separate training set."""
    scorer = make_scorer()
    scorer.fit(train_ctx, train_gm.truth, train_gm.known, train_gm.doc_ids)
    return scorer.predict_proba(ctx), np.full((len(ctx.passages), 1), scorer.thresholds["weak"])


def out_of_fold(make_scorer, ctx: MatchContext, gm: GoldMatrix, n_folds: int = N_FOLDS) -> np.ndarray:
    """Probabilities for every passage from a scorer fitted on the other documents only."""
    if len(set(gm.doc_ids)) < 2:
        raise LabelError(gm.doc_ids[0] if gm.doc_ids else "gold", "out-of-fold evaluation needs labelled passages from at least 2 documents", "Add labels from another document")
    probs = np.zeros(gm.truth.shape)
    all_rows = np.arange(len(ctx.passages))
    thresholds = np.zeros((len(all_rows), 1))
    for test in group_folds(gm.doc_ids, n_folds):
        train = np.setdiff1d(all_rows, test)
        scorer = make_scorer()
        scorer.fit(ctx.subset(train), gm.truth[train], gm.known[train], [gm.doc_ids[i] for i in train])
        probs[test] = scorer.predict_proba(ctx.subset(test))
        thresholds[test] = scorer.thresholds["weak"]
    return probs, thresholds


def _leaf_metrics(probs: np.ndarray, gm: GoldMatrix, threshold: np.ndarray, leaf_ids: list[str]) -> dict:
    """Obligation-level metrics over passages whose gold names leaves (or []); None where undefined."""
    known = gm.known
    kp, kt, kth = probs[known], gm.truth[known], threshold[known]
    gold_sets = [s for s, k in zip(gm.leaf_sets, known) if k]
    has_pos = bool(kt.any())
    out: dict = M.ranking_metrics(kp, gold_sets) if has_pos else dict.fromkeys(("top1", "recall_at_3", "recall_at_5", "mrr"))
    pred = claimed(kp, kth)
    f1 = M.multilabel_f1(pred, kt)
    # with no obligation-level evidence in the gold (labels only at the top, or all []), F1 and
    # recall mean nothing at this level; `negative_claimed` below still measures false claims
    out["micro_f1"] = f1["micro_f1"] if has_pos else None
    out["macro_f1"] = f1["macro_f1"] if has_pos else None
    doc = M.document_prf([d for d, k in zip(gm.doc_ids, known) if k], pred, kt)
    out.update(doc if has_pos else dict.fromkeys(doc))
    negatives = ~kt.any(axis=1)
    # of the passages that evidence nothing, the share the scorer claims as evidence for something
    out["negative_claimed"] = float(pred[negatives].any(axis=1).mean()) if negatives.any() else None
    out["brier"] = M.brier(kp, kt) if kp.size else None
    out["ece"] = M.ece(kp, kt) if kp.size else None
    top = kp.argmax(axis=1) if kp.size else np.zeros(0, int)
    has_gold = kt.any(axis=1)
    out["ece_top1"] = M.ece(kp[np.arange(len(kp)), top][has_gold], kt[np.arange(len(kt)), top][has_gold]) if has_gold.any() else None
    out["per_indicator"] = [
        {"id": leaf_ids[j], "support": int(f1["support"][j]), "precision": f1["per_label"][j][0], "recall": f1["per_label"][j][1], "f1": f1["per_label"][j][2]}
        for j in range(len(leaf_ids))
    ]
    out["confusions"] = M.worst_confusions(kp, gold_sets, leaf_ids)
    return out


def _principle_metrics(probs: np.ndarray, gm: GoldMatrix, threshold: np.ndarray) -> dict:
    """Top-level metrics over every passage, labels and scores rolled up through the hierarchy."""
    rp = M.rollup(probs, gm.leaf_root, len(gm.roots))
    rt = M.to_matrix(gm.root_sets, len(gm.roots))
    out: dict = {}
    if rt.any():
        r = M.ranking_metrics(rp, gm.root_sets)
        out.update({"principle_top1": r["top1"], "principle_recall_at_3": r["recall_at_3"], "principle_recall_at_5": r["recall_at_5"]})
    else:
        out.update(dict.fromkeys(("principle_top1", "principle_recall_at_3", "principle_recall_at_5")))
    pred = claimed(rp, threshold)
    out["principle_macro_f1"] = M.multilabel_f1(pred, rt)["macro_f1"] if rt.any() else None
    doc = M.document_prf(gm.doc_ids, pred, rt)
    out.update({f"principle_{k}": (v if rt.any() else None) for k, v in doc.items()})
    return out


def score_metrics(probs: np.ndarray, gm: GoldMatrix, threshold: np.ndarray, leaf_ids: list[str]) -> dict:
    """`threshold` is (n, 1): each passage is judged by the decision threshold of the model that
    scored it (out-of-fold models each learn their own)."""
    out = _leaf_metrics(probs, gm, threshold, leaf_ids)
    out.update(_principle_metrics(probs, gm, threshold))
    return out


def evaluate(gold: GoldSet, framework: Framework, scorers: dict[str, object], embedder: Embedder | None = None, default: str | None = None, n_folds: int = N_FOLDS, train: GoldSet | None = None) -> dict:
    """Metrics for each scorer. `scorers` maps a name to a ready scorer, or to a zero-argument
    factory for one that must be fitted: on `train` (its documents that are also in the gold
    left out) when given, else out of fold on the gold itself.

    A value of `scorers` may also be a (scorer, embedder) pair, to compare encoders in one run."""
    t0 = time.time()
    embedder = embedder or Embedder()
    passages = [g.as_passage(i) for i, g in enumerate(gold.passages)]
    gm = gold_matrix(gold, framework)
    if train is not None:
        gold_docs = set(gold.doc_ids)
        train = GoldSet([g for g in train.passages if g.doc_id not in gold_docs], train.files)
        if not train.passages:
            raise LabelError(train.files[0] if train.files else "training set", "every training document is also in the gold", "Train on other documents than you evaluate on")
        train_passages = [g.as_passage(i) for i, g in enumerate(train.passages)]
        train_gm = gold_matrix(train, framework)
        if not can_train(train_gm):
            raise LabelError(train.files[0] if train.files else "training set", "training set needs obligation-level labels, positive and negative, from at least 2 documents", "Add labelled passages to it")
    elif not can_train(gm) and any(isinstance(s, type) or not hasattr(s, "predict_proba") for s in scorers.values()):
        raise LabelError(gold.files[0] if gold.files else "gold", "this gold cannot fit scorers out of fold (it needs obligation-level labels, positive and negative, in at least 2 documents)",
                         "Pass a training set with --train-gold, or evaluate the trained ranker alone")
    contexts: dict[str, MatchContext] = {}
    train_contexts: dict[str, MatchContext] = {}

    def context_for(emb: Embedder) -> tuple[MatchContext, MatchContext | None]:
        if emb.cache_key not in contexts:
            contexts[emb.cache_key] = build_context(passages, framework, emb)
            if train is not None:
                train_contexts[emb.cache_key] = build_context(train_passages, framework, emb)
        return contexts[emb.cache_key], train_contexts.get(emb.cache_key)

    leaf_ids = [l.id for l in framework.leaves]
    results, timings = {}, {}
    for name, scorer in scorers.items():
        t = time.time()
        scorer, emb = scorer if isinstance(scorer, tuple) else (scorer, embedder)
        ctx, train_ctx = context_for(emb)
        if isinstance(scorer, type) or not hasattr(scorer, "predict_proba"):
            if train_ctx is not None:
                probs, threshold = fit_and_score(scorer, train_ctx, train_gm, ctx)
            else:
                probs, threshold = out_of_fold(scorer, ctx, gm, n_folds)
        else:
            probs = scorer.predict_proba(ctx)
            threshold = np.full((len(passages), 1), scorer.thresholds["weak"])
        results[name] = score_metrics(probs, gm, threshold, leaf_ids)
        timings[name] = round(time.time() - t, 2)
    return {
        "framework": framework.id,
        "n_passages": len(passages),
        "n_documents": len(gold.doc_ids),
        "n_passages_leaf_level": int(gm.known.sum()),
        "n_positive_passages": int(sum(bool(s) for s in gm.root_sets)),
        "level": "obligation" if gm.truth[gm.known].any() else ("principle" if any(gm.root_sets) else "negatives only"),
        "mode": "train-test" if train is not None else "out-of-fold",
        "n_training_passages": len(train.passages) if train is not None else None,
        "training_documents": train.doc_ids if train is not None else None,
        "folds": len(group_folds(gm.doc_ids, n_folds)) if train is None else 0,
        "scorers": results,
        "default_scorer": default or next(iter(scorers)),
        "seconds": round(time.time() - t0, 1),
        "seconds_per_scorer": timings,
    }


HEADLINE = ["top1", "recall_at_3", "recall_at_5", "mrr", "micro_f1", "macro_f1", "principle_top1", "principle_recall_at_5", "principle_macro_f1",
            "doc_precision", "doc_recall", "doc_f1", "negative_claimed", "brier", "ece"]
EXTRA = ("ece_top1", "principle_recall_at_3", "principle_doc_precision", "principle_doc_recall", "principle_doc_f1")


def fmt(v, spec: str = ".3f") -> str:
    return "n/a" if v is None else format(v, spec)


def summary_json(result: dict) -> str:
    """The --json output: headline metrics per scorer (details kept under 'details')."""
    slim = dict(result)
    slim["scorers"] = {n: {k: (None if v is None else round(v, 4)) for k, v in r.items() if k in HEADLINE or k in EXTRA} for n, r in result["scorers"].items()}
    slim["details"] = {n: {"per_indicator": r["per_indicator"], "confusions": r["confusions"]} for n, r in result["scorers"].items()}
    if "statuses" in result:
        slim["statuses"] = result["statuses"]
    return json.dumps(slim, indent=2)


def _types_markdown(et: dict) -> list[str]:
    out = ["", f"## Evidence type ({et['n_passages']} labelled passages, {et['n_documents']} documents, out of fold by document)", "",
           "| | macro F1 | accuracy | " + " | ".join(et["support"]) + " |", "|---|---|---|" + "---|" * len(et["support"]),
           "| support | | | " + " | ".join(str(v) for v in et["support"].values()) + " |"]
    for name in ("classifier", "rules"):
        r = et[name]
        out.append(f"| {name} | {r['macro_f1']:.3f} | {r['accuracy']:.3f} | " + " | ".join(f"{r['per_type_f1'][k]:.3f}" for k in et["support"]) + " |")
    return out


def to_markdown(result: dict, command: str) -> str:
    names = list(result["scorers"])
    how = (f"learned parts fitted out of fold, {result['folds']} folds grouped by document" if result.get("mode", "out-of-fold") == "out-of-fold"
           else f"learned parts fitted on {result['n_training_passages']} passages of {len(result['training_documents'])} other documents")
    out = [
        f"# Evaluation: {result['framework']}",
        "",
        f"Command: `{command}`",
        "",
        f"{result['n_passages']} labelled passages ({result['n_positive_passages']} with evidence) from {result['n_documents']} documents; "
        f"{how}. Default scorer: `{result['default_scorer']}`. Run time {result['seconds']} s.",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key in HEADLINE + list(EXTRA):
        out.append(f"| {key} | " + " | ".join(fmt(result["scorers"][n][key]) for n in names) + " |")
    d = result["default_scorer"]
    out += ["", f"## Per indicator ({d})", "", "| indicator | support | precision | recall | F1 |", "|---|---|---|---|---|"]
    for row in result["scorers"][d]["per_indicator"]:
        out.append(f"| {row['id']} | {row['support']} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} |")
    out += ["", f"## Most frequent top-1 confusions ({d})", "", "| gold | predicted | passages |", "|---|---|---|"]
    out += [f"| {a} | {b} | {n} |" for a, b, n in result["scorers"][d]["confusions"]]
    if "statuses" in result:
        from .status_eval import status_markdown

        out += status_markdown(result["statuses"])
    if "evidence_type" in result:
        out += _types_markdown(result["evidence_type"])
    return "\n".join(out) + "\n"
