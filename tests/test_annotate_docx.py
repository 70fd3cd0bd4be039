"""`check draft.docx --annotate out.docx`: a copy of a real Word document with a Word comment on
every evidence passage and a gap summary on the first paragraph, read back from the saved file."""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from nlp_tagger import check, extract, segment
from nlp_tagger.annotate import annotate
from nlp_tagger.annotate_docx import AUTHOR
from nlp_tagger.coverage import gap_indicators
from nlp_tagger.types import Evidence

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Zero-shot scoring: what is tested here is the annotated copy, which must not depend on whether a
# trained ranker is installed and current for the framework file (retraining is a separate step).
SCORER = "similarity"

# A university's HR Excellence in Research review of its Concordat action plan (fictional).
TITLE = "University of Eastmere: HR Excellence in Research Three-Year Review"
BODY: list[tuple[str, object]] = [
    ("h1", "1. Introduction and context"),
    ("p", "The University of Eastmere employs 640 research-only staff, most of them postdoctoral research associates on fixed-term contracts funded by external grants, alongside 1,150 teaching and research academics who manage researchers."),
    ("p", [("This review reports on the second ", None), ("Concordat action plan", "b"), (" (2022-2025) and sets out our priorities for the next three years. It was approved by the Research and Innovation Committee in May 2025.", None)]),
    ("h1", "2. How the internal evaluation was undertaken"),
    ("p", "The Researcher Development Concordat Steering Group led the evaluation. We ran CEDARS in spring 2024: 212 research staff responded (33%), and 61 managers of researchers. Results were benchmarked against the national CEDARS cohort and discussed with the Research Staff Association."),
    ("p", [("Three focus groups with 27 postdoctoral researchers explored ", None), ("career conversations, contract renewal and workload", "i"), (", and two research staff representatives sit on the steering group, which signed off the gap analysis.", None)]),
    ("h1", "3. Progress against the 2022-2025 action plan"),
    ("table", [
        ["Action", "Progress", "Evidence"],
        ["Introduce a redeployment register for research staff at the end of fixed-term contracts", "Completed 2023", "42 researchers redeployed; fixed-term contract endings without redeployment fell from 31% to 18%"],
        ["Give every research associate ten days a year of professional development", "Partly met", "CEDARS 2024: 58% of research staff took at least ten days, up from 39% in 2021"],
        ["Train all principal investigators in career conversations with their researchers", "Ongoing", "310 of 480 PIs completed the workshop"],
    ]),
    ("p", "Our new Researcher Career Development Hub offers one-to-one careers guidance for research staff considering careers beyond academia, and 190 researchers used it in its first year."),
    ("p", "Induction for new research staff now includes a session on the Concordat, the Research Staff Association and the development opportunities open to them, and attendance is monitored by HR."),
    ("long", "The Research Staff Association, founded in 2019, has grown into an active network across all four faculties. It organises a termly seminar series in which postdoctoral researchers present their work to colleagues from other disciplines, and it runs an annual conference planned entirely by research staff. "
             "The Association's chair attends the University Research Committee and reports on concerns raised by members, such as the timing of contract extension decisions. "
             "In 2024 the Association surveyed its members about mental health and wellbeing, and its findings shaped the new wellbeing toolkit for managers of researchers. "
             "Members have also mentored doctoral candidates who are considering postdoctoral posts, and the Association now has a small budget from the Pro-Vice-Chancellor for Research to support these activities."),
    ("h1", "4. Next steps: our action plan for 2025-2028"),
    ("bullet", "Bring bridging funding between grants to every faculty, owned by the Director of HR, by July 2026, so that fewer researchers leave between contracts."),
    ("bullet", "Raise the share of research staff taking ten days of professional development to 75% in CEDARS 2027, owned by the Head of Researcher Development."),
    ("h1", "5. Governance and sign-off"),
    ("p", "The Pro-Vice-Chancellor for Research chairs the steering group, which reports to Senate twice a year; the University Executive Board endorsed this review and the new plan in June 2025."),
]


