"""The review loop end to end: a reviewer rejects a claim and attaches a missed passage in the
HTML report (real Chromium), exports the corrections, `train --gold` learns them, and the
corrected passages move in the next `check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from nlp_tagger import check
from nlp_tagger.html_report import render_html
from nlp_tagger.labels import load_gold
from nlp_tagger.match import build_context
from nlp_tagger.ranker import RankerScorer

from .test_reports import CHROMIUM, FLAGS, REQUIRE_SERVICES

FW = "concordat-2019"


def _score(cov, passage_index: int, indicator: str, models_dir: Path | None, embedder) -> float:
    """The ranker's score of one passage for one indicator, quoted or not."""
    scorer = RankerScorer.load(cov.framework, models_dir)
    ctx = build_context(cov.passages, cov.framework, embedder)
    return float(scorer.predict_proba(ctx)[passage_index, ctx.leaf_ids.index(indicator)])


def test_reject_attach_export_train_and_the_passages_move(rendered, embedder, tmp_path):
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail("Chromium is not installed (.ci/run installs it)")
        pytest.skip("Chromium is not installed here; scripts/test.sh installs it")
    from playwright.sync_api import sync_playwright

    cov = check(rendered["pdf"], FW, embedder=embedder)
    by_id = cov.by_id()
    # the claim to reject: the strongest claim of the first quoted passage
    rejected = next(e for c in cov.indicators if c.in_scope and c.evidence and not cov.framework.children(c.indicator.id) for e in c.evidence[:1])
    # the passage to attach: a gap's nearest passage, which the tool did not claim for it
    gap = next(c for c in cov.indicators if c.status == "none" and c.in_scope and c.nearest is not None
               and c.nearest.index != rejected.passage.index and not cov.framework.children(c.indicator.id))
    attached = gap.nearest
    # and one passage the tool quoted nowhere, attached through the card's indicator picker
    quoted = {e.passage.index for c in cov.indicators for e in c.evidence} | {attached.index}
    picked = next(p for p in cov.passages if p.index not in quoted)
    picked_for = next(l.id for l in cov.framework.leaves if by_id[l.id].in_scope and l.id != gap.indicator.id)
    html_path = tmp_path / "report.html"
    html_path.write_text(render_html(cov), encoding="utf-8")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html_path.as_uri())
        assert page.locator("#export").is_disabled()
        page.locator(f"li[data-passage='{rejected.passage.index}'][data-indicator='{rejected.indicator_id}'] button.reject").click()
        page.locator(f"#gaps li[data-indicator='{gap.indicator.id}'] button.attach").click()
        page.locator("#other-passages summary").click()
        page.locator(f"button.pick[data-passage='{picked.index}']").click()
        page.select_option(f"#add-{picked.index}", picked_for)
        page.locator(f"#p-{picked.index} button.attach").click()
        assert page.locator(f"#added-{picked.index} li").inner_text() == f"attached: {picked_for}"
        assert page.locator("#review-count").inner_text() == "3 passages reviewed"
        with page.expect_download() as dl:
            page.locator("#export").click()
        corrections = tmp_path / "corrections.jsonl"
        dl.value.save_as(corrections)
        assert dl.value.suggested_filename == f"{cov.document.doc_id}.{FW}.corrections.jsonl"
        shown = page.locator("#export-text").input_value()
        browser.close()
    assert errors == []
    assert corrections.read_text(encoding="utf-8") == shown

    # the export is labelled-corpus JSONL: it loads, and says what the reviewer decided
    gold = load_gold(corrections, cov.framework)
    rows = {g.text: g for g in gold.passages}
    assert set(rows) == {rejected.passage.text, attached.text, picked.text}
    assert rows[picked.text].labels == (picked_for,)
    assert rejected.indicator_id not in rows[rejected.passage.text].labels
    assert gap.indicator.id in rows[attached.text].labels
    assert {g.label_source for g in gold.passages} == {"review"} and {g.doc_id for g in gold.passages} == {cov.document.doc_id}
    assert json.loads(corrections.read_text().splitlines()[0])["framework"] == FW

    # the corrections' own effect: a quick retrain with them against a quick retrain without them
    # (a quick model differs from the shipped, cross-fitted one everywhere, corrections or not)
    plain = tmp_path / "models-plain"
    result = CliRunner().invoke(app, ["train", "-f", FW, "--models", str(plain), "--quick"])
    assert result.exit_code == 0, result.output
    before_attached = _score(cov, attached.index, gap.indicator.id, plain, embedder)
    before_rejected = _score(cov, rejected.passage.index, rejected.indicator_id, plain, embedder)
    models = tmp_path / "models"
    result = CliRunner().invoke(app, ["train", "-f", FW, "--gold", str(corrections), "--models", str(models), "--quick"])
    assert result.exit_code == 0, result.output
    assert "added 3 review correction(s) to the bundled corpus" in result.output

    after_attached = _score(cov, attached.index, gap.indicator.id, models, embedder)
    after_rejected = _score(cov, rejected.passage.index, rejected.indicator_id, models, embedder)
    assert after_attached > before_attached + 0.1, (before_attached, after_attached)
    assert after_rejected < before_rejected - 0.1, (before_rejected, after_rejected)
    # and `check --models` reads the retrained ranker: the attached passage is now evidence
    again = check(rendered["pdf"], FW, embedder=embedder, models_dir=models)
    assert again.by_id()[gap.indicator.id].status != "none", (by_id[gap.indicator.id].score, again.by_id()[gap.indicator.id].score)
