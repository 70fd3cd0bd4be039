"""The per-document function every engine runs: one file in, one result dict out (never raises).

A worker process loads the framework, scorer and embedding model once, in `init`, and keeps them
for every document it is given. A local worker dies with the `batch` process that started it, even
when that process is killed with `kill -9`: on Linux the kernel sends it SIGKILL
(prctl PR_SET_PDEATHSIG), and everywhere a watcher thread exits when its parent is gone.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from ..errors import NlpTaggerError

MAX_BYTES = 200 * 1024**2
_STATE: dict = {}


class DocumentTimeout(Exception):
    pass


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_POLL_S = 1.0


def die_with_parent(parent_pid: int) -> None:
    """Never outlive the process that started this worker: a worker left behind by a killed
    `batch` holds hundreds of MiB and a core for as long as its documents take."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watcher below still does it
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="nlp-tagger-parent-watch", daemon=True).start()


def noop() -> dict:
    """Submitted once per worker at the start of a run, so every worker starts (and loads the
    model) while the parent is still collecting and hashing the inputs; says whether it could."""
    return {"pid": os.getpid(), "error": _STATE.get("init_error")}


def init(framework_ref: str, scorer: str, cache_dir: str | None, threads: int = 0, parent_pid: int | None = None) -> None:
    """Load everything once. A failure is kept and reported with the first task (status
    `init_error`), so the parent can stop with one line instead of a broken pool's traceback."""
    if parent_pid:
        die_with_parent(parent_pid)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    try:
        _init(framework_ref, scorer, cache_dir, threads)
    except Exception as exc:  # noqa: BLE001 - reported by the parent as a one-line error
        _STATE["init_error"] = str(exc) if isinstance(exc, NlpTaggerError) else f"{type(exc).__name__}: {exc}"


def _init(framework_ref: str, scorer: str, cache_dir: str | None, threads: int) -> None:
    if threads:
        os.environ["NLP_TAGGER_THREADS"] = str(threads)
        # PyTorch only when something runs on it: importing it costs a second and ~100 MiB per worker
        if "torch" in sys.modules or os.environ.get("NLP_TAGGER_BACKEND") == "torch":
            try:
                import torch

                torch.set_num_threads(threads)
            except ImportError:
                pass
    from ..embed import Embedder
    from ..frameworks import load_framework
    from ..scorers import resolve_scorer

    fw = load_framework(framework_ref)
    sc, notes = resolve_scorer(fw, scorer)
    embedder = Embedder(cache_dir=Path(cache_dir) if cache_dir else None)
    embedder.encode(["warm up the encoder"])  # load the model now, once per worker
    _STATE.update(framework=fw, scorer=sc, embedder=embedder)
    if threads and "torch" in sys.modules:  # loaded after all (a torch backend, a one-off ONNX export)
        sys.modules["torch"].set_num_threads(threads)
    if threads:
        # OpenMP (scikit-learn's gradient boosting) and BLAS would each start a thread per core
        # in every worker and spin against each other: cap them to this worker's share
        import sklearn.ensemble  # noqa: F401 - load its OpenMP runtime so the cap reaches it
        from threadpoolctl import threadpool_limits

        _STATE["thread_limits"] = threadpool_limits(limits=threads)


def _alarm(_signum, _frame):
    raise DocumentTimeout()


def analyse(path: str, label: str, institution: str | None, year: int | None, timeout_s: float, sha256: str) -> dict:
    """`sha256` is the content hash the parent computed to decide what to skip; a failure is
    recorded under it, so the file is not read and hashed again here."""
    from ..pipeline import check

    t0 = time.time()
    base = {"path": label, "institution": institution, "year": year, "sha256": sha256, "status": "failed"}
    if "init_error" in _STATE:
        return {**base, "status": "init_error", "error": _STATE["init_error"]}
    try:
        p = Path(path)
        size = p.stat().st_size
        if size > MAX_BYTES:
            return {**base, "error": f"oversized: {size / 1024**2:.0f} MiB (limit {MAX_BYTES // 1024**2} MiB)", "seconds": time.time() - t0}
        use_alarm = timeout_s > 0 and hasattr(signal, "SIGALRM")
        if use_alarm:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            cov = check(p, _STATE["framework"], scorer=_STATE["scorer"], embedder=_STATE["embedder"], ocr=os.environ.get("NLP_TAGGER_OCR", "auto"))  # `batch --ocr`
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
    except DocumentTimeout:
        return {**base, "error": f"timed out after {timeout_s:.0f} s", "seconds": time.time() - t0}
    except NlpTaggerError as exc:
        return {**base, "error": str(exc), "seconds": time.time() - t0}
    except Exception as exc:  # noqa: BLE001 - a batch records every failure and goes on
        return {**base, "error": f"{type(exc).__name__}: {exc}", "seconds": time.time() - t0}
    return {**base, **to_rows(cov), "status": "ok", "seconds": time.time() - t0, "worker_peak_mib": _peak_mib()}


def _peak_mib() -> float:
    """This worker's peak resident memory so far (Linux VmHWM), for the batch benchmark."""
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return 0.0


OUT_OF_SCOPE = "out"  # coverage status of an indicator for an audience the document does not speak for


def to_rows(cov) -> dict:
    doc = cov.document
    passages = cov.passages
    ev, cv = [], []
    leaves = {l.id for l in cov.framework.leaves}
    for c in cov.indicators:
        cv.append({"indicator_id": c.indicator.id, "parent_id": c.indicator.parent, "status": c.status if c.in_scope else OUT_OF_SCOPE, "score": float(c.score), "n_evidence": len(c.evidence)})
        if c.indicator.id in leaves:
            for e in c.evidence:
                ev.append({"indicator_id": c.indicator.id, "passage_idx": e.passage.index, "page": e.passage.page, "score": float(e.score), "status": e.status, "evidence_type": e.evidence_type})
    return {
        "sha256": doc.content_hash,
        "pages": doc.n_pages,
        "n_passages": cov.n_passages,
        "passages": [{"idx": p.index, "page": p.page, "section": p.section, "start": p.start, "end": p.end, "text": p.text} for p in passages],
        "evidence": ev,
        "coverage": cv,
    }
