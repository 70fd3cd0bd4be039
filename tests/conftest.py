"""Shared fixtures: real PDF/DOCX files rendered from the bundled seed texts, and an embedder
whose disk cache lives in the test's temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpora" / "seeds"
UOL = SEEDS / "uol-hreir-12-year-summary.txt"
AUA = SEEDS / "aua-mark-of-excellence-case-study-ljmu.txt"
IIP = SEEDS / "iip-leadership-management-award-research.txt"


@pytest.fixture(scope="session")
def uol_doc():
    from nlp_tagger import extract

    return extract(UOL)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, uol_doc):
    """The Liverpool summary as a one-column PDF, a two-column PDF and a DOCX."""
    from nlp_tagger.render import render_docx, render_pdf

    d = tmp_path_factory.mktemp("rendered")
    header = "University of Liverpool - HREiR 12-year summary"
    return {
        "pdf": render_pdf(uol_doc, d / "uol.pdf", header=header),
        "pdf2col": render_pdf(uol_doc, d / "uol-2col.pdf", header=header, two_column=True),
        "docx": render_docx(uol_doc, d / "uol.docx", page_break_every=15),
    }


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def embedder(cache_dir):
    from nlp_tagger.embed import Embedder

    return Embedder(cache_dir=cache_dir)
