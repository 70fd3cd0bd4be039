"""Batch results in a real database (SQLAlchemy): SQLite by default, PostgreSQL by URL.

Schema (version 1):
- `runs`: one row per `batch` invocation: framework id and hash, scorer, model manifest, times, counts.
- `documents`: one row per distinct file content (sha256), with its path, pages and metadata
  (institution and year when the path gives them).
- `analyses`: one row per (document, framework): status `ok` or `failed`, the error, the run.
  A document analysed before is skipped: this is what makes a re-run resume and never duplicate.
- `passages`, `evidence`, `coverage`: the results of an `ok` analysis.
Everything for one document is written in one transaction, so a run killed at any moment leaves
each document either complete or absent.
Migrations: `schema_version` holds the applied version; `migrate()` applies the missing steps.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import (
    JSON, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint,
    create_engine, func, insert, select, text, update,
)
from sqlalchemy.engine import Engine

SCHEMA_VERSION = 1
metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("framework_id", String(200), nullable=False),
    Column("framework_sha256", String(64), nullable=False),
    Column("framework_version", String(50)),
    Column("scorer", String(50), nullable=False),
    Column("model_manifest", JSON),
    Column("tool_version", String(20)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("n_ok", Integer, default=0),
    Column("n_failed", Integer, default=0),
    Column("n_skipped", Integer, default=0),
    Column("input_errors", JSON),  # inputs refused whole (a missing path, an unsafe ZIP)
)
documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True),
    Column("content_sha256", String(64), nullable=False, unique=True),
    Column("path", Text, nullable=False),
    Column("file_name", String(500)),
    Column("pages", Integer),
    Column("n_passages", Integer),
    Column("institution", String(200)),
    Column("year", Integer),
)
analyses = Table(
    "analyses", metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False),
    Column("framework_id", String(200), nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("status", String(10), nullable=False),  # ok | failed
    Column("error", Text),
    Column("seconds", Float),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("document_id", "framework_id", name="uq_analysis_document_framework"),
)
passages = Table(
    "passages", metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("page", Integer, nullable=False),
    Column("section", Text),
    Column("start", Integer),
    Column("end", Integer),
    Column("text", Text, nullable=False),
    UniqueConstraint("document_id", "idx", name="uq_passage_document_idx"),
)
evidence = Table(
    "evidence", metadata,
    Column("id", Integer, primary_key=True),
    Column("analysis_id", Integer, ForeignKey("analyses.id"), nullable=False),
    Column("indicator_id", String(50), nullable=False),
    Column("passage_idx", Integer, nullable=False),
    Column("page", Integer),
    Column("score", Float, nullable=False),
    Column("status", String(10), nullable=False),
    Column("evidence_type", String(20)),
)
coverage = Table(
    "coverage", metadata,
    Column("id", Integer, primary_key=True),
    Column("analysis_id", Integer, ForeignKey("analyses.id"), nullable=False),
    Column("indicator_id", String(50), nullable=False),
    Column("parent_id", String(50)),
    Column("status", String(10), nullable=False),
    Column("score", Float, nullable=False),
    Column("n_evidence", Integer, nullable=False),
    UniqueConstraint("analysis_id", "indicator_id", name="uq_coverage_analysis_indicator"),
)
schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True), Column("applied_at", DateTime(timezone=True)))

# each step: (version, callable(connection)); version 1 creates the tables above
MIGRATIONS = [(1, lambda conn: metadata.create_all(conn, tables=[runs, documents, analyses, passages, evidence, coverage]))]


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def database_url(db: str) -> str:
    """A SQLAlchemy URL from what the user typed: a URL, or a path to a SQLite file."""
    if "://" in db:
        if db.startswith("postgresql://"):
            return "postgresql+psycopg://" + db[len("postgresql://"):]
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def connect(db: str, create: bool = True) -> Engine:
    """The database, migrated to the current schema. A SQLite path that cannot hold a database,
    or (with `create=False`, for reading) does not exist, is a one-line error, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..errors import InputError

    url = database_url(db)
    if url.startswith("sqlite"):
        path = Path(url[len("sqlite:///"):])
        if path.is_dir():
            raise InputError(db, "is a folder, not a database file", "Give a file name, e.g. --db results.sqlite")
        if not path.parent.is_dir():
            raise InputError(db, f"folder {path.parent} does not exist", "Create it first, or choose another --db path")
        if not create and not path.exists():
            raise InputError(db, "no such database", "Check the path; `nlp-tagger batch` creates the database")
        engine = create_engine(url, connect_args={"timeout": 60})

        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL: readers never block the writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses no committed document
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:120]
        raise InputError(db, f"cannot open the database ({reason})", "Use a writable SQLite file or a reachable database URL") from None
    return engine


