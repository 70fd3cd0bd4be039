"""Batch throughput, 1 vs 2 workers, on 100 generated documents (PDF and DOCX), in one run.

    python evaluation/batch_benchmark.py [--docs 100]

Each configuration starts from an empty cache (only the one-off ONNX export is shared) and an
empty SQLite database, so both do the same work. Prints documents/minute, pages/s, the speed-up
of 2 workers over 1, and the peak memory of one worker.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_archive(n: int, out: Path) -> None:
    """n distinct documents: corpus documents with their sections shuffled, as PDF or DOCX."""
    from nlp_tagger import extract
    from nlp_tagger.render import render_docx, render_pdf

    sources = sorted((ROOT / "corpora" / "documents").rglob("*.md"))
    rng = random.Random(0)
    for i in range(n):
        blocks = list(extract(sources[i % len(sources)]).blocks)
        head, body = blocks[:3], blocks[3:]
        cut = sorted(rng.sample(range(1, len(body)), k=min(3, len(body) - 1)))
        parts = [body[a:b] for a, b in zip([0] + cut, cut + [len(body)])]
        rng.shuffle(parts)
        doc = head + [b for p in parts for b in p]
        if i % 4 == 3:
            render_docx(doc, out / f"inst{i % 7}" / f"report-{2015 + i % 10}-{i}.docx")
        else:
            render_pdf(doc, out / f"inst{i % 7}" / f"report-{2015 + i % 10}-{i}.pdf", header=f"Institution {i % 7}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100)
    args = ap.parse_args()

    from nlp_tagger.batch import run_batch
    from nlp_tagger.embed import Embedder

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_archive(args.docs, tmp / "archive")
        shared = tmp / "shared"
        Embedder(cache_dir=shared, use_cache=False).encode(["export the ONNX model once"])
        rows = {}
        # (workers, threads per worker): the default 1 worker already encodes on both cores, so the
        # pool's own scaling is shown against 1 single-threaded worker as well
        for workers, threads in ((1, 2), (1, 1), (2, 1)):
            cache = tmp / f"cache-{workers}-{threads}"
            shutil.copytree(shared / "onnx", cache / "onnx")
            s = run_batch([str(tmp / "archive")], "concordat-2019", str(tmp / f"w{workers}-{threads}.sqlite"), workers=workers, progress=False, cache_dir=str(cache), threads=threads)
            rows[(workers, threads)] = s
            print(f"{workers} worker(s) x {threads} thread(s): {s.n_ok} documents ({s.n_failed} failed), {s.pages} pages in {s.seconds:.1f} s: "
                  f"{60 * s.n_ok / s.seconds:.1f} documents/min, {s.pages / s.seconds:.1f} pages/s, peak memory per worker {s.worker_peak_mib:.0f} MiB; "
                  f"start-up {s.first_result_s:.1f} s, then {60 * (s.n_ok + s.n_failed - 1) / (s.seconds - s.first_result_s):.1f} documents/min")
        print(f"2 workers over 1 worker x 2 threads (the default for each): {rows[(1, 2)].seconds / rows[(2, 1)].seconds:.2f}x")
        print(f"2 workers over 1 worker x 1 thread (the pool's scaling): {rows[(1, 1)].seconds / rows[(2, 1)].seconds:.2f}x (target 1.7x)")

        def steady(r):
            return (r.seconds - r.first_result_s) / max(r.n_ok + r.n_failed - 1, 1)

        print(f"after start-up (first result to last): 2 workers over 1 worker x 1 thread {steady(rows[(1, 1)]) / steady(rows[(2, 1)]):.2f}x, "
              f"over 1 worker x 2 threads {steady(rows[(1, 2)]) / steady(rows[(2, 1)]):.2f}x")


if __name__ == "__main__":
    main()
