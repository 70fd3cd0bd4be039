"""Plain text and Markdown. A form feed (\\f) starts a new page, as pdftotext writes it."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..types import Document
from .common import DocumentBuilder, add_text_lines


BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def decode_text(path: Path, content: bytes) -> str:
    """UTF-8, or a byte-order mark's encoding, or UTF-16 without a mark (NULs in every other
    byte), or what charset-normalizer detects (legacy code pages). Text that still holds NUL
    characters is not text: refuse it."""
    for bom, enc in BOMS:
        if content.startswith(bom):
            return _no_nul(path, content[len(bom):].decode(enc, errors="replace"))
    try:
        text = content.decode("utf-8-sig")  # NUL bytes are valid UTF-8, so check for them below
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text
    sample = content[:4000]
    if len(sample) >= 4:
        odd, even = sample[1::2].count(0) / (len(sample) // 2), sample[0::2].count(0) / ((len(sample) + 1) // 2)
        if max(odd, even) > 0.3 and min(odd, even) < 0.05:  # ASCII-range text as UTF-16
            return _no_nul(path, content.decode("utf-16-le" if odd > even else "utf-16-be", errors="replace"))
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    if best is not None:
        return _no_nul(path, str(best))
    try:
        return _no_nul(path, content.decode("cp1252"))
    except UnicodeDecodeError:
        raise InputError(path, "is not text in any encoding this tool can detect", "Save it as UTF-8 and try again") from None


def _no_nul(path: Path, text: str) -> str:
    if "\x00" in text:
        raise InputError(path, "holds NUL characters: it is binary, not text", "Save it as UTF-8 text and try again")
    return text


def read_text(path: Path) -> Document:
    content = path.read_bytes()
    text = decode_text(path, content)
    markdown = path.suffix.lower() in {".md", ".markdown"}
    builder = DocumentBuilder()
    pages = text.replace("\r\n", "\n").replace("\r", "\n").split("\f")
    for page_no, page_text in enumerate(pages, start=1):
        add_text_lines(builder, page_text.split("\n"), page_no, markdown=markdown)
    return builder.build(path, "markdown" if markdown else "text", len(pages), content)
