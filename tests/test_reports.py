"""The HTML report in a real headless Chromium, the annotated PDF read back with pdfplumber, and
`compare` between two drafts."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner

from cli import app
from nlp_tagger import check
from nlp_tagger.annotate import annotate_pdf
from nlp_tagger.html_report import render_html

from .conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE_SERVICES = os.environ.get("NLP_TAGGER_REQUIRE_SERVICES") == "1"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def coverage(rendered, embedder):
    return check(rendered["pdf"], "concordat-2019", embedder=embedder)


@pytest.fixture(scope="module")
def page(coverage, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail("Chromium is not installed (.ci/run installs it)")
        pytest.skip("Chromium is not installed here; scripts/test.sh installs it")
    from playwright.sync_api import sync_playwright

    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(coverage), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("request", lambda r: errors.append(f"network request: {r.url}") if not r.url.startswith(("file:", "data:", "about:")) else None)
        pg.goto(path.as_uri())
        pg.errors = errors
        yield pg
        browser.close()


def _in_scope(coverage):
    return [l for l in coverage.framework.leaves if coverage.by_id()[l.id].in_scope]


def test_heat_map_has_one_cell_per_indicator_and_no_errors(page, coverage):
    leaves = [l.id for l in _in_scope(coverage)]
    cells = page.locator("#heatmap a.cell")
    assert cells.count() == len(leaves)
    assert sorted(cells.evaluate_all("els => els.map(e => e.dataset.indicator)")) == sorted(leaves)
    # the funders' obligations sit apart, grey, and are not links to gaps
    outside = page.locator("#out-of-scope .cell")
    assert sorted(outside.all_inner_texts()) == sorted(l.id for l in coverage.framework.leaves if l.audience == "funders")
    assert page.locator("#gaps li[data-indicator^='ECF'], #gaps li[data-indicator^='EF'], #gaps li[data-indicator^='PCDF']").count() == 0
    statuses = {c.indicator.id: c.status for c in coverage.indicators}
    first = cells.first
    assert f"s-{statuses[first.get_attribute('data-indicator')]}" in first.get_attribute("class")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "html-report.png"), full_page=False)
    assert (ARTIFACTS / "html-report.png").stat().st_size > 10_000
    assert page.errors == []


def test_clicking_a_cell_scrolls_to_its_evidence(page, coverage):
    target = next(c for c in coverage.indicators if c.evidence and not coverage.framework.children(c.indicator.id) and c.indicator.id.startswith("PCD"))
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(f"#heatmap a.cell[data-indicator='{target.indicator.id}']").click()
    page.wait_for_timeout(300)
    box = page.locator(f"#ind-{target.indicator.id}").bounding_box()
    assert page.evaluate("window.scrollY") > 500
    assert -5 <= box["y"] < 900  # its evidence is now at the top of the viewport
    quote = page.locator(f"#ind-{target.indicator.id} blockquote").first.inner_text()
    assert " ".join(target.evidence[0].passage.text.split()) in " ".join(quote.split())  # whole, never cut


def test_filters_hide_and_show_the_right_items(page, coverage):
    leaves = _in_scope(coverage)
    by = {c.indicator.id: c for c in coverage.indicators}
    page.select_option("#f-status", "none")
    visible = page.locator("article.indicator:visible")
    assert visible.count() == sum(by[l.id].status == "none" for l in leaves)
    page.select_option("#f-status", "planned")
    assert visible.count() == sum(by[l.id].status == "planned" for l in leaves)
    page.select_option("#f-status", "")
    page.select_option("#f-principle", "E")
    assert visible.count() == sum(coverage.framework.root_of(l.id) == "E" for l in leaves)
    page.select_option("#f-principle", "")
    page.select_option("#f-type", "plan")
    want = sum(any(e.evidence_type == "plan" for e in by[l.id].evidence) for l in leaves)
    assert visible.count() == want
    page.select_option("#f-type", "")
    page.fill("#f-search", "induction")
    assert 0 < visible.count() < len(leaves)
    page.fill("#f-search", "")
    assert visible.count() == len(leaves)


def test_accessibility_axe_core_finds_no_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    assert violations == [], [(v["id"], v["help"]) for v in violations]


def _alnum(text: str) -> str:
    return "".join(ch.lower() for ch in text if ch.isalnum())


def test_annotated_pdf_highlights_each_evidence_passage(coverage, tmp_path):
    out = tmp_path / "annotated.pdf"
    n = annotate_pdf(coverage, out)
    leaves = {l.id for l in coverage.framework.leaves}
    # the passages every report quotes: in-scope leaves' evidence, each once
    passages = {e.passage.index: e.passage for c in coverage.indicators if c.indicator.id in leaves and c.in_scope for e in c.evidence}
    assert n == len(passages) > 5
    highlighted = set()
    with pdfplumber.open(out) as pdf:
        for pg in pdf.pages:
            for a in pg.annots:
                if a["data"]["Subtype"].name != "Highlight":
                    continue
                words = _alnum(pg.crop((a["x0"], a["top"], a["x1"], a["bottom"])).extract_text() or "")
                # a passage starting on this page, or the rest of one running over the page break
                match = [i for i, p in passages.items() if (p.page == pg.page_number and _alnum(p.text)[:30] in words)
                         or (p.page == pg.page_number - 1 and words[:30] in _alnum(p.text))]
                assert match, (pg.page_number, words[:80])
                assert any(i in a["contents"] for i in leaves)
                highlighted.update(match)
    assert highlighted == set(passages)


def test_compare_two_drafts(tmp_path, cache_dir):
    md = ROOT / "corpora" / "documents" / "concordat" / "c1-brackenfield-hreir-review.md"
    text = md.read_text(encoding="utf-8")
    old = tmp_path / "draft1.md"
    old.write_text(text.split("## Principle 3")[0] if "## Principle 3" in text else text[: len(text) // 2], encoding="utf-8")
    new = tmp_path / "draft2.md"
    new.write_text(text, encoding="utf-8")
    env = {"NLP_TAGGER_CACHE": str(cache_dir)}
    result = CliRunner().invoke(app, ["compare", str(old), str(new), "-f", "concordat-2019", "--json"], env=env)
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    assert diff["evidenced_after"] >= diff["evidenced_before"]
    assert diff["gained"] and all(r["after"] != "none" for r in diff["gained"])


def test_terminal_shows_one_line_per_indicator_at_80_columns(coverage):
    import io

    from rich.console import Console

    from nlp_tagger.report import print_table

    out = io.StringIO()
    print_table(coverage, Console(file=out, width=80, color_system=None))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    fw = coverage.framework
    for leaf in fw.leaves:
        rows = [line for line in lines if line.split()[:1] == [leaf.id] and len(line.split()) >= 4]
        # in scope: exactly one row, with its status; out of scope: no row, named once apart
        assert len(rows) == (1 if coverage.by_id()[leaf.id].in_scope else 0), (leaf.id, rows)
    assert any(line.startswith("Out of scope, not gaps: ECF1") for line in lines)
    assert [line.split()[0] for line in lines if line.split()[:1] in (["EC"], ["E"], ["PCD"])] == ["EC", "E", "PCD"]
