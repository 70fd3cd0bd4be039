"""Coverage as JSON (versioned schema), Markdown, CSV and a terminal table."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from . import __version__
from .coverage import gap_indicators, out_of_scope, principle_summary, quoted_passages, shown
from .types import Coverage, IndicatorCoverage

SCHEMA_VERSION = "2.0"
SCHEMA_PATH = Path(__file__).parent / "schema" / "coverage.schema.json"
STATUS_TEXT = {"strong": "strong", "weak": "weak", "planned": "planned only", "none": "no evidence"}


def score_text(x: float) -> str:
    """Scores as the statuses were decided (coverage.shown): two decimals, never contradicting."""
    return f"{shown(x):.2f}"


def legend(cov: Coverage) -> str:
    t = cov.thresholds
    return f"strong \u2265 {score_text(t['strong'])}, weak \u2265 {score_text(t['weak'])}; 'planned only' when the evidence is only intentions"


def scope_text(cov: Coverage) -> str:
    fw = cov.framework
    if not cov.scope:
        return ""
    labels = ", ".join(fw.audiences.get(a, a) for a in cov.scope)
    return f"Scope: {labels} ({cov.scope_reason or 'chosen'}; change it with --audience)"


def passage_ids(cov: Coverage) -> dict[int, str]:
    """Stable names for quoted passages, E1, E2, ... in document order, shared by every output."""
    return {p.index: f"E{n}" for n, (p, _) in enumerate(quoted_passages(cov), start=1)}


def to_dict(cov: Coverage) -> dict:
    fw, doc = cov.framework, cov.document
    pid = passage_ids(cov)
    passages = []
    for p, evs in quoted_passages(cov):
        passages.append({
            "id": pid[p.index], "index": p.index, "text": p.text, "page": p.page, "line": p.line or None, "paragraph": p.para or None,
            "section": p.section, "locator": p.locator(doc.source_format), "start": p.start, "end": p.end,
            "evidence_type": evs[0].evidence_type,
            "indicators": [{"id": e.indicator_id, "score": round(e.score, 4), "status": e.status} for e in evs],
        })
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "nlp-tagger", "version": __version__},
        "document": {"doc_id": doc.doc_id, "path": doc.path, "pages": doc.n_pages, "format": doc.source_format, "sha256": doc.content_hash, "passages": cov.n_passages},
        "framework": {"id": fw.id, "name": fw.name, "version": fw.version, "sha256": fw.content_hash},
        "scope": {"audiences": list(cov.scope), "labels": [fw.audiences.get(a, a) for a in cov.scope], "reason": cov.scope_reason},
        "scorer": cov.scorer,
        "thresholds": cov.thresholds,
        "notes": cov.notes,
        "summary": principle_summary(cov),
        "gaps": [c.indicator.id for c in gap_indicators(cov)],
        "out_of_scope": [c.indicator.id for c in out_of_scope(cov)],
        "indicators": [
            {
                "id": c.indicator.id,
                "parent": c.indicator.parent,
                "title": c.indicator.title,
                "audience": c.indicator.audience or None,
                "in_scope": c.in_scope,
                "status": c.status,
                "strength": c.strength,
                "maturity": c.maturity,
                "score": round(c.score, 4),
                "evidence": [{"passage": pid[e.passage.index], "score": round(e.score, 4), "status": e.status, "evidence_type": e.evidence_type}
                             for e in c.evidence if e.passage.index in pid],
            }
            for c in cov.indicators
        ],
        "passages": passages,
    }


def to_json(cov: Coverage) -> str:
    return json.dumps(to_dict(cov), indent=2, ensure_ascii=False)


def csv_cell(value):
    """A cell a spreadsheet shows as text: one starting with = + - @ or a control character would
    be run as a formula, so it gets a leading apostrophe (the OWASP CSV-injection advice)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, buf):
        self._w = csv.writer(buf)

    def writerow(self, row):
        self._w.writerow([csv_cell(v) for v in row])


