"""Batch runs into real databases: failures recorded, kill -9 and resume, unsafe ZIPs refused,
PostgreSQL giving the same rows as SQLite, and a local Ray cluster running the same function."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from nlp_tagger.batch import run_batch, summarise
from nlp_tagger.batch import db as D
from nlp_tagger.batch.inputs import collect, safe_members
from nlp_tagger.errors import InputError

from . import bad_inputs
from .conftest import ROOT

REQUIRE_SERVICES = os.environ.get("NLP_TAGGER_REQUIRE_SERVICES") == "1"  # set by .ci/run


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Six real documents (PDF, DOCX, Markdown) from two institutions, plus a corrupt and an
    encrypted PDF."""
    from nlp_tagger import extract
    from nlp_tagger.render import render_docx, render_pdf

    root = tmp_path_factory.mktemp("archive")
    docs = sorted((ROOT / "corpora" / "documents" / "concordat").glob("*.md"))[:6]
    for i, md in enumerate(docs):
        inst = root / ("brackenfield" if i % 2 else "wexcombe")
        inst.mkdir(exist_ok=True)
        d = extract(md)
        if i % 3 == 0:
            render_pdf(d, inst / f"{md.stem}-202{i}.pdf", header=md.stem)
        elif i % 3 == 1:
            render_docx(d, inst / f"{md.stem}-202{i}.docx")
        else:
            shutil.copy(md, inst / f"{md.stem}-202{i}.md")
    bad_inputs.corrupt_pdf(root / "wexcombe" / "corrupt.pdf")
    bad_inputs.encrypted_pdf(root / "brackenfield" / "locked.pdf")
    return root


def _sqlite_rows(path: Path, sql: str):
    with sqlite3.connect(path) as con:
        return con.execute(sql).fetchall()


def test_batch_records_failures_and_goes_on(archive, tmp_path, cache_dir):
    db = tmp_path / "results.sqlite"
    s = run_batch([str(archive)], "concordat-2019", str(db), workers=2, progress=False, cache_dir=str(cache_dir))
    assert (s.n_ok, s.n_failed, s.n_skipped) == (6, 2, 0) and s.any_failed
    failed = dict(_sqlite_rows(db, "SELECT d.file_name, a.error FROM analyses a JOIN documents d ON d.id = a.document_id WHERE a.status = 'failed'"))
    assert set(failed) == {"corrupt.pdf", "locked.pdf"}
    assert "corrupt PDF" in failed["corrupt.pdf"] and "encrypted" in failed["locked.pdf"]
    n_leaves = 59
    assert _sqlite_rows(db, "SELECT COUNT(*) FROM coverage")[0][0] == 6 * 62
    assert _sqlite_rows(db, "SELECT COUNT(DISTINCT analysis_id) FROM coverage WHERE parent_id IS NOT NULL")[0][0] == 6
    assert _sqlite_rows(db, "SELECT COUNT(*) FROM coverage WHERE parent_id IS NOT NULL")[0][0] == 6 * n_leaves
    assert _sqlite_rows(db, "SELECT MIN(pages) FROM documents WHERE content_sha256 IN (SELECT d.content_sha256 FROM documents d JOIN analyses a ON a.document_id = d.id WHERE a.status='ok')")[0][0] >= 1
    years = {r[0] for r in _sqlite_rows(db, "SELECT year FROM documents WHERE year IS NOT NULL")}
    assert years <= set(range(2020, 2026)) and years
    assert {r[0] for r in _sqlite_rows(db, "SELECT institution FROM documents")} == {"brackenfield", "wexcombe"}
    # a second run skips everything: idempotent
    again = run_batch([str(archive)], "concordat-2019", str(db), workers=1, progress=False, cache_dir=str(cache_dir))
    assert (again.n_ok, again.n_failed, again.n_skipped) == (0, 0, 8)
    assert _sqlite_rows(db, "SELECT COUNT(*) FROM analyses")[0][0] == 8
    by_ind = summarise(str(db), "indicator")
    # each indicator counts the documents it is in scope for: the funder's report answers only the funders' obligations
    out = _sqlite_rows(db, "SELECT COUNT(DISTINCT analysis_id) FROM coverage WHERE status = 'out' AND indicator_id = 'EI1'")[0][0]
    assert len(by_ind) == n_leaves and all(r["documents"] in (6 - out, out, 6) for r in by_ind)
    assert {r["indicator"]: r["documents"] for r in by_ind}["EI1"] == 6 - out
    assert by_ind[0]["evidenced_share"] <= by_ind[-1]["evidenced_share"]  # rarest first
    by_inst = summarise(str(db), "institution")
    assert {r["institution"] for r in by_inst} == {"brackenfield", "wexcombe"}


