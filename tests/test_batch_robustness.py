"""Hostile and careless input to `batch` and `compare` (issue 11): nothing crashes, nothing is
overwritten, nothing runs that should not.

Corrupt ZIPs are built for real (a ZIP written with zipfile, then bytes flipped in its compressed
data or CRC); processes are real (`kill -9` of a real `batch`, two real runs into one database);
PostgreSQL is a real server. Every run here uses the zero-shot scorer, so the tests do not depend
on the trained ranker being current.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from nlp_tagger.batch import db as D
from nlp_tagger.batch.inputs import collect

from .conftest import ROOT
from .test_batch import postgres_server

DOCS = sorted((ROOT / "corpora" / "documents" / "concordat").glob("*.md"))
CLI = [sys.executable, str(ROOT / "cli.py")]


# ---------------------------------------------------------------- corrupt, empty and nested ZIPs

def _member_offset(path: Path, name: str) -> tuple[int, int]:
    """(offset, length) of a member's compressed data inside the ZIP file."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    raw = path.read_bytes()
    n_name, n_extra = int.from_bytes(raw[info.header_offset + 26: info.header_offset + 28], "little"), int.from_bytes(raw[info.header_offset + 28: info.header_offset + 30], "little")
    return info.header_offset + 30 + n_name + n_extra, info.compress_size


