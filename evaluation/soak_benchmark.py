"""Soak test of `nlp-tagger batch`: a mixed archive with corrupt files, killed three times and
resumed, against uninterrupted runs.

    python evaluation/soak_benchmark.py [--n 1000] [--workers 2] [--kills 3] [--corrupt 0.05] [--seed 0]

1. An archive of N files made by copying and renaming the bundled corpus documents
   (corpora/documents, corpora/samples): Markdown, the same renamed .txt, the sample PDF, and PDF
   and DOCX renderings of a few corpus documents; each copy gets a line (or a trailing PDF comment,
   or a ZIP member) of its own, so every file is a distinct document. A share of them (--corrupt,
   5%) is broken: truncated PDFs, junk bytes named .pdf/.docx, and ZIPs with a damaged member.
2. Uninterrupted runs (in this process, each on an empty cache and database): 1 worker x 1 thread
   and W workers x 1 thread, for the throughput ratio over the whole run, start-up included.
3. The soak: `nlp-tagger batch --workers W` as a real process, `kill -9`ed (the batch process
   alone) --kills times at random points and started again until it finishes. After each kill it
   checks that no worker outlived the batch. Peak memory per worker is sampled from /proc.
4. Prints documents/min, peak memory per worker, the row counts of the soak against the
   uninterrupted W-worker run (they must be equal), the run rows' statuses and counts, and the
   W-workers / 1-worker throughput ratio (the issue's target: 1.7x for 2 workers).

Copies share most of their passages, so the embedding cache does much of the work after the
first copy of each source: documents/min here is higher than on an archive of distinct documents
(see evaluation/batch_benchmark.py for that).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TABLES = ("documents", "analyses", "passages", "evidence", "coverage")
MIX = (".md", ".pdf", ".md", ".txt", ".docx", ".md", ".pdf", ".md", ".txt", ".md")  # the file types, in turn


# ------------------------------------------------------------------------------- the archive

def _templates(tmp: Path) -> list[tuple[str, bytes]]:
    """(suffix, bytes) of every source document: Markdown, as .txt, the sample PDF, and PDF/DOCX
    renderings of a few corpus documents (when reportlab is installed)."""
    mds = sorted((ROOT / "corpora" / "documents").rglob("*.md"))
    out = [(".md", p.read_bytes()) for p in mds] + [(".txt", p.read_bytes()) for p in mds[::3]]
    out += [(".pdf", p.read_bytes()) for p in sorted((ROOT / "corpora" / "samples").glob("*.pdf"))]
    try:
        from nlp_tagger import extract
        from nlp_tagger.render import render_docx, render_pdf

        for i, md in enumerate(mds[::6]):
            doc = extract(md)
            pdf = render_pdf(doc, tmp / f"t{i}.pdf", header=md.stem)
            docx = render_docx(doc, tmp / f"t{i}.docx")
            out += [(".pdf", pdf.read_bytes()), (".docx", docx.read_bytes())]
    except ImportError:  # reportlab is a test extra
        pass
    return out


def _distinct(suffix: str, data: bytes, tag: str) -> bytes:
    """The same document with a mark of its own, so its content hash is its own."""
    if suffix in (".md", ".txt"):
        return data + f"\n\nArchive copy {tag}.\n".encode()
    if suffix == ".pdf":
        return data + f"\n%archive copy {tag}\n".encode()  # after %%EOF: ignored by readers
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as zf:  # DOCX: an extra part Word and python-docx ignore
        zf.writestr("customXml/archive-copy.txt", tag)
    return buf.getvalue()


def _corrupt_zip(good: bytes, bad: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("report.md", good)
        zf.writestr("damaged.md", bad)
    raw = bytearray(buf.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.getinfo("damaged.md")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + info.compress_size // 3, start + info.compress_size // 3 + 16):
        raw[i] ^= 0xA5
    return bytes(raw)


def make_archive(n: int, out: Path, corrupt: float, rng: random.Random) -> dict:
    templates = _templates(out.parent)
    n_bad = round(n * corrupt)
    bad_at = set(rng.sample(range(n), n_bad))
    kinds: dict[str, int] = {}
    for i in range(n):
        inst, year = f"inst-{i % 13:02d}", 2015 + i % 9
        folder = out / inst / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        if i in bad_at:
            kind = ("truncated-pdf", "junk", "corrupt-zip")[len([b for b in bad_at if b < i]) % 3]
            pdfs = [d for s, d in templates if s == ".pdf"]
            if kind == "truncated-pdf":
                data = _distinct(".pdf", pdfs[i % len(pdfs)], str(i))
                (folder / f"report-{i}.pdf").write_bytes(data[: len(data) // 3])
            elif kind == "junk":
                (folder / f"report-{i}{rng.choice(['.pdf', '.docx'])}").write_bytes(rng.randbytes(rng.randint(200, 20000)))
            else:
                mds = [d for s, d in templates if s == ".md"]
                (folder / f"bundle-{i}.zip").write_bytes(_corrupt_zip(_distinct(".md", mds[i % len(mds)], f"zip {i}"), mds[(i + 1) % len(mds)]))
            kinds[kind] = kinds.get(kind, 0) + 1
            continue
        suffix = MIX[i % len(MIX)]
        same = [d for s, d in templates if s == suffix] or [d for s, d in templates if s == ".md"]
        suffix = suffix if any(s == suffix for s, _ in templates) else ".md"
        data = same[(i // len(MIX)) % len(same)]
        (folder / f"report-{i}{suffix}").write_bytes(_distinct(suffix, data, str(i)))
        kinds[suffix] = kinds.get(suffix, 0) + 1
    return kinds


# ------------------------------------------------------------------------------- measuring

def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _hwm_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class WorkerWatch:
    """Samples the batch process's workers: their pids and their peak resident memory."""

    def __init__(self, pid: int):
        self.pid, self.workers, self.peak = pid, set(), 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for w in _descendants(self.pid):
                if _is_worker(w):
                    self.workers.add(w)
                    self.peak = max(self.peak, _hwm_mib(w))
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def row_counts(db: Path) -> dict[str, int]:
    counts = {t: _count(db, f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    counts["analyses ok"] = _count(db, "SELECT COUNT(*) FROM analyses WHERE status = 'ok'")
    return counts


# ------------------------------------------------------------------------------- the runs

def _fresh_cache(shared: Path, cache: Path) -> None:
    """An empty cache but for the one-off ONNX export of the encoder (when one was needed)."""
    cache.mkdir(parents=True)
    if (shared / "onnx").exists():
        shutil.copytree(shared / "onnx", cache / "onnx")


def uninterrupted(archive: Path, tmp: Path, shared: Path, workers: int, threads: int, framework: str, scorer: str):
    from nlp_tagger.batch import run_batch

    cache = tmp / f"cache-{workers}x{threads}"
    _fresh_cache(shared, cache)
    db = tmp / f"uninterrupted-{workers}x{threads}.sqlite"
    s = run_batch([str(archive)], framework, str(db), workers=workers, progress=False, cache_dir=str(cache), threads=threads, scorer=scorer)
    n = s.n_ok + s.n_failed
    print(f"uninterrupted, {workers} worker(s) x {threads} thread(s): {s.n_ok} analysed, {s.n_failed} failed, {len(s.input_errors)} inputs refused, "
          f"{s.n_skipped} skipped (duplicates) in {s.seconds:.1f} s: {60 * n / s.seconds:.1f} documents/min, {s.pages / s.seconds:.1f} pages/s; "
          f"peak memory per worker {s.worker_peak_mib:.0f} MiB; start-up {s.first_result_s:.1f} s", flush=True)
    return s, db


def soak(archive: Path, tmp: Path, shared: Path, workers: int, kills: int, framework: str, scorer: str, expected: int, rng: random.Random) -> dict:
    cache = tmp / "cache-soak"
    _fresh_cache(shared, cache)
    db = tmp / "soak.sqlite"
    cmd = [sys.executable, str(ROOT / "cli.py"), "batch", str(archive), "-f", framework, "--scorer", scorer, "--db", str(db),
           "--no-progress", "--workers", str(workers)]
    env = {**os.environ, "NLP_TAGGER_CACHE": str(cache)}
    # kill once this many analyses are committed: random points spread over the run
    targets = sorted(rng.sample(range(1, max(expected, kills + 1)), kills))
    wall, peak, left_behind, killed_at, attempts, rc = 0.0, 0.0, 0, [], 0, None
    while True:
        attempts += 1
        t0 = time.time()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        watch = WorkerWatch(proc.pid)
        target = targets[len(killed_at)] if len(killed_at) < kills else None
        while proc.poll() is None:
            if target is not None and _count(db, "SELECT COUNT(*) FROM analyses") >= target:
                os.kill(proc.pid, signal.SIGKILL)  # the batch process alone: its workers must go with it
                proc.wait()
                killed_at.append(_count(db, "SELECT COUNT(*) FROM analyses"))
                break
            time.sleep(0.05)
        out, err = proc.communicate()
        wall += time.time() - t0
        watch.stop()
        peak = max(peak, watch.peak)
        if target is not None and proc.returncode == -signal.SIGKILL:
            deadline = time.time() + 10
            while time.time() < deadline and any(_alive(w) for w in watch.workers):
                time.sleep(0.1)
            stray = [w for w in watch.workers if _alive(w) and _is_worker(w)]
            left_behind += len(stray)
            for w in stray:  # do not leave them running on the machine
                os.kill(w, signal.SIGKILL)
            continue
        rc = proc.returncode
        if "Traceback" in err:
            print(err[-3000:], file=sys.stderr)
        break
    return {"db": db, "wall": wall, "peak": peak, "left_behind": left_behind, "killed_at": killed_at, "attempts": attempts, "rc": rc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="files in the archive (default 1000)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the soak run and of the ratio's many-worker run (default 2)")
    ap.add_argument("--kills", type=int, default=3, help="kill -9 the soak run this many times (default 3)")
    ap.add_argument("--corrupt", type=float, default=0.05, help="share of broken files (default 0.05)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--framework", default="concordat-2019")
    ap.add_argument("--scorer", default="auto")
    ap.add_argument("--skip-soak", action="store_true", help="only the uninterrupted runs and the ratio")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    from nlp_tagger.embed import Embedder

    with tempfile.TemporaryDirectory(prefix="nlp-tagger-soak-") as tmp:
        tmp = Path(tmp)
        archive = tmp / "archive"
        kinds = make_archive(args.n, archive, args.corrupt, rng)
        print(f"archive: {args.n} files ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}); "
              f"python evaluation/soak_benchmark.py --n {args.n} --workers {args.workers} --kills {args.kills} --corrupt {args.corrupt} --seed {args.seed}", flush=True)
        shared = tmp / "shared"
        Embedder(cache_dir=shared, use_cache=False).encode(["export the ONNX model once"])

        one, _ = uninterrupted(archive, tmp, shared, 1, 1, args.framework, args.scorer)
        many, many_db = uninterrupted(archive, tmp, shared, args.workers, 1, args.framework, args.scorer)
        ratio = one.seconds / many.seconds
        steady = ((one.seconds - one.first_result_s) / max(one.n_ok + one.n_failed - 1, 1)) / ((many.seconds - many.first_result_s) / max(many.n_ok + many.n_failed - 1, 1))
        if not args.skip_soak:
            expected = many.n_ok + many.n_failed
            r = soak(archive, tmp, shared, args.workers, args.kills, args.framework, args.scorer, expected, rng)
            done = row_counts(r["db"])
            print(f"soak, {args.workers} worker(s), kill -9 of the batch process {len(r['killed_at'])} time(s) (after {', '.join(map(str, r['killed_at']))} "
                  f"documents committed) and resumed, {r['attempts']} starts in all: {expected} documents in {r['wall']:.1f} s, "
                  f"{60 * expected / r['wall']:.1f} documents/min; peak memory per worker {r['peak']:.0f} MiB; "
                  f"workers left running after a kill: {r['left_behind']}; last exit status {r['rc']}", flush=True)
            ref = row_counts(many_db)
            same = all(done[k] == ref[k] for k in ref)
            print("rows, soak vs uninterrupted: " + ", ".join(f"{k} {done[k]}/{ref[k]}" for k in ref) + (" (identical)" if same else " (DIFFERENT)"))
            dup = _count(r["db"], "SELECT COUNT(*) FROM (SELECT document_id, framework_id FROM analyses GROUP BY 1, 2 HAVING COUNT(*) > 1)")
            with sqlite3.connect(r["db"]) as con:
                runs = con.execute("SELECT status, n_ok, n_failed FROM runs ORDER BY id").fetchall()
            statuses = {s: sum(1 for x in runs if x[0] == s) for s in sorted({x[0] for x in runs})}
            counted = sum(x[1] + x[2] for x in runs)
            print(f"runs: {', '.join(f'{v} {k}' for k, v in statuses.items())}; their counts add up to {counted} analyses "
                  f"({'=' if counted == done['analyses'] else '!='} {done['analyses']} in the table); duplicated analyses: {dup}")
        print(f"{args.workers} workers over 1 worker (1 thread each), whole run with start-up: {ratio:.2f}x (target 1.7x for 2 workers); "
              f"after start-up (first result to last): {steady:.2f}x")


if __name__ == "__main__":
    main()
