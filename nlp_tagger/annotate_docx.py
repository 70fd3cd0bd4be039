"""A copy of a DOCX submission with a Word comment on every evidence passage, and a gap summary
in a comment on the first paragraph, so a writer sees the report where they write.

The writer's text is never changed: comments are anchored with Word's comment ranges (python-docx
1.2's `Document.add_comment`). A comment range starts and ends on run boundaries, so where a
passage is one window of a long paragraph, the runs at its edges are split in two (same formatting,
same text) to anchor it on exactly its sentences.

Passages are mapped back to the document by walking the body as `ingest/docx.py` reads it (each
non-empty paragraph, each table row) and aligning those units with `Document.blocks` by their
letters and digits, then placing each passage within its block by its character span.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

from .coverage import gap_indicators, out_of_scope, quoted_passages
from .errors import InputError
from .ingest.docx import row_text
from .types import Coverage, Evidence

AUTHOR = "nlp-tagger"
INITIALS = "NT"
MAX_GAPS_LISTED = 80


def _alnum(text: str) -> str:
    return "".join(ch.lower() for ch in text if ch.isalnum())


def _n_alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


# -- the document's units, as ingest/docx.py reads them ------------------------------------------


class _Unit:
    """One paragraph or one table row of the body; its runs are read afresh each time, since
    anchoring a comment may split a run."""

    def __init__(self, kind: str, element, text: str) -> None:
        self.kind, self.element, self.text = kind, element, text
        self.alnum = _alnum(text)

    def runs(self) -> list:
        """The `w:r` elements whose text makes up the unit's text, in order (direct runs and
        hyperlink runs of each paragraph, as `Paragraph.text` reads them)."""
        if self.kind == "paragraph":
            return list(self.element.xpath("./w:r | ./w:hyperlink/w:r"))
        return list(self.element.xpath("./w:tc/w:p/w:r | ./w:tc/w:p/w:hyperlink/w:r"))


def _units(d) -> list[_Unit]:
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    units: list[_Unit] = []
    for child in d.element.body.iterchildren():
        if child.tag == qn("w:p"):
            text = Paragraph(child, d).text
            if text.strip():
                units.append(_Unit("paragraph", child, text))
        elif child.tag == qn("w:tbl"):
            for row in Table(child, d).rows:
                if text := row_text(row):  # exactly as the reader made the block
                    units.append(_Unit("table_row", row._tr, text))
    return units


def _align(blocks, units: list[_Unit]) -> dict[int, _Unit]:
    """Block index -> the unit it was read from. Blocks and units come in the same order; a list
    item lost its bullet or number when it was read, so its unit may have a few more characters
    in front."""
    out: dict[int, _Unit] = {}
    u = 0
    for bi, block in enumerate(blocks):
        want = _alnum(block.text)
        if not want:
            continue
        for j in range(u, min(u + 50, len(units))):
            have = units[j].alnum
            if have == want or (have.endswith(want) and len(have) - len(want) <= 8):
                out[bi] = units[j]
                u = j + 1
                break
    return out


# -- anchoring on runs ----------------------------------------------------------------------------


def _run_text(r) -> str:
    from docx.text.run import Run

    return Run(r, None).text


def _split_run(r, at: int):
    """Split a plain-text run at alnum position `at` (0 < at < its alnum count) into two runs
    with the same formatting; returns the second. None when the run is not plain text."""
    from docx.oxml.ns import qn

    kids = [k for k in r if k.tag != qn("w:rPr")]
    if len(kids) != 1 or kids[0].tag != qn("w:t"):
        return None
    text = kids[0].text or ""
    seen = 0
    for i, ch in enumerate(text):
        if ch.isalnum():
            if seen == at:
                break
            seen += 1
    else:
        return None
    # cut before the first letter of the second part, keeping the spaces with the first part
    head, tail = text[:i], text[i:]
    second = copy.deepcopy(r)
    t1, t2 = kids[0], [k for k in second if k.tag == qn("w:t")][0]
    t1.text, t2.text = head, tail
    for t in (t1, t2):
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    r.addnext(second)
    return second


def _anchor_runs(unit: _Unit, lo: int, hi: int) -> tuple[list, bool]:
    """The runs covering alnum characters [lo, hi) of the unit, splitting edge runs where they
    are plain text; returns (runs, exact). Falls back to the whole unit."""
    runs = [r for r in unit.runs() if _run_text(r)]
    if not runs:
        return [], False
    counts = [_n_alnum(_run_text(r)) for r in runs]
    total = sum(counts)
    if lo <= 0 and hi >= total:
        return runs, True
    if total != len(unit.alnum) or unit.kind != "paragraph":
        return runs, False
    # first run: the one holding alnum char `lo`
    pos, first = 0, None
    for i, n in enumerate(counts):
        if pos + n > lo:
            first = i
            break
        pos += n
    if first is None:
        return runs, False
    exact = True
    if lo > pos:
        second = _split_run(runs[first], lo - pos)
        if second is None:
            exact = False
        else:
            runs.insert(first + 1, second)
            counts[first:first + 1] = [lo - pos, counts[first] - (lo - pos)]
            first += 1
            pos = lo
    # last run: the one holding alnum char `hi - 1`
    last, p2 = None, pos
    for i in range(first, len(runs)):
        if p2 + counts[i] >= hi:
            last = i
            break
        p2 += counts[i]
    if last is None:
        return runs[first:], False
    if p2 + counts[last] > hi:
        if _split_run(runs[last], hi - p2) is None:
            exact = False
    return runs[first:last + 1], exact


# -- comment texts ---------------------------------------------------------------------------------


def evidence_comment(cov: Coverage, evs: list[Evidence]) -> str:
    """One passage's comment: the indicators it evidences, each with its status, and its type."""
    fw = cov.framework
    evs = sorted(evs, key=lambda e: (e.status != "strong", -e.score))
    etype = evs[0].evidence_type
    lines = [f"{AUTHOR}: evidence for {len(evs)} indicator{'s' if len(evs) != 1 else ''} ({fw.id}); evidence type: {etype}"]
    for e in evs:
        lines.append(f"{e.indicator_id} {fw.get(e.indicator_id).title}: {e.status} ({e.score:.2f})")
    return "\n".join(lines)


