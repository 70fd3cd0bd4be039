"""The archive dashboard (`nlp-tagger summary --html`) over a real batch database, in a real
headless Chromium: one plot row per indicator, year and institution views checked against figures
computed here straight from the database, no console errors, no request but the file itself,
axe-core clean, hostile institution and file names shown as text; and the output-path refusals.

`NLP_TAGGER_UPDATE_DOCS=1` also saves the screenshot to docs/dashboard.png for the README."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

from . import bad_inputs
from .conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE_SERVICES = os.environ.get("NLP_TAGGER_REQUIRE_SERVICES") == "1"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# a name written with the db.py writer (a folder name cannot hold '/'), and one a folder can hold
HOSTILE = '<script>alert(1)</script> " onmouseover="x'
HOSTILE_FOLDER = "wexcombe \" onmouseover=\"x' <img src=x onerror=alert(2)>"  # no '/': a folder name
HOSTILE_FILE = "<img src=x onerror=alert(3)>.pdf"
DOCS = ["r2-gorsebrook-university-web-page", "r3-pellingham-university-web-page", "r3-morland-university-web-page",
        "r3-lowther-vale-university-web-page", "r2-easterbrook-university-news"]


@pytest.fixture(scope="module")
def archive_db(tmp_path_factory, cache_dir, embedder):
    """A batch database: the real `batch` over four short documents in three institution folders
    (one with a hostile name; years 2021, 2022 and none) plus a corrupt PDF with a hostile file
    name; then a second run writing a fifth document through the writer functions `batch` uses,
    with an institution name no folder can have."""
    from nlp_tagger import __version__, check
    from nlp_tagger.batch import db as D
    from nlp_tagger.batch import run_batch
    from nlp_tagger.batch.worker import to_rows
    from nlp_tagger.frameworks import load_framework

    base = tmp_path_factory.mktemp("dashboard")
    root = base / "archive"
    src = ROOT / "corpora" / "documents" / "concordat"
    layout = [("brackenfield", f"{DOCS[0]}-2021.md"), ("brackenfield", f"{DOCS[1]}-2022.md"),
              (HOSTILE_FOLDER, f"{DOCS[2]}-2022.md"), ("tarnmouth", f"{DOCS[3]}.md")]
    for (inst, name), stem in zip(layout, DOCS):
        (root / inst).mkdir(parents=True, exist_ok=True)
        shutil.copy(src / f"{stem}.md", root / inst / name)
    bad_inputs.corrupt_pdf(root / "brackenfield" / HOSTILE_FILE)
    db = base / "results.sqlite"
    s = run_batch([str(root)], "concordat-2019", str(db), workers=1, scorer="similarity", progress=False, cache_dir=str(cache_dir))
    assert (s.n_ok, s.n_failed) == (4, 1), s.failures

    fw = load_framework("concordat-2019")
    engine = D.connect(str(db))
    run_id = D.start_run(engine, fw, "similarity", None, __version__)
    doc = src / f"{DOCS[4]}.md"
    cov = check(doc, fw, scorer="similarity", embedder=embedder)
    written = {"path": str(doc), "institution": HOSTILE, "year": 2023, "status": "ok", "seconds": 0.1, **to_rows(cov)}
    D.write_result(engine, run_id, fw.id, written)
    D.finish_run(engine, run_id, 1, 0, 0)
    engine.dispose()
    return {"db": db, "archive": root, "base": base, "written": written}


def _sql(db: Path, query: str, *args):
    with sqlite3.connect(db) as con:
        return con.execute(query, args).fetchall()


def _expected(db: Path) -> dict:
    """The dashboard's figures, computed here from the tables with SQL and nothing of nlp_tagger."""
    rows = _sql(db, "SELECT a.id, d.institution, d.year, c.indicator_id, c.parent_id, c.status FROM coverage c "
                    "JOIN analyses a ON a.id = c.analysis_id JOIN documents d ON d.id = a.document_id WHERE a.status = 'ok' AND c.status != 'out'")
    parent = {r[3]: r[4] for r in rows}
    parents = set(parent.values()) - {None}
    leaves = {i for i in parent if i not in parents}

    def root(i):
        while parent.get(i):
            i = parent[i]
        return i

    per_leaf = defaultdict(lambda: defaultdict(int))
    docs = defaultdict(list)
    meta = {}
    for aid, inst, year, ind, _, status in rows:
        if ind in leaves:
            per_leaf[ind][status] += 1
            docs[aid].append((root(ind), status))
            meta[aid] = (inst, year)

    def share(items):
        return sum(s in ("strong", "weak") for _, s in items) / len(items)  # planned only is not evidence yet

    years, insts = defaultdict(list), defaultdict(list)
    for aid, items in docs.items():
        inst, year = meta[aid]
        years[year].append(share(items))
        by_p = {p: share([x for x in items if x[0] == p]) for p in {p for p, _ in items}}
        insts[inst].append((share(items), by_p))
    return {
        "leaves": leaves,
        "per_leaf": per_leaf,
        "years": {("unknown" if y is None else str(y)): (len(v), sum(v) / len(v)) for y, v in years.items()},
        "institutions": {inst: (len(v), sum(a for a, _ in v) / len(v), {p: sum(b[p] for _, b in v) / len(v) for p in v[0][1]}) for inst, v in insts.items()},
        "principles": {root(i) for i in leaves},
    }


