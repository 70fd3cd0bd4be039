"""Render documents to real PDF and DOCX files, for test fixtures, the bundled sample and benchmarks.

The PDFs carry what real submissions have and what ingestion must survive: a running header, page
numbers in the footer, heading fonts, ruled tables, and optionally two-column pages.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from .types import Block, Document


def _styles():
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    ss = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=ss["BodyText"], fontName="Helvetica", fontSize=10, leading=13, spaceAfter=6)
    return {
        "body": body,
        "bullet": ParagraphStyle("bullet", parent=body, leftIndent=14, bulletIndent=4),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5, spaceAfter=0),
        1: ParagraphStyle("h1", parent=body, fontName="Helvetica-Bold", fontSize=16, leading=20, spaceBefore=10, spaceAfter=8),
        2: ParagraphStyle("h2", parent=body, fontName="Helvetica-Bold", fontSize=13, leading=16, spaceBefore=8, spaceAfter=6),
        3: ParagraphStyle("h3", parent=body, fontName="Helvetica-Bold", fontSize=11.5, leading=14, spaceBefore=6, spaceAfter=4),
    }


def _grouped(blocks: list[Block]):
    """Blocks in order, with each run of table rows gathered into one table (a list of cell lists)."""
    i = 0
    while i < len(blocks):
        if blocks[i].kind != "table_row":
            yield blocks[i]
            i += 1
            continue
        rows = []
        while i < len(blocks) and blocks[i].kind == "table_row":
            rows.append(blocks[i].text.split(" | "))
            i += 1
        yield rows


def _flowables(blocks: list[Block], width: float):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    st = _styles()
    out = []
    for b in _grouped(blocks):
        if isinstance(b, list):
            ncol = max(len(r) for r in b)
            data = [[Paragraph(escape(c), st["cell"]) for c in r + [""] * (ncol - len(r))] for r in b]
            t = Table(data, colWidths=[width / ncol] * ncol, repeatRows=0)
            t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            out.append(t)
            continue
        text = escape(b.text)
        if b.kind == "heading":
            out.append(Paragraph(text, st[min(max(b.level, 1), 3)]))
        elif b.kind == "list_item":
            out.append(Paragraph(text, st["bullet"], bulletText="\u2022"))
        else:
            out.append(Paragraph(text, st["body"]))
    return out


def render_pdf(doc: Document | list[Block], out: str | Path, header: str = "", two_column: bool = False, title: str = "") -> Path:
    """Write `doc`'s blocks as a PDF; `header` is printed at the top of every page, the page number at the foot."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

    blocks = doc.blocks if isinstance(doc, Document) else doc
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    w, h = A4
    margin = 56

    def decorate(canvas, _doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        if header:
            canvas.drawString(margin, h - 34, header)
        canvas.drawCentredString(w / 2, 28, f"Page {canvas.getPageNumber()}")
        canvas.restoreState()

    if two_column:
        gap = 18
        col = (w - 2 * margin - gap) / 2
        frames = [Frame(margin, margin, col, h - 2 * margin, id="left"), Frame(margin + col + gap, margin, col, h - 2 * margin, id="right")]
        width = col
    else:
        frames = [Frame(margin, margin, w - 2 * margin, h - 2 * margin, id="body")]
        width = w - 2 * margin - 12
    template = BaseDocTemplate(str(out), pagesize=A4, title=title or out.stem, author="nlp-tagger")
    template.addPageTemplates([PageTemplate(id="page", frames=frames, onPage=decorate)])
    template.build(_flowables(blocks, width))
    return out


def render_docx(doc: Document | list[Block], out: str | Path, page_break_every: int = 0) -> Path:
    """Write `doc`'s blocks as DOCX with Word's own heading, list and table styles."""
    import docx

    blocks = doc.blocks if isinstance(doc, Document) else doc
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    d = docx.Document()
    since_break = 0
    for b in _grouped(blocks):
        if isinstance(b, list):
            ncol = max(len(r) for r in b)
            table = d.add_table(rows=len(b), cols=ncol)
            table.style = "Table Grid"
            for r, row in enumerate(b):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
            continue
        if b.kind == "heading":
            d.add_heading(b.text, level=min(max(b.level, 1), 3))
        elif b.kind == "list_item":
            d.add_paragraph(b.text, style="List Bullet")
        else:
            d.add_paragraph(b.text)
        since_break += 1
        if page_break_every and since_break >= page_break_every:
            d.add_page_break()
            since_break = 0
    d.save(str(out))
    return out
