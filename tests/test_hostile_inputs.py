"""Hostile input: nothing from a framework file or a document becomes script, markup or a
terminal escape, and no output replaces an input."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from nlp_tagger import check
from nlp_tagger.html_report import render_html
from nlp_tagger.report import print_table

EVIL_FW = """id: evil
name: "Evil </script><img src=x onerror=alert(1)>"
indicators:
  - {id: "P' onmouseover='alert(1)", parent: null, title: "Principle <b>", text: "Staff wellbeing is supported"}
  - {id: "W1' onfocus='alert(2)", parent: "P' onmouseover='alert(1)", title: "Counselling", text: "Free confidential counselling is available to all staff"}
"""
EVIL_DOC = ("# Our year\n\nAll employees can book [/bold] six free sessions with a counsellor [red]now[/red] "
            "\x1b]8;;http://example.invalid\x07link\x1b]8;;\x07 \x1b[31mred\x1b[0m.\n")


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.attrs, self.scripts, self.data = [], 0, []

    def handle_starttag(self, tag, attrs):
        self.attrs += [a for a, _ in attrs]
        self.scripts += tag == "script"

    def handle_data(self, data):
        self.data.append(data)


def _coverage(tmp_path, embedder):
    fw = tmp_path / "evil.yaml"
    fw.write_text(EVIL_FW, encoding="utf-8")
    doc = tmp_path / "report<script>alert(3)<.md"  # a file name can hold markup too
    doc.write_text(EVIL_DOC, encoding="utf-8")
    return check(doc, fw, embedder=embedder), doc


def test_framework_ids_cannot_script_the_html_report(tmp_path, embedder):
    cov, _ = _coverage(tmp_path, embedder)
    page = render_html(cov)
    p = _Collect()
    p.feed(page)
    assert not [a for a in p.attrs if a.startswith("on")]  # no event handler from any id or title
    assert p.scripts == 2  # the JSON data block and the report's own script, nothing injected
    block = page.split("id='report-data'>", 1)[1].split("</script>", 1)[0]
    assert json.loads(block)["document"] == "report<script>alert(3)<"
    assert "<img" not in page and "&lt;/script&gt;&lt;img" in page


def test_document_text_is_never_terminal_markup_or_escapes(tmp_path, embedder):
    cov, _ = _coverage(tmp_path, embedder)
    out = io.StringIO()
    from rich.console import Console

    print_table(cov, Console(file=out, width=200, force_terminal=True, color_system="standard"))
    text = out.getvalue()
    assert "[/bold]" in text and "[red]now[/red]" in text  # shown as written, not taken as markup
    assert "\x1b]8" not in text and "\x1b[31mred" not in text  # the document's escapes are gone
    w1 = cov.by_id()["W1' onfocus='alert(2)"]
    assert w1.evidence  # the counselling passage evidences W1
    row = next(line for line in text.splitlines() if "W1' onfocus" in line)
    assert w1.maturity in row  # printed in its row, not swallowed as markup


def test_reports_never_overwrite_the_submission(tmp_path):
    doc = tmp_path / "report.md"
    doc.write_text(EVIL_DOC, encoding="utf-8")
    before = doc.read_bytes()
    runner = CliRunner()
    for flag in ("--html", "--annotate"):
        result = runner.invoke(app, ["check", str(doc), "-f", "concordat-2019", flag, str(doc)])
        assert result.exit_code == 2 and "would be overwritten" in result.output
        assert doc.read_bytes() == before


def test_framework_ids_that_would_name_files_badly_are_refused(tmp_path):
    from nlp_tagger import FrameworkError, load_framework

    for bad in ("../../etc/x", "a/b", "x</script>", ""):
        fw = tmp_path / "bad.yaml"
        fw.write_text(f'id: "{bad}"\nname: N\nindicators:\n  - {{id: A, parent: null, title: A, text: a}}\n', encoding="utf-8")
        try:
            load_framework(fw)
        except FrameworkError as exc:
            assert str(fw) in str(exc) and "\n" not in str(exc)
        else:
            raise AssertionError(f"framework id {bad!r} was accepted")


def test_csv_cells_are_never_formulas(tmp_path, embedder):
    from nlp_tagger.report import to_csv

    doc = tmp_path / "formula.md"
    doc.write_text("# Year\n\n=HYPERLINK(\"http://example.invalid\",\"All staff can book free counselling sessions\")\n", encoding="utf-8")
    fw = tmp_path / "evil.yaml"
    fw.write_text(EVIL_FW, encoding="utf-8")
    rows = to_csv(check(doc, fw, embedder=embedder)).splitlines()
    assert not any(cell.startswith(("=", "+", "@")) for row in __import__("csv").reader(rows) for cell in row)
    assert any("'=HYPERLINK" in r for r in rows)


def test_utf16_text_is_decoded_not_read_as_nul_characters(tmp_path):
    from nlp_tagger import InputError, extract

    text = "# Annual report\n\nAll research staff now have a named mentor within their first month.\n"
    for enc, bom in (("utf-16", b""), ("utf-16-le", b""), ("utf-16-be", b"\xfe\xff")):
        f = tmp_path / f"{enc}.txt"
        f.write_bytes(bom + text.encode(enc))
        doc = extract(f)
        assert "named mentor" in doc.text and "\x00" not in doc.text
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01\x02" * 400)
    with pytest.raises(InputError, match="junk.txt"):
        extract(junk)


def test_a_paragraph_over_a_million_characters_is_segmented(tmp_path):
    from nlp_tagger import extract, segment

    f = tmp_path / "huge.txt"
    f.write_text("Researchers met their mentors. " * 40_000, encoding="utf-8")
    passages = segment(extract(f))
    assert passages and sum(len(p.text) for p in passages) > 1_000_000


def test_database_paths_that_cannot_work_are_one_line_errors(tmp_path):
    runner = CliRunner()
    ro = tmp_path / "ro"
    ro.mkdir()
    notdb = tmp_path / "notes.sqlite"
    notdb.write_text("this is not a database", encoding="utf-8")
    cases = [
        (["summary", "--db", str(tmp_path / "typo.sqlite")], "no such database"),
        (["summary", "--db", str(tmp_path / "missing" / "x.sqlite")], "does not exist"),
        (["summary", "--db", str(ro)], "is a folder"),
        (["summary", "--db", str(notdb)], "cannot open the database"),
    ]
    for args, needle in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and needle in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "typo.sqlite").exists()  # reading never creates a database


def test_summary_outputs_never_replace_the_database(tmp_path):
    from nlp_tagger.batch import db as D

    path = tmp_path / "results.sqlite"
    D.connect(str(path), create=True).dispose()
    before = path.read_bytes()
    runner = CliRunner()
    for option in ("--csv", "--parquet", "--html"):
        result = runner.invoke(app, ["summary", "--db", str(path), option, str(path)])
        assert result.exit_code == 2 and "is the database this summary reads" in result.output and f"another {option} path" in result.output, result.output
    result = runner.invoke(app, ["summary", "--db", str(path), "--csv", str(tmp_path / "t.csv"), "--parquet", str(tmp_path / "t.csv")])
    assert result.exit_code == 2 and "another output of this command" in result.output
    assert path.read_bytes() == before


def test_empty_indicator_list_is_named_as_such(tmp_path):
    from nlp_tagger import FrameworkError, load_framework

    fw = tmp_path / "empty.yaml"
    fw.write_text("id: empty\nname: Empty\nindicators: []\n", encoding="utf-8")
    with pytest.raises(FrameworkError, match="has no indicators"):
        load_framework(fw)


def test_a_label_file_with_unicode_line_separators_loads(tmp_path):
    """Issue "Hostile and careless input, round 2", item 3: the export writes valid JSONL whose
    passages hold U+2028/U+2029; the loader splits lines on \\n only."""
    from nlp_tagger.labels import load_gold

    row = {"doc_id": "d", "framework": "concordat-2019", "passage": "First line\u2028second line\u2029third", "labels": ["EI6"], "evidence_type": "action"}
    path = tmp_path / "corrections.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    gold = load_gold(path)
    assert len(gold.passages) == 1 and gold.passages[0].text == row["passage"]


@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_models_folder_that_cannot_serve_the_framework_is_an_error(tmp_path, kind):
    """Issue "Hostile and careless input, round 2", item 5: `--models DIR` never falls back to
    zero-shot scores."""
    from typer.testing import CliRunner

    from cli import app

    models = tmp_path / "models"
    if kind == "empty":
        models.mkdir()
    elif kind == "file":
        models.write_text("not a folder", encoding="utf-8")
    doc = Path(__file__).resolve().parent.parent / "corpora" / "check" / "documents" / "concordat" / "w1-penhallow-web-page.md"
    res = CliRunner().invoke(app, ["check", str(doc), "-f", "concordat-2019", "--models", str(models)])
    assert res.exit_code != 0 and "no trained model" in res.output and "Traceback" not in res.output
