"""Batch results in a real database (SQLAlchemy): SQLite by default, PostgreSQL by URL.

Schema (version 2):
- `runs`: one row per `batch` invocation: framework id and hash, scorer, model manifest, times,
  counts, refused inputs, and `status` (running | finished | interrupted) with the `host` and `pid`
  of the process running it. The counts are updated in the same transaction as each document, so
  the row is true at every moment, even after `kill -9`; a later batch on the same database marks
  a run whose process is gone as `interrupted`.
- `documents`: one row per distinct file content (sha256), with its path, pages and metadata
  (institution and year when the path gives them).
- `analyses`: one row per (document, framework): status `ok` or `failed`, the error, the run.
  A document analysed before is skipped: this is what makes a re-run resume and never duplicate.
- `passages`, `evidence`, `coverage`: the results of an `ok` analysis.
Everything for one document is written in one transaction, so a run killed at any moment leaves
each document either complete or absent.

Several runs may write to one database at once. SQLite runs in WAL mode with a 60 s busy timeout
and takes its write lock when a write transaction begins (BEGIN IMMEDIATE), so writers queue and
never fail; PostgreSQL serialises the writes of one document with a transaction advisory lock and
inserts with ON CONFLICT DO NOTHING. Either way a document another run wrote first is skipped,
never duplicated. Creating and migrating the schema is one locked transaction, so two runs
starting together on a new database do not race.

Migrations: `schema_version` holds the applied version; `migrate()` applies the missing steps.
Version 2 adds the run status columns to an existing database and marks its unfinished runs
`interrupted`, with their counts recomputed from the analyses they wrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    JSON, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint,
    create_engine, func, insert, inspect, select, text, update,
)
from sqlalchemy.engine import Connection, Engine

SCHEMA_VERSION = 2
metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("framework_id", String(200), nullable=False),
    Column("framework_sha256", String(64), nullable=False),
    Column("framework_version", Text),  # version 2: was VARCHAR(50), too short for some frameworks' version notes
    Column("scorer", String(50), nullable=False),
    Column("model_manifest", JSON),
    Column("tool_version", String(20)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("n_ok", Integer, default=0),
    Column("n_failed", Integer, default=0),
    Column("n_skipped", Integer, default=0),
    Column("input_errors", JSON),  # inputs refused whole (a missing path, an unsafe ZIP) or in part (a corrupt member)
    Column("status", String(12)),  # running | finished | interrupted (version 2)
    Column("host", Text),  # where the run's process is (version 2)
    Column("pid", Integer),
    Column("pid_started", String(40)),  # the process's start time, so a reused pid is not taken for it
)
RUN_COLUMNS_V2 = ("status", "host", "pid", "pid_started")
documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True),
    Column("content_sha256", String(64), nullable=False, unique=True),
    Column("path", Text, nullable=False),
    Column("file_name", Text),  # version 2: was VARCHAR(500)
    Column("pages", Integer),
    Column("n_passages", Integer),
    Column("institution", Text),  # version 2: was VARCHAR(200); a folder name may be longer
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


def _migrate_v2(conn: Connection) -> None:
    """Run status: add the columns (a new database has them already), then make every older row
    true: finished runs are `finished`; unfinished ones are `interrupted`, counted from their
    analyses (version 1 wrote the counts only at the end)."""
    have = {c["name"] for c in inspect(conn).get_columns("runs")}
    for col in RUN_COLUMNS_V2:
        if col not in have:
            ddl = runs.c[col].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE runs ADD COLUMN {col} {ddl}"))
    if _postgres(conn):  # PostgreSQL enforces VARCHAR lengths (SQLite does not): free text gets TEXT
        for table, col in (("runs", "framework_version"), ("documents", "file_name"), ("documents", "institution")):
            conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {col} TYPE TEXT"))
    conn.execute(update(runs).where(runs.c.status.is_(None), runs.c.finished_at.is_not(None)).values(status="finished"))
    for (run_id,) in conn.execute(select(runs.c.id).where(runs.c.status.is_(None))).all():
        conn.execute(update(runs).where(runs.c.id == run_id).values(status="interrupted", **_counts(conn, run_id)))


MIGRATIONS = [
    (1, lambda conn: metadata.create_all(conn, tables=[runs, documents, analyses, passages, evidence, coverage])),
    (2, _migrate_v2),
]
MIGRATE_LOCK = 0x6E6C7074  # PostgreSQL advisory lock keys: "nlpt"
RUN_LOCK_NS = 0x6E6C7072  # two-key form (namespace, run id): held by a running run's process


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
        engine = create_engine(url, connect_args={"timeout": 60})  # busy timeout: a second writer waits its turn

        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL: readers never block the writer
            dbapi_conn.isolation_level = None  # the driver begins no transactions; `_sqlite_begin` does
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses no committed document
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # a write transaction takes the write lock at once, so what it reads first (does this
            # document exist?) cannot change under it before it writes; readers take no lock
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("nlp_write") else "BEGIN")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:120]
        raise InputError(db, f"cannot open the database ({reason})", "Use a writable SQLite file or a reachable database URL") from None
    return engine


@contextmanager
def writing(engine: Engine):
    """One write transaction that holds the database's write lock (SQLite) from its start."""
    with engine.connect() as conn:
        conn.execution_options(nlp_write=True)
        with conn.begin():
            yield conn


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(select(func.max(schema_version.c.version))).scalar() or 0


