"""Coverage across an archive: which indicators are rarely evidenced, and trends by year or
institution, from the batch database."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from ..errors import NlpTaggerError
from ..report import csv_cell
from . import db as D


EVIDENCED = ("strong", "weak")  # "planned" (only intentions) is counted apart, as in every report


def summarise(db: str, by: str = "indicator", framework: str | None = None) -> list[dict]:
    engine = D.connect(db, create=False)
    a, c, d = D.analyses, D.coverage, D.documents
    q = (
        select(a.c.framework_id, d.c.institution, d.c.year, a.c.id, c.c.indicator_id, c.c.parent_id, c.c.status)
        .join(c, c.c.analysis_id == a.c.id)
        .join(d, d.c.id == a.c.document_id)
        .where(a.c.status == "ok")
    )
    if framework:
        q = q.where(a.c.framework_id == framework)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
        parents = {r.parent_id for r in rows if r.parent_id}
        failed = conn.execute(select(a.c.framework_id, a.c.status)).all()
    engine.dispose()
    if framework and not any(f == framework for f, _ in failed):
        present = sorted({f for f, _ in failed})
        raise NlpTaggerError(db, f"no analyses for framework '{framework}'", f"Frameworks in this database: {', '.join(present) or 'none'}")
    n_failed = defaultdict(int)
    for f, status in failed:
        n_failed[f] += status != "ok"
    # out-of-scope indicators (a funder's duties in a university's report) are neither counted nor gaps
    leaves = [r for r in rows if r.indicator_id not in parents and r.status != "out"]
    out: list[dict] = []
    if by == "indicator":
        groups: dict[tuple, list] = defaultdict(list)
        for r in leaves:
            groups[(r.framework_id, r.indicator_id)].append(r.status)
        for (f, ind), statuses in groups.items():
            n = len(statuses)
            evidenced = sum(s in EVIDENCED for s in statuses)
            out.append({"framework": f, "indicator": ind, "documents": n, "evidenced": evidenced, "strong": sum(s == "strong" for s in statuses),
                        "planned_only": sum(s == "planned" for s in statuses), "evidenced_share": round(evidenced / n, 4)})
        out.sort(key=lambda r: (r["framework"], r["evidenced_share"], r["indicator"]))
        return out
    if by not in ("year", "institution"):
        raise NlpTaggerError(by, "unknown grouping", "Use --by indicator, year or institution")
    per_analysis: dict[int, list] = defaultdict(list)
    key_of: dict[int, tuple] = {}
    for r in leaves:
        per_analysis[r.id].append(r.status)
        key_of[r.id] = (r.framework_id, getattr(r, by))
    groups2: dict[tuple, list[float]] = defaultdict(list)
    strong2: dict[tuple, list[float]] = defaultdict(list)
    planned2: dict[tuple, list[float]] = defaultdict(list)
    for aid, statuses in per_analysis.items():
        groups2[key_of[aid]].append(sum(s in EVIDENCED for s in statuses) / len(statuses))
        strong2[key_of[aid]].append(sum(s == "strong" for s in statuses) / len(statuses))
        planned2[key_of[aid]].append(sum(s == "planned" for s in statuses) / len(statuses))
    for (f, g), shares in sorted(groups2.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        out.append({"framework": f, by: g, "documents": len(shares), "mean_evidenced_share": round(sum(shares) / len(shares), 4),
                    "mean_strong_share": round(sum(strong2[(f, g)]) / len(shares), 4),
                    "mean_planned_only_share": round(sum(planned2[(f, g)]) / len(shares), 4)})
    return out


def write_table(rows: list[dict], path: Path, fmt: str) -> None:
    if not path.parent.is_dir():
        raise NlpTaggerError(path, f"folder {path.parent} does not exist", "Create it first, or choose another path")
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["framework"])
            w.writeheader()
            w.writerows({k: csv_cell(v) for k, v in r.items()} for r in rows)  # institution names come from folder names
        return
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise NlpTaggerError(path, "Parquet output needs pyarrow", "pip install pyarrow, or use --csv") from None
    pq.write_table(pa.Table.from_pylist(rows), path)


def archive_data(db: str, framework: str | None = None) -> dict:
    """Everything the archive dashboard draws, read in one connection: per framework, every
    coverage row of an `ok` analysis (all levels, in the order the framework lists them), every
    analysis with its document (ok and failed), and every run. Plain dicts; nothing aggregated.

    An unknown `framework` is the same one-line error as in `summarise`; an empty database gives
    empty lists."""
    engine = D.connect(db, create=False)
    a, c, d, r = D.analyses, D.coverage, D.documents, D.runs
    cov_q = (
        select(a.c.framework_id, a.c.id.label("analysis_id"), a.c.document_id, c.c.indicator_id, c.c.parent_id, c.c.status)
        .join(c, c.c.analysis_id == a.c.id)
        .where(a.c.status == "ok", c.c.status != "out")
        .order_by(c.c.id)
    )
    ana_q = (
        select(a.c.framework_id, a.c.id.label("analysis_id"), a.c.document_id, a.c.run_id, a.c.status, a.c.error,
               d.c.path, d.c.file_name, d.c.institution, d.c.year, d.c.pages)
        .join(d, d.c.id == a.c.document_id)
        .order_by(a.c.id)
    )
    run_q = select(r.c.id, r.c.framework_id, r.c.framework_sha256, r.c.scorer, r.c.started_at, r.c.finished_at,
                   r.c.n_ok, r.c.n_failed, r.c.n_skipped, r.c.input_errors).order_by(r.c.id)
    if framework:
        cov_q, ana_q, run_q = cov_q.where(a.c.framework_id == framework), ana_q.where(a.c.framework_id == framework), run_q.where(r.c.framework_id == framework)
    with engine.connect() as conn:
        present = sorted({f for (f,) in conn.execute(select(a.c.framework_id).distinct())})
        data = {
            "coverage": [dict(row._mapping) for row in conn.execute(cov_q)],
            "analyses": [dict(row._mapping) for row in conn.execute(ana_q)],
            "runs": [dict(row._mapping) for row in conn.execute(run_q)],
        }
    engine.dispose()
    if framework and framework not in present:
        raise NlpTaggerError(db, f"no analyses for framework '{framework}'", f"Frameworks in this database: {', '.join(present) or 'none'}")
    data["frameworks"] = [framework] if framework else present
    return data
