"""The labelled corpus: sizes the evaluation relies on, and labels that still match segmentation."""

from __future__ import annotations

from collections import Counter

import pytest

from nlp_tagger import extract, load_framework, segment
from nlp_tagger.labels import load_gold

from .conftest import ROOT

LABELLED = ROOT / "corpora" / "labelled"
DEV = ROOT / "corpora" / "dev"
CHECK = ROOT / "corpora" / "check"
SIZES = {"concordat-2019": ("concordat", 800, 10), "iip-lm-model": ("iip", 250, 5), "aua-cpd": ("aua", 200, 5)}


@pytest.mark.parametrize("fid", SIZES)
def test_corpus_sizes_and_every_indicator_evidenced(fid):
    folder, min_passages, min_docs = SIZES[fid]
    fw = load_framework(fid)
    gold = load_gold(LABELLED / folder, fw)
    assert len(gold.passages) >= min_passages and len(gold.doc_ids) >= min_docs
    assert any(not g.labels for g in gold.passages)  # passages that evidence nothing are in the data
    positives = Counter(l for g in gold.passages for l in g.labels)
    leaves = [l.id for l in fw.leaves]
    assert min(positives[l] for l in leaves) >= 5, sorted(leaves, key=lambda l: positives[l])[:5]


def test_evidence_types_labelled_on_300_passages():
    gold = load_gold(LABELLED)
    assert sum(1 for g in gold.passages if g.evidence_type) >= 300


def _source(path):
    stem = path.stem
    if stem.startswith("seed-"):
        return ROOT / "corpora" / "seeds" / f"{stem[5:]}.txt"
    if DEV in path.parents:
        return DEV / "documents" / path.parent.name / f"{stem}.md"
    if CHECK in path.parents:
        return CHECK / "documents" / path.parent.name / f"{stem}.md"
    return ROOT / "corpora" / "documents" / path.parent.name / f"{stem}.md"


def test_development_set_is_apart_from_the_training_set():
    """The realistic development set is never trained on: other documents, other institutions."""
    dev = load_gold(DEV / "labelled")
    train = load_gold(LABELLED)
    assert len(dev.doc_ids) >= 10 and not set(dev.doc_ids) & set(train.doc_ids)
    institution = lambda d: d.split("-")[1]  # noqa: E731 - PREFIX-INSTITUTION-GENRE
    assert not {institution(d) for d in dev.doc_ids} & {institution(d) for d in train.doc_ids}
    long_texts = lambda gs: {g.text for g in gs.passages if len(g.text.split()) >= 8}  # noqa: E731 - boilerplate may repeat
    assert not long_texts(dev) & long_texts(train)


def test_check_set_is_apart_from_training_and_development_sets():
    """The whole-document check set was written by other writers, who never saw the training or
    development documents, about other institutions."""
    check = load_gold(CHECK / "labelled")
    others = load_gold(LABELLED).doc_ids + load_gold(DEV / "labelled").doc_ids
    institution = lambda d: d.split("-")[1]  # noqa: E731 - PREFIX-INSTITUTION-GENRE
    assert len(check.doc_ids) >= 6 and not {institution(d) for d in check.doc_ids} & {institution(d) for d in others}


@pytest.mark.parametrize("path", sorted(LABELLED.rglob("*.jsonl")) + sorted((DEV / "labelled").rglob("*.jsonl")) + sorted((CHECK / "labelled").rglob("*.jsonl"))
                         + sorted((CHECK / "agreement").rglob("*.jsonl")), ids=lambda p: f"{p.parent.parent.name}-{p.stem}")
def test_labels_match_the_tools_own_passages(path):
    """Labels were made on this tool's segmentation; a change to it must not orphan them."""
    gold = load_gold(path)
    passages = [p.text for p in segment(extract(_source(path)))]
    assert [g.text for g in gold.passages] == passages