def migrate(engine: Engine) -> int:
    """Apply the missing schema steps, in one transaction that no other process can interleave.
    A database that is up to date is only read (it may be read-only, for `summary`)."""
    with engine.connect() as conn:
        if _current_version(conn) >= SCHEMA_VERSION:
            return SCHEMA_VERSION
    with writing(engine) as conn:
        if _postgres(conn):
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
        schema_version.create(conn, checkfirst=True)
        current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
        for version, step in MIGRATIONS:
            if version > current:
                step(conn)
                conn.execute(insert(schema_version).values(version=version, applied_at=now()))
                current = version
    return current


def _fit(table: Table, row: dict) -> dict:
    """`row` with every string cut to its column's length: PostgreSQL refuses a longer one with an
    error mid-run (a framework id, an indicator id or a label from a file the user wrote)."""
    out = dict(row)
    for key, value in row.items():
        length = getattr(table.c[key].type, "length", None) if key in table.c else None
        if length and isinstance(value, str) and len(value) > length:
            out[key] = value[:length]
    return out


def _process_started(pid: int) -> str | None:
    """A token for when process `pid` started (Linux: /proc start time), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _process_gone(pid: int | None, started: str | None) -> bool:
    """Is the process that ran a run on this host gone? A pid now used by another process counts
    as gone."""
    if not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    now_started = _process_started(pid)
    return bool(started and now_started and now_started != started)


class RunLock:
    """On PostgreSQL, a session advisory lock held for the life of a run, so another process (on
    any host) can tell a running run from one whose process died. Nothing to hold on SQLite,
    where the run's host and pid tell the same."""

    def __init__(self, engine: Engine):
        self.conn = engine.connect() if engine.dialect.name == "postgresql" else None

    def take(self, run_id: int) -> None:  # inside the transaction that inserts the run
        if self.conn is not None:
            self.conn.execute(text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": RUN_LOCK_NS, "id": run_id})

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.execute(text("SELECT pg_advisory_unlock_all()"))
                self.conn.commit()
                self.conn.close()
            except Exception:  # noqa: BLE001 - the lock goes with the session anyway
                pass
            self.conn = None


def _counts(conn: Connection, run_id: int) -> dict[str, int]:
    rows = dict(conn.execute(select(analyses.c.status, func.count()).where(analyses.c.run_id == run_id).group_by(analyses.c.status)).all())
    return {"n_ok": rows.get("ok", 0), "n_failed": sum(n for s, n in rows.items() if s != "ok")}


def mark_stale_runs(engine: Engine) -> list[dict]:
    """Mark `interrupted` every run still `running` whose process is gone (killed, or its machine
    restarted); returns them with their counts. On SQLite that is a run of this host whose pid is
    gone; on PostgreSQL, a run whose advisory lock no session holds."""
    host = socket.gethostname()
    marked = []
    with engine.connect() as conn:
        if not conn.execute(select(runs.c.id).where(runs.c.status == "running").limit(1)).first():
            return marked
    with writing(engine) as conn:
        pg = _postgres(conn)
        for r in conn.execute(select(runs.c.id, runs.c.host, runs.c.pid, runs.c.pid_started).where(runs.c.status == "running")).all():
            if pg:
                gone = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :id)"), {"ns": RUN_LOCK_NS, "id": r.id}).scalar()
                if gone:
                    conn.execute(text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": RUN_LOCK_NS, "id": r.id})
            else:
                gone = r.host == host and _process_gone(r.pid, r.pid_started)
            if not gone:
                continue
            conn.execute(update(runs).where(runs.c.id == r.id, runs.c.status == "running").values(status="interrupted"))
            row = conn.execute(select(runs.c.n_ok, runs.c.n_failed).where(runs.c.id == r.id)).one()
            marked.append({"run_id": r.id, "n_ok": row.n_ok or 0, "n_failed": row.n_failed or 0})
    return marked


def start_run(engine: Engine, framework, scorer: str, manifest: dict | None, tool_version: str, n_skipped: int = 0,
              input_errors: list | None = None, lock: RunLock | None = None) -> int:
    """A `running` run row: what it will skip and which inputs it refused are known already.
    With `lock` (PostgreSQL), the run's advisory lock is taken in the same transaction, so no
    other process ever sees the row running without its lock."""

    @contextmanager
    def transaction():
        if lock is not None and lock.conn is not None:
            with lock.conn.begin():
                yield lock.conn
        else:
            with writing(engine) as conn:
                yield conn

    with transaction() as conn:
        run_id = conn.execute(
            insert(runs).values(**_fit(runs, dict(
                framework_id=framework.id, framework_sha256=framework.content_hash, framework_version=framework.version,
                scorer=scorer, model_manifest=json.loads(json.dumps(manifest or {}, default=str)), tool_version=tool_version, started_at=now(),
                n_ok=0, n_failed=0, n_skipped=n_skipped, input_errors=[list(p) for p in input_errors or []],
                status="running", host=socket.gethostname(), pid=os.getpid(), pid_started=_process_started(os.getpid()),
            ))).returning(runs.c.id)
        ).scalar_one()
        if lock is not None:
            lock.take(run_id)
    return run_id


def finish_run(engine: Engine, run_id: int, n_ok: int | None = None, n_failed: int | None = None, n_skipped: int | None = None,
               input_errors: list | None = None, status: str = "finished") -> None:
    """`finished`, or `interrupted` (a run stopped by Ctrl-C, SIGTERM or an error). The counts are
    in the row already (each document's transaction adds to them); given here, they replace them."""
    values: dict = {"finished_at": now() if status == "finished" else None, "status": status}
    for name, value in (("n_ok", n_ok), ("n_failed", n_failed), ("n_skipped", n_skipped)):
        if value is not None:
            values[name] = value
    if input_errors is not None:
        values["input_errors"] = [list(p) for p in input_errors]
    with writing(engine) as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(**values))