def test_killed_run_resumes_with_exactly_one_result_per_document(archive, tmp_path, cache_dir):
    db = tmp_path / "killed.sqlite"
    cmd = [sys.executable, str(ROOT / "cli.py"), "batch", str(archive), "-f", "concordat-2019", "--db", str(db), "--no-progress", "--workers", "1"]
    fresh = tmp_path / "cache"  # no cached documents or scores, so each document takes real work
    if (cache_dir / "onnx").exists():
        shutil.copytree(cache_dir / "onnx", fresh / "onnx")
    env = {**os.environ, "NLP_TAGGER_CACHE": str(fresh)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    written = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if db.exists():
            try:
                written = _sqlite_rows(db, "SELECT COUNT(*) FROM analyses")[0][0]
            except sqlite3.OperationalError:
                continue
            if written >= 1:
                break
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: parent and workers, no clean-up
    proc.wait()
    assert 1 <= written < 8
    # the killed run's row is true already: running, its counts those of the documents it committed
    (status, n_ok, n_failed, finished), = _sqlite_rows(db, "SELECT status, n_ok, n_failed, finished_at FROM runs")
    committed = _sqlite_rows(db, "SELECT COUNT(*) FROM analyses WHERE run_id = 1")[0][0]
    assert status == "running" and finished is None and n_ok + n_failed == committed >= written
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1  # two documents failed, as they should
    assert f"marked run 1 interrupted (its process is gone): {n_ok} analysed, {n_failed} failed" in done.stdout
    runs = _sqlite_rows(db, "SELECT id, status, n_ok + n_failed, finished_at IS NOT NULL FROM runs ORDER BY id")
    assert runs == [(1, "interrupted", committed, 0), (2, "finished", 8 - committed, 1)]
    rows = _sqlite_rows(db, "SELECT d.content_sha256, COUNT(*) FROM analyses a JOIN documents d ON d.id = a.document_id GROUP BY d.content_sha256")
    assert len(rows) == 8 and all(n == 1 for _, n in rows)
    dup = _sqlite_rows(db, "SELECT analysis_id, indicator_id, COUNT(*) c FROM coverage GROUP BY analysis_id, indicator_id HAVING c > 1")
    assert dup == []
    assert _sqlite_rows(db, "SELECT COUNT(*) FROM coverage")[0][0] == 6 * 62
    assert _sqlite_rows(db, "SELECT COUNT(*) FROM runs")[0][0] == 2


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_traversal_and_bomb_are_refused(tmp_path):
    good = _zip(tmp_path / "good.zip", {"inst-2022/report.md": b"# Report\n\nWe introduced a buddy scheme for all new research staff.\n"})
    evil = _zip(tmp_path / "evil.zip", {"ok.md": b"# x\n\ntext here for sure\n", "../../escape.md": b"# gotcha\n\nwritten outside\n"})
    bomb = _zip(tmp_path / "bomb.zip", {"big.txt": b"0" * (50 * 1024 * 1024)})
    for bad, why in ((evil, "path traversal"), (bomb, "zip bomb")):
        with pytest.raises(InputError) as err:
            safe_members(bad)
        assert why in str(err.value)
    work = tmp_path / "work"
    items, problems = collect([str(good), str(evil), str(bomb)], work)
    assert [i.label for i in items] == [f"{good}!inst-2022/report.md"] and items[0].year == 2022
    assert {p for p, _ in problems} == {str(evil), str(bomb)}
    assert not (tmp_path / "escape.md").exists() and not list(tmp_path.rglob("escape.md"))


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextlib.contextmanager
def postgres_server(port: int):
    """A real PostgreSQL server on a private socket, started here and stopped after; its URL."""
    import tempfile

    bindir = _postgres_bin()
    if bindir is None:
        if REQUIRE_SERVICES:
            pytest.fail("PostgreSQL is not installed (.ci/run installs it)")
        pytest.skip("PostgreSQL is not installed here; .ci/run installs it")
    # not under pytest's tmp folder: the server runs as the postgres user, who cannot enter it
    base = Path(tempfile.mkdtemp(prefix="nlp-tagger-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_user = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if as_user:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    subprocess.run(as_user + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
    subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o", f"-p {port} -k {sock} -c listen_addresses=''", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    with postgres_server(54329) as url:
        yield url


def _result_rows(db: str):
    from sqlalchemy import select

    engine = D.connect(db)
    with engine.connect() as conn:
        rows = conn.execute(
            select(D.documents.c.content_sha256, D.analyses.c.status, D.coverage.c.indicator_id, D.coverage.c.status, D.coverage.c.score)
            .join(D.analyses, D.analyses.c.document_id == D.documents.c.id)
            .outerjoin(D.coverage, D.coverage.c.analysis_id == D.analyses.c.id)
        ).all()
    engine.dispose()
    return sorted((r[0], r[1], r[2], r[3], round(r[4], 6) if r[4] is not None else None) for r in rows)


def test_postgres_gives_the_same_rows_as_sqlite(archive, tmp_path, postgres, cache_dir):
    sqlite_db = str(tmp_path / "same.sqlite")
    a = run_batch([str(archive)], "concordat-2019", sqlite_db, workers=1, progress=False, cache_dir=str(cache_dir))
    b = run_batch([str(archive)], "concordat-2019", postgres, workers=1, progress=False, cache_dir=str(cache_dir))
    assert (a.n_ok, a.n_failed) == (b.n_ok, b.n_failed) == (6, 2)
    assert _result_rows(sqlite_db) == _result_rows(postgres)
    again = run_batch([str(archive)], "concordat-2019", postgres, workers=1, progress=False, cache_dir=str(cache_dir))
    assert again.n_skipped == 8


def test_ray_local_cluster_runs_a_batch(archive, tmp_path, cache_dir):
    try:
        import ray
    except ImportError:
        if REQUIRE_SERVICES:
            raise
        pytest.skip("ray is not installed")
    small = tmp_path / "small"
    shutil.copytree(archive / "wexcombe", small)
    db = tmp_path / "ray.sqlite"
    try:
        s = run_batch([str(small)], "concordat-2019", str(db), workers=1, engine="ray", progress=False, cache_dir=str(cache_dir))
    finally:
        ray.shutdown()
    assert s.n_ok == 3 and s.n_failed == 1
    assert _sqlite_rows(db, "SELECT COUNT(*) FROM analyses WHERE status = 'ok'")[0][0] == 3
