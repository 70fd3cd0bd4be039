"""Pieces every reader shares: building a Document from blocks, and reading layout from plain lines."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..types import Block, BlockKind, Document

# list markers: bullets, "1." "1)" "a." "(a)" "(iv)" and capital letters with a bracket, "F)" or "(F)":
# a lettered item such as "F) Implementation and Review" is a list item, never a heading
BULLET_RE = re.compile(r"^\s*(?:[\u2022\u00b7\u25aa\u25cf\u2023\u2043\u25e6\uf0b7\uf0a7\-\*\u2013>]|\(?[0-9]{1,2}[.)]|\(?[a-z][.)]|\(?[A-Z]\)|\([ivx]+\))\s+")
NUMBERED_HEADING_RE = re.compile(r"^\s*(\d+(?:\.\d+){0,3})\.?(?:\s*[:.\-\u2013]\s*|\s+)(\S.*)$", re.I)
MD_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
LONE_NUMBER_RE = re.compile(r"^\s*\d{1,2}(?:\.\d{1,2})*\.?\s*$")
WS_RE = re.compile(r"[ \t\u00a0\u2002-\u200a\u202f]+")
SENT_END = (".", "!", "?", ";", ":")


def normalize_ws(text: str) -> str:
    return WS_RE.sub(" ", text.replace("\u00ad", "")).strip()


def join_lines(lines: list[str]) -> str:
    """Join lines of one paragraph, rejoining words hyphenated across a line end."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
        elif re.search(r"[A-Za-z]-$", out) and line[:1].islower():
            out = out[:-1] + line
        else:
            out = out + " " + line
    return normalize_ws(out)


def heading_level(text: str) -> int:
    """Depth of a heading from its own text: '2.1 X' is under '2. X'; a principle sits under a
    numbered section; a plain title sits under both. CAPS, Part and Appendix are top level."""
    if re.match(r"^\s*(part|appendix|annex)\b", text, re.I):
        return 1
    if re.match(r"^\s*(principle|section|chapter|theme|indicator|behaviour)\s+\w+", text, re.I):
        return 2
    m = NUMBERED_HEADING_RE.match(text)
    if m:
        return min(m.group(1).count(".") + 1, 4)
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return 1
    return 3


def looks_like_heading(line: str) -> bool:
    """A short title line: few words, no sentence punctuation at the end, starts like a title."""
    s = line.strip()
    if not s or len(s) > 90 or "\t" in s:
        return False
    words = s.split()
    if len(words) > 12 or BULLET_RE.match(s) and not NUMBERED_HEADING_RE.match(s):
        return False
    if s.endswith((".", ",", ";", ":")) or sum(c.isalpha() for c in s) < 3:
        return False
    first = s.lstrip("#*_ ")[:1]
    if not (first.isupper() or first.isdigit()):
        return False
    # a sentence fragment ends lowercase with a connective; titles rarely do
    return words[-1].lower() not in {"and", "or", "the", "of", "to", "a", "with", "for", "in"}


class DocumentBuilder:
    """Accumulates blocks into one text so that every block keeps its character span and page."""

    SEP = "\n\n"

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.blocks: list[Block] = []
        self.page_marks: list[tuple[int, int]] = []
        self.pos = 0

    def add(self, text: str, page: int, kind: BlockKind, level: int = 0, page_breaks: list[tuple[int, int]] = (), line: int = 0) -> None:
        """Append a block; `page_breaks` are (offset in text, page) where a block that runs on
        over a page end reaches the next page; `line` is its first line on the page (PDF)."""
        text = normalize_ws(text)
        if not text:
            return
        if self.blocks:
            self.parts.append(self.SEP)
            self.pos += len(self.SEP)
        start = self.pos
        self.parts.append(text)
        self.pos += len(text)
        self.blocks.append(Block(text, page, kind, start, self.pos, level, line))
        self.page_marks.append((start, page))
        self.page_marks.extend((start + min(off, len(text) - 1), p) for off, p in page_breaks)

    def build(self, path: Path, source_format: str, n_pages: int, content: bytes) -> Document:
        return Document(
            doc_id=path.stem,
            path=str(path),
            text="".join(self.parts),
            blocks=self.blocks,
            n_pages=n_pages,
            source_format=source_format,
            content_hash=hashlib.sha256(content).hexdigest(),
            page_marks=self.page_marks,
        )


def add_text_lines(builder: DocumentBuilder, lines: list[str], page: int, markdown: bool = False) -> None:
    """Read layout from plain text lines: headings, bullets, tab-separated table rows, paragraphs.

    Paragraphs are blank-line separated, unless the text puts one paragraph per line (as text
    converted from Word does); hard-wrapped lines are joined.
    """
    nonblank = [ln for ln in lines if ln.strip()]
    lengths = sorted(len(ln) for ln in nonblank) or [0]
    width = lengths[int(0.95 * (len(lengths) - 1))]
    # Markdown joins the lines of a paragraph by definition; plain text only when it looks wrapped
    hard_wrapped = markdown or (40 <= width <= 100 and sum(len(ln) >= 0.6 * width for ln in nonblank) >= 0.5 * len(nonblank))

    para: list[str] = []

    def flush() -> None:
        if para:
            builder.add(join_lines(para), page, "paragraph")
            para.clear()

    i = 0
    while i < len(lines):
        raw = lines[i].rstrip("\n")
        s = raw.strip()
        i += 1
        if not s:
            flush()
            continue
        if markdown:
            m = MD_HEADING_RE.match(s)
            if m:
                flush()
                builder.add(m.group(2).strip("*_ "), page, "heading", len(m.group(1)))
                continue
            if re.match(r"^\|?\s*:?-{3,}", s):  # markdown table separator row
                continue
        if LONE_NUMBER_RE.match(s) and i < len(lines) and looks_like_heading(lines[i]) and not LONE_NUMBER_RE.match(lines[i]):
            s = f"{s.rstrip('.')}. {lines[i].strip()}"
            i += 1
            flush()
            builder.add(s, page, "heading", heading_level(s))
            continue
        cells = [c.strip() for c in (s.strip("|").split("|") if markdown and s.startswith("|") else raw.split("\t"))]
        cells = [c for c in cells if c]
        if len(cells) > 1:
            flush()
            builder.add(" | ".join(cells), page, "table_row")
            continue
        s = cells[0] if cells else s
        if BULLET_RE.match(s) and not (NUMBERED_HEADING_RE.match(s) and looks_like_heading(s)):
            flush()
            para.append(BULLET_RE.sub("", s, count=1))
            if not hard_wrapped:
                builder.add(join_lines(para), page, "list_item")
                para.clear()
            else:
                # a wrapped bullet continues on following indented lines
                while i < len(lines) and lines[i].strip() and lines[i].startswith((" ", "\t")) and not BULLET_RE.match(lines[i]):
                    para.append(lines[i])
                    i += 1
                builder.add(join_lines(para), page, "list_item")
                para.clear()
            continue
        standalone = not para and (i >= len(lines) or not lines[i].strip() or not hard_wrapped)
        if looks_like_heading(s) and (standalone or s.endswith("?")) and not s.endswith((".", "!")):
            flush()
            builder.add(s.strip("*_ "), page, "heading", heading_level(s))
            continue
        if hard_wrapped:
            para.append(s)
        else:
            flush()
            builder.add(s, page, "paragraph")
    flush()
