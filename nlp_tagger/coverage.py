"""Stage 5: matches become evidence, and evidence becomes coverage per indicator.

A leaf's status comes from its best passage; a parent (a principle, an L&M indicator) takes the
best of its own in-scope children's statuses, so the summary by principle counts evidenced
obligations. A leaf whose evidence is only intentions is "planned", apart from strong and weak:
HREiR reviewers ask what was achieved, not what is meant to be.
"""

from __future__ import annotations

import re
from collections import defaultdict

from .evidence_type import classify
from .types import Coverage, Document, Evidence, Framework, IndicatorCoverage, Match, Maturity, Passage, Status

STATUS_ORDER = {"none": 0, "planned": 1, "weak": 2, "strong": 3}
# evidence types from furthest to least far along: the furthest present is an indicator's maturity
MATURITY_OF_TYPE: dict[str, Maturity] = {"outcome": "outcomes", "action": "actions", "plan": "plans", "statement": "statements"}
MATURITY_ORDER: tuple[Maturity, ...] = ("outcomes", "actions", "plans", "statements")
SCORE_DECIMALS = 2  # scores are printed with two decimals, so statuses are decided on those digits


def shown(x: float) -> float:
    """A score or threshold as every report prints it."""
    return round(float(x) + 1e-9, SCORE_DECIMALS)


def status_for(score: float, thresholds: dict[str, float]) -> Status:
    """Strength from the score, compared as printed: a report never shows 0.57 beside "weak"
    under a legend that says "strong \u2265 0.57"."""
    if shown(score) >= shown(thresholds["strong"]):
        return "strong"
    if shown(score) >= shown(thresholds["weak"]):
        return "weak"
    return "none"


def maturity_of(evidence: list[Evidence]) -> Maturity | None:
    kinds = {MATURITY_OF_TYPE.get(e.evidence_type, "statements") for e in evidence}
    return next((m for m in MATURITY_ORDER if m in kinds), None)


ACHIEVED_TYPES = ("outcome", "action")


def quote_order(evidence: list[Evidence]) -> list[Evidence]:
    """The submitter's own outcomes and actions first, then plans and statements, each by score:
    an assessor asks what was done before what is meant."""
    return sorted(evidence, key=lambda e: (e.evidence_type not in ACHIEVED_TYPES, -e.score))


def in_scope(framework: Framework, indicator_id: str, scope: tuple[str, ...]) -> bool:
    audience = framework.get(indicator_id).audience
    return not scope or not audience or audience in scope


_FUNDER_CUES = re.compile(
    r"\b(?:as a (?:research )?funder|we (?:fund|funded|award)|our (?:funding|grants?|awards?|award holders|grant holders|grant conditions|"
    r"terms and conditions|funded researchers|fellows)|grant[- ]?holders?|award[- ]holders?|funded researchers|funding (?:body|bodies|agency|council|landscape|policy)|"
    r"research councils?|grant (?:conditions|applications?|terms|funding)|(?:lead )?applicants?|host (?:organisations?|institutions?)|"
    r"research organisations (?:we fund|must|should|that we fund)|[a-z]+-funded (?:activities|research|researchers)|(?:funder|funders') action plan)\b", re.I)
_INSTITUTION_CUES = re.compile(
    r"\b(?:university|universities|institution|college|institute|school of|faculty|our (?:staff|researchers|research staff|postdocs)|"
    r"research staff association|cedars|hr excellence)\b", re.I)


