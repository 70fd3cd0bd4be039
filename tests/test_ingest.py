"""Extraction from real PDF, DOCX, TXT and Markdown files."""

from __future__ import annotations

from pathlib import Path

import pdfplumber

from nlp_tagger import extract
from nlp_tagger.ingest.common import join_lines

from .conftest import AUA, IIP


def _headings(doc):
    return [b.text for b in doc.blocks if b.kind == "heading"]


def test_text_seed_keeps_headings_tables_and_bullets(uol_doc):
    heads = _headings(uol_doc)
    assert "Principle 2: Employment" in heads
    assert "1.1 Alignment of UoL's Strategy 2031 with the Principles of the Concordat" in heads
    rows = [b for b in uol_doc.blocks if b.kind == "table_row"]
    assert any(r.text.startswith("Recruitment and induction | ") for r in rows)
    bullets = [b.text for b in uol_doc.blocks if b.kind == "list_item"]
    assert "Examples of effective practice (Appendix 3)" in bullets


def test_every_block_is_a_span_of_the_text(uol_doc):
    for b in uol_doc.blocks:
        assert uol_doc.text[b.start : b.end] == b.text


def test_one_line_per_paragraph_text_and_question_headings():
    doc = extract(AUA)
    assert "Why did you choose to work towards the Mark?" in _headings(doc)
    iip = extract(IIP)
    assert "1. BACKGROUND" in _headings(iip)  # number and title on separate lines


def test_pdf_headings_tables_and_running_header_removed(rendered, uol_doc):
    doc = extract(rendered["pdf"])
    assert doc.n_pages >= 4
    heads = _headings(doc)
    assert "Principle 2: Employment" in heads
    assert "3. Key Achievements and Progress January 2022 \u2013 January 2024" in heads
    # the running header and the "Page N" footers are gone, and no passage text contains them
    assert "University of Liverpool - HREiR 12-year summary" not in doc.text
    assert not any(b.text.startswith("Page ") and len(b.text) < 10 for b in doc.blocks)
    rows = [b.text for b in doc.blocks if b.kind == "table_row"]
    assert any(r.startswith("Recruitment and induction | Diversify the pipeline") for r in rows)
    # heading levels: a principle is above its sub-theme
    level = {b.text: b.level for b in doc.blocks if b.kind == "heading"}
    assert level["1. Institutional Context"] < level["1.1 Alignment of UoL's Strategy 2031 with the Principles of the Concordat"]


def test_pdf_pages_match_pdfplumber(rendered):
    """Each block's page is the page pdfplumber finds its opening words on."""
    doc = extract(rendered["pdf"])
    with pdfplumber.open(rendered["pdf"]) as pdf:
        page_text = [" ".join((p.extract_text() or "").split()) for p in pdf.pages]
    checked = 0
    for b in doc.blocks:
        if b.kind != "paragraph" or len(b.text) < 80:
            continue
        probe = " ".join(b.text.split()[:6])
        hits = [i + 1 for i, t in enumerate(page_text) if probe in t]
        if len(hits) == 1:
            assert hits[0] == b.page, (probe, hits, b.page)
            assert doc.page_at(b.start) == b.page
            checked += 1
    assert checked >= 10


def test_two_column_reading_order(rendered, uol_doc):
    doc = extract(rendered["pdf2col"])
    text = doc.text
    # sentences stay whole across the column break and come in the source's order
    first = "The primary beneficiaries of the Concordat at Liverpool are our 920 staff"
    later = "Governance of the Concordat at Liverpool is refined on an annual basis"
    assert first in text and later in text
    assert text.index(first) < text.index(later)
    assert "Principle 2: Employment" in _headings(doc)
    src_heads = [h for h in _headings(uol_doc) if h.startswith(("1.", "2.", "3.", "4."))]
    got = [h for h in _headings(doc) if h in src_heads]
    assert got == [h for h in src_heads if h in got] and len(got) >= 6


def _hyphen_pdf(path: Path) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", 11)
    lines = [
        "The University has introduced a structured career develop-",
        "ment review for every researcher on a fixed-term contract, and",
        "all managers attended the new training on self-",
        "Assessment in 2023.",
    ]
    y = 760
    for ln in lines:
        c.drawString(72, y, ln)
        y -= 14
    c.showPage()
    c.save()
    return path


def test_hyphenated_word_rejoined(tmp_path):
    doc = extract(_hyphen_pdf(tmp_path / "hyphen.pdf"))
    assert "career development review" in doc.text
    assert "develop- ment" not in doc.text
    assert "self- Assessment" in doc.text  # a capital after the hyphen is a real compound, kept


def test_join_lines_rules():
    assert join_lines(["a develop-", "ment plan"]) == "a development plan"
    assert join_lines(["co-", "Chair"]) == "co- Chair"


def test_docx_styles_tables_and_pages(rendered):
    doc = extract(rendered["docx"])
    assert doc.source_format == "docx"
    assert doc.n_pages > 1
    assert "Principle 2: Employment" in _headings(doc)
    assert any(b.kind == "table_row" and b.text.startswith("Recruitment and induction | ") for b in doc.blocks)
    assert any(b.kind == "list_item" for b in doc.blocks)
    assert max(b.page for b in doc.blocks) == doc.n_pages


def test_markdown_headings_tables_and_form_feed_pages(tmp_path):
    md = tmp_path / "plan.md"
    md.write_text(
        "# Action plan\n\n## Principle 2: Employment\n\n| Ref | Action | Owner |\n|---|---|---|\n"
        "| EI2 | Refresh the induction checklist for all new research staff | HR |\n\n"
        "Some long paragraph about employment that is\nwrapped over two lines.\n\f## Next page\n\nText on page two of the plan.\n",
        encoding="utf-8",
    )
    doc = extract(md)
    assert _headings(doc)[:2] == ["Action plan", "Principle 2: Employment"]
    row = next(b for b in doc.blocks if b.kind == "table_row" and b.text.startswith("EI2"))
    assert row.text == "EI2 | Refresh the induction checklist for all new research staff | HR"
    assert "that is wrapped over two lines." in doc.text
    last = doc.blocks[-1]
    assert last.text == "Text on page two of the plan." and last.page == 2
