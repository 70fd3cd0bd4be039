"""Stage 6: score gold passages with every scorer in one run and compute the metrics side by side.

Anything that learns from labels (a calibration curve, the trained ranker) is evaluated on
documents it never saw: out-of-fold predictions with folds grouped by document. A scorer that was
trained beforehand is used as it is only on gold documents outside its training set.
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


def score_metrics(probs: np.ndarray, gm: GoldMatrix, threshold: np.ndarray, leaf_ids: list[str]) -> dict:
    """`threshold` is (n, 1): each passage is judged by the decision threshold of the model that
    scored it (out-of-fold models each learn their own)."""
    known = gm.known
    kp, kt, kth = probs[known], gm.truth[known], threshold[known]
    out: dict = M.ranking_metrics(kp, [s for s, k in zip(gm.leaf_sets, known) if k])
    f1 = M.multilabel_f1(kp >= kth, kt)
    out["micro_f1"], out["macro_f1"] = f1["micro_f1"], f1["macro_f1"]
    # principle level: every passage counts, labels rolled up through the hierarchy
    rp = M.rollup(probs, gm.leaf_root, len(gm.roots))
    rt = M.to_matrix(gm.root_sets, len(gm.roots))
    labelled = [i for i, s in enumerate(gm.root_sets) if s]
    out["principle_top1"] = float(np.mean([int(np.argmax(rp[i])) in gm.root_sets[i] for i in labelled])) if labelled else 0.0
    out["principle_macro_f1"] = M.multilabel_f1(rp >= threshold, rt)["macro_f1"]
    doc = M.document_prf([d for d, k in zip(gm.doc_ids, known) if k], kp >= kth, kt)
    out.update(doc)
    out["brier"] = M.brier(kp, kt)
    out["ece"] = M.ece(kp, kt)
    top = kp.argmax(axis=1)
    has_gold = kt.any(axis=1)
    out["ece_top1"] = M.ece(kp[np.arange(len(kp)), top][has_gold], kt[np.arange(len(kt)), top][has_gold]) if has_gold.any() else 0.0
    out["per_indicator"] = [
        {"id": leaf_ids[j], "support": int(f1["support"][j]), "precision": f1["per_label"][j][0], "recall": f1["per_label"][j][1], "f1": f1["per_label"][j][2]}
        for j in range(len(leaf_ids))
    ]
    out["confusions"] = M.worst_confusions(kp, [s for s, k in zip(gm.leaf_sets, known) if k], leaf_ids)
    return out


def evaluate(gold: GoldSet, framework: Framework, scorers: dict[str, object], embedder: Embedder | None = None, default: str | None = None, n_folds: int = N_FOLDS) -> dict:
    """Metrics for each scorer. `scorers` maps a name to a ready scorer, or to a zero-argument
    factory for one that must be fitted out of fold."""
    t0 = time.time()
    passages = [g.as_passage(i) for i, g in enumerate(gold.passages)]
    ctx = build_context(passages, framework, embedder or Embedder())
    gm = gold_matrix(gold, framework)
    leaf_ids = ctx.leaf_ids
    results, timings = {}, {}
    for name, scorer in scorers.items():
        t = time.time()
        if isinstance(scorer, type) or not hasattr(scorer, "predict_proba"):
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
        "n_positive_passages": int(gm.truth.any(axis=1).sum()),
        "folds": len(group_folds(gm.doc_ids, n_folds)),
        "scorers": results,
        "default_scorer": default or next(iter(scorers)),
        "seconds": round(time.time() - t0, 1),
        "seconds_per_scorer": timings,
    }


HEADLINE = ["top1", "recall_at_3", "recall_at_5", "mrr", "micro_f1", "macro_f1", "principle_top1", "principle_macro_f1", "doc_f1", "brier", "ece"]


def summary_json(result: dict) -> str:
    """The --json output: headline metrics per scorer (details kept under 'details')."""
    slim = dict(result)
    slim["scorers"] = {n: {k: round(v, 4) for k, v in r.items() if k in HEADLINE or k in ("ece_top1", "doc_precision", "doc_recall")} for n, r in result["scorers"].items()}
    slim["details"] = {n: {"per_indicator": r["per_indicator"], "confusions": r["confusions"]} for n, r in result["scorers"].items()}
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
    out = [
        f"# Evaluation: {result['framework']}",
        "",
        f"Command: `{command}`",
        "",
        f"{result['n_passages']} labelled passages ({result['n_positive_passages']} with evidence) from {result['n_documents']} documents; "
        f"learned parts fitted out of fold, {result['folds']} folds grouped by document. Default scorer: `{result['default_scorer']}`. "
        f"Run time {result['seconds']} s.",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key in HEADLINE + ["ece_top1"]:
        out.append(f"| {key} | " + " | ".join(f"{result['scorers'][n][key]:.3f}" for n in names) + " |")
    d = result["default_scorer"]
    out += ["", f"## Per indicator ({d})", "", "| indicator | support | precision | recall | F1 |", "|---|---|---|---|---|"]
    for row in result["scorers"][d]["per_indicator"]:
        out.append(f"| {row['id']} | {row['support']} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} |")
    out += ["", f"## Most frequent top-1 confusions ({d})", "", "| gold | predicted | passages |", "|---|---|---|"]
    out += [f"| {a} | {b} | {n} |" for a, b, n in result["scorers"][d]["confusions"]]
    if "evidence_type" in result:
        out += _types_markdown(result["evidence_type"])
    return "\n".join(out) + "\n"
