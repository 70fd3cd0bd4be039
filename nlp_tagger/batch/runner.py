"""A batch run: collect inputs, skip what the database already holds, analyse the rest in parallel
(worker processes here, or Ray actors on a cluster), and write each document as it finishes.

The parent process is the only writer of its run; workers only compute. Other runs may write to
the same database at the same time (see db.py): before a document is handed to a worker the
parent asks whether another run has written it meanwhile, and a result another run wrote first is
skipped, never duplicated.

Start-up is overlapped with the parent's own work: the worker processes are started (and load the
model) first, while the parent checks the scorer, opens the database, extracts the archives and
hashes every input. Documents are handed out a few at a time, not all at once.

Nothing is left behind: workers die with the parent (even after `kill -9`, see worker.py); Ctrl-C
or SIGTERM stops the workers and marks the run `interrupted`; a worker that dies (a crash, the
out-of-memory killer) is replaced, and the documents it held are analysed again one at a time, so
a document that kills its worker is recorded as failed and the batch goes on.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import signal
import tempfile
import threading
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import NlpTaggerError
from ..frameworks import load_framework
from ..scorers import resolve_scorer
from . import db as D
from .inputs import Item, collect
from .worker import analyse, init, noop

WORKER_DIED = "the worker process analysing it died (a crash reading it, or killed for memory)"


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
    interrupted_runs: list[dict] = field(default_factory=list)  # earlier runs found dead and marked `interrupted`
    skipped_concurrent: int = 0  # of n_skipped: written by another run while this one ran
    worker_restarts: int = 0

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


class WorkerStartError(NlpTaggerError):
    """The worker processes cannot load what they need."""


class _LocalPool:
    """Worker processes on this machine, started at once (each loads the model), fed a few
    documents at a time, and replaced if one dies."""

    def __init__(self, framework_ref: str, scorer: str, cache_dir: str | None, workers: int, threads: int | None):
        self.workers = workers
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        self.initargs = (framework_ref, scorer, cache_dir, threads, os.getpid())
        self.in_flight = 2 * workers  # one running and one queued per worker: none waits for work
        self.pool: ProcessPoolExecutor | None = None
        self.warm: list = []
        self.restarts = 0
        self.start()

    def start(self) -> None:
        ctx = mp.get_context("spawn")  # a clean interpreter per worker: no forked model or thread state
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=init, initargs=self.initargs)
        self.warm = [self.pool.submit(noop) for _ in range(self.workers)]  # spawns every worker now

    def stop(self, kill: bool = False) -> None:
        pool, self.pool = self.pool, None
        if pool is None:
            return
        if any(not f.done() for f in self.warm):  # a worker still loading the model (nothing was left to do): no need to wait
            kill = True
        if not kill:
            pool.shutdown(wait=True)
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.kill()
        for p in procs:
            p.join(5)

    def _started(self) -> bool:
        """Did any worker of the current pool finish loading?"""
        for f in self.warm:
            if f.done() and not f.cancelled() and f.exception() is None:
                if f.result().get("error"):
                    raise WorkerStartError("batch workers", f"cannot start: {f.result()['error']}", "Run `nlp-tagger check` on one document to see why")
                return True
        return False

    def results(self, jobs, timeout_s: float):
        """Result dicts for `jobs` (an iterator of (item, sha256), read lazily), in completion order."""
        source = iter(jobs)
        front: deque = deque()  # handed out before, never started: hand out again
        suspects: deque = deque()  # in flight when a worker died: each runs again alone
        pending: dict = {}
        crashes: Counter = Counter()
        start_failures = 0

        def submit(job) -> None:
            it, h = job
            pending[self.pool.submit(analyse, str(it.path), it.label, it.institution, it.year, timeout_s, h)] = job

        while True:
            broken = False
            try:
                while len(pending) < (1 if suspects else self.in_flight):
                    job = suspects.popleft() if suspects else front.popleft() if front else next(source, None)
                    if job is None:
                        break
                    submit(job)
            except BrokenProcessPool:
                broken = True
                front.appendleft(job)
            if not pending and not broken:
                return
            if not broken:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = pending.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        pending[fut] = job  # handled below with the rest
                        broken = True
                        continue
                    yield result
                    start_failures = 0
            if not broken:
                continue
            # a worker died: what finished is kept, every other job in flight is lost with the pool
            for fut, job in list(pending.items()):
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    del pending[fut]
                    yield fut.result()
            started = self._started()
            alone = len(pending) == 1 and started
            for fut, job in pending.items():
                it, h = job
                if alone and crashes[h]:  # in flight when a worker died before, and now by itself: the cause
                    yield {"path": it.label, "institution": it.institution, "year": it.year, "sha256": h, "status": "failed", "error": WORKER_DIED}
                elif started:
                    crashes[h] += 1
                    suspects.append(job)
                else:
                    front.append(job)  # the workers died while starting: not the document's fault
            pending.clear()
            if not started:
                start_failures += 1
                if start_failures >= 2:
                    raise WorkerStartError("batch workers", "died while starting, twice", "Check memory and the model files; `nlp-tagger check` on one document shows the error")
            self.stop(kill=True)
            self.restarts += 1
            self.start()


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
            init(framework_ref, scorer, cache_dir, 1)  # a failure comes back with the first document

        def analyse(self, *args):
            return analyse(*args)

    pool = ActorPool([Worker.remote() for _ in range(workers)])
    yield from pool.map_unordered(lambda a, it: a.analyse.remote(str(it[0].path), it[0].label, it[0].institution, it[0].year, timeout_s, it[1]), todo)


class _Terminated(BaseException):
    """SIGTERM: unwind like Ctrl-C, so the run is marked `interrupted` and the workers stopped."""


class BatchTerminated(NlpTaggerError):
    """The run was stopped by SIGTERM; what it wrote is kept and it is marked `interrupted`."""

    exit_code = 128 + signal.SIGTERM


def _on_sigterm(_signum, _frame):
    raise _Terminated()


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

    if engine not in ("local", "ray"):
        raise ValueError(f"unknown engine {engine!r}")
    t0 = time.time()
    fw = load_framework(framework)
    framework_ref = fw.path
    old_sigterm = None
    if threading.current_thread() is threading.main_thread():
        old_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
    pool = engine_db = lock = None
    run_id = None
    try:
        engine_db = D.connect(db)  # a database that cannot work is refused before any worker starts
        # workers start loading the model now, while this process does its own start-up
        pool = _LocalPool(framework_ref, scorer, cache_dir, workers, threads) if engine == "local" else None
        sc, _ = resolve_scorer(fw, scorer)  # a missing or stale model stops the run before anything is written
        interrupted = D.mark_stale_runs(engine_db)
        with tempfile.TemporaryDirectory(prefix="nlp-tagger-batch-") as work:
            items, problems = collect(inputs, Path(work))
            include_failed = not retry_failed
            done = D.done_hashes(engine_db, fw.id, include_failed=include_failed)
            todo, seen = [], set(done)
            for it in items:
                h = _sha(it.path)
                if h not in seen:  # done before, or the same file twice in this run
                    seen.add(h)
                    todo.append((it, h))
            summary = BatchSummary(0, len(items), n_skipped=len(items) - len(todo), input_errors=problems, interrupted_runs=interrupted)
            lock = D.RunLock(engine_db)
            run_id = summary.run_id = D.start_run(engine_db, fw, sc.name, getattr(sc, "manifest", None), __version__,
                                                  n_skipped=summary.n_skipped, input_errors=problems, lock=lock)

            def still_todo():
                for job in todo:  # another run on this database may have written it meanwhile
                    if D.is_done(engine_db, fw.id, job[1], include_failed=include_failed):
                        summary.n_skipped += 1
                        summary.skipped_concurrent += 1
                        D.add_skipped(engine_db, run_id)
                        continue
                    yield job

            if engine == "ray":
                results = _ray_results(todo, framework_ref, scorer, cache_dir, workers, timeout_s, address)
            else:
                results = pool.results(still_todo(), timeout_s)
            with _progress(progress) as bar:
                task = bar.add_task("batch", total=len(todo), failed=0, rate=0.0)
                for result in results:
                    if result["status"] == "init_error":
                        raise WorkerStartError("batch workers", f"cannot start: {result['error']}", "Run `nlp-tagger check` on one document to see why")
                    if not summary.first_result_s:
                        summary.first_result_s = time.time() - t0
                    outcome = D.write_result(engine_db, run_id, fw.id, result, retry_failed=retry_failed)
                    summary.worker_peak_mib = max(summary.worker_peak_mib, result.get("worker_peak_mib", 0.0))
                    if outcome == "skipped":
                        summary.n_skipped += 1
                        summary.skipped_concurrent += 1
                    elif result["status"] == "ok":
                        summary.n_ok += 1
                        summary.pages += result.get("pages") or 0
                    else:
                        summary.n_failed += 1
                        summary.failures.append((result["path"], result.get("error", "")))
                    elapsed = max(time.time() - t0, 1e-9)
                    bar.update(task, completed=summary.n_ok + summary.n_failed + summary.skipped_concurrent, failed=summary.n_failed, rate=summary.pages / elapsed)
        if pool is not None:
            summary.worker_restarts = pool.restarts
            pool.stop()
            pool = None
        summary.seconds = time.time() - t0
        D.finish_run(engine_db, run_id, status="finished")
        return summary
    except BaseException as exc:
        if pool is not None:
            pool.stop(kill=True)
            pool = None
        if run_id is not None:
            try:
                D.finish_run(engine_db, run_id, status="interrupted")
            except Exception:  # noqa: BLE001 - the next batch marks it from its dead pid
                pass
        if isinstance(exc, _Terminated):
            where = f"run {run_id} is marked interrupted; the documents it wrote are kept" if run_id is not None else "nothing was written"
            raise BatchTerminated(db, f"stopped by SIGTERM: {where}", "Run the same command again to resume") from None
        raise
    finally:
        if old_sigterm is not None:
            signal.signal(signal.SIGTERM, old_sigterm)
        if pool is not None:
            pool.stop(kill=True)
        if lock is not None:
            lock.close()
        if engine_db is not None:
            engine_db.dispose()
