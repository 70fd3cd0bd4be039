"""Evaluation metrics as pure functions over a probability matrix and gold label sets.

`probs` is (n_passages, n_leaves); `gold[i]` is the set of leaf indices passage i evidences
(empty for a passage labelled []); `known[i]` is False where the gold names only a parent, so the
passage cannot be scored at the leaf level (it still counts at the principle level).
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def ranking_metrics(probs: np.ndarray, gold: list[set[int]]) -> dict[str, float]:
    """top-1 accuracy, recall@3, recall@5 and MRR over passages with at least one gold leaf."""
    rows = [i for i, g in enumerate(gold) if g]
    if not rows:
        return {"top1": 0.0, "recall_at_3": 0.0, "recall_at_5": 0.0, "mrr": 0.0}
    order = np.argsort(-probs[rows], axis=1, kind="stable")
    top1 = r3 = r5 = rr = 0.0
    for k, i in enumerate(rows):
        ranked = list(order[k])
        g = gold[i]
        top1 += ranked[0] in g
        r3 += len(g & set(ranked[:3])) / len(g)
        r5 += len(g & set(ranked[:5])) / len(g)
        rr += 1.0 / (1 + min(ranked.index(j) for j in g))
    n = len(rows)
    return {"top1": top1 / n, "recall_at_3": r3 / n, "recall_at_5": r5 / n, "mrr": rr / n}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def multilabel_f1(pred: np.ndarray, truth: np.ndarray) -> dict[str, object]:
    """Micro and macro F1 of boolean matrices (rows: items, cols: labels).

    Macro averages over labels that occur in the gold or the predictions, so a label nobody used
    neither helps nor hurts."""
    tp = (pred & truth).sum(axis=0)
    fp = (pred & ~truth).sum(axis=0)
    fn = (~pred & truth).sum(axis=0)
    micro = prf(int(tp.sum()), int(fp.sum()), int(fn.sum()))[2]
    per = [prf(int(tp[j]), int(fp[j]), int(fn[j])) for j in range(truth.shape[1])]
    active = [j for j in range(truth.shape[1]) if truth[:, j].any() or pred[:, j].any()]
    macro = float(np.mean([per[j][2] for j in active])) if active else 0.0
    return {"micro_f1": micro, "macro_f1": macro, "per_label": per, "support": truth.sum(axis=0)}


def to_matrix(gold: list[set[int]], n_cols: int) -> np.ndarray:
    m = np.zeros((len(gold), n_cols), dtype=bool)
    for i, g in enumerate(gold):
        m[i, list(g)] = True
    return m


def brier(probs: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean((probs - truth.astype(float)) ** 2)) if probs.size else 0.0


def ece(probs: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |mean confidence - accuracy| per equal-width bin, weighted by size."""
    p = probs.ravel()
    y = truth.ravel().astype(float)
    if not p.size:
        return 0.0
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() * abs(p[mask].mean() - y[mask].mean())
    return float(total / p.size)


def rollup(probs: np.ndarray, owner: np.ndarray, n_groups: int) -> np.ndarray:
    """Probability for each group (e.g. principle) as the max over its leaves."""
    out = np.zeros((probs.shape[0], n_groups))
    for g in range(n_groups):
        cols = owner == g
        if cols.any():
            out[:, g] = probs[:, cols].max(axis=1)
    return out


def document_prf(doc_ids: list[str], pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Per (document, indicator): evidenced anywhere in the document, predicted vs gold."""
    docs = sorted(set(doc_ids))
    idx = np.asarray([docs.index(d) for d in doc_ids])
    dp = np.zeros((len(docs), pred.shape[1]), dtype=bool)
    dt = np.zeros_like(dp)
    for k in range(len(docs)):
        rows = idx == k
        dp[k] = pred[rows].any(axis=0)
        dt[k] = truth[rows].any(axis=0)
    p, r, f = prf(int((dp & dt).sum()), int((dp & ~dt).sum()), int((~dp & dt).sum()))
    return {"doc_precision": p, "doc_recall": r, "doc_f1": f}


def worst_confusions(probs: np.ndarray, gold: list[set[int]], names: list[str], k: int = 10) -> list[tuple[str, str, int]]:
    """(gold, predicted top-1, count) for the most frequent wrong top-1 predictions."""
    c: Counter = Counter()
    for i, g in enumerate(gold):
        if g:
            top = int(np.argmax(probs[i]))
            if top not in g:
                c[(names[min(g)], names[top])] += 1
    return [(a, b, n) for (a, b), n in c.most_common(k)]
