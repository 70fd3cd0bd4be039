"""What the assessor sees, measured: the statuses `check` reports on whole documents, against gold.

Passage metrics say how well passages are ranked; an assessor reads statuses. Each labelled
document is rendered to every format a submission arrives in (Markdown, plain text, Word, PDF),
checked end to end as a user would, and its per-obligation statuses are compared with the gold:

- `strong_precision` / `weak_precision`: claims whose obligation the gold evidences anywhere in
  the document; `quote_right`: claims whose first quote is a passage the gold labels with it;
- `evidenced_none`: of the (document, obligation) pairs the gold evidences, the share reported
  `none` (only in-scope obligations count: out-of-scope ones are never claimed or missed);
- `achieved_planned`: obligations the gold shows achieved (an outcome or action) reported
  `planned` ("planned only" hides an achievement);
- `format_agreement`: the share of (document, obligation) pairs with the same status in every
  format, and the pairs that differ.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabelError
from .labels import GoldSet
from .types import Block, Coverage, Framework

FORMATS = ("md", "txt", "docx", "pdf")
ACHIEVED_TYPES = ("outcome", "action")
_NORM = re.compile(r"[^a-z0-9]+")


@dataclass
class DocGold:
    evidenced: set[str] = field(default_factory=set)
    achieved: set[str] = field(default_factory=set)
    texts: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # leaf -> normalised passages


def _norm(text: str) -> str:
    return _NORM.sub(" ", text.lower()).strip()


def gold_by_document(gold: GoldSet, framework: Framework) -> dict[str, DocGold]:
    """Per document: the leaves evidenced anywhere, those with achieved evidence, and their passages."""
    leaves = {l.id for l in framework.leaves}
    out: dict[str, DocGold] = defaultdict(DocGold)
    for g in gold.passages:
        d = out[g.doc_id]
        for lab in g.labels:
            if lab in leaves:
                d.evidenced.add(lab)
                d.texts[lab].append(_norm(g.text))
                if g.evidence_type in ACHIEVED_TYPES:
                    d.achieved.add(lab)
    return dict(out)


def same_passage(quote: str, gold_texts: list[str]) -> bool:
    """A quote is a gold passage when one holds the other or they share most words: formats cut
    passages slightly differently (a PDF line join, a table row's separators)."""
    q = _norm(quote)
    qw = set(q.split())
    for t in gold_texts:
        if q and t and (q in t or t in q):
            return True
        tw = set(t.split())
        if qw and tw and len(qw & tw) / len(qw | tw) >= 0.6:
            return True
    return False


def render_txt(blocks: list[Block], out: Path) -> Path:
    """Plain text as a writer saves it from Word: headings and paragraphs on lines of their own,
    bullets with a dash, table rows tab-separated, a blank line between blocks."""
    lines = []
    for b in blocks:
        if b.kind == "list_item":
            lines.append(f"- {b.text}")
        elif b.kind == "table_row":
            lines.append("\t".join(c.strip() for c in b.text.split(" | ")))
        else:
            lines.append(b.text)
        lines.append("")
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def render_formats(source: Path, out_dir: Path, formats=FORMATS) -> dict[str, Path]:
    """The document as each format, from its blocks as the tool reads them (so every format holds
    the same text). The source itself stands for its own format."""
    from .ingest import extract
    from .render import render_docx, render_pdf

    if "pdf" in formats:
        try:
            import reportlab  # noqa: F401  (renders the PDFs; a test extra)
        except ImportError:
            raise LabelError(source, "cannot be rendered as PDF: reportlab is not installed", "pip install reportlab, or pass --formats md,txt,docx") from None
    doc = extract(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    own = source.suffix.lower().lstrip(".").replace("markdown", "md")
    for f in formats:
        target = out_dir / f"{source.stem}.{f}"
        if f == own:
            paths[f] = source
        elif f == "txt":
            paths[f] = render_txt(doc.blocks, target)
        elif f == "docx":
            paths[f] = render_docx(doc, target)
        elif f == "pdf":
            paths[f] = render_pdf(doc, target, header=source.stem)
        elif f == "md":
            continue  # only a Markdown source is checked as Markdown
    return paths


def _statuses(cov: Coverage) -> dict[str, tuple[str, bool, str]]:
    """Per leaf: (status, in scope, first quote)."""
    fw = cov.framework
    return {c.indicator.id: (c.status, c.in_scope, c.evidence[0].passage.text if c.evidence else "")
            for c in cov.indicators if not fw.children(c.indicator.id)}


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score_statuses(per_doc: dict[str, dict[str, dict]], gold: dict[str, DocGold]) -> dict:
    """Status-level figures from `per_doc[doc][format][leaf] = (status, in_scope, quote)`."""
    by_format: dict[str, dict] = {}
    formats = sorted({f for d in per_doc.values() for f in d}, key=lambda f: FORMATS.index(f) if f in FORMATS else 99)
    for f in formats:
        c = defaultdict(int)
        wrong, planned_hidden, missed = [], [], []
        for doc, fmts in per_doc.items():
            if f not in fmts:
                continue
            g = gold.get(doc, DocGold())
            for leaf, (status, scoped, quote) in fmts[f].items():
                if not scoped:
                    c["out_of_scope_evidenced"] += leaf in g.evidenced
                    continue
                if status in ("strong", "weak", "planned"):
                    c[f"{status}_claims"] += 1
                    right = leaf in g.evidenced
                    c[f"{status}_right"] += right
                    c["quote_right"] += bool(quote) and same_passage(quote, g.texts.get(leaf, []))
                    if not right:
                        wrong.append(f"{doc}:{leaf}:{status}")
                if leaf in g.evidenced:
                    c["evidenced"] += 1
                    if status == "none":
                        c["evidenced_none"] += 1
                        missed.append(f"{doc}:{leaf}")
                if leaf in g.achieved:
                    c["achieved"] += 1
                    if status == "planned":
                        c["achieved_planned"] += 1
                        planned_hidden.append(f"{doc}:{leaf}")
        claims = c["strong_claims"] + c["weak_claims"] + c["planned_claims"]
        by_format[f] = {
            "strong_claims": c["strong_claims"], "strong_precision": _ratio(c["strong_right"], c["strong_claims"]),
            "weak_claims": c["weak_claims"], "weak_precision": _ratio(c["weak_right"], c["weak_claims"]),
            "planned_claims": c["planned_claims"], "planned_precision": _ratio(c["planned_right"], c["planned_claims"]),
            "claim_precision": _ratio(c["strong_right"] + c["weak_right"] + c["planned_right"], claims),
            "quote_right": _ratio(c["quote_right"], claims),
            "evidenced": c["evidenced"], "evidenced_none": _ratio(c["evidenced_none"], c["evidenced"]),
            "achieved": c["achieved"], "achieved_planned": c["achieved_planned"],
            "out_of_scope_evidenced": c["out_of_scope_evidenced"],
            "wrong_claims": wrong, "missed": missed, "achieved_shown_planned": planned_hidden,
        }
    pairs, same, differ = 0, 0, []
    for doc, fmts in per_doc.items():
        if len(fmts) < 2:
            continue
        leaves = set.intersection(*(set(v) for v in fmts.values()))
        for leaf in sorted(leaves):
            got = {f: fmts[f][leaf][0] for f in fmts}
            pairs += 1
            if len(set(got.values())) == 1:
                same += 1
            else:
                differ.append(f"{doc}:{leaf}:" + ",".join(f"{f}={s}" for f, s in got.items()))
    return {"formats": formats, "by_format": by_format, "format_agreement": _ratio(same, pairs), "format_pairs": pairs, "format_differences": differ}


def document_sources(documents: Path, gold: GoldSet) -> dict[str, Path]:
    """Each gold document's source file in `documents` (by stem; Markdown, text, DOCX or PDF)."""
    if not documents.is_dir():
        raise LabelError(documents, "is not a folder of documents", "Pass --documents a folder holding the labelled documents (DOC_ID.md, .txt, .docx or .pdf)")
    by_stem = {p.stem: p for p in sorted(documents.iterdir()) if p.suffix.lower() in (".md", ".markdown", ".txt", ".docx", ".pdf")}
    missing = [d for d in gold.doc_ids if d not in by_stem]
    if len(missing) == len(gold.doc_ids):
        raise LabelError(documents, "holds none of the labelled documents", f"Put {gold.doc_ids[0]}.md (or .txt, .docx, .pdf) there, named by its doc_id")
    return {d: by_stem[d] for d in gold.doc_ids if d in by_stem}


def evaluate_statuses(gold: GoldSet, framework: Framework, documents: Path, scorer, embedder=None, formats=FORMATS,
                      work_dir: Path | None = None, audience: list[str] | None = None) -> dict:
    """Run `check` on every labelled document in every format and score the statuses."""
    import tempfile

    from .embed import Embedder
    from .pipeline import check

    t0 = time.time()
    embedder = embedder or Embedder()
    sources = document_sources(documents, gold)
    per_doc: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(work_dir or tmp)
        for doc_id, src in sources.items():
            per_doc[doc_id] = {}
            for f, path in render_formats(src, base / doc_id, formats).items():
                cov = check(path, framework, scorer=scorer, embedder=embedder, audience=audience)
                per_doc[doc_id][f] = _statuses(cov)
    out = score_statuses(per_doc, gold_by_document(gold, framework))
    out.update({"documents": len(per_doc), "seconds": round(time.time() - t0, 1)})
    return out


STATUS_KEYS = ("strong_claims", "strong_precision", "weak_claims", "weak_precision", "planned_claims", "planned_precision",
               "claim_precision", "quote_right", "evidenced", "evidenced_none", "achieved", "achieved_planned")


def status_markdown(result: dict) -> list[str]:
    fs = result["formats"]
    out = ["", f"## Statuses on whole documents ({result['documents']} documents, each checked as {', '.join(fs)})", "",
           "| | " + " | ".join(fs) + " |", "|---|" + "---|" * len(fs)]
    for k in STATUS_KEYS:
        vals = [result["by_format"][f][k] for f in fs]
        out.append(f"| {k} | " + " | ".join("n/a" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in vals) + " |")
    agree = result["format_agreement"]
    out += ["", f"Statuses identical across formats: {'n/a' if agree is None else f'{agree:.3f}'} of {result['format_pairs']} (document, obligation) pairs."]
    if result["format_differences"]:
        out.append("Differences: " + "; ".join(result["format_differences"][:20]))
    return out
