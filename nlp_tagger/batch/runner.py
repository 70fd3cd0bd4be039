"""A batch run: collect inputs, skip what the database already holds, analyse the rest in parallel
(worker processes here, or Ray actors on a cluster), and write each document as it finishes.

The parent process is the only writer, so SQLite needs no locking games; workers only compute.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..frameworks import load_framework
from ..scorers import resolve_scorer
from . import db as D
from .inputs import Item, collect
from .worker import analyse, init


@dataclass
class BatchSummary:
    run_id: int
    n_inputs: int
    n_ok: int = 0
    n_failed: int = 0
    n_skipped: int = 0
    pages: int = 0
    seconds: float = 0.0
    input_errors: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    worker_peak_mib: float = 0.0
    first_result_s: float = 0.0  # start-up: inputs collected, workers started, models loaded

    @property
    def any_failed(self) -> bool:
        return bool(self.n_failed or self.input_errors)


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(), TextColumn("failed {task.fields[failed]}"),
        TextColumn("{task.fields[rate]:.1f} pages/s"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        disable=not enabled,
    )


def _local_results(todo: list[tuple[Item, str]], framework_ref: str, scorer: str, cache_dir: str | None, workers: int, timeout_s: float, threads: int | None):
    ctx = mp.get_context("spawn")  # a clean interpreter per worker: no forked model or thread state
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init, initargs=(framework_ref, scorer, cache_dir, threads)) as pool:
        futures = [pool.submit(analyse, str(it.path), it.label, it.institution, it.year, timeout_s, h) for it, h in todo]
        for fut in as_completed(futures):
            yield fut.result()


def _ray_results(todo: list[tuple[Item, str]], framework_ref: str, scorer: str, cache_dir: str | None, workers: int, timeout_s: float, address: str | None):
    import ray
    from ray.util import ActorPool

    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)

    @ray.remote
    class Worker:  # one model load per actor, as in the local pool
        def __init__(self):
            init(framework_ref, scorer, cache_dir, 1)

        def analyse(self, *args):
            return analyse(*args)

    pool = ActorPool([Worker.remote() for _ in range(workers)])
    yield from pool.map_unordered(lambda a, it: a.analyse.remote(str(it[0].path), it[0].label, it[0].institution, it[0].year, timeout_s, it[1]), todo)


def run_batch(
    inputs: list[str],
    framework: str,
    db: str,
    workers: int = 1,
    engine: str = "local",
    address: str | None = None,
    scorer: str = "auto",
    timeout_s: float = 300.0,
    retry_failed: bool = False,
    progress: bool = True,
    cache_dir: str | None = None,
    threads: int | None = None,
) -> BatchSummary:
    """`threads` per worker defaults to the machine's cores shared out among the workers."""
    import time

    fw = load_framework(framework)
    sc, _ = resolve_scorer(fw, scorer)  # a missing or stale model stops the run before it starts
    framework_ref = fw.path
    engine_db = D.connect(db)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="nlp-tagger-batch-") as work:
        items, problems = collect(inputs, Path(work))
        done = D.done_hashes(engine_db, fw.id, include_failed=not retry_failed)
        todo, seen = [], set(done)
        for it in items:
            h = _sha(it.path)
            if h not in seen:  # done before, or the same file twice in this run
                seen.add(h)
                todo.append((it, h))
        summary = BatchSummary(0, len(items), n_skipped=len(items) - len(todo), input_errors=problems)
        summary.run_id = D.start_run(engine_db, fw, sc.name, getattr(sc, "manifest", None), __version__)
        if engine == "ray":
            results = _ray_results(todo, framework_ref, scorer, cache_dir, workers, timeout_s, address)
        elif engine == "local":
            results = _local_results(todo, framework_ref, scorer, cache_dir, workers, timeout_s, threads)
        else:
            raise ValueError(f"unknown engine {engine!r}")
        with _progress(progress) as bar:
            task = bar.add_task("batch", total=len(todo), failed=0, rate=0.0)
            for result in results:
                if not summary.first_result_s:
                    summary.first_result_s = time.time() - t0
                D.write_result(engine_db, summary.run_id, fw.id, result)
                summary.worker_peak_mib = max(summary.worker_peak_mib, result.get("worker_peak_mib", 0.0))
                if result["status"] == "ok":
                    summary.n_ok += 1
                    summary.pages += result.get("pages") or 0
                else:
                    summary.n_failed += 1
                    summary.failures.append((result["path"], result.get("error", "")))
                elapsed = max(time.time() - t0, 1e-9)
                bar.update(task, advance=1, failed=summary.n_failed, rate=summary.pages / elapsed)
    summary.seconds = time.time() - t0
    D.finish_run(engine_db, summary.run_id, summary.n_ok, summary.n_failed, summary.n_skipped, [list(p) for p in problems])
    engine_db.dispose()
    return summary