def done_hashes(engine: Engine, framework_id: str, include_failed: bool = True) -> set[str]:
    """Content hashes already analysed for this framework (ok, and failed unless retrying)."""
    q = select(documents.c.content_sha256).join(analyses, analyses.c.document_id == documents.c.id).where(analyses.c.framework_id == framework_id)
    if not include_failed:
        q = q.where(analyses.c.status == "ok")
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(q)}


def is_done(engine: Engine, framework_id: str, sha256: str, include_failed: bool = True) -> bool:
    """Has another run written this document since this one started? Asked before each document
    is handed to a worker, so concurrent runs over one archive share the work."""
    q = (select(analyses.c.status).join(documents, analyses.c.document_id == documents.c.id)
         .where(documents.c.content_sha256 == sha256, analyses.c.framework_id == framework_id))
    with engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(q)]
    return any(st == "ok" or include_failed for st in statuses)


def add_skipped(engine: Engine, run_id: int, n: int = 1) -> None:
    """Count a document another run wrote while this one was running."""
    with writing(engine) as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(n_skipped=runs.c.n_skipped + n))


def _insert_ignore(conn: Connection, table: Table, index_elements: list[str]):
    """INSERT ... ON CONFLICT DO NOTHING in this database's dialect."""
    if _postgres(conn):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # another database: a plain insert (the write lock still keeps it single-writer)
        return insert(table)
    return dialect_insert(table).on_conflict_do_nothing(index_elements=index_elements)


