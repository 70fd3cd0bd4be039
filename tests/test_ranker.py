"""The trained ranker: round trip, stale-model refusal, and zero-shot with no labels."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nlp_tagger import ModelError, load_framework
from nlp_tagger.frameworks import FRAMEWORKS_DIR
from nlp_tagger.labels import load_gold
from nlp_tagger.match import build_context
from nlp_tagger.ranker import RankerScorer, model_dir
from nlp_tagger.scorers import resolve_scorer
from nlp_tagger.train import train_ranker

from .conftest import ROOT


@pytest.fixture()
def tiny(tmp_path):
    """A copy of the AUA framework and three small labelled documents of it."""
    fw_path = tmp_path / "aua-mini.yaml"
    shutil.copy(FRAMEWORKS_DIR / "aua-cpd.yaml", fw_path)
    fw = load_framework(fw_path)
    rows = []
    for f in sorted((ROOT / "corpora" / "labelled" / "aua").glob("a1-*.jsonl"))[:3]:
        for line in f.read_text(encoding="utf-8").splitlines()[:40]:
            r = json.loads(line)
            r["framework"] = fw.id
            rows.append(json.dumps(r))
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return fw_path, fw, gold


def test_trained_model_round_trips(tiny, tmp_path, embedder):
    fw_path, fw, gold = tiny
    models = tmp_path / "models"
    manifest = train_ranker(fw, gold, models, embedder, cv=False, crossfit=False)
    saved = json.loads((model_dir(fw.id, models) / "manifest.json").read_text())
    assert saved["training_data_sha256"] == manifest["training_data_sha256"] and saved["features"]
    assert saved["framework_sha256"] == fw.content_hash and len(saved["training_documents"]) == 3
    g = load_gold(gold, fw)
    ctx = build_context([p.as_passage(i) for i, p in enumerate(g.passages)], fw, embedder)
    # the scorer that was fitted and the one loaded from disk give the same probabilities
    loaded = RankerScorer.load(fw, models)
    probs = loaded.predict_proba(ctx)
    assert probs.shape == (len(g.passages), 9) and np.all((probs >= 0) & (probs <= 1))
    refit = RankerScorer.load(fw, models)
    np.testing.assert_allclose(refit.predict_proba(ctx), probs)
    assert loaded.thresholds == manifest["thresholds"]
    scorer, notes = resolve_scorer(fw, "auto", models)
    assert scorer.name == "ranker" and notes == []


def test_stale_model_is_refused(tiny, tmp_path, embedder):
    fw_path, fw, gold = tiny
    models = tmp_path / "models"
    train_ranker(fw, gold, models, embedder, cv=False, crossfit=False)
    fw_path.write_text(fw_path.read_text(encoding="utf-8").replace("Embracing change", "Embracing change and renewal"), encoding="utf-8")
    changed = load_framework(fw_path)
    with pytest.raises(ModelError) as err:
        RankerScorer.load(changed, models)
    assert "stale" in str(err.value) and "nlp-tagger train" in str(err.value)
    with pytest.raises(ModelError):
        resolve_scorer(changed, "auto", models)


def test_missing_model_is_a_clear_message(tmp_path):
    fw = load_framework("aua-cpd")
    with pytest.raises(ModelError) as err:
        resolve_scorer(fw, "ranker", tmp_path / "none")
    assert "no trained model" in str(err.value)


def test_no_labels_zero_shot_ranks_the_obvious_indicator_first(tmp_path, embedder):
    fw_path = tmp_path / "custom.yaml"
    fw_path.write_text(
        "id: custom\nname: Custom\nindicators:\n"
        "  - {id: P, parent: null, title: People, text: People are supported}\n"
        "  - {id: P1, parent: P, title: Recruitment, text: Vacancies are advertised openly and candidates are selected fairly on merit}\n"
        "  - {id: P2, parent: P, title: Wellbeing, text: Staff mental health and wellbeing are supported}\n"
        "  - {id: P3, parent: P, title: Training, text: Managers receive leadership and management training}\n",
        encoding="utf-8",
    )
    fw = load_framework(fw_path)
    scorer, notes = resolve_scorer(fw, "auto")  # no model for a custom framework: zero-shot, said so
    assert scorer.name == "similarity" and "zero-shot" in notes[0]
    from nlp_tagger.types import Passage

    texts = [
        "All posts are now advertised externally and shortlisting panels use published criteria.",
        "We introduced a confidential counselling service and mental health first aiders.",
        "Every new line manager completes our six-month leadership programme.",
    ]
    ctx = build_context([Passage("d", i, t, 1, (), 0, len(t)) for i, t in enumerate(texts)], fw, embedder)
    assert scorer.predict_proba(ctx).argmax(axis=1).tolist() == [0, 1, 2]


def test_cross_fitted_features_come_from_the_encoder_that_did_not_see_the_document(tiny, tmp_path, embedder):
    """With views, each training passage's features come from the view assigned to its document;
    the run-time bank is the run-time encoder's, so predictions use one embedding space."""
    from nlp_tagger.embed import BASE_MODEL, Embedder
    from nlp_tagger.evaluate import gold_matrix

    fw_path, fw, gold_path = tiny
    g = load_gold(gold_path, fw)
    passages = [p.as_passage(i) for i, p in enumerate(g.passages)]
    ctx = build_context(passages, fw, embedder)
    other = build_context(passages, fw, Embedder(BASE_MODEL, cache_dir=tmp_path))
    gm = gold_matrix(g, fw)
    docs = sorted(set(gm.doc_ids))
    view_of = [docs.index(d) % 2 for d in gm.doc_ids]
    crossed = RankerScorer(fw).fit(ctx, gm.truth, gm.known, gm.doc_ids, views=[ctx, other], view_of=view_of)
    plain = RankerScorer(fw).fit(ctx, gm.truth, gm.known, gm.doc_ids)
    np.testing.assert_array_equal(crossed.bank.emb, plain.bank.emb)  # run-time bank: run-time encoder
    n_rows = int(gm.known.sum()) * len(fw.leaves)
    assert crossed.estimator.oof_proba_.shape == (n_rows,)
    # the training features differ from the single-view fit wherever the other encoder was used
    assert not np.allclose(crossed.estimator.oof_proba_, plain.estimator.oof_proba_)
    probs = crossed.predict_proba(ctx)
    assert probs.shape == (len(passages), len(fw.leaves)) and np.all((probs >= 0) & (probs <= 1))
