"""Hostile input: nothing from a framework file or a document becomes script, markup or a
terminal escape, and no output replaces an input."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

from typer.testing import CliRunner

from cli import app
from nlp_tagger import check
from nlp_tagger.html_report import render_html
from nlp_tagger.report import print_table

EVIL_FW = """id: "x</script><script>alert(1)</script>"
name: "Evil <img src=x onerror=alert(1)>"
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
    doc = tmp_path / "report.md"
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
    assert json.loads(block)["framework"] == "x</script><script>alert(1)</script>"


def test_document_text_is_never_terminal_markup_or_escapes(tmp_path, embedder):
    cov, _ = _coverage(tmp_path, embedder)
    out = io.StringIO()
    from rich.console import Console

    print_table(cov, Console(file=out, width=200, force_terminal=True, color_system="standard"))
    text = out.getvalue()
    assert "[/bold]" in text and "[red]now[/red]" in text  # shown as written, not taken as markup
    assert "\x1b]8" not in text and "\x1b[31mred" not in text  # the document's escapes are gone
    best = cov.by_id()["W1' onfocus='alert(2)"].evidence[0]  # the counselling passage evidences W1
    assert f"[{best.evidence_type}]" in text  # the type tag is printed, not swallowed as markup


def test_reports_never_overwrite_the_submission(tmp_path):
    doc = tmp_path / "report.md"
    doc.write_text(EVIL_DOC, encoding="utf-8")
    before = doc.read_bytes()
    runner = CliRunner()
    for flag in ("--html", "--annotate"):
        result = runner.invoke(app, ["check", str(doc), "-f", "concordat-2019", flag, str(doc)])
        assert result.exit_code == 2 and "would be overwritten" in result.output
        assert doc.read_bytes() == before