def to_csv(cov: Coverage) -> str:
    """One row per (indicator, evidence passage); an indicator with no evidence still has a row."""
    buf = io.StringIO()
    w = _SafeWriter(buf)
    doc = cov.document
    pid = passage_ids(cov)
    w.writerow(["indicator", "parent", "title", "audience", "in_scope", "status", "strength", "maturity", "score", "rank",
                "passage", "locator", "page", "section", "evidence_type", "evidence_score", "text"])
    for c in cov.indicators:
        base = [c.indicator.id, c.indicator.parent or "", c.indicator.title, c.indicator.audience, "yes" if c.in_scope else "no",
                c.status, c.strength, c.maturity or "", score_text(c.score)]
        if not c.evidence:
            w.writerow(base + [""] * 8)
        for r, e in enumerate(c.evidence, start=1):
            p = e.passage
            w.writerow(base + [r, pid.get(p.index, ""), p.locator(doc.source_format), p.page, p.section, e.evidence_type, score_text(e.score), p.text])
    return buf.getvalue()


def _quote(text: str, limit: int | None = None) -> str:
    """A passage on one line; cut only when a limit is given (the terminal), at a word end."""
    text = " ".join(text.split())
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


def _md(text: str) -> str:
    """Document or framework text inside Markdown: no raw HTML, links or emphasis from the input."""
    import re

    return re.sub(r"([\\`*_{}\[\]<>#|!])", r"\\\1", text)


def _leaf_line(c: IndicatorCoverage, pid: dict[int, str]) -> str:
    refs = ", ".join(pid[e.passage.index] for e in c.evidence if e.passage.index in pid)
    what = STATUS_TEXT[c.status] + (f", {c.maturity}" if c.maturity and c.status != "planned" else "")
    tail = f" \u2014 {refs}" if refs else ""
    return f"- **{_md(c.indicator.id)}** {_md(c.indicator.title)}: {what} ({score_text(c.score)}){tail}"


def to_markdown(cov: Coverage) -> str:
    fw, doc = cov.framework, cov.document
    pid = passage_ids(cov)
    by_id = cov.by_id()
    out = [f"# Coverage of {_md(doc.doc_id)} against {_md(fw.name)}", ""]
    out.append(f"Document: `{Path(doc.path).name.replace('`', '')}` ({doc.n_pages} pages, {cov.n_passages} passages). "
               f"Scorer: `{cov.scorer}` ({legend(cov)}).")
    if cov.scope:
        out += ["", scope_text(cov)]
    out += [f"> {_md(n)}" for n in cov.notes]
    out += ["", "## Summary", "", "| principle | evidenced | strong | planned only | with outcomes | in scope |", "|---|---|---|---|---|---|"]
    for row in principle_summary(cov):
        out.append(f"| {_md(row['id'])} {_md(row['title'])} | {row['evidenced']} | {row['strong']} | {row['planned_only']} | {row['outcomes']} | {row['leaves']} |")
    gaps = gap_indicators(cov)
    out += ["", f"## No evidence ({len(gaps)})", ""]
    out += [f"- **{_md(c.indicator.id)}** {_md(c.indicator.title)}" for c in gaps] or ["- none: every indicator in scope has some evidence"]
    planned = [c for c in cov.indicators if c.status == "planned" and c.in_scope and not fw.children(c.indicator.id)]
    if planned:
        out += ["", f"## Planned only ({len(planned)}): say what has been achieved", ""]
        out += [_leaf_line(c, pid) for c in planned]
    out += ["", "## Indicators", ""]
    for root in fw.roots:
        r = by_id[root.id]
        out.append(f"### {_md(root.id)} {_md(root.title)}")
        out.append("")
        leaves = [l for l in fw.leaves if l.id == root.id or root.id in fw.ancestors(l.id)]
        out += [_leaf_line(by_id[l.id], pid) for l in leaves if by_id[l.id].in_scope] or [f"- {STATUS_TEXT[r.status]}"]
        out.append("")
    outside = out_of_scope(cov)
    if outside:
        audiences = sorted({fw.audiences.get(c.indicator.audience, c.indicator.audience) for c in outside})
        out += [f"## Out of scope ({len(outside)}): for {_md(', '.join(audiences).lower())}", "",
                "Not counted and not gaps: these ask for what another party does.", ""]
        out += [f"- **{_md(c.indicator.id)}** {_md(c.indicator.title)}" for c in outside]
        out.append("")
    out += ["## Evidence", "", "Each passage once, with every indicator it evidences.", ""]
    for p, evs in quoted_passages(cov):
        inds = ", ".join(f"{_md(e.indicator_id)} {e.status} {score_text(e.score)}" for e in evs)
        out.append(f"**{pid[p.index]}** ({_md(p.locator(doc.source_format))}; {evs[0].evidence_type}) \u2192 {inds}")
        out.append("")
        out.append(f"> {_md(_quote(p.text))}")
        out.append("")
    return "\n".join(out)


