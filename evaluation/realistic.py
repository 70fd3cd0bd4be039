"""Held-out figures: the realistic development set, the training corpus out of fold, and
leave-one-genre-out, in one run, every scorer side by side.

    python evaluation/realistic.py [--framework concordat-2019 iip-lm-model aua-cpd] [--no-genres]
        [--out evaluation/results/realistic.md]

- **dev**: `corpora/dev/labelled/FW/` is written by other writers about other institutions and is
  never trained on; so is **check**, `corpora/check/labelled/FW/`, the whole-document check set. The shipped ranker and encoder are applied as they are; everything else that
  learns (a baseline's calibration, the rankers on the frozen encoder) is fitted on the training
  corpus `corpora/labelled/FW/`.
- **train (out of fold)**: the training corpus, 5 folds grouped by document, on the frozen base
  encoder (the fine-tuned encoder saw these documents, so its figures here would flatter it).
- **leave one genre out**: each genre of the training corpus in turn is scored by a ranker
  fitted on the other genres (frozen encoder, for the same reason).
Prints Markdown; `--out` also writes it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FOLDERS = {"concordat-2019": "concordat", "iip-lm-model": "iip", "aua-cpd": "aua"}
KEYS = ("top1", "recall_at_5", "macro_f1", "principle_top1", "principle_recall_at_5", "doc_precision", "doc_recall", "doc_f1", "negative_claimed", "ece")
GENRES = ("action-plan", "review", "gap-analysis", "web-page", "news", "committee-paper", "staff-association-report", "annual-report",
          "funder-report", "case-study", "evidence-writeup", "assessor-report", "portfolio", "blog")
# the first corpus's documents, whose names do not end in a genre
LEGACY_GENRES = {
    "c1-brackenfield-hreir-review": "review", "c1-ukrf-funder-concordat-report": "funder-report",
    "c2-faculty-of-life-sciences-researcher-development": "annual-report", "c2-halloran-hreir-8-year-review": "review",
    "c2-wexcombe-annual-concordat-report": "annual-report", "c3-carrow-trust-funder-report": "funder-report",
    "c4-glenavon-university-annual-statement": "annual-report", "c4-kingsreach-research-culture-progress": "review",
    "c4-redmarsh-gap-analysis-table": "gap-analysis", "uol-hreir-12-year-summary": "review",
    "i1-brightpath-charity-lm-review": "review", "i1-ferrocast-engineering-lm-report": "assessor-report",
    "i1-kestrel-housing-lm-evidence": "evidence-writeup", "i1-northvale-nhs-trust-lm-submission": "evidence-writeup",
    "iip-leadership-management-award-research": "review", "a1-elmbridge-moe-submission-by-behaviour": "case-study",
    "a1-moorfield-mark-of-excellence-case-study": "case-study", "a1-northgate-college-professional-services-review": "review",
    "a1-registry-team-cpd-portfolio": "portfolio", "aua-mark-of-excellence-case-study-ljmu": "case-study",
}


def genre_of(doc_id: str) -> str:
    for g in sorted(GENRES, key=len, reverse=True):
        if doc_id.endswith(g):
            return g
    return LEGACY_GENRES.get(doc_id, "other")


def fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def table(title: str, result: dict) -> list[str]:
    names = list(result["scorers"])
    out = [f"#### {title}", "", f"{result['n_passages']} passages ({result['n_positive_passages']} with evidence), {result['n_documents']} documents.", "",
           "| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for k in KEYS:
        out.append(f"| {k} | " + " | ".join(fmt(result["scorers"][n].get(k)) for n in names) + " |")
    return out + [""]


def main() -> None:
    from nlp_tagger import load_framework
    from nlp_tagger.baselines import BM25Baseline, TfidfBaseline
    from nlp_tagger.embed import BASE_MODEL, Embedder
    from nlp_tagger.evaluate import evaluate
    from nlp_tagger.labels import GoldSet, load_gold
    from nlp_tagger.ranker import RankerScorer, has_model
    from nlp_tagger.scoring import EmbeddingBaseline, SimilarityScorer

    ap = argparse.ArgumentParser()
    ap.add_argument("--framework", nargs="+", default=list(FOLDERS))
    ap.add_argument("--no-genres", action="store_true", help="skip leave-one-genre-out")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    tuned, frozen = Embedder(), Embedder(BASE_MODEL)
    lines = ["# Held-out evaluation", "", f"Command: `python evaluation/realistic.py {' '.join(sys.argv[1:])}`", "",
             f"Run-time encoder: `{tuned.cache_key}`; frozen encoder: `{frozen.cache_key}`.", ""]
    t0 = time.time()
    for fid in args.framework:
        fw = load_framework(fid)
        train = load_gold(ROOT / "corpora" / "labelled" / FOLDERS[fid], fw)
        lines += [f"## {fid}", ""]
        held_out = {"dev set (never trained on; fitted parts fitted on the {n} training documents)": ROOT / "corpora" / "dev" / "labelled" / FOLDERS[fid],
                    "whole-document check set (other writers; never trained on; fitted parts fitted on the {n} training documents)":
                        ROOT / "corpora" / "check" / "labelled" / FOLDERS[fid]}
        for title, dev_path in held_out.items():
            if not dev_path.exists():
                continue
            dev = load_gold(dev_path, fw)
            scorers = {}
            if has_model(fw):
                scorers["ranker"] = RankerScorer.load(fw)
            scorers["ranker@frozen"] = (RankerScorer.factory(fw), frozen)
            scorers["similarity"] = SimilarityScorer()
            scorers.update({"embedding": EmbeddingBaseline, "embedding@frozen": (EmbeddingBaseline, frozen), "tfidf": TfidfBaseline, "bm25": BM25Baseline})
            r = evaluate(dev, fw, scorers, tuned, train=train)
            lines += table(title.format(n=len(train.doc_ids)), r)
        r = evaluate(train, fw, {"ranker@frozen": RankerScorer.factory(fw), "embedding@frozen": EmbeddingBaseline, "tfidf": TfidfBaseline, "bm25": BM25Baseline}, frozen)
        lines += table("training corpus, out of fold (5 folds by document, frozen encoder)", r)
        if not args.no_genres:
            genres = sorted({genre_of(d) for d in train.doc_ids})
            rows = ["#### leave one genre out (training corpus, frozen encoder; ranker fitted on the other genres)", "",
                    "| genre | documents | passages | ranker top-1 | ranker macro F1 | ranker principle top-1 | embedding top-1 | tfidf macro F1 |", "|---|---|---|---|---|---|---|---|"]
            for g in genres:
                test = GoldSet([p for p in train.passages if genre_of(p.doc_id) == g], train.files)
                rest = GoldSet([p for p in train.passages if genre_of(p.doc_id) != g], train.files)
                if len({p.doc_id for p in rest.passages}) < 2:
                    continue
                try:
                    r = evaluate(test, fw, {"ranker": RankerScorer.factory(fw), "embedding": EmbeddingBaseline, "tfidf": TfidfBaseline}, frozen, train=rest)
                except Exception as exc:  # a genre whose labels cannot be scored at leaf level is reported, not fatal
                    rows.append(f"| {g} | {len(test.doc_ids)} | {len(test.passages)} | {type(exc).__name__} | | | | |")
                    continue
                s = r["scorers"]
                rows.append(f"| {g} | {len(test.doc_ids)} | {len(test.passages)} | {fmt(s['ranker']['top1'])} | {fmt(s['ranker']['macro_f1'])} | "
                            f"{fmt(s['ranker']['principle_top1'])} | {fmt(s['embedding']['top1'])} | {fmt(s['tfidf']['macro_f1'])} |")
            lines += rows + [""]
    lines.append(f"Run time {time.time() - t0:.0f} s on {__import__('os').cpu_count()} cores.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
