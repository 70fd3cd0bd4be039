"""Two labellers' labels of the same passages: agreement, a consensus set, and the disagreements to
adjudicate.

    python evaluation/double_label.py FIRST SECOND [--framework concordat-2019]
        [--consensus OUT_DIR] [--disagreements OUT.jsonl] [--adjudicated ADJ_DIR]

FIRST and SECOND are JSONL files or folders in the labelled-data format, holding the same passages
(matched by document and text). Prints agreement as the issue tracker reports it: on the top
obligation over passages either labeller calls evidence, over passages both call evidence, at the
principle level, and Cohen's kappa on evidence or not. `--consensus` writes the passages both agree
on (both `[]`, or the same top obligation), with the labels both gave; `--disagreements` the others,
each with both label sets, for a third person to adjudicate; `--adjudicated` reads that person's
decisions back (a folder of JSONL in the same format) and writes consensus plus decisions as one set
beside the consensus folder (`OUT_DIR-adjudicated`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def key(p) -> tuple[str, str]:
    return p.doc_id, " ".join(p.text.split())


def agreement(first, second, fw) -> dict:
    from sklearn.metrics import cohen_kappa_score

    b = {key(p): p for p in second.passages}
    pairs = [(p, b[key(p)]) for p in first.passages if key(p) in b]
    either = [(x, y) for x, y in pairs if x.labels or y.labels]
    both = [(x, y) for x, y in pairs if x.labels and y.labels]

    def top(p):
        return p.labels[0] if p.labels else None

    def root(p):
        return fw.root_of(p.labels[0]) if p.labels else None

    return {
        "passages": len(pairs),
        "either_evidence": len(either),
        "both_evidence": len(both),
        "top_agreement_either": sum(top(x) == top(y) for x, y in either) / max(len(either), 1),
        "top_agreement_both": sum(top(x) == top(y) for x, y in both) / max(len(both), 1),
        "any_overlap_both": sum(bool(set(x.labels) & set(y.labels)) for x, y in both) / max(len(both), 1),
        "principle_agreement_either": sum(root(x) == root(y) for x, y in either) / max(len(either), 1),
        "evidence_kappa": float(cohen_kappa_score([bool(x.labels) for x, _ in pairs], [bool(y.labels) for _, y in pairs])) if pairs else None,
        "type_agreement_both": sum(x.evidence_type == y.evidence_type for x, y in both) / max(len(both), 1),
        "agreed": sum(top(x) == top(y) for x, y in pairs),
    }


def row(p, framework: str, labels, etype, source: str, other=None) -> dict:
    out = {"doc_id": p.doc_id, "framework": framework, "passage": p.text, "labels": list(labels), "label_source": source, "page": p.page, "section": p.section}
    if labels and etype:
        out["evidence_type"] = etype
    if other is not None:
        out["agreement"] = list(other)
    return out


def main() -> None:
    from nlp_tagger import load_framework
    from nlp_tagger.labels import load_gold

    ap = argparse.ArgumentParser()
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    ap.add_argument("--framework", default="concordat-2019")
    ap.add_argument("--consensus", type=Path)
    ap.add_argument("--disagreements", type=Path)
    ap.add_argument("--adjudicated", type=Path)
    args = ap.parse_args()
    fw = load_framework(args.framework)
    first, second = load_gold(args.first, fw), load_gold(args.second, fw)
    a = agreement(first, second, fw)
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in a.items()}, indent=1))
    b = {key(p): p for p in second.passages}
    agreed, disputed = defaultdict(list), []
    for p in first.passages:
        q = b.get(key(p))
        if q is None:
            continue
        if (p.labels[:1] or [None]) == (q.labels[:1] or [None]):
            labels = [p.labels[0]] + [x for x in p.labels[1:] if x in q.labels] if p.labels else []
            agreed[p.doc_id].append(row(p, fw.id, labels, p.evidence_type or q.evidence_type, "consensus", q.labels))
        else:
            disputed.append({**row(p, fw.id, p.labels, p.evidence_type, "annotator"), "labels_first": list(p.labels), "type_first": p.evidence_type,
                             "labels_second": list(q.labels), "type_second": q.evidence_type})
    if args.consensus:
        _write_docs(args.consensus, agreed)
    if args.disagreements:
        args.disagreements.parent.mkdir(parents=True, exist_ok=True)
        args.disagreements.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in disputed), encoding="utf-8")
    if args.adjudicated and args.consensus:
        adj = load_gold(args.adjudicated, fw)
        merged = defaultdict(list, {d: list(rows) for d, rows in agreed.items()})
        for p in adj.passages:
            merged[p.doc_id].append(row(p, fw.id, p.labels, p.evidence_type, "adjudicated"))
        _write_docs(args.consensus.with_name(args.consensus.name + "-adjudicated"), merged)
        print(f"adjudicated set: {sum(map(len, merged.values()))} passages ({len(adj.passages)} adjudicated)")


def _write_docs(folder: Path, docs: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, rows in docs.items():
        (folder / f"{doc_id}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