def write_all(cov: Coverage, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{cov.document.doc_id}.{cov.framework.id}"
    paths = {"json": out_dir / f"{stem}.json", "md": out_dir / f"{stem}.md", "csv": out_dir / f"{stem}.csv"}
    paths["json"].write_text(to_json(cov), encoding="utf-8")
    paths["md"].write_text(to_markdown(cov), encoding="utf-8")
    paths["csv"].write_text(to_csv(cov), encoding="utf-8", newline="")
    return paths


# control characters (ANSI and OSC escapes start with one) and bidi overrides, which reorder what is shown
_CONTROL = __import__("re").compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Document and framework text for the terminal: control characters and bidi overrides
    removed, so a submission cannot drive the user's terminal or disguise what it shows."""
    return _CONTROL.sub("", text)


def print_table(cov: Coverage, console=None) -> None:
    """One line per indicator, grouped by principle, the quote cut to the terminal's width; the
    full quotes live in the report files."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    fw, doc = cov.framework, cov.document
    by_id = cov.by_id()
    colour = {"strong": "green", "weak": "yellow", "planned": "magenta", "none": "red"}
    # every text from a document or framework file is a Text, never parsed as Rich markup
    console.print(Text(terminal_safe(f"{doc.doc_id}: {fw.name} ({cov.scorer}; {legend(cov)})"), style="bold"))
    if cov.scope:
        console.print(Text(terminal_safe(scope_text(cov)), style="dim"))
    table = Table(show_lines=False, expand=True, box=None, pad_edge=False)
    for name, kw in (("", {}), ("status", {}), ("evidence", {}), ("score", {"justify": "right"}), ("where", {}), ("best passage", {"ratio": 1, "min_width": 20})):
        table.add_column(name, no_wrap=True, overflow="ellipsis", **kw)
    for root in fw.roots:
        r = by_id[root.id]
        table.add_row(Text(terminal_safe(root.id), style="bold"), Text(STATUS_TEXT[r.status], style=colour[r.status]), "", "", "",
                      Text(terminal_safe(root.title), style="bold"))
        for leaf in fw.leaves:
            c = by_id[leaf.id]
            if not c.in_scope or not (leaf.id == root.id or root.id in fw.ancestors(leaf.id)):
                continue
            best = c.evidence[0] if c.evidence else None
            table.add_row(
                Text(terminal_safe(f" {leaf.id}")), Text(STATUS_TEXT[c.status], style=colour[c.status]),
                Text(c.maturity or "-"), score_text(c.score),
                Text(terminal_safe(best.passage.locator(doc.source_format)) if best else "-"),
                Text(terminal_safe(_quote(best.passage.text)) if best else terminal_safe(leaf.title), style="" if best else "dim"),
            )
    console.print(table)
    for row in principle_summary(cov):
        console.print(Text(terminal_safe(f"{row['title']}: {row['evidenced']} of {row['leaves']} evidenced ({row['strong']} strongly, "
                                         f"{row['planned_only']} planned only)")))
    outside = out_of_scope(cov)
    if outside:
        console.print(Text(terminal_safe(f"Out of scope, not gaps: {', '.join(c.indicator.id for c in outside)}"), style="dim"))
    for n in cov.notes:
        console.print(Text(terminal_safe(n), style="dim"))
