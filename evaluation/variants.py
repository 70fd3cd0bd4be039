"""Ranker variants side by side on every held-out set, in one run: which change lifts real text?

    python evaluation/variants.py [--framework concordat-2019] [--gold NAME=PATH ...] [--encoder tuned|frozen]

Each variant is fitted once on the training corpus (`corpora/labelled/FW/`) and scored on the
development set, the whole-document check set and any further gold folders given (a private set of
real pages, say). The frozen encoder is the default: the fine-tuned one saw the training documents,
and cross-fitting it per variant would take an hour. Variants: the feature groups of the previous
release; with the `actor` group (who acts, who is addressed); and each with hard negatives mined
from the first pass's out-of-fold false positives (weight 3, top 2% of negative pairs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEYS = ("top1", "recall_at_5", "macro_f1", "principle_top1", "doc_precision", "doc_recall", "negative_claimed", "ece")
FOLDERS = {"concordat-2019": "concordat", "iip-lm-model": "iip", "aua-cpd": "aua"}


def main() -> None:
    import numpy as np

    from nlp_tagger import load_framework
    from nlp_tagger.embed import BASE_MODEL, Embedder
    from nlp_tagger.evaluate import gold_matrix, score_metrics
    from nlp_tagger.labels import load_gold
    from nlp_tagger.match import build_context
    from nlp_tagger.ranker import ALL_GROUPS, EvidenceRanker, RankerScorer

    ap = argparse.ArgumentParser()
    ap.add_argument("--framework", default="concordat-2019")
    ap.add_argument("--gold", nargs="*", default=[], help="NAME=PATH of further held-out gold")
    ap.add_argument("--encoder", choices=("tuned", "frozen"), default="frozen")
    ap.add_argument("--quick", action="store_true", help="two variants, the development set only (for the test suite)")
    args = ap.parse_args()
    fw = load_framework(args.framework)
    folder = FOLDERS.get(fw.id, fw.id)
    emb = Embedder() if args.encoder == "tuned" else Embedder(BASE_MODEL)
    train = load_gold(ROOT / "corpora" / "labelled" / folder, fw)
    sets = {"dev": ROOT / "corpora" / "dev" / "labelled" / folder, "check": ROOT / "corpora" / "check" / "labelled" / folder}
    sets.update(dict(g.split("=", 1) for g in args.gold))
    sets = {k: Path(v) for k, v in sets.items() if Path(v).exists()}
    if args.quick:
        sets = {"dev": sets["dev"]}
    before = tuple(g for g in ALL_GROUPS if g != "actor")
    variants = {"previous groups": (before, 1.0), "+ actor": (ALL_GROUPS, 1.0)}
    if not args.quick:
        variants.update({"previous + hard negatives": (before, 3.0), "+ actor + hard negatives": (ALL_GROUPS, 3.0)})
    tctx = build_context([g.as_passage(i) for i, g in enumerate(train.passages)], fw, emb)
    tgm = gold_matrix(train, fw)
    golds = {name: load_gold(path, fw) for name, path in sets.items()}
    ctxs = {name: build_context([g.as_passage(i) for i, g in enumerate(gs.passages)], fw, emb) for name, gs in golds.items()}
    print(f"# Ranker variants: {fw.id}, {args.encoder} encoder, fitted on {len(train.passages)} passages of {len(train.doc_ids)} training documents\n")
    print("| set | variant | " + " | ".join(KEYS) + " |")
    print("|---|---|" + "---|" * len(KEYS))
    for vname, (groups, hn) in variants.items():
        scorer = RankerScorer(fw, groups, EvidenceRanker(hard_negative_weight=hn)).fit(tctx, tgm.truth, tgm.known, tgm.doc_ids)
        for sname, gs in golds.items():
            probs = scorer.predict_proba(ctxs[sname])
            m = score_metrics(probs, gold_matrix(gs, fw), np.full((len(gs.passages), 1), scorer.thresholds["weak"]), [l.id for l in fw.leaves])
            print(f"| {sname} ({len(gs.passages)}) | {vname} | " + " | ".join("n/a" if m[k] is None else f"{m[k]:.3f}" for k in KEYS) + " |", flush=True)


if __name__ == "__main__":
    main()