def _document_id(conn: Connection, result: dict) -> tuple[int, bool]:
    """The document's id, and whether this transaction created it."""
    row = conn.execute(
        _insert_ignore(conn, documents, ["content_sha256"]).values(**_fit(documents, dict(
            content_sha256=result["sha256"], path=result["path"], file_name=Path(result["path"]).name, pages=result.get("pages"),
            n_passages=result.get("n_passages"), institution=result.get("institution"), year=result.get("year"),
        ))).returning(documents.c.id)
    ).first()
    if row:
        return row[0], True
    return conn.execute(select(documents.c.id).where(documents.c.content_sha256 == result["sha256"])).scalar_one(), False


def _document_lock_key(sha256: str) -> int:
    return int.from_bytes(hashlib.sha256(b"nlp-tagger:" + sha256.encode()).digest()[:8], "big", signed=True)


def write_result(engine: Engine, run_id: int, framework_id: str, result: dict, retry_failed: bool = False) -> str:
    """All of one document's rows, and the run's counts, in one transaction. Returns `written`,
    or `skipped` when another run has written this document meanwhile (its rows are kept, never
    duplicated). With `retry_failed`, a failure an earlier run recorded is replaced."""
    with writing(engine) as conn:
        if _postgres(conn):  # writers of the same document queue here; others go on
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _document_lock_key(result["sha256"])})
        doc_id, created = _document_id(conn, result)
        old = conn.execute(select(analyses.c.id, analyses.c.status, analyses.c.run_id)
                           .where(analyses.c.document_id == doc_id, analyses.c.framework_id == framework_id)).first()
        if old:
            if not (retry_failed and old.status != "ok" and old.run_id < run_id):
                conn.execute(update(runs).where(runs.c.id == run_id).values(n_skipped=runs.c.n_skipped + 1))
                return "skipped"
            conn.execute(evidence.delete().where(evidence.c.analysis_id == old.id))
            conn.execute(coverage.delete().where(coverage.c.analysis_id == old.id))
            conn.execute(analyses.delete().where(analyses.c.id == old.id))
        if not created:
            values = {"path": result["path"]}
            if result["status"] == "ok":
                values.update(pages=result.get("pages"), n_passages=result.get("n_passages"))
            conn.execute(update(documents).where(documents.c.id == doc_id).values(**values))
        analysis_id = conn.execute(
            _insert_ignore(conn, analyses, ["document_id", "framework_id"]).values(**_fit(analyses, dict(
                document_id=doc_id, framework_id=framework_id, run_id=run_id, status=result["status"], error=result.get("error"),
                seconds=result.get("seconds"), finished_at=now(),
            ))).returning(analyses.c.id)
        ).scalar()
        if analysis_id is None:  # written by another run between our look and our insert
            conn.execute(update(runs).where(runs.c.id == run_id).values(n_skipped=runs.c.n_skipped + 1))
            return "skipped"
        counter = runs.c.n_ok if result["status"] == "ok" else runs.c.n_failed
        conn.execute(update(runs).where(runs.c.id == run_id).values({counter.name: counter + 1}))
        if result["status"] != "ok":
            return "written"
        have = conn.execute(select(func.count()).select_from(passages).where(passages.c.document_id == doc_id)).scalar()
        if not have and result["passages"]:
            conn.execute(_insert_ignore(conn, passages, ["document_id", "idx"]), [{**p, "document_id": doc_id} for p in result["passages"]])
        if result["evidence"]:
            conn.execute(insert(evidence), [_fit(evidence, {**e, "analysis_id": analysis_id}) for e in result["evidence"]])
        conn.execute(insert(coverage), [_fit(coverage, {**c, "analysis_id": analysis_id}) for c in result["coverage"]])
    return "written"


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in (runs, documents, analyses, passages, evidence, coverage)}


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
