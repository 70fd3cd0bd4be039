"""Stage 1: a submission file becomes a Document of blocks with pages, headings and tables."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..types import Document

SUPPORTED = {".pdf": "pdf", ".docx": "docx", ".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown"}


EXTRACTOR_VERSION = "3"  # 3: OCR of image pages, running-header filter; 2: block line numbers, lettered list items; bump when extraction output changes, so cached documents are not reused


def extract(path: str | Path, password: str | None = None, cache_dir: Path | None = None, ocr: str = "auto") -> Document:
    """Read a submission. With `cache_dir`, a file read before (same bytes) is loaded from the
    cache instead of parsed again: a re-run over an archive or a redraft check costs no parsing.
    `ocr` (PDF only): auto reads pages that are mostly images with little text by OCR, never
    reads none, always reads every page (see ingest/ocr.py)."""
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
    cached = None
    if cache_dir is not None:
        import hashlib

        key = hashlib.sha256(path.read_bytes()).hexdigest()
        cached = Path(cache_dir) / "documents" / f"{key}.v{EXTRACTOR_VERSION}{_ocr_variant(kind, ocr)}.json"
        if cached.exists():
            return _load_cached(cached, path)
    if kind == "pdf":
        from .pdf import read_pdf

        doc = read_pdf(path, password=password, ocr=ocr)
    elif kind == "docx":
        from .docx import read_docx

        doc = read_docx(path)
    else:
        from .text import read_text

        doc = read_text(path)
    if not any(b.kind != "heading" for b in doc.blocks):
        raise InputError(path, "is empty: no text to analyse", "Check you exported the right document")
    if cached is not None:
        _save_cached(cached, doc)
    return doc


def _ocr_variant(kind: str, ocr: str) -> str:
    """Part of a PDF's cache key: what OCR could do to it (a PDF read while OCR was unavailable is
    read again once it is)."""
    if kind != "pdf" or ocr == "never":
        return "" if kind != "pdf" else ".ocr-never"
    from .ocr import unavailable_reason

    return (f".ocr-{ocr}" if ocr != "auto" else "") + (".no-ocr" if unavailable_reason() else "")


def _save_cached(target: Path, doc: Document) -> None:
    import dataclasses
    import json
    import os

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(doc)), encoding="utf-8")
    tmp.replace(target)  # atomic: a concurrent reader never sees half a file


def _load_cached(cached: Path, path: Path) -> Document:
    import json

    from ..types import Block

    data = json.loads(cached.read_text(encoding="utf-8"))
    data["blocks"] = [Block(**b) for b in data["blocks"]]
    data["page_marks"] = [tuple(m) for m in data["page_marks"]]
    data["path"], data["doc_id"] = str(path), path.stem
    return Document(**data)
