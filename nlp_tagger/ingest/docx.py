"""Word documents: paragraph styles give headings and lists; tables keep their rows.

DOCX has no fixed pages; explicit and last-rendered page breaks give the page numbers Word showed.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from ..errors import InputError
from ..types import Document
from .common import BULLET_RE, DocumentBuilder, heading_level, join_lines

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _page_breaks(element, rendered: bool) -> int:
    """Word writes a rendered break after an explicit one too: count one kind, not both."""
    if rendered:
        return sum(1 for _ in element.iter(f"{W}lastRenderedPageBreak"))
    return sum(1 for el in element.iter(f"{W}br") if el.get(f"{W}type") == "page")


def row_text(row) -> str:
    """A table row as one block's text: its cells joined by ' | ', a merged cell once."""
    cells: list[str] = []
    for cell in row.cells:
        t = " ".join(cell.text.split())
        if t and (not cells or cells[-1] != t):  # merged cells repeat their text
            cells.append(t)
    return " | ".join(cells)


def read_docx(path: Path) -> Document:
    import docx  # python-docx
    from lxml import etree
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    content = path.read_bytes()
    try:
        d = docx.Document(io.BytesIO(content))
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, zlib.error, etree.XMLSyntaxError) as exc:
        raise InputError(path, "is not a readable Word document (corrupt or not DOCX)", "Re-save it from Word as .docx") from exc

    builder = DocumentBuilder()
    page = 1
    rendered = next(d.element.body.iter(f"{W}lastRenderedPageBreak"), None) is not None
    for child in d.element.body.iterchildren():
        if child.tag == qn("w:p"):
            p = Paragraph(child, d)
            breaks = _page_breaks(child, rendered)
            text = p.text.strip()
            style = (p.style.name if p.style is not None else "") or ""
            if text:
                m = re.match(r"(?:Heading|heading)\s*(\d)", style)
                if m or style == "Title":
                    level = int(m.group(1)) if m else 1
                    builder.add(text, page, "heading", level)
                elif style.startswith("List") or child.find(f"{W}pPr/{W}numPr") is not None or BULLET_RE.match(text):
                    builder.add(BULLET_RE.sub("", text, count=1), page, "list_item")
                elif _is_bold_title(p, text):
                    builder.add(text, page, "heading", heading_level(text) + 1)
                else:
                    builder.add(join_lines(text.split("\n")), page, "paragraph")
            page += breaks
        elif child.tag == qn("w:tbl"):
            for row in Table(child, d).rows:
                if text := row_text(row):
                    builder.add(text, page, "table_row")
            page += _page_breaks(child, rendered)
    return builder.build(path, "docx", page, content)


def _is_bold_title(p, text: str) -> bool:
    runs = [r for r in p.runs if r.text.strip()]
    return bool(runs) and all(r.bold for r in runs) and len(text.split()) <= 12 and not text.endswith(".")
