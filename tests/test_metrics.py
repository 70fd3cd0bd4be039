"""Each metric on tiny cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nlp_tagger import metrics as M
from nlp_tagger.evaluate import group_folds

# 3 passages x 3 indicators
PROBS = np.array(
    [
        [0.9, 0.05, 0.3],  # gold {0}: rank 1
        [0.2, 0.1, 0.6],  # gold {1}: ranks 2 0 1 -> gold at rank 3
        [0.1, 0.7, 0.4],  # gold {} : evidences nothing
    ]
)
GOLD = [{0}, {1}, set()]


def test_ranking_metrics_by_hand():
    r = M.ranking_metrics(PROBS, GOLD)
    assert r["top1"] == pytest.approx(1 / 2)
    assert r["recall_at_3"] == pytest.approx(1.0)
    assert r["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    two = M.ranking_metrics(np.array([[0.5, 0.4, 0.3]]), [{1, 2}])
    assert two["top1"] == 0 and two["recall_at_3"] == 1 and two["mrr"] == pytest.approx(0.5)


def test_f1_counts_empty_gold_passages_against_the_scorer():
    truth = M.to_matrix(GOLD, 3)
    pred = PROBS >= 0.5
    # predictions: (0,0) TP; (1,2) FP; (2,1) FP -> label 0: P1 R1 F1; label 1: tp0 fp1 fn1 -> F0; label 2: fp1 -> F0
    f = M.multilabel_f1(pred, truth)
    assert f["micro_f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert f["macro_f1"] == pytest.approx((1 + 0 + 0) / 3)


def test_brier_and_ece_by_hand():
    p = np.array([0.9, 0.1, 0.8, 0.3])
    y = np.array([1, 0, 0, 0], dtype=bool)
    assert M.brier(p, y) == pytest.approx((0.01 + 0.01 + 0.64 + 0.09) / 4)
    # bins of width 0.5: {0.1, 0.3} conf 0.2 acc 0 -> 0.2; {0.9, 0.8} conf 0.85 acc 0.5 -> 0.35
    assert M.ece(p, y, bins=2) == pytest.approx((2 * 0.2 + 2 * 0.35) / 4)
    assert M.ece(np.array([1.0, 0.0]), np.array([True, False])) == 0.0


def test_rollup_and_document_level():
    owner = np.array([0, 0, 1])
    assert M.rollup(PROBS, owner, 2).tolist() == [[0.9, 0.3], [0.2, 0.6], [0.7, 0.4]]
    pred = np.array([[True, False], [False, False], [False, True]])
    truth = np.array([[False, False], [True, False], [False, False]])
    # doc a: pred {0}, gold {0} -> TP; doc b: pred {1}, gold {} -> FP
    r = M.document_prf(["a", "a", "b"], pred, truth)
    assert (r["doc_precision"], r["doc_recall"]) == (0.5, 1.0)


def test_confusions_and_folds_group_by_document():
    conf = M.worst_confusions(PROBS, GOLD, ["A", "B", "C"])
    assert conf == [("B", "C", 1)]
    folds = group_folds(["d1", "d1", "d2", "d3", "d3", "d3"], n_folds=2)
    docs = [{["d1", "d1", "d2", "d3", "d3", "d3"][i] for i in f} for f in folds]
    assert all(not (a & b) for a in docs for b in docs if a is not b)
    assert sorted(i for f in folds for i in f) == list(range(6))
