"""PDF: reading order (two columns too), tables as rows, headings from font size.

PDFium (pypdfium2) reads text runs and ruled table grids fast; pdfplumber's table finder reads the
pages whose rules PDFium's grid reader cannot turn into a table.

Running headers and footers are found across pages (the same short line, digits aside, standing
apart from the body in the top or bottom margin of at least half the pages) and dropped, as are bare
page numbers there; the document's warnings say how many lines went. Body paragraphs are never
dropped, however alike from page to page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..types import Document
from .common import BULLET_RE, DocumentBuilder, heading_level, join_lines, looks_like_heading

MARGIN = 0.09  # share of page height treated as header/footer zone
RUNNING_MAX_WORDS = 15  # a running header or footer line is short ...
RUNNING_MAX_CHARS = 120
RUNNING_MAX_BLOCK_LINES = 3  # ... and stands apart from the body in a block of at most this many lines
PAGE_NUMBER_RE = re.compile(r"^(?:page\s*)?[-\u2013(]?\s*\d{1,4}\s*[-\u2013)]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)


@dataclass
class Line:
    text: str
    top: float
    bottom: float
    x0: float
    x1: float
    size: float
    bold: bool
    kind: str = "text"  # or "table_row"


def _lines_from_words(words: list[dict]) -> list[Line]:
    def mid(w: dict) -> float:
        return (w["top"] + w["bottom"]) / 2

    lines: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (round(mid(w)), w["x0"])):
        # same line when the vertical centres agree within a third of the glyph height: robust
        # to a tall quote mark or a superscript that shifts a box's top
        if lines and abs(mid(lines[-1][0]) - mid(w)) <= max(2.0, 0.35 * (w["bottom"] - w["top"])):
            lines[-1].append(w)
        else:
            lines.append([w])
    out = []
    for ws in lines:
        ws.sort(key=lambda w: w["x0"])
        sizes = Counter()
        for w in ws:
            sizes[round(w["size"], 1)] += len(w["text"])
        out.append(
            Line(
                text=" ".join(w["text"] for w in ws),
                top=min(w["top"] for w in ws),
                bottom=max(w["bottom"] for w in ws),
                x0=ws[0]["x0"],
                x1=max(w["x1"] for w in ws),
                size=sizes.most_common(1)[0][0],
                bold=all(_is_bold(w["fontname"]) for w in ws),
            )
        )
    return out


def _is_bold(fontname: str) -> bool:
    return bool(re.search(r"bold|black|heavy|semibold", fontname, re.I))


def _find_gutter(words: list[dict], width: float) -> float | None:
    """x of an empty vertical band in the middle of the page with text on both sides, if any."""
    if len(words) < 40:
        return None
    tops = {round(w["top"]) for w in words}
    best, best_count = None, None
    x = 0.3 * width
    while x <= 0.7 * width:
        count = sum(1 for w in words if w["x0"] - 1 <= x <= w["x1"] + 1)
        if best_count is None or count < best_count:
            best, best_count = x, count
        x += 2.0
    if best is None or best_count > max(2, 0.05 * len(tops)):
        return None
    left = sum(1 for w in words if w["x1"] < best)
    right = sum(1 for w in words if w["x0"] > best)
    if left < 0.2 * len(words) or right < 0.2 * len(words):
        return None
    return best


def _ruling_segments(page, height: float) -> list[tuple[str, float, float, float, float]]:
    """Horizontal and vertical rules of a page from its path objects, top-down coordinates.
    A filled or stroked box counts as its four edges (how Word draws cell borders)."""
    import pypdfium2.raw as c

    segs = []
    for obj in page.get_objects(filter=[c.FPDF_PAGEOBJ_PATH], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        x0, x1, y0, y1 = left, right, height - top, height - bottom
        w, h = x1 - x0, y1 - y0
        if h <= 2.5 and w >= 8:
            segs.append(("h", x0, x1, (y0 + y1) / 2, (y0 + y1) / 2))
        elif w <= 2.5 and h >= 8:
            segs.append(("v", (x0 + x1) / 2, (x0 + x1) / 2, y0, y1))
        elif w >= 8 and h >= 8:
            segs += [("h", x0, x1, y0, y0), ("h", x0, x1, y1, y1), ("v", x0, x0, y0, y1), ("v", x1, x1, y0, y1)]
    return segs


def _clusters(segs: list, tol: float = 2.0) -> list[list]:
    """Rules that touch, grouped (union-find): each group is one table's grid."""
    parent = list(range(len(segs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(segs):
        for j in range(i + 1, len(segs)):
            b = segs[j]
            if a[1] - tol <= b[2] and b[1] - tol <= a[2] and a[3] - tol <= b[4] and b[3] - tol <= a[4]:
                parent[find(i)] = find(j)
    groups: dict[int, list] = {}
    for i, sgm in enumerate(segs):
        groups.setdefault(find(i), []).append(sgm)
    return list(groups.values())


def _uniq(values: list[float], tol: float = 2.0) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _grid_tables(words: list[dict], segs: list) -> tuple[list[Line], list[dict], bool]:
    """Table rows read from ruled grids; returns (rows, words outside tables, needs_pdfplumber).

    A group of horizontal rules with no verticals may be a table ruled only across: pdfplumber's
    table finder is asked to read that page instead."""
    rows_out: list[Line] = []
    needs_plumber = False
    for group in _clusters(segs):
        hs = [g for g in group if g[0] == "h"]
        vs = [g for g in group if g[0] == "v"]
        if len(hs) >= 3 and not vs:
            needs_plumber = True
            continue
        if len(hs) < 2 or len(vs) < 2:
            continue
        ys, xs = _uniq([g[3] for g in hs]), _uniq([g[1] for g in vs])
        if len(ys) < 2 or len(xs) < 2:
            continue
        x0, x1, y0, y1 = xs[0], xs[-1], ys[0], ys[-1]
        cells: dict[tuple[int, int], list[dict]] = {}
        rest = []
        for w in words:
            cx, cy = (w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                r = max(i for i, y in enumerate(ys[:-1]) if y <= cy)
                col = max(i for i, x in enumerate(xs[:-1]) if x <= cx)
                cells.setdefault((r, col), []).append(w)
            else:
                rest.append(w)
        words = rest
        for r in range(len(ys) - 1):
            texts = []
            for col in range(len(xs) - 1):
                ws = sorted(cells.get((r, col), []), key=lambda w: (round(w["top"]), w["x0"]))
                t = join_lines([w["text"] for w in ws])
                if t:
                    texts.append(t)
            if texts:
                rows_out.append(Line(" | ".join(texts), ys[r], ys[r + 1], x0, x1, 0.0, False, "table_row"))
    return rows_out, words, needs_plumber


def _pdfium_page(page) -> tuple[list[dict], list[Line]] | None:
    """Text runs of a page from PDFium, as word-like boxes with font size and name, and the rows
    of its ruled tables: about 20x faster than pdfminer. None where pdfplumber must read it."""
    import ctypes

    import pypdfium2.raw as c

    tp = page.get_textpage()
    height = page.get_height()
    l, t, r, b = (ctypes.c_double() for _ in range(4))
    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    words = []
    for i in range(c.FPDFText_CountRects(tp, 0, -1)):
        c.FPDFText_GetRect(tp, i, l, t, r, b)
        mid = (t.value + b.value) / 2
        text = tp.get_text_bounded(l.value, b.value, r.value, t.value).replace("\r", "").replace("\n", " ").replace("\x02", "-")
        if not text.strip():
            continue
        idx = c.FPDFText_GetCharIndexAtPos(tp, l.value + 0.5, mid, 2.0, 2.0)
        size = c.FPDFText_GetFontSize(tp, idx) if idx >= 0 else 0.0
        name = ""
        if idx >= 0 and c.FPDFText_GetFontInfo(tp, idx, buf, len(buf), ctypes.byref(flags)):
            name = buf.value.decode("latin-1", "replace")
        words.append({"text": text.strip(), "x0": l.value, "x1": r.value, "top": height - t.value, "bottom": height - b.value, "size": round(size, 1), "fontname": name})
    tp.close()
    rows, words, needs_plumber = _grid_tables(words, _ruling_segments(page, height))
    if needs_plumber:
        return None
    return words, rows


def _page_lines(page, words: list[dict] | None = None, rows: list[Line] | None = None) -> list[Line]:
    """Lines of one page in reading order, with table rows in place of the words they hold.

    `page` is a pdfplumber page when `words` is None (its table finder looks for tables), else
    `words` and table `rows` came from PDFium and `page` only gives the width."""
    tables = []
    if words is None:
        words = page.extract_words(extra_attrs=["size", "fontname"], keep_blank_chars=False, use_text_flow=False)
        if page.edges:
            tables = [t for t in page.find_tables() if len(t.rows) >= 2]
    items: list[Line] = list(rows or [])
    for t in tables:
        x0, top, x1, bottom = t.bbox
        words = [w for w in words if not (x0 - 1 <= (w["x0"] + w["x1"]) / 2 <= x1 + 1 and top - 1 <= (w["top"] + w["bottom"]) / 2 <= bottom + 1)]
        for r_i, row in enumerate(t.extract()):
            cells = [" ".join((c or "").split()) for c in row]
            cells = [c for c in cells if c]
            if cells:
                row_top = t.rows[r_i].bbox[1] if r_i < len(t.rows) else top
                items.append(Line(" | ".join(cells), row_top, row_top + 1, x0, x1, 0.0, False, "table_row"))

    width = float(page.width) if hasattr(page, "width") else float(page.get_width())
    gutter = _find_gutter(words, width)
    if gutter is None:
        items.extend(_lines_from_words(words))
        return sorted(items, key=lambda ln: ln.top)

    spanning = sorted(_lines_from_words([w for w in words if w["x0"] - 1 <= gutter <= w["x1"] + 1]), key=lambda ln: ln.top)
    left = _lines_from_words([w for w in words if w["x1"] < gutter])
    right = _lines_from_words([w for w in words if w["x0"] > gutter])
    span_tops = [ln.top for ln in spanning]

    def band(top: float) -> int:
        return sum(1 for t in span_tops if t < top)

    keyed = [((k + 1, 0, 0, ln.top), ln) for k, ln in enumerate(spanning)]
    keyed += [((band(ln.top), 1, 0 if (ln.x0 + ln.x1) / 2 < gutter else 1, ln.top), ln) for ln in items]
    keyed += [((band(ln.top), 1, 0, ln.top), ln) for ln in left]
    keyed += [((band(ln.top), 1, 1, ln.top), ln) for ln in right]
    return [ln for _, ln in sorted(keyed, key=lambda kv: kv[0])]


def _margin_candidates(lines: list[Line], height: float) -> list[Line]:
    """Lines that could be a running header or footer: text lines lying wholly in the top or
    bottom margin zone, short, and standing apart from the body: the block of lines they belong to
    (lines of one font size with no paragraph gap between them) is itself short and inside the
    same zone. The first or last line of a body paragraph that reaches into the zone belongs to a
    block that leaves it, so it is never a candidate."""
    text = [ln for ln in lines if ln.kind == "text"]

    def zone(ln: Line) -> str:
        if ln.bottom <= MARGIN * height:
            return "top"
        if ln.top >= (1 - MARGIN) * height:
            return "bottom"
        return ""

    def short(ln: Line) -> bool:
        return len(ln.text) <= RUNNING_MAX_CHARS and len(ln.text.split()) <= RUNNING_MAX_WORDS

    def attached(a: Line, b: Line) -> bool:
        gap = max(b.top - a.bottom, a.top - b.bottom)
        return (a.x0 < b.x1 and b.x0 < a.x1 and abs(a.size - b.size) <= 0.5
                and gap <= 0.6 * max(a.size, b.size, 1.0))

    out = []
    for ln in text:
        z = zone(ln)
        if not z or not short(ln):
            continue
        block, todo, ok = [ln], [ln], True
        while todo and ok:
            cur = todo.pop()
            for other in text:
                if other is cur or any(other is b for b in block) or not attached(cur, other):
                    continue
                if zone(other) != z or not short(other) or len(block) >= RUNNING_MAX_BLOCK_LINES:
                    ok = False
                    break
                block.append(other)
                todo.append(other)
        if ok:
            out.append(ln)
    return out


def _drop_running_lines(pages: list[tuple[list[Line], float]]) -> tuple[list[list[Line]], list[str]]:
    """Remove running headers and footers, and bare page numbers, from the page margins.

    A running header or footer is a short line standing apart in the top or bottom margin (see
    `_margin_candidates`) whose text, digits aside, is a candidate on at least half the pages.
    Body paragraphs are never dropped, however alike from page to page. Returns the pages and a
    warning saying how many lines were dropped (none when nothing but page numbers was)."""

    def key(ln: Line) -> str:
        return re.sub(r"\d+", "#", ln.text.lower()).strip()

    candidates = [_margin_candidates(lines, height) for lines, height in pages]
    counts = Counter()
    for cands in candidates:
        counts.update({key(ln) for ln in cands})
    threshold = max(2, 0.5 * len(pages))
    out = []
    running: list[Line] = []
    n_numbers = 0
    for (lines, _height), cands in zip(pages, candidates):
        drop = set()
        for ln in cands:
            if len(pages) >= 2 and counts[key(ln)] >= threshold:
                running.append(ln)
                drop.add(id(ln))
            elif PAGE_NUMBER_RE.match(ln.text.strip()):
                n_numbers += 1
                drop.add(id(ln))
        out.append([ln for ln in lines if id(ln) not in drop])
    warnings = []
    if running:
        common = Counter(key(ln) for ln in running).most_common(1)[0][0]
        example = next(ln.text for ln in running if key(ln) == common)
        example = example if len(example) <= 60 else example[:57] + "..."
        numbers = f", and {n_numbers} bare page number{'s' * (n_numbers != 1)}" if n_numbers else ""
        warnings.append(
            f"{len(running)} line{'s' * (len(running) != 1)} repeated in the top or bottom margin of the pages "
            f"{'were' if len(running) != 1 else 'was'} dropped as running headers or footers (such as \"{example}\"){numbers}"
        )
    return out, warnings


def _body_size(pages: list[list[Line]]) -> float:
    sizes = Counter()
    for lines in pages:
        for ln in lines:
            if ln.kind == "text":
                sizes[ln.size] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def read_pdf(path: Path, password: str | None = None, ocr: str = "auto") -> Document:
    """`ocr`: auto (pages that are mostly images with little text are read by OCR), never, or
    always (every page); see ocr.py."""
    from .ocr import PdfOcr

    reader = PdfOcr(path, ocr)
    try:
        return _read_pdf(path, password, reader)
    finally:
        reader.close()


def _read_pdf(path: Path, password: str | None, reader) -> Document:
    import pypdfium2 as pdfium

    content = path.read_bytes()
    if not content.lstrip()[:5].startswith(b"%PDF"):
        raise InputError(path, "is not a PDF (no %PDF header; the file is corrupt or misnamed)", "Re-export it as PDF")
    try:
        doc = pdfium.PdfDocument(content, password=password)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputError(path, "is encrypted (password-protected)", "Save an unprotected copy and run again") from exc
        raise InputError(path, f"is a corrupt PDF that cannot be parsed ({exc})", "Re-export it from the source document") from exc
    raw_pages: list[tuple[list[Line], float, int]] = []
    plumber = None
    try:
        for i in range(len(doc)):
            page = doc[i]
            n_images = sum(1 for _ in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=1))
            read = _pdfium_page(page)
            if read is None:  # rules PDFium's grid reader cannot make a table of: pdfplumber's finder
                plumber = plumber or _open_plumber(path, password)
                lines = _page_lines(plumber.pages[i])
                plumber.pages[i].close()  # drop its parsed objects: memory stays flat over long PDFs
            else:
                lines = _page_lines(page, *read)
            raw_pages.append((lines, float(page.get_height()), n_images))
            reader.visit(i, page, lines, n_images)  # queues the page for OCR when it needs it
            page.close()
    except InputError:
        raise
    except Exception as exc:  # a damaged page raises from deep inside either parser
        raise InputError(path, f"is a corrupt PDF that cannot be parsed ({type(exc).__name__})", "Re-export it from the source document") from exc
    finally:
        if plumber is not None:
            plumber.close()
        doc.close()

    if not raw_pages:
        raise InputError(path, "has no pages", "Check the export produced a real document")
    ocr_warnings = reader.finish(raw_pages)  # OCR'd pages' lines replace their text layer's
    if not any(lines for lines, _, _ in raw_pages):
        if any(n_images for _, _, n_images in raw_pages):
            raise reader.no_text_error()
        raise InputError(path, "is empty: no text on any page", "Check you exported the right document")

    pages, running_warnings = _drop_running_lines([(lines, height) for lines, height, _ in raw_pages])
    builder = DocumentBuilder()
    _emit(builder, pages, _body_size(pages))
    doc = builder.build(path, "pdf", len(pages), content)
    doc.warnings.extend(ocr_warnings + running_warnings)
    return doc


GLYPH_BULLET_RE = re.compile(r"^\s*(?:[\u2022\u00b7\u25aa\u25cf\u2023\u25e6\uf0b7\uf0a7]|\(cid:\d+\))\s*")
CID_RE = re.compile(r"\(cid:\d+\)")
ENDS_SENTENCE = (".", "!", "?", ":", ";", "\u201d", '"')


def _open_plumber(path: Path, password: str | None):
    import pdfplumber

    return pdfplumber.open(path, password=password or "")


def _emit(builder: DocumentBuilder, pages: list[list[Line]], body: float) -> None:
    """Lines become blocks. A paragraph broken by a column or page end continues into the next."""
    heading_sizes = sorted({ln.size for lines in pages for ln in lines if ln.kind == "text" and ln.size >= body * 1.15}, reverse=True)
    para: list[str] = []
    para_breaks: list[tuple[int, int]] = []  # (offset in paragraph, page) where a new page begins
    para_kind, para_page, para_line = "paragraph", 1, 0
    prev: Line | None = None
    heading: tuple[Line, str, int, int] | None = None  # a heading may wrap over lines: hold it until it ends

    def flush() -> None:
        nonlocal para_kind, heading
        if heading is not None:
            ln, text, page_no, line_no = heading
            is_big = ln.size in heading_sizes
            level = heading_sizes.index(ln.size) + 1 if is_big else len(heading_sizes) + heading_level(text)
            builder.add(text, page_no, "heading", level, line=line_no)
            heading = None
        if para:
            builder.add(join_lines(para), para_page, para_kind, page_breaks=para_breaks, line=para_line)
            para.clear()
            para_breaks.clear()
        para_kind = "paragraph"

    for page_no, lines in enumerate(pages, start=1):
        for line_no, ln in enumerate(lines, start=1):
            if ln.kind == "table_row":
                flush()
                builder.add(ln.text, page_no, "table_row", line=line_no)
                prev = None
                continue
            text = CID_RE.sub("", GLYPH_BULLET_RE.sub("\u2022 ", ln.text)).strip()
            if not text:
                continue
            is_big = ln.size >= body * 1.15
            if (is_big or (ln.bold and looks_like_heading(text))) and len(text.split()) <= 16:
                if heading is not None and heading[0].size == ln.size and heading[2] == page_no and 0 <= ln.top - heading[0].bottom < ln.size:
                    heading = (ln, heading[1] + " " + text, page_no, heading[3])
                else:
                    flush()
                    heading = (ln, text, page_no, line_no)
                prev = ln
                continue
            open_para = bool(para) and not para[-1].rstrip().endswith(ENDS_SENTENCE)
            if prev is None or heading is not None:
                new_para = True
            elif page_no != para_page or ln.top < prev.top or ln.x0 > prev.x1:
                # next column or page: the paragraph goes on only if its sentence did not end
                new_para = not open_para or text[:1] in "\u2022-"
            else:
                gap = ln.top - prev.bottom
                new_para = gap > 0.6 * max(ln.size, 1.0) or abs(ln.size - prev.size) > 0.5
            bullet = text.startswith("\u2022") or (BULLET_RE.match(text) and (new_para or not open_para))
            if bullet or new_para:
                flush()
                para_page = page_no
            if bullet:
                para_kind = "list_item"
                text = BULLET_RE.sub("", text, count=1)
            if not para:
                para_page, para_line = page_no, line_no
            elif page_no != (para_breaks[-1][1] if para_breaks else para_page):
                para_breaks.append((len(join_lines(para)) + 1, page_no))
            para.append(text)
            prev = ln
    flush()
