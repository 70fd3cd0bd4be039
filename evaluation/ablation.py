"""Ablation of the ranker's feature groups: each group dropped in turn, out of fold by document.

    python evaluation/ablation.py [--framework concordat-2019 iip-lm-model aua-cpd]

Prints a Markdown table per framework (the one in evaluation/results/ablation.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FOLDERS = {"concordat-2019": "concordat", "iip-lm-model": "iip", "aua-cpd": "aua"}
KEYS = ("top1", "recall_at_5", "macro_f1", "principle_top1", "doc_f1")


def main() -> None:
    from nlp_tagger import load_framework
    from nlp_tagger.embed import Embedder
    from nlp_tagger.evaluate import evaluate
    from nlp_tagger.labels import load_gold
    from nlp_tagger.ranker import ALL_GROUPS, RankerScorer

    ap = argparse.ArgumentParser()
    ap.add_argument("--framework", nargs="+", default=list(FOLDERS))
    args = ap.parse_args()
    embedder = Embedder()
    for fid in args.framework:
        fw = load_framework(fid)
        gold = load_gold(ROOT / "corpora" / "labelled" / FOLDERS[fid], fw)
        configs = {"all features": ALL_GROUPS}
        configs.update({f"without {g}": tuple(x for x in ALL_GROUPS if x != g) for g in ALL_GROUPS})
        configs["sim only"] = ("sim",)
        scorers = {name: RankerScorer.factory(fw, groups) for name, groups in configs.items()}
        result = evaluate(gold, fw, scorers, embedder)
        print(f"\n### {fid} ({result['n_passages']} passages, {result['n_documents']} documents)\n")
        print("| features | " + " | ".join(KEYS) + " |")
        print("|---|" + "---|" * len(KEYS))
        for name, m in result["scorers"].items():
            print(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |")


if __name__ == "__main__":
    main()
