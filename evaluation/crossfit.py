"""What cross-fitting and realistic thresholds do: the ranker on the fine-tuned encoder trained
three ways, scored on the development set in one run.

    python evaluation/crossfit.py [--framework concordat-2019 iip-lm-model aua-cpd] [--gold DIR]

- `plain`: features of the training passages from the encoder that was fine-tuned on them;
- `crossfit`: each training passage's features from the half-corpus encoder that did not see its
  document (`train.crossfit_views`; the two encoders are trained on first use, about 15 minutes);
- `crossfit + realistic thresholds`: as shipped, thresholds chosen on the `r1`/`r2` documents.
`--gold` scores another labelled folder instead of the development set (e.g. real documents kept
outside the repository).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FOLDERS = {"concordat-2019": "concordat", "iip-lm-model": "iip", "aua-cpd": "aua"}
KEYS = ("top1", "recall_at_5", "macro_f1", "principle_top1", "doc_precision", "doc_recall", "negative_claimed")


def main() -> None:
    from nlp_tagger import load_framework
    from nlp_tagger.embed import Embedder
    from nlp_tagger.evaluate import evaluate, gold_matrix
    from nlp_tagger.labels import load_gold
    from nlp_tagger.match import build_context
    from nlp_tagger.ranker import RankerScorer
    from nlp_tagger.train import crossfit_views, realistic_documents

    ap = argparse.ArgumentParser()
    ap.add_argument("--framework", nargs="+", default=list(FOLDERS))
    ap.add_argument("--gold", type=Path, help="labelled folder to score (default: the development set)")
    args = ap.parse_args()
    emb = Embedder("tuned")
    print(f"encoder `{emb.cache_key}`\n")
    for fid in args.framework:
        fw = load_framework(fid)
        train = load_gold(ROOT / "corpora" / "labelled" / FOLDERS[fid], fw)
        ctx = build_context([g.as_passage(i) for i, g in enumerate(train.passages)], fw, emb)
        gm = gold_matrix(train, fw)
        views, view_of = crossfit_views(train, fw, emb)
        fit = lambda **kw: RankerScorer(fw).fit(ctx, gm.truth, gm.known, gm.doc_ids, **kw)  # noqa: E731
        scorers = {
            "plain": fit(),
            "crossfit": fit(views=views, view_of=view_of),
            "crossfit + realistic thresholds": fit(views=views, view_of=view_of, threshold_docs=realistic_documents(train.doc_ids)),
        }
        gold = load_gold(args.gold or ROOT / "corpora" / "dev" / "labelled" / FOLDERS[fid], fw)
        r = evaluate(gold, fw, scorers, emb)
        print(f"## {fid}: {r['n_passages']} passages, {r['n_documents']} documents\n")
        print("| ranker trained | weak threshold | " + " | ".join(KEYS) + " |")
        print("|---|---|" + "---|" * len(KEYS))
        for name, s in r["scorers"].items():
            print(f"| {name} | {scorers[name].thresholds['weak']:.3f} | " + " | ".join("n/a" if s[k] is None else f"{s[k]:.3f}" for k in KEYS) + " |")
        print()


if __name__ == "__main__":
    main()
