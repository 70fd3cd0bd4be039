"""Inter-annotator agreement on a doubly labelled sample (Cohen's kappa).

    python evaluation/agreement.py                       # the training corpus sample
    python evaluation/agreement.py --sample corpora/agreement/dev-concordat-sample-annotator2.jsonl \
        --first corpora/dev/labelled/concordat           # the realistic development set sample

Compares the second annotator's labels (given blind, from the guidelines alone) with the first
annotator's labels of the same passages.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import argparse

    from sklearn.metrics import cohen_kappa_score

    from nlp_tagger import load_framework
    from nlp_tagger.labels import load_gold

    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=Path, default=ROOT / "corpora" / "agreement" / "concordat-sample-annotator2.jsonl")
    ap.add_argument("--first", type=Path, default=ROOT / "corpora" / "labelled" / "concordat")
    ap.add_argument("--framework", default="concordat-2019")
    args = ap.parse_args()
    fw = load_framework(args.framework)
    first = {(g.doc_id, g.text): g for g in load_gold(args.first, fw).passages}
    second = load_gold(args.sample, fw).passages
    pairs = [(first[(g.doc_id, g.text)], g) for g in second]

    def primary(g):
        return g.labels[0] if g.labels else "[]"

    def root(g):
        return fw.root_of(g.labels[0]) if g.labels else "[]"

    a, b = zip(*pairs)
    both_typed = [(x.evidence_type, y.evidence_type) for x, y in pairs if x.evidence_type and y.evidence_type]
    jacc = [len(set(x.labels) & set(y.labels)) / len(set(x.labels) | set(y.labels)) if (x.labels or y.labels) else 1.0 for x, y in pairs]
    any_overlap = sum(bool(set(x.labels) & set(y.labels)) or (not x.labels and not y.labels) for x, y in pairs)
    out = {
        "passages": len(pairs),
        "kappa_obligation_primary": cohen_kappa_score([primary(x) for x in a], [primary(y) for y in b]),
        "kappa_principle_primary": cohen_kappa_score([root(x) for x in a], [root(y) for y in b]),
        "kappa_evidence_or_not": cohen_kappa_score([bool(x.labels) for x in a], [bool(y.labels) for y in b]),
        "kappa_evidence_type": cohen_kappa_score(*zip(*both_typed)) if both_typed else None,
        "evidence_type_pairs": len(both_typed),
        "mean_label_jaccard": sum(jacc) / len(jacc),
        "share_with_a_shared_label": any_overlap / len(pairs),
    }
    for k, v in out.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    main()