def write_draft(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(TITLE, level=0)
    for kind, content in BODY:
        if kind == "h1":
            d.add_heading(content, level=1)
        elif kind == "bullet":
            d.add_paragraph(content, style="List Bullet")
        elif kind == "table":
            t = d.add_table(rows=len(content), cols=len(content[0]))
            t.style = "Table Grid"
            for r, row in enumerate(content):
                for c, cell in enumerate(row):
                    t.cell(r, c).text = cell
        elif isinstance(content, list):  # a paragraph in several runs, some bold or italic
            p = d.add_paragraph()
            for text, fmt in content:
                run = p.add_run(text)
                run.bold, run.italic = fmt == "b", fmt == "i"
        elif kind == "long":  # one long paragraph in runs of seven words, cut across its sentences
            p = d.add_paragraph()
            words = content.split(" ")
            for i in range(0, len(words), 7):
                p.add_run(" ".join(words[i : i + 7]) + " ").italic = i % 14 == 7
        else:
            d.add_paragraph(content)
    d.save(str(path))
    return path


def _alnum(text: str) -> str:
    return "".join(ch.lower() for ch in text if ch.isalnum())


def body_texts(path: Path) -> list[str]:
    """Every paragraph's text, in the body and in table cells: what the writer wrote."""
    import docx

    d = docx.Document(str(path))
    out = [p.text for p in d.paragraphs]
    for t in d.tables:
        out += [c.text for row in t.rows for c in row.cells]
    return out


def read_comments(path: Path) -> dict[int, dict]:
    """Comment id -> its author, text and the document text its range covers, from the saved file
    (python-docx's `document.comments` for the comments, the body XML for where they sit)."""
    import docx
    from lxml import etree

    d = docx.Document(str(path))
    comments = {c.comment_id: {"author": c.author, "text": c.text, "anchored": ""} for c in d.comments}
    with zipfile.ZipFile(path) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    open_ids: set[int] = set()
    for el in root.iter():
        if el.tag == f"{W}commentRangeStart":
            open_ids.add(int(el.get(f"{W}id")))
        elif el.tag == f"{W}commentRangeEnd":
            open_ids.discard(int(el.get(f"{W}id")))
        elif el.tag == f"{W}t":
            for i in open_ids:
                comments[i]["anchored"] += el.text or ""
        elif el.tag == f"{W}p":
            for i in open_ids:
                comments[i]["anchored"] += " "
    assert not open_ids, "a comment range was never closed"
    return comments


def leaf_evidence(cov) -> dict[int, list]:
    """Passage index -> its evidence for the leaves in the document's scope."""
    leaves = {l.id for l in cov.framework.leaves}
    per: dict[int, list] = {}
    for c in cov.indicators:
        if c.indicator.id in leaves and c.in_scope:
            for e in c.evidence:
                per.setdefault(e.passage.index, []).append(e)
    return per


@pytest.fixture(scope="module")
def draft(tmp_path_factory) -> Path:
    return write_draft(tmp_path_factory.mktemp("docx") / "eastmere-review.docx")


@pytest.fixture(scope="module")
def coverage(draft, embedder):
    return check(draft, "concordat-2019", scorer=SCORER, embedder=embedder)


def test_each_evidence_passage_gets_one_comment_with_its_indicators(draft, coverage, tmp_path):
    out = tmp_path / "annotated.docx"
    kind, n = annotate(coverage, out)
    per = leaf_evidence(coverage)
    assert kind == "docx" and n == len(per) >= 5
    comments = read_comments(out)
    assert all(c["author"] == AUTHOR for c in comments.values())
    gap = [c for c in comments.values() if "No evidence found for" in c["text"] or "Every indicator has" in c["text"]]
    assert len(gap) == 1
    evidence_comments = [c for c in comments.values() if c not in gap]
    assert len(evidence_comments) == len(per)
    for evs in per.values():
        p = evs[0].passage
        # the comment anchored on exactly this passage's text (a table row: its cells)
        mine = [c for c in evidence_comments if _alnum(c["anchored"]) == _alnum(p.text)]
        assert len(mine) == 1, (p.text[:60], [c["anchored"][:60] for c in evidence_comments])
        text = mine[0]["text"]
        assert f"evidence type: {evs[0].evidence_type}" in text
        for e in evs:
            title = coverage.framework.get(e.indicator_id).title
            assert f"{e.indicator_id} {title}: {e.status}" in text
        named = set(re.findall(r"^(\S+) .*: (?:strong|weak) \(", text, re.M))
        assert named == {e.indicator_id for e in evs}


def test_gap_summary_on_the_first_paragraph_lists_indicators_without_evidence(coverage, tmp_path):
    out = tmp_path / "annotated.docx"
    annotate(coverage, out)
    gap = next(c for c in read_comments(out).values() if "indicators in scope evidenced" in c["text"])
    assert _alnum(gap["anchored"]) == _alnum(TITLE)
    gaps = gap_indicators(coverage)
    assert gaps  # a short review cannot evidence all the Concordat's obligations
    lines = gap["text"].split("No evidence found for", 1)[1].splitlines()[1:]
    listed = [ln.split(" ", 1)[0] for ln in lines if not ln.startswith(("Evidenced by plans only", "... and"))]
    assert listed == [c.indicator.id for c in gaps][:80]
    assert all(coverage.by_id()[i].status == "none" and coverage.by_id()[i].in_scope for i in listed)
    assert f"No evidence found for {len(gaps)} indicators:" in gap["text"]


def test_the_writers_text_is_unchanged(draft, coverage, tmp_path):
    out = tmp_path / "annotated.docx"
    annotate(coverage, out)
    assert body_texts(out) == body_texts(draft)
    assert extract(out).text == extract(draft).text
    assert [p.text for p in segment(extract(out))] == [p.text for p in segment(extract(draft))]


def test_each_window_of_a_long_paragraph_is_anchored_on_its_own_sentences(coverage, tmp_path):
    """A paragraph over 90 words is several passages; each gets its own comment, on its words only
    (the run holding the cut is split in two, the text stays the same)."""
    long_block = next(b for b in coverage.document.blocks if b.text.startswith("The Research Staff Association, founded"))
    windows = [p for p in coverage.passages if long_block.start <= p.start < long_block.end]
    assert len(windows) >= 2
    leaves = {l.id for l in coverage.framework.leaves}
    leaf = next(c for c in coverage.indicators if c.indicator.id in leaves and c.in_scope)
    forced = dataclasses.replace(coverage, indicators=[
        dataclasses.replace(c, evidence=[Evidence(leaf.indicator.id, p, 0.9, "strong", "action") for p in windows]) if c is leaf else dataclasses.replace(c, evidence=[])
        for c in coverage.indicators])
    out = tmp_path / "windows.docx"
    assert annotate(forced, out) == ("docx", len(windows))
    anchored = sorted(_alnum(c["anchored"]) for c in read_comments(out).values() if "evidence for" in c["text"])
    assert anchored == sorted(_alnum(p.text) for p in windows)
    assert body_texts(out) == body_texts(Path(coverage.document.path))


def test_cli_annotates_a_docx_and_agrees_with_the_json_report(draft, tmp_path, cache_dir):
    out = tmp_path / "draft.annotated.docx"
    env = {"NLP_TAGGER_CACHE": str(cache_dir)}
    result = CliRunner().invoke(app, ["check", str(draft), "-f", "concordat-2019", "--scorer", SCORER, "--annotate", str(out), "--out", str(tmp_path / "r"), "-q"], env=env)
    assert result.exit_code == 0, result.output
    n = int(re.search(r"wrote annotated DOCX \((\d+) passages commented", result.output).group(1))
    data = json.loads(next((tmp_path / "r").glob("*.json")).read_text(encoding="utf-8"))
    per: dict[str, set] = {}  # passage text -> the indicators the JSON report says it evidences
    if "passages" in data:  # schema with each quoted passage listed once
        for p in data["passages"]:
            per[_alnum(p["text"])] = {i["id"] for i in p["indicators"]}
    else:
        leaves = {i["parent"] for i in data["indicators"]}
        for ind in data["indicators"]:
            if ind["id"] not in leaves and ind.get("in_scope", True):
                for ev in ind["evidence"]:
                    per.setdefault(_alnum(ev["text"]), set()).add(ind["id"])
    comments = [c for c in read_comments(out).values() if "evidence for" in c["text"]]
    assert n == len(comments) == len(per)
    for c in comments:
        ids = per[_alnum(c["anchored"])]
        assert set(re.findall(r"^(\S+) .*: (?:strong|weak) \(", c["text"], re.M)) == ids
    if "gaps" in data:
        gap = next(c for c in read_comments(out).values() if "No evidence found for" in c["text"])
        assert all(f"\n{i} " in gap["text"] for i in data["gaps"][:80])


def test_cli_refuses_to_overwrite_the_docx_or_write_another_format(draft, tmp_path, cache_dir):
    before = draft.read_bytes()
    runner = CliRunner()
    env = {"NLP_TAGGER_CACHE": str(cache_dir)}
    same = runner.invoke(app, ["check", str(draft), "--annotate", str(draft), "-q"], env=env)
    assert same.exit_code == 2 and "would be overwritten" in same.output
    for target in ("annotated.pdf", "annotated.txt", "annotated"):
        r = runner.invoke(app, ["check", str(draft), "--annotate", str(tmp_path / target), "-q"], env=env)
        assert r.exit_code == 2, r.output
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and "must be a .docx file" in lines[0]
        assert not (tmp_path / target).exists()
    md = tmp_path / "review.md"
    md.write_text("# Review\n\nThe steering group reviewed progress against every action in the plan.\n", encoding="utf-8")
    r = runner.invoke(app, ["check", str(md), "--annotate", str(tmp_path / "x.md"), "-q"], env=env)
    assert r.exit_code == 2 and "only PDF and DOCX submissions can be annotated" in r.output
    assert draft.read_bytes() == before


def test_cli_pdf_annotation_still_works(draft, tmp_path, cache_dir):
    from nlp_tagger.render import render_pdf

    pdf = render_pdf(extract(draft), tmp_path / "eastmere-review.pdf")
    out = tmp_path / "eastmere-review.annotated.pdf"
    result = CliRunner().invoke(app, ["check", str(pdf), "--scorer", SCORER, "--annotate", str(out), "-q"], env={"NLP_TAGGER_CACHE": str(cache_dir)})
    assert result.exit_code == 0, result.output
    assert re.search(r"wrote annotated PDF \(([1-9]\d*) passages highlighted\)", result.output)
    assert out.read_bytes()[:5] == b"%PDF-"