@pytest.fixture(scope="module")
def dashboard(archive_db):
    out = archive_db["base"] / "dashboard.html"
    before = hashlib.sha256(archive_db["db"].read_bytes()).hexdigest()
    result = CliRunner().invoke(app, ["summary", "--db", str(archive_db["db"]), "-f", "concordat-2019", "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote html: {out}" in result.output
    assert hashlib.sha256(archive_db["db"].read_bytes()).hexdigest() == before  # read, never written
    return out


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail("Chromium is not installed (.ci/run installs it)")
        pytest.skip("Chromium is not installed here; scripts/test.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _open(browser, path: Path):
    pg = browser.new_page(viewport={"width": 1280, "height": 1000})
    pg.errors, pg.requests, pg.dialogs = [], [], []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(path.as_uri())
    return pg


@pytest.fixture(scope="module")
def page(browser, dashboard):
    pg = _open(browser, dashboard)
    yield pg
    pg.close()


def test_one_plot_row_per_indicator_with_the_database_counts(page, archive_db):
    want = _expected(archive_db["db"])
    assert len(want["leaves"]) == 49  # the 59 obligations less the funders' 10, out of scope for these documents
    rows = page.locator("#fw0-ind-chart g.ind-row")
    assert rows.count() == 49
    got = rows.evaluate_all("els => els.map(e => [e.dataset.indicator, +e.dataset.documents, "
                            "Object.fromEntries(['strong', 'weak', 'planned', 'other', 'none'].map(s => [s, +e.dataset[s]]))])")
    assert {g[0] for g in got} == want["leaves"]
    for ind, n, counts in got:
        assert n == 5 and {s: k for s, k in counts.items() if k} == dict(want["per_leaf"][ind]), ind
        bars = page.locator(f"#fw0-ind-chart g.ind-row[data-indicator='{ind}'] rect")
        assert bars.count() == len(want["per_leaf"][ind])  # one bar segment per status present
    assert page.locator("#fw0-ind-table tbody tr").count() == 49  # the data table behind the chart
    assert page.locator("#fw0-ind-chart > title").text_content().startswith("Share of 5 documents")
    # the counts on top, from the database
    db = archive_db["db"]
    assert page.locator("#n-documents").get_attribute("data-count") == str(_sql(db, "SELECT COUNT(DISTINCT document_id) FROM analyses")[0][0]) == "6"
    assert page.locator("#n-failed").get_attribute("data-count") == str(_sql(db, "SELECT COUNT(*) FROM analyses WHERE status = 'failed'")[0][0]) == "1"
    assert page.locator("#n-runs").get_attribute("data-count") == str(_sql(db, "SELECT COUNT(*) FROM runs")[0][0]) == "2"
    assert page.locator("#fw0-n-ok").get_attribute("data-count") == "5"


def test_year_view_matches_the_database(page, archive_db):
    want = _expected(archive_db["db"])["years"]
    assert set(want) == {"2021", "2022", "2023", "unknown"}
    bars = page.locator("#fw0-year-chart g.year-bar").evaluate_all("els => els.map(e => [e.dataset.year, +e.dataset.documents, +e.dataset.evidenced])")
    assert [b[0] for b in bars] == ["2021", "2022", "2023", "unknown"]  # in order, unknown last
    rows = page.locator("#fw0-years tbody tr")
    for (year, n, evidenced), i in zip(bars, range(rows.count())):
        assert n == want[year][0] and evidenced == pytest.approx(want[year][1], abs=1e-4), year
        cells = rows.nth(i).locator("th, td")
        assert cells.nth(0).inner_text() == year and cells.nth(1).inner_text() == str(want[year][0])
        assert float(cells.nth(2).get_attribute("data-value")) == pytest.approx(want[year][1], abs=1e-4)
        assert cells.nth(2).inner_text() == f"{want[year][1] * 100:.0f}%"
    assert want["2022"][0] == 2
    from nlp_tagger.batch import summarise  # and the `summary --by year` table printed beside it agrees

    table = {("unknown" if r["year"] is None else str(r["year"])): r["mean_evidenced_share"] for r in summarise(str(archive_db["db"]), "year")}
    assert table == {y: pytest.approx(e, abs=1e-4) for y, (_, e) in want.items()}


def test_institution_view_matches_the_database(page, archive_db):
    exp = _expected(archive_db["db"])
    want = exp["institutions"]
    assert set(want) == {"brackenfield", "tarnmouth", HOSTILE_FOLDER, HOSTILE}
    rows = page.locator("#fw0-institutions tbody tr")
    assert rows.count() == 4
    seen = set()
    for i in range(rows.count()):
        row = rows.nth(i)
        name = row.locator("th").inner_text()
        assert row.get_attribute("data-institution") == name  # the attribute holds the same text, intact
        n, overall, by_principle = want[name]
        seen.add(name)
        assert row.locator("td").first.inner_text() == str(n)
        assert float(row.locator("td[data-principle='all']").get_attribute("data-value")) == pytest.approx(overall, abs=1e-4)
        for principle in exp["principles"]:
            cell = row.locator(f"td[data-principle='{principle}']")
            assert float(cell.get_attribute("data-value")) == pytest.approx(by_principle[principle], abs=1e-4), (name, principle)
            assert cell.inner_text() == f"{by_principle[principle] * 100:.0f}%"
    assert seen == set(want)
    assert want["brackenfield"][0] == 2
    header = page.locator("#fw0-institutions thead th").all_inner_texts()
    assert len(header) == 2 + len(exp["principles"]) + 1


def test_hostile_names_are_shown_as_text(page):
    names = page.locator("#fw0-institutions tbody th").all_inner_texts()
    assert HOSTILE in names and HOSTILE_FOLDER in names
    assert HOSTILE_FILE in page.locator("#fw0-failed").inner_text()
    page.locator("#fw0-institutions tbody th", has_text="onmouseover").first.hover()
    page.locator("#fw0-institutions tbody tr td.cell").first.hover()
    assert page.evaluate("document.querySelectorAll('script, img, b, [onmouseover], [onerror]').length") == 0
    assert page.dialogs == []


def test_no_console_errors_and_no_request_but_the_file(page, dashboard):
    assert page.errors == []
    assert page.requests == [dashboard.as_uri()]


def test_accessibility_axe_core_finds_no_violations_and_screenshot(page):
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 1500})  # counts, year, institutions, first indicators
    assert shot.stat().st_size > 20_000
    if os.environ.get("NLP_TAGGER_UPDATE_DOCS") == "1":
        shutil.copy(shot, ROOT / "docs" / "dashboard.png")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")  # the data tables too
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_empty_database_gives_a_page_saying_so(browser, tmp_path):
    from axe_playwright_python.sync_playwright import Axe

    from nlp_tagger.batch import db as D

    db = tmp_path / "empty.sqlite"
    D.connect(str(db)).dispose()
    out = tmp_path / "empty.html"
    result = CliRunner().invoke(app, ["summary", "--db", str(db), "--html", str(out)])
    assert result.exit_code == 0, result.output
    pg = _open(browser, out)
    assert "no results" in pg.locator("#no-results").inner_text()
    assert pg.locator("#n-documents").inner_text() == "0" and pg.locator("section.framework").count() == 0
    violations = Axe().run(pg).response["violations"]
    assert violations == [], [(v["id"], v["help"]) for v in violations]
    assert pg.errors == [] and pg.requests == [out.as_uri()]
    pg.close()


def _summary(db: Path, html: Path, *extra: str):
    return CliRunner().invoke(app, ["summary", "--db", str(db), "--html", str(html), *extra])


def test_refuses_to_overwrite_the_database_or_an_input(archive_db, tmp_path):
    db = archive_db["db"]
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    doc = archive_db["archive"] / "brackenfield" / f"{DOCS[0]}-2021.md"
    doc_text = doc.read_text(encoding="utf-8")
    link = tmp_path / "link.sqlite"
    link.symlink_to(db)
    for target, extra, why in ((db, (), "is the database"), (Path(str(db) + "-wal"), (), "is the database"), (link, (), "is the database"),
                               (doc, (), "is a document of the archive"), (tmp_path / "same.csv", ("--csv", str(tmp_path / "same.csv")), "another output")):
        result = _summary(db, target, *extra)
        assert result.exit_code == 2, (target, result.output)
        line = result.output.strip()
        assert "\n" not in line and line.startswith(f"error: {target}:") and why in line, line
        assert "Choose another --html path" in line or "Give --html a file of its own" in line, line
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert doc.read_text(encoding="utf-8") == doc_text
    assert not (tmp_path / "same.csv").exists()


def test_refuses_a_missing_folder_in_one_line(archive_db, tmp_path):
    out = tmp_path / "no-such-folder" / "dashboard.html"
    result = _summary(archive_db["db"], out)
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {out}: folder {out.parent} does not exist. Create it first, or choose another --html path"
    assert not out.parent.exists()
    result = _summary(archive_db["db"], tmp_path)
    assert result.exit_code == 2 and "is a folder" in result.output


def test_database_url_password_is_not_shown():
    from nlp_tagger.dashboard import _db_label

    assert _db_label("postgresql://tagger:s3cret@db.example/archive") == "postgresql://tagger:***@db.example/archive"
    assert _db_label("/data/results.sqlite") == "results.sqlite"


@pytest.fixture(scope="module")
def postgres():
    """A real PostgreSQL server on a private socket, for these tests only."""
    from .test_batch import postgres_server

    with postgres_server(54331) as url:
        yield url


def test_dashboard_from_postgresql_matches_sqlite(archive_db, postgres, tmp_path):
    """The same document written to PostgreSQL by the batch writer gives the same figures."""
    import re

    from nlp_tagger import __version__
    from nlp_tagger.batch import db as D
    from nlp_tagger.dashboard import write_dashboard
    from nlp_tagger.frameworks import load_framework

    engine = D.connect(postgres)
    run_id = D.start_run(engine, load_framework("concordat-2019"), "similarity", None, __version__)
    D.write_result(engine, run_id, "concordat-2019", archive_db["written"])
    D.finish_run(engine, run_id, 1, 0, 0)
    engine.dispose()
    out = tmp_path / "pg.html"
    counts = write_dashboard(postgres, out, "concordat-2019")
    assert counts == {"frameworks": ["concordat-2019"], "documents": 1, "failed": 0, "runs": 1}
    page = out.read_text(encoding="utf-8")
    exp = _expected(archive_db["db"])["institutions"][HOSTILE]
    row = re.search(r"<tr data-institution='([^']*)'>(.*?)</tr>", page).groups()
    assert row[0] == "&lt;script&gt;alert(1)&lt;/script&gt; &quot; onmouseover=&quot;x"
    values = dict(re.findall(r"data-principle='([^']*)' data-value='([0-9.]+)'", row[1]))
    assert float(values.pop("all")) == pytest.approx(exp[1], abs=1e-4)
    assert {k: float(x) for k, x in values.items()} == {k: pytest.approx(x, abs=1e-4) for k, x in exp[2].items()}
    assert "<script" not in page


def test_odd_database_values_do_not_break_the_page():
    """A hand-edited or newer database: a framework that is not built in, a year that is text, an
    unknown status, a parent cycle, an indicator with no principle, a framework whose every
    document failed. The page still renders, and every odd value is escaped."""
    from nlp_tagger.dashboard import render_dashboard

    def cov(aid, ind, parent, status, fw="x<y>"):
        return {"framework_id": fw, "analysis_id": aid, "document_id": aid, "indicator_id": ind, "parent_id": parent, "status": status}

    data = {
        "frameworks": ["all-failed", "x<y>"],
        "coverage": [cov(1, "P<1>", None, "none"), cov(1, "A", "P<1>", "strong"), cov(1, "B", "P<1>", "bogus<i>"), cov(1, "C", None, "weak"),
                     cov(1, "L1", "L2", "none"), cov(1, "L2", "L1", "none"), cov(2, "A", "P<1>", "none"), cov(2, "C", None, "none")],
        "analyses": [{"framework_id": "x<y>", "analysis_id": i, "document_id": i, "run_id": 1, "status": "ok", "error": None, "path": f"d{i}.md",
                      "file_name": f"d{i}.md", "institution": "A&B", "year": y, "pages": p} for i, y, p in ((1, "20<21", None), (2, 2020, "3"))]
                    + [{"framework_id": "all-failed", "analysis_id": 3, "document_id": 3, "run_id": 2, "status": "failed", "error": "bad <pdf>",
                        "path": "z.pdf", "file_name": "z.pdf", "institution": None, "year": None, "pages": None}],
        "runs": [{"id": 1, "framework_id": "x<y>", "framework_sha256": "0", "scorer": "sc<q>", "started_at": None, "finished_at": None,
                  "n_ok": 2, "n_failed": 0, "n_skipped": 0, "input_errors": {"odd": 1}},
                 {"id": 2, "framework_id": "all-failed", "framework_sha256": "0", "scorer": "s", "started_at": None, "finished_at": None,
                  "n_ok": 0, "n_failed": 1, "n_skipped": 0, "input_errors": [["a<b", "why"]]}],
    }
    page = render_dashboard(data, "db<q>")
    for raw in ("x<y>", "P<1>", "bogus<i>", "20<21", "bad <pdf>", "sc<q>", "db<q>", "A&B"):
        assert raw not in page
    assert "x&lt;y&gt;" in page and "bad &lt;pdf&gt;" in page and "A&amp;B" in page
    assert page.count("class='ind-row'") == 3  # A, B, C: the cycle's members are each other's parents
    assert "data-other='1'" in page and "Other status" in page
    assert "id='fw0-no-results'" in page and "id='fw1-ind-chart'" in page
    assert "data-year='20&lt;21'" in page and "data-year='2020'" in page
