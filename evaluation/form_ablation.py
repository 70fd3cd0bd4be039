"""The passage-form features (`form` group in ranker.py) on held-out documents: the Concordat
ranker trained with and without them (cross-fitted, as shipped), scored on the development set
and on any other gold folder given, e.g. a private set of real pages.

    python evaluation/form_ablation.py [--gold DIR ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEYS = ("top1", "recall_at_5", "macro_f1", "principle_top1", "doc_precision", "doc_recall", "doc_f1", "negative_claimed")


def main() -> None:
    from nlp_tagger import load_framework
    from nlp_tagger.embed import Embedder
    from nlp_tagger.evaluate import evaluate
    from nlp_tagger.labels import load_gold
    from nlp_tagger.ranker import ALL_GROUPS, RankerScorer
    from nlp_tagger.train import train_ranker

    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", nargs="*", type=Path, default=[], help="further held-out gold folders")
    args = ap.parse_args()
    fw, emb = load_framework("concordat-2019"), Embedder()
    golds = [("dev", ROOT / "corpora" / "dev" / "labelled" / "concordat")] + [(str(g), g) for g in args.gold]
    variants = [("without form", tuple(g for g in ALL_GROUPS if g != "form")), ("with form", ALL_GROUPS)]
    print("| variant | gold | " + " | ".join(KEYS) + " |")
    print("|---|---|" + "---|" * len(KEYS))
    with tempfile.TemporaryDirectory() as tmp:
        for name, groups in variants:
            t = time.time()
            out = Path(tmp) / name.replace(" ", "-")
            train_ranker(fw, None, out, emb, cv=False, crossfit=True, groups=groups)
            scorer = RankerScorer.load(fw, out)
            for gname, path in golds:
                m = evaluate(load_gold(path, fw), fw, {name: scorer}, emb)["scorers"][name]
                print(f"| {name} | {gname} | " + " | ".join("n/a" if m.get(k) is None else f"{m[k]:.3f}" for k in KEYS) + " |", flush=True)
            print(f"<!-- {name}: trained in {time.time() - t:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
