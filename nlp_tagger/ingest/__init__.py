"""Stage 1: a submission file becomes a Document of blocks with pages, headings and tables."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..types import Document

SUPPORTED = {".pdf": "pdf", ".docx": "docx", ".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown"}


def extract(path: str | Path, password: str | None = None) -> Document:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", "Check the path")
    if path.is_dir():
        raise InputError(path, "is a folder, not a document", "Pass a file, or use `nlp-tagger batch` for folders")
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise InputError(path, f"unsupported file type '{path.suffix or '(none)'}'", "Convert it to PDF, DOCX, TXT or Markdown")
    if path.stat().st_size == 0:
        raise InputError(path, "is empty (0 bytes)", "Check you exported the right document")
    if kind == "pdf":
        from .pdf import read_pdf

        doc = read_pdf(path, password=password)
    elif kind == "docx":
        from .docx import read_docx

        doc = read_docx(path)
    else:
        from .text import read_text

        doc = read_text(path)
    if not any(b.kind != "heading" for b in doc.blocks):
        raise InputError(path, "is empty: no text to analyse", "Check you exported the right document")
    return doc
