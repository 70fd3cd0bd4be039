"""Reports that explain themselves: locators for text files, lettered list items that stay list
items, notes for a short document, an older framework edition and printed indicator codes, and
the audience scope a user can change."""

from __future__ import annotations

import pytest

from nlp_tagger import check
from nlp_tagger.errors import FrameworkError
from nlp_tagger.ingest import extract
from nlp_tagger.report import to_dict, to_markdown
from nlp_tagger.segment import segment

REVIEW = """# Kelsall University: HR Excellence in Research review

## Implementation and review

The Research Staff Forum met four times this year and its chair sits on the Concordat steering group.

A) Recruitment
B) Induction
C) Appraisal
D) Development
E) Wellbeing
F) Implementation and Review

Our 2024 CEDARS survey had 412 responses, a 38% response rate, up from 21% in 2021.

## Next steps

We will introduce a mentoring scheme for all fixed-term research staff by July 2026.
"""


def test_lettered_items_are_list_items_and_text_files_get_section_and_paragraph(tmp_path):
    path = tmp_path / "review.md"
    path.write_text(REVIEW, encoding="utf-8")
    doc = extract(path)
    headings = [b.text for b in doc.blocks if b.kind == "heading"]
    assert "Implementation and Review" not in headings  # "F) ..." is the sixth item, not a heading
    passages = segment(doc)
    listed = next(p for p in passages if "Recruitment" in p.text)
    assert all(w in listed.text for w in ("Induction", "Appraisal", "Implementation and Review"))  # short items kept, together
    survey = next(p for p in passages if "CEDARS" in p.text)
    assert survey.heading_path[-1] == "Implementation and review"  # not attached to "F)"
    assert survey.locator("md") == "\u00a7 Implementation and review, para 8"  # one paragraph, six items, then this
    assert next(p for p in passages if "mentoring" in p.text).locator("md") == "\u00a7 Next steps, para 1"


def test_short_document_older_edition_and_printed_codes_are_noted(tmp_path):
    path = tmp_path / "old.md"
    path.write_text(
        "# Action plan against the 2008 Concordat\n\n"
        "This plan follows the seven principles of the Concordat to Support the Career Development of Researchers.\n\n"
        "Principle 5: researchers share responsibility for their career development (EI1, EI2).\n\n"
        "Principle 7: we review progress every two years (ECI6, PCDI1).\n",
        encoding="utf-8",
    )
    cov = check(path, "concordat-2019", scorer="similarity")
    notes = " ".join(cov.notes)
    assert "Short document" in notes
    assert "the 2008 Concordat" in notes
    assert "prints 4 of the framework's own codes" in notes
    assert to_dict(cov)["notes"] == cov.notes and all(f"> {n}"[:30] in to_markdown(cov) for n in cov.notes)


FUNDER = """# Annual statement of a research funder

As a funder we require every grant holder's institution to be a Concordat signatory.
Our funding terms ask research organisations to provide ten days of development a year.
Grant holders report on researcher development in their final reports to the research council.
We fund fellowships that include protected time for career development.
"""


def test_scope_is_inferred_stated_and_can_be_chosen(tmp_path):
    path = tmp_path / "funder.md"
    path.write_text(FUNDER, encoding="utf-8")
    cov = check(path, "concordat-2019", scorer="similarity")
    assert cov.scope == ("funders",) and "funder" in cov.scope_reason
    out = {c.indicator.id for c in cov.indicators if not c.in_scope and not cov.framework.children(c.indicator.id)}
    assert "EI1" in out and "EF1" not in out
    chosen = check(path, "concordat-2019", scorer="similarity", audience=["institutions,managers"])
    assert chosen.scope == ("institutions", "managers") and to_dict(chosen)["scope"]["reason"] == "chosen with --audience"
    assert all(c.in_scope for c in check(path, "concordat-2019", scorer="similarity", audience=["all"]).indicators)
    with pytest.raises(FrameworkError, match="has no audience 'deans'"):
        check(path, "concordat-2019", scorer="similarity", audience=["deans"])
