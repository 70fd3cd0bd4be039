"""`evaluate` at whatever level the gold supports: top-level labels only, all-negative gold, and a
separate training set; each used to crash with a traceback."""

from __future__ import annotations

import json

import pytest

from nlp_tagger import LabelError, load_framework
from nlp_tagger.commands import evaluation_scorers, training_gold_for
from nlp_tagger.evaluate import evaluate, summary_json, to_markdown
from nlp_tagger.labels import GoldSet, load_gold

from .conftest import ROOT

IIP_DIR = ROOT / "corpora" / "labelled" / "iip"


def _rewrite(tmp_path, name, files, relabel):
    rows = []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            labels = relabel(r["labels"])
            if labels is not None:
                rows.append(json.dumps({**r, "labels": labels}))
    out = tmp_path / name
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def iip():
    return load_framework("iip-lm-model")


@pytest.fixture()
def split(iip):
    """Two IIP documents to evaluate on, the others to train on."""
    files = sorted(IIP_DIR.glob("i1-*.jsonl"))
    test_files, train_files = files[:2], files[2:]
    train = load_gold(train_files[0], iip)
    for f in train_files[1:]:
        train = GoldSet(train.passages + load_gold(f, iip).passages, train.files)
    return test_files, train


def test_top_level_gold_is_scored_at_that_level(tmp_path, iip, split, embedder):
    test_files, train = split
    # labels rolled up to LM1..LM9, as an assessor who only names the indicator would write them
    gold_path = _rewrite(tmp_path, "lm.jsonl", test_files, lambda ls: sorted({iip.root_of(l) for l in ls}))
    gold = load_gold(gold_path, iip)
    scorers, default = evaluation_scorers(iip, "similarity", gold.doc_ids)
    result = evaluate(gold, iip, scorers, embedder, default=default, train=train)
    assert result["level"] == "principle" and result["mode"] == "train-test"
    for name, r in result["scorers"].items():
        assert r["top1"] is None and r["macro_f1"] is None, name  # no obligation-level gold
        assert 0.0 <= r["principle_top1"] <= 1.0 and r["principle_recall_at_5"] >= r["principle_top1"]
        assert r["principle_doc_recall"] is not None
    # the similarity scorer's LM-level top-1 beats chance (1 in 9) by far on real labels
    assert result["scorers"]["similarity"]["principle_top1"] > 0.3
    assert "n/a" in to_markdown(result, "cmd") and json.loads(summary_json(result))["level"] == "principle"


def test_top_level_gold_without_training_set_falls_back_to_the_bundled_corpus(tmp_path, iip, split):
    test_files, _ = split
    gold = load_gold(_rewrite(tmp_path, "lm.jsonl", test_files, lambda ls: sorted({iip.root_of(l) for l in ls})), iip)
    train, note = training_gold_for(iip, gold, None)
    assert train is not None and "bundled corpus" in note
    assert {p.file for p in train.passages} >= {str(f) for f in sorted(IIP_DIR.glob("i1-*.jsonl"))}


def test_all_negative_gold_reports_false_claims(tmp_path, iip, split, embedder):
    test_files, train = split
    gold = load_gold(_rewrite(tmp_path, "neg.jsonl", test_files, lambda ls: [] if not ls else None), iip)
    assert gold.passages and not any(p.labels for p in gold.passages)
    result = evaluate(gold, iip, {"similarity": evaluation_scorers(iip, "similarity")[0]["similarity"]}, embedder, train=train)
    r = result["scorers"]["similarity"]
    assert result["level"] == "negatives only"
    assert r["top1"] is None and r["principle_top1"] is None and r["doc_recall"] is None
    assert 0.0 <= r["negative_claimed"] <= 1.0


def test_gold_that_cannot_train_needs_a_training_set(tmp_path, iip, split, embedder):
    test_files, _ = split
    gold = load_gold(_rewrite(tmp_path, "neg.jsonl", test_files, lambda ls: [] if not ls else None), iip)
    scorers, _ = evaluation_scorers(iip, "similarity")
    with pytest.raises(LabelError, match="cannot fit scorers out of fold"):
        evaluate(gold, iip, scorers, embedder)


def test_training_set_overlapping_the_gold_is_refused(iip, split, embedder):
    _, train = split
    with pytest.raises(LabelError, match="also in the gold"):
        evaluate(train, iip, evaluation_scorers(iip, "similarity")[0], embedder, train=train)
