"""Speed and memory of `check`, beside plain pdfplumber and plain sentence-transformers, in one run.

    python evaluation/benchmark.py [--pages 10 50 200] [--quantize]

Builds real PDFs of about 10, 50 and 200 pages from the bundled corpus, then prints, per size:
ingestion pages/s (ours vs plain `pdfplumber` `extract_text`), encoding passages/s (ours, int8 ONNX, vs plain
`SentenceTransformer.encode` of the same passages; the ratio column leaves out our saving on
duplicate passages, which the repeated benchmark text would flatter), end-to-end seconds cold (empty embedding cache)
and warm (cache filled), and the peak memory of a process that runs `check` on the file.
Figures are ratios against references measured in the same run, since machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_pdf(pages: int, out: Path) -> Path:
    """A PDF of roughly `pages` pages: the corpus documents back to back, repeated as needed."""
    from nlp_tagger import extract
    from nlp_tagger.render import render_pdf

    sources = sorted((ROOT / "corpora" / "documents").rglob("*.md")) + sorted((ROOT / "corpora" / "seeds").glob("*.txt"))
    blocks, per_page = [], 28  # about 28 blocks fill an A4 page of this layout
    i = 0
    while len(blocks) < pages * per_page:
        blocks.extend(extract(sources[i % len(sources)]).blocks)
        i += 1
    render_pdf(blocks[: pages * per_page], out, header="Benchmark University - Concordat report")
    return out


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def fresh_cache(path: Path, shared: Path) -> Path:
    """An empty cache folder holding only the one-off ONNX export, as on any machine after its
    first run: 'cold' then means no cached document or embedding, not a model export."""
    import shutil

    shutil.copytree(shared / "onnx", path / "onnx")
    return path


def peak_rss_of_check(pdf: Path, cache: Path) -> float:
    """Peak resident memory (MiB) of a fresh process running `check` on the file, cold cache."""
    # VmHWM (the peak of this process's own memory map), not ru_maxrss: Linux carries ru_maxrss
    # over from the forking parent, which is this benchmark with its own large footprint
    code = (
        "import sys;sys.path.insert(0,%r);from nlp_tagger import check;from nlp_tagger.embed import Embedder;"
        "check(%r,'concordat-2019',embedder=Embedder(cache_dir=__import__('pathlib').Path(%r)));"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    ) % (str(ROOT), str(pdf), str(cache))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, nargs="+", default=[10, 50, 200])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import pdfplumber

    from nlp_tagger import check, extract, segment
    from nlp_tagger.embed import Embedder, load_model

    model = load_model()  # loaded once, outside every timing
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shared = tmp / "shared"
        Embedder(cache_dir=shared, use_cache=False).encode(["export the ONNX model once"])
        for pages in args.pages:
            pdf = build_pdf(pages, tmp / f"bench-{pages}.pdf")
            with pdfplumber.open(pdf) as p:
                n_pages = len(p.pages)
            _, t_plumber = timed(lambda: [pg.extract_text() for pg in pdfplumber.open(pdf).pages])
            doc, t_ours = timed(extract, pdf)
            passages = segment(doc)
            texts = [p.text for p in passages]
            _, t_plain_enc = timed(model.encode, texts, batch_size=32, convert_to_numpy=True)
            enc = Embedder(cache_dir=shared, use_cache=False)  # the default backend (int8 ONNX), cache off
            _, t_enc = timed(enc.encode, texts)
            row = {
                "pages": n_pages,
                "passages": len(texts),
                "unique_passages": len(set(texts)),
                "ingest_pages_per_s": n_pages / t_ours,
                "pdfplumber_pages_per_s": n_pages / t_plumber,
                "encode_passages_per_s": len(texts) / t_enc,
                "plain_encode_passages_per_s": len(texts) / t_plain_enc,
            }
            unique = list(dict.fromkeys(texts))
            _, t_unique = timed(Embedder(cache_dir=shared, use_cache=False).encode, unique)
            row["encode_unique_passages_per_s"] = len(unique) / t_unique  # without the duplicate saving
            cache = fresh_cache(tmp / f"cache-{pages}", shared)
            _, cold = timed(check, pdf, "concordat-2019", embedder=Embedder(cache_dir=cache))
            _, warm = timed(check, pdf, "concordat-2019", embedder=Embedder(cache_dir=cache))
            row.update({"end_to_end_cold_s": cold, "end_to_end_warm_s": warm, "peak_rss_mib": peak_rss_of_check(pdf, fresh_cache(tmp / f"cache-rss-{pages}", shared))})
            rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'pages':>5} {'passages':>8} {'unique':>6} | {'ingest p/s':>10} {'pdfplumber':>10} {'ratio':>5} | {'encode/s':>8} {'unique/s':>8} {'plain':>7} {'ratio':>5}"
          + f" | {'cold s':>6} {'warm s':>6} {'ratio':>6} | {'peak MiB':>8}")
    for r in rows:
        print(
            f"{r['pages']:>5} {r['passages']:>8} {r['unique_passages']:>6} | {r['ingest_pages_per_s']:>10.1f} {r['pdfplumber_pages_per_s']:>10.1f} {r['ingest_pages_per_s'] / r['pdfplumber_pages_per_s']:>5.2f} | "
            f"{r['encode_passages_per_s']:>8.1f} {r['encode_unique_passages_per_s']:>8.1f} {r['plain_encode_passages_per_s']:>7.1f} {r['encode_unique_passages_per_s'] / r['plain_encode_passages_per_s']:>5.2f}"
            + f" | {r['end_to_end_cold_s']:>6.1f} {r['end_to_end_warm_s']:>6.2f} {r['end_to_end_cold_s'] / r['end_to_end_warm_s']:>6.1f} | {r['peak_rss_mib']:>8.0f}"
        )


if __name__ == "__main__":
    main()
