"""Coverage as JSON (versioned schema), Markdown, CSV and a terminal table."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from . import __version__
from .coverage import principle_summary
from .types import Coverage, Evidence

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).parent / "schema" / "coverage.schema.json"


def _evidence_dict(e: Evidence) -> dict:
    p = e.passage
    return {
        "text": p.text,
        "page": p.page,
        "section": p.section,
        "start": p.start,
        "end": p.end,
        "score": round(e.score, 4),
        "status": e.status,
        "evidence_type": e.evidence_type,
    }


def to_dict(cov: Coverage) -> dict:
    fw, doc = cov.framework, cov.document
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "nlp-tagger", "version": __version__},
        "document": {"doc_id": doc.doc_id, "path": doc.path, "pages": doc.n_pages, "format": doc.source_format, "sha256": doc.content_hash, "passages": cov.n_passages},
        "framework": {"id": fw.id, "name": fw.name, "version": fw.version, "sha256": fw.content_hash},
        "scorer": cov.scorer,
        "thresholds": cov.thresholds,
        "notes": cov.notes,
        "summary": principle_summary(cov),
        "indicators": [
            {
                "id": c.indicator.id,
                "parent": c.indicator.parent,
                "title": c.indicator.title,
                "status": c.status,
                "score": round(c.score, 4),
                "evidence": [_evidence_dict(e) for e in c.evidence],
            }
            for c in cov.indicators
        ],
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
    w.writerow(["indicator", "parent", "title", "status", "score", "rank", "page", "section", "evidence_type", "evidence_score", "text"])
    for c in cov.indicators:
        base = [c.indicator.id, c.indicator.parent or "", c.indicator.title, c.status, f"{c.score:.4f}"]
        if not c.evidence:
            w.writerow(base + ["", "", "", "", "", ""])
        for r, e in enumerate(c.evidence, start=1):
            w.writerow(base + [r, e.passage.page, e.passage.section, e.evidence_type, f"{e.score:.4f}", e.passage.text])
    return buf.getvalue()


def _quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


def to_markdown(cov: Coverage) -> str:
    fw, doc = cov.framework, cov.document
    out = [f"# Coverage of {doc.doc_id} against {fw.name}", ""]
    out.append(f"Document: `{Path(doc.path).name}` ({doc.n_pages} pages, {cov.n_passages} passages). Scorer: `{cov.scorer}` "
               f"(strong \u2265 {cov.thresholds['strong']:.2f}, weak \u2265 {cov.thresholds['weak']:.2f}).")
    out += [f"> {n}" for n in cov.notes]
    out += ["", "## Summary", "", "| principle | evidenced | strong | of |", "|---|---|---|---|"]
    for row in principle_summary(cov):
        out.append(f"| {row['id']} {row['title']} | {row['evidenced']} | {row['strong']} | {row['leaves']} |")
    gaps = [c for c in cov.indicators if c.status == "none" and not fw.children(c.indicator.id)]
    out += ["", f"## No evidence ({len(gaps)})", ""]
    out += [f"- **{c.indicator.id}** {c.indicator.title}" for c in gaps] or ["- none: every indicator has some evidence"]
    out += ["", "## Indicators", ""]
    for c in cov.indicators:
        out.append(f"### {c.indicator.id} {c.indicator.title} \u2014 {c.status} ({c.score:.2f})")
        out.append("")
        for e in c.evidence:
            where = f"p. {e.passage.page}" + (f", {e.passage.section}" if e.passage.section else "")
            out.append(f"- {e.score:.2f} {e.evidence_type} ({where}): \u201c{_quote(e.passage.text)}\u201d")
        if not c.evidence:
            out.append("- no passage reaches the weak threshold")
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


_CONTROL = __import__("re").compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Document and framework text for the terminal: control characters (ANSI and OSC escapes
    start with one) removed, so a submission cannot drive the user's terminal."""
    return _CONTROL.sub("", text)


def print_table(cov: Coverage, console=None, quote_chars: int = 160) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    fw = cov.framework
    colour = {"strong": "green", "weak": "yellow", "none": "red"}
    # every text from a document or framework file is a Text, never parsed as Rich markup
    table = Table(title=Text(terminal_safe(f"{cov.document.doc_id}: {fw.name} ({cov.scorer})")), show_lines=False, expand=True)
    table.add_column("indicator", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("best evidence", ratio=1)
    for c in cov.indicators:
        is_parent = bool(fw.children(c.indicator.id))
        best = c.evidence[0] if c.evidence else None
        quote = f"p.{best.passage.page} [{best.evidence_type}] {_quote(best.passage.text, quote_chars)}" if best else "-"
        label = Text(terminal_safe(f"{c.indicator.id} {c.indicator.title}"), style="bold") if is_parent else Text(terminal_safe(f"  {c.indicator.id}"))
        table.add_row(label, Text(c.status, style=colour[c.status]), f"{c.score:.2f}", Text("" if is_parent else terminal_safe(quote)))
    console.print(table)
    for row in principle_summary(cov):
        console.print(Text(terminal_safe(f"{row['title']}: {row['evidenced']} of {row['leaves']} evidenced ({row['strong']} strongly)")))
    for n in cov.notes:
        console.print(Text(terminal_safe(n), style="dim"))
