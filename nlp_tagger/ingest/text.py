"""Plain text and Markdown. A form feed (\\f) starts a new page, as pdftotext writes it."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..types import Document
from .common import DocumentBuilder, add_text_lines


def read_text(path: Path) -> Document:
    content = path.read_bytes()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise InputError(path, "is not UTF-8 or Windows-1252 text", "Save it as UTF-8 and try again") from exc
    markdown = path.suffix.lower() in {".md", ".markdown"}
    builder = DocumentBuilder()
    pages = text.replace("\r\n", "\n").replace("\r", "\n").split("\f")
    for page_no, page_text in enumerate(pages, start=1):
        add_text_lines(builder, page_text.split("\n"), page_no, markdown=markdown)
    return builder.build(path, "markdown" if markdown else "text", len(pages), content)