def corrupt_zip(path: Path, good: dict[str, bytes], bad_crc: str, bad_deflate: str) -> Path:
    """A real ZIP with readable members, one stored member whose bytes no longer match its CRC,
    and one deflated member whose compressed stream is damaged."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in good.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(bad_crc, DOCS[7].read_bytes(), compress_type=zipfile.ZIP_STORED)
        zf.writestr(bad_deflate, DOCS[8].read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    off, _ = _member_offset(path, bad_crc)
    raw[off + 40] ^= 0x20  # one letter's case: same length, wrong CRC
    off, n = _member_offset(path, bad_deflate)
    for i in range(off + n // 3, off + n // 3 + 24):
        raw[i] ^= 0xA5
    path.write_bytes(bytes(raw))
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_corrupt_empty_and_nested_zips_are_recorded_and_the_rest_is_read(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    bad = corrupt_zip(src / "mixed.zip", {"inst-a/2021/ok.md": DOCS[0].read_bytes()}, "inst-a/crc.md", "inst-a/deflate.md")
    with zipfile.ZipFile(bad) as zf:  # the damage is real: zipfile itself cannot read these members
        assert zf.testzip() in ("inst-a/crc.md", "inst-a/deflate.md")
    truncated = src / "truncated.zip"
    truncated.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    _zip(src / "empty.zip", {})
    _zip(src / "pictures.zip", {"scan.png": b"\x89PNG not a document"})
    inner = _zip(tmp_path / "2022.zip", {"nested.md": DOCS[1].read_bytes()})  # read as if it were a folder named 2022
    deeper = _zip(tmp_path / "deeper.zip", {"too-deep.zip": inner.read_bytes()})
    _zip(src / "outer.zip", {"inst-n/2022.zip": inner.read_bytes(), "deeper.zip": deeper.read_bytes(), "__MACOSX/inst-n/._2022.zip": b"\0\5\26\7"})
    # two archives of the same name, members of the same name, different contents: neither overwrites
    for i, inst in enumerate(("inst-x", "inst-y")):
        (src / inst).mkdir()
        _zip(src / inst / "reports.zip", {"report.md": DOCS[2 + i].read_bytes()})

    items, problems = collect([str(src)], tmp_path / "work")
    got = {i.label.replace(str(src) + "/", ""): i for i in items}
    assert set(got) == {"mixed.zip!inst-a/2021/ok.md", "outer.zip!inst-n/2022.zip!nested.md",
                        "inst-x/reports.zip!report.md", "inst-y/reports.zip!report.md"}
    assert (got["mixed.zip!inst-a/2021/ok.md"].institution, got["mixed.zip!inst-a/2021/ok.md"].year) == ("inst-a", 2021)
    assert (got["outer.zip!inst-n/2022.zip!nested.md"].institution, got["outer.zip!inst-n/2022.zip!nested.md"].year) == ("inst-n", 2022)
    assert got["outer.zip!inst-n/2022.zip!nested.md"].path.read_bytes() == DOCS[1].read_bytes()
    assert got["inst-x/reports.zip!report.md"].path.read_bytes() == DOCS[2].read_bytes()
    assert got["inst-y/reports.zip!report.md"].path.read_bytes() == DOCS[3].read_bytes()
    why = {label.replace(str(src) + "/", ""): reason for label, reason in problems}
    assert set(why) == {"mixed.zip!inst-a/crc.md", "mixed.zip!inst-a/deflate.md", "truncated.zip", "empty.zip", "pictures.zip",
                        "outer.zip!deeper.zip!too-deep.zip"}
    assert "CRC-32" in why["mixed.zip!inst-a/crc.md"] and "corrupt" in why["mixed.zip!inst-a/deflate.md"]
    assert "not a readable ZIP" in why["truncated.zip"] and "empty" in why["empty.zip"] and "no PDF, DOCX" in why["pictures.zip"]
    assert "skipped" in why["outer.zip!deeper.zip!too-deep.zip"]
    for reason in why.values():  # each one line, with the fix
        assert "\n" not in reason and reason.count(". ") >= 1
    assert not list((tmp_path / "work").rglob("crc.md")) and not list((tmp_path / "work").rglob("deflate.md"))  # no half-written member


def test_encrypted_duplicate_and_unwritable_members_are_recorded(tmp_path):
    import warnings

    archive = tmp_path / "odd.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(archive, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, as it should
        zf.writestr("first.md", DOCS[0].read_bytes())
        zf.writestr("first.md", DOCS[1].read_bytes())
        zf.writestr("x" * 300 + "/long.md", DOCS[2].read_bytes())
        zf.writestr("locked.md", DOCS[3].read_bytes())
    raw = bytearray(archive.read_bytes())
    central = raw.rfind(b"PK\x01\x02")  # the last central directory record: locked.md
    raw[central + 8] |= 0x1  # the "encrypted" flag, as a password-protected member has
    archive.write_bytes(bytes(raw))
    items, problems = collect([str(archive)], tmp_path / "work")
    assert [i.label for i in items] == [f"{archive}!first.md"] and items[0].path.read_bytes() == DOCS[0].read_bytes()
    why = {label.split("!", 1)[1][:12]: reason for label, reason in problems}
    assert set(why) == {"first.md", "x" * 12, "locked.md"}
    assert "same name" in why["first.md"] and "cannot be read" in why["x" * 12] and "encrypted" in why["locked.md"]


def test_a_corrupt_zip_does_not_stop_the_batch(tmp_path, cache_dir):
    """The issue's report: one corrupt ZIP aborted the batch with a traceback, nothing else analysed
    and no run recorded. Now its bad members are recorded in the run, the rest is analysed, exit 1."""
    src = tmp_path / "in"
    (src / "wexcombe").mkdir(parents=True)
    shutil.copy(DOCS[4], src / "wexcombe" / "plan.md")
    corrupt_zip(src / "a-corrupt.zip", {"brackenfield/2020-21/ok.md": DOCS[5].read_bytes()}, "brackenfield/crc.md", "brackenfield/deflate.md")
    _zip(src / "empty.zip", {})
    db = tmp_path / "r.sqlite"
    env = {**os.environ, "NLP_TAGGER_CACHE": str(cache_dir)}
    done = subprocess.run(CLI + ["batch", str(src), "-f", "concordat-2019", "--scorer", "similarity", "--db", str(db), "--no-progress"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "run 1: 2 analysed, 0 failed" in done.stdout
    refused = [l for l in done.stderr.splitlines() if l.startswith("refused input:")]
    assert len(refused) == 3 and any("a-corrupt.zip!brackenfield/crc.md" in l and "CRC-32" in l for l in refused)
    with sqlite3.connect(db) as con:
        (status, n_ok, n_failed, errors), = con.execute("SELECT status, n_ok, n_failed, input_errors FROM runs").fetchall()
        docs = con.execute("SELECT institution, year FROM documents ORDER BY institution").fetchall()
    assert (status, n_ok, n_failed) == ("finished", 2, 0)
    assert {label.replace(f"{src}/", "") for label, _ in json.loads(errors)} == {"a-corrupt.zip!brackenfield/crc.md", "a-corrupt.zip!brackenfield/deflate.md", "empty.zip"}
    assert docs == [("brackenfield", 2020), ("wexcombe", None)]


# ---------------------------------------------------------------- institution and year from folders

def test_year_folders_give_the_year_and_the_institution_comes_from_above(tmp_path):
    root = tmp_path / "archive"
    layout = {
        "inst-a/2021/doc.md": ("inst-a", 2021),
        "inst-b/2020-21/doc.md": ("inst-b", 2020),
        "inst-c/AY2019-2020/doc.md": ("inst-c", 2019),
        "inst-d/2018/review-2017.md": ("inst-d", 2017),  # the file's own year is the more specific
        "2022/inst-e/doc.md": ("inst-e", 2022),
        "2023/doc.md": (None, 2023),
        "inst-f/doc.md": ("inst-f", None),
    }
    for i, rel in enumerate(layout):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# Report {i}\n\nText {i}.\n", encoding="utf-8")
    items, problems = collect([str(root)], tmp_path / "work")
    assert problems == []
    assert {str(Path(i.label).relative_to(root)): (i.institution, i.year) for i in items} == layout
    one, _ = collect([str(root / "inst-a" / "2021" / "doc.md")], tmp_path / "work")  # a single file: the same rule
    assert (one[0].institution, one[0].year) == ("inst-a", 2021)


# ---------------------------------------------------------------- compare checks both inputs first

def test_compare_checks_both_drafts_before_analysing_either(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import nlp_tagger
    from cli import app

    calls = []
    monkeypatch.setattr(nlp_tagger, "check", lambda *a, **k: calls.append(a) or pytest.fail("analysed before checking the second draft"))
    first = tmp_path / "draft1.md"
    shutil.copy(DOCS[0], first)
    (tmp_path / "notes.xlsx").write_bytes(b"PK")
    (tmp_path / "folder.md").mkdir()
    for second, problem in (("missing.md", "file not found"), ("notes.xlsx", "unsupported file type"), ("folder.md", "is a folder")):
        result = CliRunner().invoke(app, ["compare", str(first), str(tmp_path / second), "-f", "concordat-2019"])
        assert result.exit_code == 2, result.output
        line = result.stderr.strip()
        assert line.startswith("error: ") and str(tmp_path / second) in line and problem in line and "\n" not in line
    assert calls == []


# ---------------------------------------------------------------- workers die with their parent

def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _runs(db: Path) -> list:
    """The runs' statuses, read without creating the file or waiting for a writer."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as con:
            return con.execute("SELECT status FROM runs").fetchall()
    except sqlite3.OperationalError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_workers_die_when_the_batch_is_killed(tmp_path, cache_dir, sig):
    """`kill -9` of the batch process used to leave its workers running (~360 MB each) until their
    documents were done; now they go with it. SIGTERM stops them too, and marks the run interrupted."""
    src = tmp_path / "in"
    src.mkdir()
    for d in DOCS[:4]:
        shutil.copy(d, src / d.name)
    cmd = CLI + ["batch", str(src), "-f", "concordat-2019", "--scorer", "similarity", "--db", str(tmp_path / "k.sqlite"), "--no-progress", "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "NLP_TAGGER_CACHE": str(cache_dir)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and len(workers) < 2:
            time.sleep(0.05)
            workers = [c for c in _children(proc.pid) if _is_worker(c)]
        assert len(workers) == 2 and proc.poll() is None, "no workers started"
        if sig == signal.SIGKILL:
            time.sleep(2.0)  # let them get into loading the model
        else:  # once the run is recorded, so that it can be marked
            while time.time() < deadline and proc.poll() is None and not _runs(tmp_path / "k.sqlite"):
                time.sleep(0.05)
        os.kill(proc.pid, sig)  # the parent alone (with SIGKILL no clean-up of its own runs)
        _, err = proc.communicate(timeout=60)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "workers outlived the killed batch"
        if sig == signal.SIGTERM:
            assert proc.returncode == 143 and "Traceback" not in err, err[-2000:]
            assert err.strip().startswith("error: ") and "stopped by SIGTERM" in err and len(err.strip().splitlines()) == 1
            assert _runs(tmp_path / "k.sqlite") == [("interrupted",)]
    finally:
        for w in workers:
            if _alive(w) and _is_worker(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_worker_killed_mid_run_is_replaced_and_its_documents_analysed(tmp_path, cache_dir):
    """The out-of-memory killer (here: kill -9) takes a worker: the pool is restarted, the documents
    it held run again, and the batch finishes with every document analysed."""
    src = tmp_path / "in"
    src.mkdir()
    for d in DOCS[10:14]:
        shutil.copy(d, src / d.name)
    fresh = tmp_path / "cache"  # nothing cached: each document takes real work
    if (cache_dir / "onnx").exists():
        shutil.copytree(cache_dir / "onnx", fresh / "onnx")
    db = tmp_path / "w.sqlite"
    cmd = CLI + ["batch", str(src), "-f", "concordat-2019", "--scorer", "similarity", "--db", str(db), "--no-progress", "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "NLP_TAGGER_CACHE": str(fresh)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline, written, victim = time.time() + 180, 0, None
        while time.time() < deadline and proc.poll() is None and not written:
            time.sleep(0.05)
            try:
                with sqlite3.connect(db) as con:
                    written = con.execute("SELECT COUNT(*) FROM analyses").fetchone()[0]
            except sqlite3.OperationalError:
                pass
        victim = next((c for c in _children(proc.pid) if _is_worker(c)), None)
        assert written and victim and proc.poll() is None, "the run finished before a worker could be killed"
        os.kill(victim, signal.SIGKILL)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0 and "Traceback" not in err, err[-2000:]
    assert "run 1: 4 analysed, 0 failed" in out and "warning: a worker process died and was replaced (1x)" in err
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT status, COUNT(*) FROM analyses GROUP BY status").fetchall() == [("ok", 4)]
        assert con.execute("SELECT status, n_ok FROM runs").fetchall() == [("finished", 4)]
    assert not _alive(victim)


# ---------------------------------------------------------------- the run row tells the truth

V1_RUN_COLUMNS = ["id", "framework_id", "framework_sha256", "framework_version", "scorer", "model_manifest", "tool_version",
                  "started_at", "finished_at", "n_ok", "n_failed", "n_skipped", "input_errors"]


def _fake_result(i: int, status: str = "ok") -> dict:
    sha = hashlib.sha256(f"document {i}".encode()).hexdigest()
    if status != "ok":
        return {"path": f"doc{i}.pdf", "sha256": sha, "status": "failed", "error": "corrupt PDF", "seconds": 0.1, "institution": None, "year": None}
    return {"path": f"doc{i}.md", "sha256": sha, "status": "ok", "pages": 1, "n_passages": 1, "seconds": 0.1, "institution": "x", "year": 2020,
            "passages": [{"idx": 0, "page": 1, "section": None, "start": 0, "end": 4, "text": f"text {i}"}],
            "evidence": [{"indicator_id": "ECI1", "passage_idx": 0, "page": 1, "score": 0.9, "status": "strong", "evidence_type": "action"}],
            "coverage": [{"indicator_id": "ECI1", "parent_id": "EC", "status": "strong", "score": 0.9, "n_evidence": 1}]}


FW = SimpleNamespace(id="concordat-2019", content_hash="0" * 64, version="2019")


def test_an_old_database_is_migrated_and_its_unfinished_runs_marked_interrupted(tmp_path):
    from sqlalchemy import func, select

    db = tmp_path / "old.sqlite"
    engine = D.connect(str(db))
    run_id = D.start_run(engine, FW, "similarity", None, "0.1.0")
    for i in range(3):
        D.write_result(engine, run_id, FW.id, _fake_result(i, "ok" if i else "failed"))
    engine.dispose()
    with sqlite3.connect(db) as con:  # make it a version-1 database whose run was killed: no status, counts 0
        con.executescript("".join(f"ALTER TABLE runs DROP COLUMN {c};" for c in D.RUN_COLUMNS_V2)
                          + "UPDATE runs SET finished_at = NULL, n_ok = 0, n_failed = 0; DELETE FROM schema_version WHERE version > 1;")
        assert [r[1] for r in con.execute("PRAGMA table_info(runs)")] == V1_RUN_COLUMNS
    engine = D.connect(str(db))
    with engine.connect() as conn:
        row = conn.execute(D.runs.select()).one()
        assert conn.execute(select(func.max(D.schema_version.c.version))).scalar() == D.SCHEMA_VERSION
    assert (row.status, row.n_ok, row.n_failed, row.finished_at) == ("interrupted", 2, 1, None)
    D.connect(str(db)).dispose()  # migrating again is a no-op
    engine.dispose()


def test_a_run_whose_process_is_gone_is_marked_interrupted_with_its_counts(tmp_path):
    engine = D.connect(str(tmp_path / "r.sqlite"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ids = [D.start_run(engine, FW, "similarity", None, "0.1.0") for _ in range(3)]
    D.write_result(engine, ids[0], FW.id, _fake_result(0))
    with engine.begin() as conn:
        conn.execute(D.runs.update().where(D.runs.c.id == ids[0]).values(pid=dead.pid, pid_started=None))  # its process is gone
        conn.execute(D.runs.update().where(D.runs.c.id == ids[1]).values(pid_started="1"))  # this pid, but a process started earlier
    marked = D.mark_stale_runs(engine)
    assert marked == [{"run_id": ids[0], "n_ok": 1, "n_failed": 0}, {"run_id": ids[1], "n_ok": 0, "n_failed": 0}]
    with engine.connect() as conn:
        assert [r.status for r in conn.execute(D.runs.select().order_by(D.runs.c.id))] == ["interrupted", "interrupted", "running"]  # ours stays
    engine.dispose()


# ---------------------------------------------------------------- two runs into one database

WRITER = textwrap.dedent("""
    import json, sys, time
    from types import SimpleNamespace
    sys.path.insert(0, {root!r})
    from nlp_tagger.batch import db as D
    from tests.test_batch_robustness import _fake_result
    url, start, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    while time.time() < start:
        time.sleep(0.001)
    engine = D.connect(url)
    fw = SimpleNamespace(id="concordat-2019", content_hash="0" * 64, version="2019")
    run_id = D.start_run(engine, fw, "similarity", None, "0.1.0")
    outcomes = [D.write_result(engine, run_id, fw.id, _fake_result(i, "ok" if i % 5 else "failed")) for i in range(n)]
    D.finish_run(engine, run_id)
    print(json.dumps(outcomes))
""")


def _concurrent_writers(db: str, n: int = 40, k: int = 2) -> list[list]:
    """k real processes that create the schema and write the same n documents at the same moment."""
    script = WRITER.format(root=str(ROOT))
    start = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", script, db, str(start), str(n)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(k)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and "Traceback" not in err, err[-2000:]
    return [json.loads(out) for out, _ in outs]


def _assert_each_document_once(db: str, n: int, outcomes: list[list]) -> None:
    from sqlalchemy import func, select

    for i in range(n):  # every document written by exactly one run, skipped by the other
        assert sorted(o[i] for o in outcomes) == ["skipped"] * (len(outcomes) - 1) + ["written"]
    engine = D.connect(db)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(D.documents)).scalar() == n
        assert conn.execute(select(func.count()).select_from(D.analyses)).scalar() == n
        assert conn.execute(select(func.count()).select_from(D.passages)).scalar() == n - n // 5
        assert conn.execute(select(func.count()).select_from(D.coverage)).scalar() == n - n // 5
        runs = conn.execute(select(D.runs.c.status, D.runs.c.n_ok, D.runs.c.n_failed, D.runs.c.n_skipped)).all()
        assert conn.execute(select(func.max(D.schema_version.c.version))).scalar() == D.SCHEMA_VERSION
        assert conn.execute(select(func.count()).select_from(D.schema_version)).scalar() == D.SCHEMA_VERSION
    engine.dispose()
    assert all(r.status == "finished" for r in runs)
    assert sum(r.n_ok for r in runs) == n - n // 5 and sum(r.n_failed for r in runs) == n // 5 and sum(r.n_skipped for r in runs) == n * (len(runs) - 1)


def test_two_processes_writing_one_sqlite_file_at_once(tmp_path):
    """Used to die with 'table schema_version already exists' (new file) or a UNIQUE constraint
    error (old file). Both on a new file, then both again on the same, now old, file."""
    db = str(tmp_path / "shared.sqlite")
    _assert_each_document_once(db, 40, _concurrent_writers(db))
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.fixture(scope="module")
def postgres():
    with postgres_server(54331) as url:
        yield url


def test_two_processes_writing_one_postgres_database_at_once(postgres):
    _assert_each_document_once(postgres, 40, _concurrent_writers(postgres))


def test_long_names_do_not_stop_a_postgres_run(postgres):
    """PostgreSQL enforces VARCHAR lengths: the AUA framework's version note (91 characters) and a
    long institution folder name made `batch` die mid-run there; SQLite never noticed."""
    from sqlalchemy import select

    from nlp_tagger.frameworks import load_framework

    fw = load_framework("aua-cpd")
    assert len(fw.version) > 50
    engine = D.connect(postgres)
    run_id = D.start_run(engine, fw, "similarity", None, "0.1.0")
    row = {**_fake_result(999), "institution": "University of " + "Somewhere Very Long " * 15, "path": "x" * 300 + "/" + "y" * 250 + ".md"}
    row["coverage"] = [{**row["coverage"][0], "indicator_id": "I" * 80}]
    assert D.write_result(engine, run_id, fw.id, row) == "written"
    with engine.connect() as conn:
        version = conn.execute(select(D.runs.c.framework_version).where(D.runs.c.id == run_id)).scalar_one()
        institution = conn.execute(select(D.documents.c.institution).where(D.documents.c.content_sha256 == row["sha256"])).scalar_one()
    engine.dispose()
    assert (version, institution) == (fw.version, row["institution"])


def test_two_batch_runs_into_one_sqlite_file(tmp_path, cache_dir):
    """Two real `batch` commands over the same archive, into one new SQLite file, at once: both
    finish, every document is analysed once."""
    src = tmp_path / "in"
    src.mkdir()
    for d in DOCS[:4]:
        shutil.copy(d, src / d.name)
    db = tmp_path / "both.sqlite"
    cmd = CLI + ["batch", str(src), "-f", "concordat-2019", "--scorer", "similarity", "--db", str(db), "--no-progress"]
    env = {**os.environ, "NLP_TAGGER_CACHE": str(cache_dir)}
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and "Traceback" not in err, err[-2000:]
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*), COUNT(DISTINCT document_id) FROM analyses").fetchone() == (4, 4)
        assert con.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 4
        assert con.execute("SELECT COUNT(*) FROM (SELECT analysis_id, indicator_id FROM coverage GROUP BY 1, 2 HAVING COUNT(*) > 1)").fetchone()[0] == 0
        runs = con.execute("SELECT status, n_ok, n_skipped FROM runs").fetchall()
    assert [r[0] for r in runs] == ["finished", "finished"] and sum(r[1] for r in runs) == 4 and sum(r[2] for r in runs) == 4
