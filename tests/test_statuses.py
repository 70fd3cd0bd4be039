"""Statuses an assessor can trust: what is never evidence, achievements never hidden behind plans,
quotes that show what was done, scores that order, who acts, a funder's own documents, and the
status-level evaluation on whole documents in every format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nlp_tagger import load_framework
from nlp_tagger.coverage import build_coverage, infer_scope
from nlp_tagger.evidence_type import classify, settle
from nlp_tagger.nonevidence import framework_grams, reason
from nlp_tagger.ranker import TIE_BREAK, order_preserving
from nlp_tagger.status_eval import gold_by_document, same_passage, score_statuses
from nlp_tagger.types import Document, Match, Passage

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "corpora" / "check"


@pytest.fixture(scope="module")
def concordat():
    return load_framework("concordat-2019")


@pytest.mark.parametrize("text, why", [
    ("Skip to main content", "navigation"),
    ("Home > Research > Researcher development", "navigation"),
    ("Last updated: 14 November 2025", "navigation"),
    ("Download our action plan 2024-2027 (PDF, 420 KB)", "download"),
    ("Read the full report here.", "download"),
    ("Contact: researcherdev@example.ac.uk", "contact"),
    ("Under the Concordat, institutions must make sure researchers are recruited openly and supported in their careers.", "restatement"),
    ("Institutions should ensure that all researchers have access to ten days of professional development a year.", "restatement"),
    ("The Concordat sets out the responsibilities of funders, institutions, managers and researchers.", "restatement"),
])
def test_lines_that_are_never_evidence(concordat, text, why):
    assert reason(text, framework_grams(concordat)) == why


@pytest.mark.parametrize("text", [
    "We launched the Bridging Fund in 2015; 41 researchers have been supported since.",
    "Our latest annual report on the Concordat (Word) was submitted to the governing body in November and discussed with the RSA.",
    "Managers of researchers must complete the inclusive recruitment module; completion among PIs stood at 81% in January 2025.",
    "The University has established a Research Staff Forum whose chair sits on Senate.",
    "Researchers should discuss with your line manager how you use your ten days of development time.",
])
def test_claims_of_the_submitter_stay_evidence(concordat, text):
    assert reason(text, framework_grams(concordat)) is None


def _passage(i: int, text: str) -> Passage:
    return Passage("d", i, text, 1, ("Employment",), 0, len(text))


def test_an_achievement_below_three_plans_is_never_planned_only(concordat):
    """The bridging fund case: three "aims to" sentences outscore the fund's launch, which is
    above `weak` all the same; the indicator is achieved and the launch is quoted first."""
    texts = ["The fund aims to support researchers between contracts.", "We aim to extend the scheme to technicians by 2027.",
             "We will review the fund's criteria next year.", "Launch of the Bridging Fund Scheme in 2015: 41 researchers supported."]
    passages = [_passage(i, t) for i, t in enumerate(texts)]
    scores = [0.9, 0.85, 0.8, 0.6]
    matches = [Match(p, "EI6", 0.5, s, 1) for p, s in zip(passages, scores)]
    types = {0: "plan", 1: "plan", 2: "plan", 3: "outcome"}
    doc = Document("d", "d.md", " ".join(texts), [], 1, "markdown")
    cov = build_coverage(doc, concordat, matches, len(passages), "ranker", {"strong": 0.7, "weak": 0.5}, top_k=3, types=types, passages=passages, scope=())
    c = cov.by_id()["EI6"]
    assert c.status == "strong" and c.maturity == "outcomes"
    assert c.evidence[0].passage.index == 3  # what was done, before what is meant
    assert [e.passage.index for e in c.evidence[1:]] == [0, 1]


def test_plans_alone_are_still_planned_only(concordat):
    passages = [_passage(0, "We will introduce a bridging fund in 2026.")]
    doc = Document("d", "d.md", passages[0].text, [], 1, "markdown")
    cov = build_coverage(doc, concordat, [Match(passages[0], "EI6", 0.5, 0.8, 1)], 1, "ranker", {"strong": 0.7, "weak": 0.5},
                         types={0: "plan"}, passages=passages, scope=())
    assert cov.by_id()["EI6"].status == "planned"


def test_calibration_keeps_the_rankers_order():
    raw = np.linspace(0.05, 0.95, 50)
    steps = np.floor(raw * 4) / 4  # an isotonic fit's plateaus
    p = order_preserving(steps, raw)
    assert len(np.unique(p)) == 50 and np.all(np.diff(p) > 0)
    assert np.max(np.abs(p - steps)) <= TIE_BREAK


def test_shipped_ranker_scores_are_not_a_few_fixed_values(concordat, embedder):
    from nlp_tagger.ingest import extract
    from nlp_tagger.match import build_context
    from nlp_tagger.ranker import RankerScorer
    from nlp_tagger.segment import segment

    passages = segment(extract(CHECK / "documents" / "concordat" / "w1-holmbrook-review.md"))
    probs = RankerScorer.load(concordat).predict_proba(build_context(passages, concordat, embedder))
    top = np.sort(probs.max(axis=1))
    claimed = top[top >= 0.3]
    assert len(claimed) >= 20 and len(np.unique(np.round(claimed, 8))) >= 0.9 * len(claimed)


@pytest.mark.parametrize("text, kind", [
    ("We introduced a buddy scheme for new research staff in 2022.", "action"),
    ("Research staff category in VC's Staff Awards | Comms / HR | 2025 | Category added | Added 2025; 2 researchers shortlisted (G)", "outcome"),
    ("Mentoring for new PIs | Dean of Research | Q2 2026 | 30 mentees matched | Not yet started (A)", "not done"),
    ("We will introduce a mentoring scheme for all fixed-term research staff by July 2026.", "plan"),
])
def test_done_is_not_a_plan(text, kind):
    got = classify(text)
    assert got in ("plan", "statement") if kind == "not done" else got == kind


def test_settle_only_lifts_plans():
    assert settle("We introduced a buddy scheme in 2022.", "statement") == "statement"
    assert settle("We introduced a buddy scheme in 2022.", "plan") == "action"
    assert settle("We will introduce a buddy scheme in 2027.", "plan") == "plan"


def test_who_acts_is_a_ranker_feature(concordat):
    from nlp_tagger.match import MatchContext
    from nlp_tagger.ranker import _actor

    leaves = concordat.leaves
    texts = ["PIs released time for their postdocs to attend the programme.", "Look after your wellbeing: you can book a session."]
    ps = [_passage(i, t) for i, t in enumerate(texts)]
    ctx = MatchContext(ps, concordat, leaves, np.zeros((2, 4), np.float32), np.zeros((2, len(leaves)), np.float32))
    f = _actor(ctx)
    col = {l.id: j for j, l in enumerate(leaves)}
    assert f[0, col["PCDM3"], 0] > f[0, col["PCDI1"], 0]  # managers act in the first passage
    assert f[1, :, 2].min() > 0 and f[0, :, 2].max() == 0  # the second speaks to "you"


def test_a_funders_own_pages_are_scoped_to_funders(concordat):
    funder = ("This policy forms part of our grant conditions. When an organisation submits a grant application to us, the lead applicant "
              "must confirm compliance. Our grant holders and host organisations must report any upheld allegation.")
    scope, why = infer_scope(concordat, funder)
    assert scope == ("funders",) and "funder's own" in why
    uni = ("The University's research staff association ran the CEDARS survey; our researchers and our staff at the Institute "
           "took part, and the University's HR Excellence action plan was updated. A research council grant funded one post.")
    scope, why = infer_scope(concordat, uni)
    assert scope == concordat.default_audiences and why.endswith("sure)")


def test_status_scoring_counts_what_an_assessor_reads(concordat):
    from nlp_tagger.labels import GoldPassage, GoldSet

    gold = gold_by_document(GoldSet([
        GoldPassage("a", "concordat-2019", "We launched the bridging fund in 2015.", ("EI6",), evidence_type="action"),
        GoldPassage("a", "concordat-2019", "We will extend mentoring.", ("PCDI4",), evidence_type="plan"),
        GoldPassage("a", "concordat-2019", "Skip to main content", ()),
    ], []), concordat)
    per_doc = {"a": {
        "md": {"EI6": ("planned", True, "We will extend the fund."), "PCDI4": ("strong", True, "We will extend mentoring."),
               "EI1": ("weak", True, "Skip to main content"), "ECF1": ("none", False, "")},
        "pdf": {"EI6": ("strong", True, "We launched the bridging fund in 2015."), "PCDI4": ("none", True, ""),
                "EI1": ("none", True, ""), "ECF1": ("none", False, "")},
    }}
    r = score_statuses(per_doc, gold)
    md, pdf = r["by_format"]["md"], r["by_format"]["pdf"]
    assert md["strong_precision"] == 1.0 and md["weak_precision"] == 0.0 and md["achieved_planned"] == 1
    assert md["quote_right"] == pytest.approx(1 / 3) and md["evidenced_none"] == 0.0
    assert pdf["strong_precision"] == 1.0 and pdf["evidenced_none"] == 0.5 and pdf["achieved_planned"] == 0
    assert r["format_agreement"] == pytest.approx(1 / 4) and r["format_pairs"] == 4


def test_same_passage_survives_format_cuts():
    assert same_passage("Action | Owner | 2025 | Done", ["action owner 2025 done"])
    assert not same_passage("We launched mentoring.", ["the bridging fund opened in 2015"])


def test_one_document_gives_the_same_statuses_in_every_format(concordat, tmp_path):
    """A check-set document rendered as Markdown, text, Word and PDF, checked end to end: the
    statuses agree across formats and the figures are measured, not assumed."""
    from nlp_tagger.labels import load_gold
    from nlp_tagger.ranker import RankerScorer
    from nlp_tagger.status_eval import evaluate_statuses

    stem = "w1-penhallow-web-page"
    gold = load_gold(CHECK / "labelled" / "concordat" / f"{stem}.jsonl", concordat)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / f"{stem}.md").write_bytes((CHECK / "documents" / "concordat" / f"{stem}.md").read_bytes())
    r = evaluate_statuses(gold, concordat, docs, RankerScorer.load(concordat), work_dir=tmp_path / "work")
    assert r["formats"] == ["md", "txt", "docx", "pdf"] and r["documents"] == 1
    assert r["format_agreement"] >= 0.9, r["format_differences"]
    for f in r["formats"]:
        assert r["by_format"][f]["strong_claims"] > 0 and r["by_format"][f]["evidenced"] > 0


def test_evaluate_documents_refuses_a_folder_without_the_documents(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    gold = CHECK / "labelled" / "concordat" / "w1-penhallow-web-page.jsonl"
    res = CliRunner().invoke(app, ["evaluate", "--gold", str(gold), "-f", "concordat-2019", "--documents", str(tmp_path)])
    assert res.exit_code != 0 and "holds none of the labelled documents" in res.output and len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(app, ["evaluate", "--gold", str(gold), "-f", "concordat-2019", "--documents", str(tmp_path / "missing")])
    assert res.exit_code != 0 and "is not a folder" in res.output
    res = CliRunner().invoke(app, ["evaluate", "--gold", str(gold), "-f", "concordat-2019", "--documents", str(CHECK / "documents" / "concordat"),
                                   "--formats", "md,xlsx"])
    assert res.exit_code != 0 and "unknown format 'xlsx'" in res.output and "Traceback" not in res.output


def test_double_labelled_check_set_agrees_and_has_no_training_documents(concordat):
    from nlp_tagger.labels import load_gold
    from nlp_tagger.ranker import RankerScorer

    first = load_gold(CHECK / "labelled" / "concordat", concordat)
    second = load_gold(CHECK / "agreement" / "concordat", concordat)
    assert sorted(first.doc_ids) == sorted(second.doc_ids) and len(first.passages) == len(second.passages)
    assert not set(first.doc_ids) & set(RankerScorer.load(concordat).manifest["training_documents"])
    assert json.loads((CHECK / "labelled" / "concordat" / f"{first.doc_ids[0]}.jsonl").read_text(encoding="utf-8").splitlines()[0])["framework"] == "concordat-2019"


def test_hard_negatives_weigh_more_in_a_second_pass():
    from nlp_tagger.ranker import EvidenceRanker

    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=800) > 1.0).astype(int)
    groups = np.repeat(np.arange(8), 100)
    plain = EvidenceRanker(max_iter=30).fit(X, y, groups=groups)
    hard = EvidenceRanker(max_iter=30, hard_negative_weight=3.0, hard_negative_share=0.05).fit(X, y, groups=groups)
    assert not hasattr(plain, "n_hard_negatives_")
    assert hard.n_hard_negatives_ == pytest.approx(0.05 * (y == 0).sum(), abs=2)
    # the negatives that looked most like evidence score lower once they weigh more
    neg = y == 0
    top = neg & (plain.oof_proba_ >= np.quantile(plain.oof_proba_[neg], 0.95))
    assert hard.predict_proba(X[top])[:, 1].mean() < plain.predict_proba(X[top])[:, 1].mean()



def test_thresholds_are_printed_values_and_decide_as_printed():
    from nlp_tagger.scoring import claimed, fit_thresholds

    rng = np.random.default_rng(1)
    truth = np.zeros((400, 5), bool)
    truth[:120, 0] = True  # 120 passages with evidence, 280 without
    probs = np.clip(rng.normal(0.15, 0.1, size=truth.shape), 0, 1)
    probs[truth] = np.clip(rng.normal(0.6, 0.2, size=truth.sum()), 0, 1)
    t = fit_thresholds(probs, truth)
    assert all(round(v, 2) == v for v in t.values()) and t["strong"] >= t["weak"]
    # a score that prints as the threshold is a claim, in evaluation as in `check`
    assert claimed(np.asarray([t["weak"] - 0.004]), t["weak"])[0] and not claimed(np.asarray([t["weak"] - 0.006]), t["weak"])[0]
    # weighting no-evidence passages up, to their share on real pages, never lowers the bar
    shifted = fit_thresholds(probs, truth, negative_share=0.9)
    assert shifted["weak"] >= t["weak"]
    # a precision target puts `strong` where claims are that often right
    strict = fit_thresholds(probs, truth, strong_precision=0.95)
    pred = claimed(probs, strict["strong"])
    assert (pred & truth).sum() / pred.sum() >= 0.95
