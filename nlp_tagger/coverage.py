"""Stage 5: matches become evidence, and evidence becomes coverage per indicator.

A leaf's status comes from its best passage; a parent (a principle, an L&M indicator) takes the
best of its own children's statuses, so the summary by principle counts evidenced obligations.
"""

from __future__ import annotations

from collections import defaultdict

from .evidence_type import classify
from .types import Coverage, Document, Evidence, Framework, IndicatorCoverage, Match, Status

STATUS_ORDER = {"none": 0, "weak": 1, "strong": 2}


def status_for(score: float, thresholds: dict[str, float]) -> Status:
    if score >= thresholds["strong"]:
        return "strong"
    if score >= thresholds["weak"]:
        return "weak"
    return "none"


def build_coverage(
    document: Document,
    framework: Framework,
    matches: list[Match],
    n_passages: int,
    scorer: str,
    thresholds: dict[str, float],
    top_k: int = 3,
    notes: list[str] | None = None,
    types: dict[int, str] | None = None,
    passages: list | None = None,
) -> Coverage:
    """`types` gives each passage's evidence type by passage index (the trained classifier's);
    passages missing from it are typed by the cue rules."""
    per_leaf: dict[str, list[Match]] = defaultdict(list)
    for m in matches:
        per_leaf[m.indicator_id].append(m)

    result: dict[str, IndicatorCoverage] = {}
    types = dict(types or {})

    def evidence_of(m: Match) -> Evidence:
        if m.passage.index not in types:
            types[m.passage.index] = classify(m.passage.text)
        return Evidence(m.indicator_id, m.passage, m.score, status_for(m.score, thresholds), types[m.passage.index])

    for leaf in framework.leaves:
        ms = sorted(per_leaf.get(leaf.id, []), key=lambda m: -m.score)
        best = ms[0].score if ms else 0.0
        evidence = [evidence_of(m) for m in ms if m.score >= thresholds["weak"]][:top_k]
        result[leaf.id] = IndicatorCoverage(leaf, status_for(best, thresholds), best, evidence, ms[0].passage if ms else None)

    def resolve(ind_id: str) -> IndicatorCoverage:
        if ind_id in result:
            return result[ind_id]
        ind = framework.get(ind_id)
        kids = [resolve(c.id) for c in framework.children(ind_id)]
        best = max(kids, key=lambda c: (STATUS_ORDER[c.status], c.score))
        pooled = sorted((e for c in kids for e in c.evidence), key=lambda e: -e.score)
        seen, evidence = set(), []
        for e in pooled:
            if e.passage.index not in seen:
                seen.add(e.passage.index)
                evidence.append(e)
        result[ind_id] = IndicatorCoverage(ind, best.status, best.score, evidence[:top_k], best.nearest)
        return result[ind_id]

    ordered = [resolve(i.id) for i in framework.indicators]
    return Coverage(document, framework, scorer, ordered, n_passages, dict(thresholds), list(notes or []), list(passages or []))


def principle_summary(coverage: Coverage) -> list[dict]:
    """Per top-level indicator: how many of its leaves are evidenced (strong or weak) and strongly."""
    fw = coverage.framework
    by_id = coverage.by_id()
    rows = []
    for root in fw.roots:
        leaves = [l for l in fw.leaves if l.id == root.id or root.id in fw.ancestors(l.id)]
        statuses = [by_id[l.id].status for l in leaves]
        rows.append(
            {
                "id": root.id,
                "title": root.title,
                "leaves": len(leaves),
                "evidenced": sum(s != "none" for s in statuses),
                "strong": sum(s == "strong" for s in statuses),
            }
        )
    return rows


def compare_coverage(before: Coverage, after: Coverage) -> dict:
    """Indicators whose status rose or fell between two drafts, and the totals."""
    b, a = before.by_id(), after.by_id()
    leaves = before.framework.leaves
    gained, lost = [], []
    for l in leaves:
        sb, sa = b[l.id].status, a[l.id].status
        row = {"id": l.id, "title": l.title, "before": sb, "after": sa, "score_before": round(b[l.id].score, 4), "score_after": round(a[l.id].score, 4)}
        if STATUS_ORDER[sa] > STATUS_ORDER[sb]:
            gained.append(row)
        elif STATUS_ORDER[sa] < STATUS_ORDER[sb]:
            lost.append(row)

    def count(cov: dict, want: tuple) -> int:
        return sum(cov[l.id].status in want for l in leaves)

    return {
        "framework": before.framework.id,
        "leaves": len(leaves),
        "evidenced_before": count(b, ("weak", "strong")),
        "evidenced_after": count(a, ("weak", "strong")),
        "strong_before": count(b, ("strong",)),
        "strong_after": count(a, ("strong",)),
        "gained": gained,
        "lost": lost,
    }