def gap_comment(cov: Coverage) -> str:
    """The summary on the first paragraph: how much is evidenced, then every in-scope indicator
    with no evidence (`coverage.gap_indicators`), and those evidenced by plans alone."""
    fw = cov.framework
    leaves = [c for c in cov.indicators if not fw.children(c.indicator.id) and c.in_scope]
    evidenced = sum(c.status != "none" for c in leaves)
    strong = sum(c.status == "strong" for c in leaves)
    gaps = gap_indicators(cov)
    lines = [f"{AUTHOR}: coverage of this document against {fw.name} ({fw.id}), scorer {cov.scorer}: "
             f"{evidenced} of {len(leaves)} indicators in scope evidenced ({strong} strong)."]
    outside = out_of_scope(cov)
    if outside:
        lines.append(f"{len(outside)} indicators for other audiences are out of scope and not counted.")
    lines.extend(f"Note: {n}" for n in cov.notes[:3])
    if gaps:
        lines.append(f"No evidence found for {len(gaps)} indicator{'s' if len(gaps) != 1 else ''}:")
        lines += [f"{c.indicator.id} {c.indicator.title}" for c in gaps[:MAX_GAPS_LISTED]]
        if len(gaps) > MAX_GAPS_LISTED:
            lines.append(f"... and {len(gaps) - MAX_GAPS_LISTED} more (see the full report)")
    else:
        lines.append("Every indicator in scope has some evidence.")
    planned = [c for c in leaves if c.status == "planned"]
    if planned:
        lines.append(f"Evidenced by plans only, nothing achieved yet ({len(planned)}): " + ", ".join(c.indicator.id for c in planned))
    return "\n".join(lines)


# -- the annotated copy -------------------------------------------------------------------------------


def annotate_docx(cov: Coverage, out: str | Path) -> int:
    """Write the commented copy of a DOCX submission; returns the number of passages commented."""
    import bisect
    import io

    import docx
    from docx.text.run import Run

    src = Path(cov.document.path)
    out = Path(out)
    if cov.document.source_format != "docx":
        raise InputError(src, "is not a DOCX submission", "Use annotate_pdf for a PDF, or --html for a text submission")
    if out.suffix.lower() != ".docx":
        raise InputError(out, "the annotated copy of a DOCX submission must be a .docx file", f"Name it e.g. {src.stem}.annotated.docx")
    if out.resolve() == src.resolve():
        raise InputError(out, "is the submission itself and would be overwritten", "Choose another output path")
    content = src.read_bytes()
    if cov.document.content_hash and hashlib.sha256(content).hexdigest() != cov.document.content_hash:
        raise InputError(src, "changed since it was checked", "Run check again on the current file")
    d = docx.Document(io.BytesIO(content))
    units = _units(d)
    block_unit = _align(cov.document.blocks, units)
    starts = [b.start for b in cov.document.blocks]

    def comment(runs: list, text: str) -> None:
        d.add_comment([Run(runs[0], None), Run(runs[-1], None)], text=text, author=AUTHOR, initials=INITIALS)

    # the gap summary first, on the first paragraph (or row) with text: the writer's text stays as it is
    first = next((u for u in units if any(_run_text(r) for r in u.runs())), None)
    if first is not None:
        comment([r for r in first.runs() if _run_text(r)], gap_comment(cov))
    done = 0
    for p, evs in quoted_passages(cov):  # each quoted passage once, with every in-scope leaf it evidences
        bi = bisect.bisect_right(starts, p.start) - 1
        unit = block_unit.get(bi)
        if unit is None:
            continue
        block = cov.document.blocks[bi]
        prefix = len(unit.alnum) - len(_alnum(block.text))  # a bullet or number the reader dropped
        lo = prefix + _n_alnum(cov.document.text[block.start:p.start])
        hi = lo + _n_alnum(p.text)
        runs, _exact = _anchor_runs(unit, lo, hi)  # not exact: anchored on the whole paragraph
        if not runs:
            continue
        comment(runs, evidence_comment(cov, evs))
        done += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    d.save(str(out))
    return done