def migrate(engine: Engine) -> int:
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
        current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
        for version, step in MIGRATIONS:
            if version > current:
                step(conn)
                conn.execute(insert(schema_version).values(version=version, applied_at=now()))
                current = version
    return current


def start_run(engine: Engine, framework, scorer: str, manifest: dict | None, tool_version: str) -> int:
    with engine.begin() as conn:
        return conn.execute(
            insert(runs).values(
                framework_id=framework.id, framework_sha256=framework.content_hash, framework_version=framework.version,
                scorer=scorer, model_manifest=json.loads(json.dumps(manifest or {}, default=str)), tool_version=tool_version, started_at=now(),
            ).returning(runs.c.id)
        ).scalar_one()


def finish_run(engine: Engine, run_id: int, n_ok: int, n_failed: int, n_skipped: int, input_errors: list | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(finished_at=now(), n_ok=n_ok, n_failed=n_failed, n_skipped=n_skipped, input_errors=input_errors or []))


def done_hashes(engine: Engine, framework_id: str, include_failed: bool = True) -> set[str]:
    """Content hashes already analysed for this framework (ok, and failed unless retrying)."""
    q = select(documents.c.content_sha256).join(analyses, analyses.c.document_id == documents.c.id).where(analyses.c.framework_id == framework_id)
    if not include_failed:
        q = q.where(analyses.c.status == "ok")
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(q)}


def _document_id(conn, result: dict) -> int:
    row = conn.execute(select(documents.c.id).where(documents.c.content_sha256 == result["sha256"])).first()
    if row:
        conn.execute(update(documents).where(documents.c.id == row[0]).values(path=result["path"], pages=result.get("pages"), n_passages=result.get("n_passages")))
        return row[0]
    return conn.execute(
        insert(documents).values(
            content_sha256=result["sha256"], path=result["path"], file_name=Path(result["path"]).name, pages=result.get("pages"),
            n_passages=result.get("n_passages"), institution=result.get("institution"), year=result.get("year"),
        ).returning(documents.c.id)
    ).scalar_one()


def write_result(engine: Engine, run_id: int, framework_id: str, result: dict) -> None:
    """All of one document's rows in one transaction; a failed earlier analysis is replaced."""
    with engine.begin() as conn:
        doc_id = _document_id(conn, result)
        old = conn.execute(select(analyses.c.id).where(analyses.c.document_id == doc_id, analyses.c.framework_id == framework_id)).first()
        if old:
            conn.execute(evidence.delete().where(evidence.c.analysis_id == old[0]))
            conn.execute(coverage.delete().where(coverage.c.analysis_id == old[0]))
            conn.execute(analyses.delete().where(analyses.c.id == old[0]))
        analysis_id = conn.execute(
            insert(analyses).values(
                document_id=doc_id, framework_id=framework_id, run_id=run_id, status=result["status"], error=result.get("error"),
                seconds=result.get("seconds"), finished_at=now(),
            ).returning(analyses.c.id)
        ).scalar_one()
        if result["status"] != "ok":
            return
        have = conn.execute(select(func.count()).select_from(passages).where(passages.c.document_id == doc_id)).scalar()
        if not have and result["passages"]:
            conn.execute(insert(passages), [{**p, "document_id": doc_id} for p in result["passages"]])
        if result["evidence"]:
            conn.execute(insert(evidence), [{**e, "analysis_id": analysis_id} for e in result["evidence"]])
        conn.execute(insert(coverage), [{**c, "analysis_id": analysis_id} for c in result["coverage"]])


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in (runs, documents, analyses, passages, evidence, coverage)}


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