def infer_scope(framework: Framework, text: str) -> tuple[tuple[str, ...], str]:
    """The audiences a document speaks for, and why, with how sure the reading is. A funder's own
    document (its grant conditions, policies for grant holders, its Concordat action plan) is
    scoped to funders' obligations; anything else to the framework's default (for the Concordat:
    institutions, managers and researchers, which is what a university's HREiR report answers for)."""
    if not framework.audiences:
        return (), ""
    funder, inst = len(_FUNDER_CUES.findall(text)), len(_INSTITUTION_CUES.findall(text))
    counts = f"{funder} funder phrases, {inst} institutional"
    if "funders" in framework.audiences and funder >= 2 and funder > inst:
        sure = "sure" if funder >= 5 and funder >= 2 * inst else "not sure"
        return ("funders",), f"inferred: the document reads as a funder's own ({counts}; {sure}: pass --audience to change it)"
    sure = "sure" if funder <= max(inst / 2, 1) else "not sure"
    return framework.default_audiences, f"inferred: the document reads as an organisation's own report ({counts}; {sure})"


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
    scope: tuple[str, ...] | None = None,
    scope_reason: str = "",
) -> Coverage:
    """`types` gives each passage's evidence type by passage index (the trained classifier's);
    passages missing from it are typed by the cue rules. `scope` is the audiences in scope
    (None: inferred from the document; (): every indicator)."""
    if scope is None:
        scope, scope_reason = infer_scope(framework, document.text)
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
        strength = status_for(best, thresholds)
        # maturity from every passage above `weak`, not only the quoted ones: an achievement that
        # scores below three "aims to" sentences still makes the indicator achieved, not planned
        found = [evidence_of(m) for m in ms if status_for(m.score, thresholds) != "none"]
        maturity = maturity_of(found)
        status: Status = "planned" if maturity == "plans" else strength
        evidence = quote_order(found)[:top_k]
        result[leaf.id] = IndicatorCoverage(leaf, status, best, evidence, ms[0].passage if ms else None,
                                            maturity=maturity, strength=strength, in_scope=in_scope(framework, leaf.id, scope))

    def resolve(ind_id: str) -> IndicatorCoverage:
        if ind_id in result:
            return result[ind_id]
        ind = framework.get(ind_id)
        kids = [resolve(c.id) for c in framework.children(ind_id)]
        scoped = [c for c in kids if c.in_scope] or kids
        best = max(scoped, key=lambda c: (STATUS_ORDER[c.status], c.score))
        # a parent quotes nothing of its own: its children's passages are listed under them once
        result[ind_id] = IndicatorCoverage(ind, best.status, best.score, [], best.nearest, maturity=best.maturity,
                                           strength=best.strength, in_scope=any(c.in_scope for c in kids))
        return result[ind_id]

    ordered = [resolve(i.id) for i in framework.indicators]
    return Coverage(document, framework, scorer, ordered, n_passages, dict(thresholds), list(notes or []), list(passages or []),
                    scope=tuple(scope), scope_reason=scope_reason)


def gap_indicators(coverage: Coverage) -> list[IndicatorCoverage]:
    """In-scope leaves with no evidence at all: what a writer still has to write about."""
    fw = coverage.framework
    return [c for c in coverage.indicators if c.status == "none" and c.in_scope and not fw.children(c.indicator.id)]


def out_of_scope(coverage: Coverage) -> list[IndicatorCoverage]:
    """Leaves for an audience the document does not speak for: listed apart, never as gaps."""
    fw = coverage.framework
    return [c for c in coverage.indicators if not c.in_scope and not fw.children(c.indicator.id)]


def quoted_passages(coverage: Coverage) -> list[tuple[Passage, list[Evidence]]]:
    """Each quoted passage once, in document order, with every leaf it evidences (best first)."""
    fw = coverage.framework
    by_passage: dict[int, list[Evidence]] = defaultdict(list)
    passage_of: dict[int, Passage] = {}
    for c in coverage.indicators:
        if fw.children(c.indicator.id) or not c.in_scope:
            continue
        for e in c.evidence:
            by_passage[e.passage.index].append(e)
            passage_of[e.passage.index] = e.passage
    return [(passage_of[i], sorted(by_passage[i], key=lambda e: -e.score)) for i in sorted(by_passage)]


def principle_summary(coverage: Coverage) -> list[dict]:
    """Per top-level indicator: how many of its leaves are evidenced (strong or weak) and strongly."""
    fw = coverage.framework
    by_id = coverage.by_id()
    rows = []
    for root in fw.roots:
        leaves = [l for l in fw.leaves if (l.id == root.id or root.id in fw.ancestors(l.id)) and by_id[l.id].in_scope]
        statuses = [by_id[l.id].status for l in leaves]
        rows.append(
            {
                "id": root.id,
                "title": root.title,
                "leaves": len(leaves),
                "evidenced": sum(s in ("strong", "weak") for s in statuses),
                "strong": sum(s == "strong" for s in statuses),
                "planned_only": sum(s == "planned" for s in statuses),
                "outcomes": sum(by_id[l.id].maturity == "outcomes" and by_id[l.id].status != "none" for l in leaves),
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
