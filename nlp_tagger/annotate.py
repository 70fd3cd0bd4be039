"""Annotated copies of a submission: `annotate` writes the right one for the submission's format.

PDF (here): a copy with every evidence passage highlighted and a margin note naming its
indicators and scores, so an assessor can read the document itself. DOCX (`annotate_docx.py`):
a copy with a Word comment on every evidence passage and a gap summary on the first paragraph.

Passages are found on their page by their letters and digits alone (PDFium's character boxes),
so line breaks, rejoined hyphens and table cell separators do not stop a match. Annotations are
written with pypdf (BSD licence).
"""

from __future__ import annotations

from pathlib import Path

from .coverage import quoted_passages
from .errors import InputError
from .types import Coverage


ANNOTATABLE = {".pdf": "pdf", ".docx": "docx"}


def check_annotate_target(submission: str | Path, out: str | Path) -> None:
    """Refuse, before any work, an annotated copy this submission cannot have: a text or Markdown
    submission (no layout to annotate), or a DOCX submission written to anything but .docx."""
    submission, out = Path(submission), Path(out)
    kind = ANNOTATABLE.get(submission.suffix.lower())
    if kind is None:
        raise InputError(submission, "only PDF and DOCX submissions can be annotated", "Use --html for a text or Markdown submission")
    if kind == "docx" and out.suffix.lower() != ".docx":
        raise InputError(out, "the annotated copy of a DOCX submission must be a .docx file", f"Name it e.g. {submission.stem}.annotated.docx")


def annotate(cov: Coverage, out: str | Path) -> tuple[str, int]:
    """The annotated copy for the submission's format: ('pdf', passages highlighted) or
    ('docx', passages commented)."""
    if cov.document.source_format == "docx":
        from .annotate_docx import annotate_docx

        return "docx", annotate_docx(cov, out)
    return "pdf", annotate_pdf(cov, out)


def _alnum_index(textpage) -> tuple[str, list[int]]:
    chars, index = [], []
    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if ch.isalnum():
            chars.append(ch.lower())
            index.append(i)
    return "".join(chars), index


def _line_boxes(textpage, first: int, last: int, height: float) -> list[tuple[float, float, float, float]]:
    """Character boxes from `first` to `last`, merged per line: (x0, y0, x1, y1) in PDF space."""
    lines: list[list[float]] = []
    for i in range(first, last + 1):
        x0, y0, x1, y1 = textpage.get_charbox(i)
        if x1 <= x0:
            continue
        if lines and abs((y0 + y1) / 2 - (lines[-1][1] + lines[-1][3]) / 2) < 0.5 * (y1 - y0 + 0.1) and x0 >= lines[-1][0] - 2:
            line = lines[-1]
            line[0], line[1], line[2], line[3] = min(line[0], x0), min(line[1], y0), max(line[2], x1), max(line[3], y1)
        else:
            lines.append([x0, y0, x1, y1])
    return [tuple(line) for line in lines]


def annotate_pdf(cov: Coverage, out: str | Path) -> int:
    """Write the annotated copy; returns the number of passages highlighted."""
    import pypdfium2 as pdfium
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import FreeText, Highlight
    from pypdf.generic import ArrayObject, FloatObject, NameObject, TextStringObject

    src = Path(cov.document.path)
    if cov.document.source_format != "pdf":
        raise InputError(src, "only PDF and DOCX submissions can be annotated", "Use --html for a text or Markdown submission")
    # each passage once, with every indicator it evidences
    per_passage = {p.index: evs for p, evs in quoted_passages(cov)}  # in-scope leaves only, like every report
    writer = PdfWriter(clone_from=PdfReader(str(src)))
    doc = pdfium.PdfDocument(str(src))
    done = 0
    cache: dict[int, tuple] = {}

    def page(no: int):
        if no not in cache:
            tp = doc[no].get_textpage()
            cache[no] = (tp, *_alnum_index(tp), doc[no].get_height(), doc[no].get_width())
        return cache[no]

    def locate(needle: str, no: int) -> list[tuple[int, int, int]]:
        """(page, first char, last char) of the passage: on its page, or, for a passage running
        over a page break, its longest prefix there and the rest on the next page."""
        text, index = page(no)[1:3]
        at = text.find(needle)
        if at >= 0:
            return [(no, index[at], index[at + len(needle) - 1])]
        lo, hi = 0, len(needle)  # longest prefix found on this page (found prefixes are nested)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if text.find(needle[:mid]) >= 0 else (lo, mid - 1)
        if lo < 20 or no + 1 >= len(doc):
            return []
        rest = needle[lo:]
        text2, index2 = page(no + 1)[1:3]
        at2 = text2.find(rest)
        if at2 < 0:
            return []
        at = text.find(needle[:lo])
        return [(no, index[at], index[at + lo - 1]), (no + 1, index2[at2], index2[at2 + len(rest) - 1])]

    for evs in per_passage.values():
        p = evs[0].passage
        needle = "".join(ch.lower() for ch in p.text if ch.isalnum())
        segments = locate(needle, p.page - 1) if needle else []
        label = "; ".join(f"{e.indicator_id} {e.score:.2f} {e.evidence_type}" for e in sorted(evs, key=lambda e: -e.score))
        drawn = 0
        for page_no, first, last in segments:
            tp, _, _, height, width = page(page_no)
            boxes = _line_boxes(tp, first, last, height)
            if not boxes:
                continue
            quad = []
            for x0, y0, x1, y1 in boxes:
                quad += [x0, y1, x1, y1, x0, y0, x1, y0]
            rect = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
            hl = Highlight(rect=rect, quad_points=ArrayObject([FloatObject(v) for v in quad]), highlight_color="ffe16b")
            hl[NameObject("/Contents")] = TextStringObject(label)
            hl[NameObject("/T")] = TextStringObject("nlp-tagger")
            writer.add_annotation(page_number=page_no, annotation=hl)
            if not drawn:  # one margin note per passage, where it starts
                note_x0 = min(rect[2] + 4, width - 60) if rect[2] < width - 70 else max(rect[0] - 64, 2)
                note = FreeText(text=label, rect=(note_x0, rect[3] - 14, min(note_x0 + 62, width), rect[3]), font_size="6pt", border_color="8a5a00", background_color="fff4ce")
                writer.add_annotation(page_number=page_no, annotation=note)
            drawn += 1
        if not drawn:
            continue
        done += 1
    for tp, *_ in cache.values():
        tp.close()
    doc.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        writer.write(f)
    return done
