"""Notes that explain a low or odd score before a reader blames the document or the tool.

Each check looks at what the pipeline already has (the document, its passages, the framework)
and returns a sentence for every output's `notes`; none changes a score.
"""

from __future__ import annotations

import re

from .types import Document, Framework, Passage

SHORT_WORDS = 1500  # a full HREiR, IIP or AUA submission runs to many thousand words
MIN_CODES = 3  # distinct indicator codes printed in the text before their echo is worth a note
MIN_EDITION_CUES = 2


def short_document(doc: Document, passages: list[Passage]) -> str | None:
    words = sum(len(p.text.split()) for p in passages)
    if words >= SHORT_WORDS:
        return None
    return (f"Short document: {words:,} words in {len(passages)} passages on {doc.n_pages} page(s). Most indicators cannot be "
            "evidenced in so little text, so read the gaps as 'not in this document', not 'not done'.")


def printed_codes(framework: Framework, text: str) -> str | None:
    """A document that prints the framework's codes ("EI3: ...") is partly scored on the code,
    not on what it says about it."""
    ids = [i.id for i in framework.leaves if any(c.isdigit() for c in i.id) and len(i.id) >= 2]
    if not ids:
        return None
    pattern = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)) + r")(?![A-Za-z0-9.])")
    found = sorted(set(pattern.findall(text)))
    if len(found) < MIN_CODES:
        return None
    shown = ", ".join(found[:6]) + (", ..." if len(found) > 6 else "")
    return (f"The document prints {len(found)} of the framework's own codes ({shown}). Scores follow what a passage says, "
            "not its code: check that a coded passage really evidences its code.")


def older_edition(framework: Framework, text: str) -> str | None:
    low = text.lower()
    for name, cues in framework.older_editions:
        hits = [c for c in cues if c.lower() in low]
        if len(hits) >= MIN_EDITION_CUES:
            return (f"The document seems written against {name} (it mentions {', '.join(repr(h) for h in hits[:3])}), "
                    f"not {framework.name} {framework.version}: its wording maps only loosely onto these indicators, so expect lower scores.")
    return None


def document_notes(doc: Document, passages: list[Passage], framework: Framework) -> list[str]:
    checks = (short_document(doc, passages), printed_codes(framework, doc.text), older_edition(framework, doc.text))
    return [n for n in checks if n]
