"""Property-based and fuzz tests (Hypothesis) over everything that takes outside input.

Whatever a submission, framework file or label file holds, the result is a value or a one-line
NlpTaggerError naming the file, never another exception; and nothing from the input is
interpreted by the reports: no element or attribute in the HTML, no formula in the CSV, no
control character in the terminal, no raw HTML in the Markdown.

Runs derandomized with 80 examples a test by default (about 20-30 s in all, on 2 cores);
`NLP_TAGGER_FUZZ=deep pytest tests/test_fuzz.py` explores with random seeds and 2,000 examples a test
(`NLP_TAGGER_FUZZ_EXAMPLES=N` sets the number). Bugs these properties found (damaged DOCX parts,
scalar evidence lists, control characters in error messages, bad page numbers in gold files, raw
audience labels in Markdown) are fixed; their tests stay as regressions.

Also here: the PDF running-header filter's regression test (careless input: a templated body
paragraph in the same place on every page is body text, not a running header).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import string
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nlp_tagger import extract
from nlp_tagger.errors import FrameworkError, LabelError, NlpTaggerError
from nlp_tagger.frameworks import load_framework_file
from nlp_tagger.labels import load_gold
from nlp_tagger.types import Coverage, Document, Evidence, Framework, Indicator, IndicatorCoverage, Passage

settings.register_profile(
    "ci", max_examples=80, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "deep", max_examples=2000, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
FUZZ = settings(settings.get_profile("deep" if os.environ.get("NLP_TAGGER_FUZZ") == "deep" else "ci"),
                **({"max_examples": int(os.environ["NLP_TAGGER_FUZZ_EXAMPLES"])} if os.environ.get("NLP_TAGGER_FUZZ_EXAMPLES") else {}))


# -- hostile text -------------------------------------------------------------------------------

NASTY = [
    "<script>alert(1)</script>", "</script><img src=x onerror=alert(2)>", "<b onmouseover='x()'>", "' onfocus='alert(3)",
    '" autofocus onfocus="alert(4)', "<!--", "-->", "<![CDATA[", "]]>", "&lt;", "&amp;", "&#x3C;script&#x3E;", "<svg/onload=alert(5)>",
    "javascript:alert(6)", "<style>", "</textarea>", "<iframe src=//x>",
    "=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
    "[red]markup[/red]", "[/bold]", "[link=http://x]y[/link]",
    "\x1b[31m", "\x1b]8;;http://x\x07link\x1b]8;;\x07", "\x07", "\x08", "\x00", "\x7f", "\x9b31m", "\u0085", "\r", "\f", "\v",
    "\u202e", "\u2028", "\u2029", "\ufeff", "\ud7ff", "\U0001f600",
    "# heading", "## ", "- item", "* item", "1. item", "| a | b |", "|---|", "```", "`code`", "**bold**", "_em_", "> quote",
    "[x](javascript:alert(7))", "![i](http://x/i.png)", "<http://example.invalid>", "\\", "\\<", "&", "#", "!",
    "../../etc/passwd", "C:\\Windows\\system32", "/dev/null", "~/x", "%(x)s", "{0}", "${x}",
    "null", "~", "yes", "no", "on", "off", "1e400", "NaN", ".inf", "0x1F", "0o17", "2024-01-01", ": x", "- x", "? x",
    "&anchor", "*alias", "!!python/object:os.system", "!tag", "%YAML 1.1", "---", "...", "{a: b}", "[a, b]", "'", '"', "#comment",
]
nasty = st.sampled_from(NASTY)
words = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12)
any_char = st.characters(codec="utf-8")  # any code point UTF-8 can write: controls and all, no surrogates
hostile_text = st.lists(st.one_of(nasty, words, st.text(any_char, max_size=20)), max_size=12).map(" ".join)
hostile_label = st.one_of(hostile_text, nasty, st.text(any_char, min_size=1, max_size=40))


# -- ingestion ------------------------------------------------------------------------------------

@functools.cache
def samples() -> dict[str, bytes]:
    """A small real PDF and DOCX to mutate."""
    import tempfile

    from nlp_tagger.render import render_docx, render_pdf
    from nlp_tagger.types import Block

    blocks, pos = [], 0
    for kind, t in [("heading", "Principle 2: Employment"), ("paragraph", "All research staff now have a named mentor within a month."),
                    ("list_item", "Induction checklist refreshed"), ("table_row", "Recruitment | Diversify the pipeline")]:
        blocks.append(Block(text=t, page=1, kind=kind, start=pos, end=pos + len(t), level=1 if kind == "heading" else 0))
        pos += len(t) + 2
    with tempfile.TemporaryDirectory(prefix="fuzz-samples-") as tmp:
        d = Path(tmp)
        return {".pdf": render_pdf(blocks, d / "s.pdf", header="Sample header").read_bytes(),
                ".docx": render_docx(blocks, d / "s.docx").read_bytes()}


def _docx_with(document_xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml", document_xml)
    return buf.getvalue()


class Blob(bytes):
    """File content that Hypothesis reports by length, head and hash, not as 100 kB of bytes."""

    def __repr__(self) -> str:
        import hashlib

        return f"Blob({len(self)} bytes, head={bytes(self[:60])!r}, sha256={hashlib.sha256(self).hexdigest()[:16]})"


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "shift_jis", "koi8-r", "gb18030", "iso-8859-7"]


@st.composite
def text_bytes(draw) -> bytes:
    text = draw(st.one_of(
        hostile_text,
        st.lists(st.one_of(hostile_text, st.just("")), max_size=30).map("\n".join),
        st.builds(lambda w, n: (w + " ") * n, words, st.integers(1, 30_000)),  # huge lines
    ))
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@st.composite
def mutated(draw, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[i : i + draw(st.integers(1, 200))]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=50))
        else:
            del data[i:]
    return Blob(data)


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # line breaks and terminal controls


def _one_line_error(exc: NlpTaggerError, path: Path | None = None) -> None:
    """An error a user reads on one line: no line break or terminal control from the input."""
    msg = str(exc)
    assert not CONTROL.search(msg), repr(msg)
    if path is not None:
        assert str(path) in msg, msg


def _check_document(doc: Document) -> None:
    assert isinstance(doc, Document) and isinstance(doc.text, str)
    for b in doc.blocks:
        assert doc.text[b.start : b.end] == b.text
        assert 1 <= b.page <= max(doc.n_pages, 1)
    assert all(isinstance(w, str) and "\n" not in w for w in doc.warnings)


def _extract(tmp: Path, suffix: str, data: bytes) -> None:
    path = tmp / f"input{suffix}"
    path.write_bytes(data)
    try:
        doc = extract(path)
    except NlpTaggerError as exc:
        _one_line_error(exc, path)
    else:
        _check_document(doc)


@FUZZ
@given(suffix=st.sampled_from([".txt", ".md"]), content=st.one_of(text_bytes().map(Blob), st.binary(max_size=3000)))
@example(suffix=".txt", content=("Researchers met their mentors. " * 20_000).encode())  # a 600,000-character line
@example(suffix=".md", content="<script>alert(1)</script>\n# \x1b[31mred\n\f| a | b |\n|---|---|\n| =1 | \x00 |\n".encode())
def test_text_and_markdown_of_any_bytes_are_a_document_or_a_one_line_error(tmp_path_factory, suffix, content):
    _extract(tmp_path_factory.mktemp("text"), suffix, content)


@FUZZ
@given(content=st.one_of(
    st.binary(max_size=3000),
    st.binary(max_size=3000).map(lambda b: Blob(b"%PDF-1.7\n" + b)),
    st.deferred(lambda: mutated(samples()[".pdf"])),
))
@example(content=b"%PDF-1.7\n%%EOF")
def test_pdf_of_any_bytes_is_a_document_or_a_one_line_error(tmp_path_factory, content):
    _extract(tmp_path_factory.mktemp("pdf"), ".pdf", content)


def _word_xml(text: str) -> bytes:
    """A well-formed document.xml holding `text` (characters XML 1.0 cannot hold are dropped)."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)

    def esc(t: str) -> str:
        return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t xml:space='preserve'>{esc(text)}</w:t></w:r></w:p>"
            f"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>{esc(text[:40])}</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>").encode("utf-8")


@FUZZ
@given(content=st.one_of(
    st.binary(max_size=3000).map(Blob),
    st.binary(max_size=3000).map(lambda b: Blob(b"PK\x03\x04" + b)),
    hostile_text.map(_word_xml).map(_docx_with).map(Blob),
))
def test_docx_of_any_bytes_is_a_document_or_a_one_line_error(tmp_path_factory, content):
    _extract(tmp_path_factory.mktemp("docx"), ".docx", content)


def _bad_deflate_docx() -> bytes:
    """A DOCX whose document.xml member is deflate data that does not inflate (a damaged download)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_docx_with(_word_xml("Every researcher has a mentor. " * 20)))) as src, \
            zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info.filename))
    raw = bytearray(buf.getvalue())
    at = raw.index(b"word/document.xml") + len(b"word/document.xml")  # first byte of the member's deflate stream
    raw[at] = 0xFF  # block type 3: invalid
    return bytes(raw)


@FUZZ
@given(content=st.one_of(
    st.binary(max_size=300).map(_docx_with).map(Blob),
    hostile_text.map(lambda t: Blob(_docx_with(_word_xml("").replace(b"<w:t xml:space='preserve'>", b"<w:t>" + t.encode("utf-8", "replace"))))),
    st.deferred(lambda: mutated(samples()[".docx"])),
))
@example(content=Blob(_docx_with(b"")))  # XMLSyntaxError: Document is empty
@example(content=Blob(_docx_with(_word_xml("").replace(b"<w:t xml:space='preserve'>", b"<w:t>\x08"))))  # a character XML 1.0 forbids
@example(content=Blob(_bad_deflate_docx()))  # zlib.error: invalid block type
def test_damaged_docx_is_a_one_line_error(tmp_path_factory, content):
    _extract(tmp_path_factory.mktemp("docx-bad"), ".docx", content)


# -- framework files ------------------------------------------------------------------------------

plain = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30)
# ids as a framework or label file may write them, markup, quotes, paths and YAML specials included; line breaks and
# terminal controls in ids are the known bug of test_error_messages_never_carry_line_breaks_or_escapes_from_the_input
plain_ids = st.one_of(plain, st.sampled_from([n for n in NASTY if not CONTROL.search(n) and n.strip()]))
odd_value = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.lists(st.integers(), max_size=2),
                      st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
EXTRA_KEYS = ["positive_indicators", "evidence_requirements", "maps_to", "evidence_forms"]


@st.composite
def framework_yaml(draw, ids=plain_ids, extras=None) -> str:
    """A framework file: mostly the right shape, with hostile ids, titles and texts, and now and
    then a value of the wrong type, dumped as block or flow YAML (or hand-mutated)."""
    extras = extras if extras is not None else st.one_of(st.lists(st.one_of(hostile_label, st.fixed_dictionaries({"text": hostile_label})), max_size=3), st.none())
    n = draw(st.integers(1, 5))
    names = draw(st.lists(st.one_of(ids, st.sampled_from(["P", "P1", "1", "1.0", "null", "~", "yes"])), min_size=n, max_size=n))
    inds = []
    for i, iid in enumerate(names):
        d = {"id": draw(st.one_of(st.just(iid), st.just(iid), st.just(iid), odd_value)),
             "parent": draw(st.one_of(st.none(), st.sampled_from(names[:i] or [None]), ids, odd_value)),
             "title": draw(st.one_of(hostile_label, odd_value)), "text": draw(st.one_of(hostile_label, hostile_label, odd_value))}
        for k in draw(st.lists(st.sampled_from(EXTRA_KEYS), max_size=2, unique=True)):
            d[k] = draw(extras)
        if draw(st.booleans()):
            d["audience"] = draw(st.one_of(st.just("institutions"), ids))
        inds.append(d)
    top = {"id": draw(st.one_of(st.just("fw"), st.just("fw"), plain, nasty, odd_value)), "name": draw(st.one_of(hostile_label, hostile_label, odd_value)),
           "indicators": inds}
    if draw(st.booleans()):
        top["audiences"] = draw(st.one_of(st.just({"institutions": "Institutions"}), st.dictionaries(ids, hostile_label, max_size=2), odd_value))
        top["default_audience"] = draw(st.one_of(st.just(["institutions"]), st.lists(ids, max_size=2), odd_value))
    if draw(st.booleans()):
        top["older_editions"] = draw(st.one_of(st.lists(st.fixed_dictionaries({"name": hostile_label, "cues": st.lists(hostile_label, max_size=2)}), max_size=2), odd_value))
    text = yaml.safe_dump(top, allow_unicode=draw(st.booleans()), default_flow_style=draw(st.booleans()), sort_keys=False)
    if draw(st.booleans()):  # by hand: a stray line of YAML specials, markup or quotes somewhere
        lines = text.split("\n")
        lines.insert(draw(st.integers(0, len(lines))), draw(st.one_of(nasty, plain)))
        text = "\n".join(lines)
    return text


def _load_framework(tmp: Path, content: bytes) -> None:
    path = tmp / "framework.yaml"
    path.write_bytes(content)
    try:
        fw = load_framework_file(path)
    except FrameworkError as exc:
        _one_line_error(exc, path)
    else:
        assert isinstance(fw, Framework) and fw.indicators and fw.leaves
        assert len(set(fw.ids)) == len(fw.ids)
        for ind in fw.indicators:  # every parent chain ends at a root
            fw.root_of(ind.id)


@FUZZ
@given(content=st.one_of(framework_yaml().map(str.encode), st.binary(max_size=500), hostile_text.map(str.encode)))
@example(content=b"id: fw\nname: N\nindicators:\n  - {id: &a P, parent: *a, title: T, text: x}\n")
@example(content=b"id: !!python/object/apply:os.system ['touch /tmp/x']\nname: N\nindicators: []\n")
@example(content=b"[" * 50 + b"]" * 50)
def test_framework_files_load_or_raise_a_one_line_framework_error(tmp_path_factory, content):
    _load_framework(tmp_path_factory.mktemp("fw"), content)


@FUZZ
@given(content=framework_yaml(extras=st.one_of(st.integers(), st.floats(), st.booleans())).map(str.encode))
@example(content=b"id: fw\nname: N\nindicators:\n  - {id: P, parent: null, title: T, text: x, evidence_forms: 5}\n")
def test_framework_with_a_scalar_where_a_list_belongs_is_a_framework_error(tmp_path_factory, content):
    _load_framework(tmp_path_factory.mktemp("fw-extra"), content)


@FUZZ
@given(bad=st.sampled_from(["\n", "\r", "\x1b[2J", "\x1b]8;;http://x\x07", "\u2028", "\x85"]))
@example(bad="\n")
def test_error_messages_never_carry_line_breaks_or_escapes_from_the_input(tmp_path_factory, bad):
    tmp = tmp_path_factory.mktemp("fw-ctl")
    _load_framework(tmp, json.dumps({"id": "fw", "name": "N", "indicators": [{"id": f"A{bad}B", "parent": None, "title": "T", "text": ""}]}).encode())


# -- gold label files -----------------------------------------------------------------------------

def _gold_framework() -> Framework:
    from nlp_tagger import load_framework

    return load_framework("aua-cpd")


label_ids = st.sampled_from(["AUA1", "AUA2", "AUA9"])


@st.composite
def gold_line(draw, page=st.one_of(st.none(), st.integers(0, 10_000)), free=plain_ids) -> str:
    """One JSONL line: mostly a well-formed label row with hostile text, sometimes a field of the
    wrong type or a line that is not a row at all."""
    row = {"doc_id": draw(st.one_of(hostile_label, odd_value)), "framework": draw(st.one_of(st.just("aua-cpd"), st.just("aua-cpd"), free, odd_value)),
           "passage": draw(st.one_of(hostile_label, hostile_label, odd_value)),
           "labels": draw(st.one_of(st.lists(label_ids, max_size=3), st.lists(label_ids, max_size=3), st.lists(free, max_size=2), odd_value))}
    for key in draw(st.lists(st.sampled_from(list(row)), max_size=1)):
        del row[key]
    optional = {"page": page, "section": st.one_of(hostile_label, odd_value), "label_source": st.one_of(hostile_label, odd_value),
                "evidence_type": st.one_of(st.sampled_from(["outcome", "action", "plan", "statement"]), free, odd_value)}
    for key in draw(st.lists(st.sampled_from(list(optional)), max_size=4, unique=True)):
        row[key] = draw(optional[key])
    return draw(st.one_of(st.just(json.dumps(row, ensure_ascii=draw(st.booleans()))), st.just(json.dumps(row)), st.just(json.dumps(row)),
                          hostile_text, st.sampled_from(["", "[1, 2]", "null", "1e999", "NaN", '{"passage": "\\ud800"}', "{", "\ufeff{}"])))


def _load_gold(tmp: Path, content: bytes, with_framework: bool) -> None:
    path = tmp / "gold.jsonl"
    path.write_bytes(content)
    try:
        gold = load_gold(path, _gold_framework() if with_framework else None)
    except LabelError as exc:
        _one_line_error(exc, path)
    else:
        assert gold.passages or not with_framework  # with a framework, no passages for it is an error
        assert all(g.text.strip() and isinstance(g.labels, tuple) for g in gold.passages)
        assert all(isinstance(g.page, int) for g in gold.passages)


@FUZZ
@given(content=st.one_of(st.lists(gold_line(), min_size=1, max_size=6).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass")),
                         st.binary(max_size=500)),
       with_framework=st.booleans())
def test_gold_files_load_or_raise_a_one_line_label_error(tmp_path_factory, content, with_framework):
    _load_gold(tmp_path_factory.mktemp("gold"), content, with_framework)


@FUZZ
@given(page=st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=1), st.floats()))
@example(page="three")
def test_gold_file_with_a_page_that_is_not_a_number_is_a_label_error(tmp_path_factory, page):
    row = {"doc_id": "d", "framework": "aua-cpd", "passage": "We ran a mentoring scheme.", "labels": ["AUA1"], "page": page}
    _load_gold(tmp_path_factory.mktemp("gold-page"), json.dumps(row).encode(), True)


# -- renderers ------------------------------------------------------------------------------------

def _template_names() -> tuple[set[str], set[str]]:
    """Every element and attribute name the HTML report's own template can write."""
    import nlp_tagger.html_report as H

    source = Path(H.__file__).read_text(encoding="utf-8")
    names = set(re.findall(r"\s([a-zA-Z][a-zA-Z0-9-]*)=['\"{]", source))
    names |= set(re.findall(r"(?<=\s)(hidden|readonly|disabled|selected|checked|open|multiple|required)(?=[\s>])", source))  # boolean attributes
    return set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", source)) | {"html"}, names


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.data: list[str] = []
        self.script_data: dict[str, str] = {}
        self._script: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = dict(attrs).get("id") or f"script-{len(self.script_data)}"
            self.script_data[self._script] = ""

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self.script_data[self._script] += data
        else:
            self.data.append(data)


STATUSES = ["strong", "weak", "planned", "none"]
TYPES = ["outcome", "action", "plan", "statement"]
MATURITIES = [None, "outcomes", "actions", "plans", "statements"]


@st.composite
def coverages(draw, audience_label=hostile_label) -> Coverage:
    """A Coverage built straight from the dataclasses, every text in it hostile."""
    n_ind = draw(st.integers(1, 6))
    ids = draw(st.lists(hostile_label, min_size=n_ind, max_size=n_ind, unique=True))
    indicators = []
    for i, iid in enumerate(ids):
        roots = [ind.id for ind in indicators if ind.parent is None]
        parent = None if i == 0 or not draw(st.booleans()) else draw(st.sampled_from(roots))
        indicators.append(Indicator(id=iid, parent=parent, title=draw(hostile_label), text=draw(hostile_label),
                                    extra=tuple(draw(st.lists(hostile_label, max_size=2))), audience=draw(st.sampled_from(["", "institutions"]))))
    fw = Framework(id=draw(plain), name=draw(hostile_label), version=draw(hostile_label), source=draw(hostile_label), path=draw(hostile_label),
                   indicators=indicators, content_hash="0" * 64, audiences={"institutions": draw(audience_label)})
    fmt = draw(st.sampled_from(["pdf", "docx", "text", "markdown"]))
    doc_id = draw(hostile_label)
    texts = draw(st.lists(hostile_text, min_size=1, max_size=5))
    passages, pos = [], 0
    for i, t in enumerate(texts):
        passages.append(Passage(doc_id=doc_id, index=i, text=t, page=draw(st.integers(1, 400)), heading_path=tuple(draw(st.lists(hostile_label, max_size=2))),
                                start=pos, end=pos + len(t), kind=draw(st.sampled_from(["paragraph", "list_item", "table_row", "heading"])),
                                para=draw(st.integers(0, 50)), line=draw(st.integers(0, 60))))
        pos += len(t) + 2
    doc = Document(doc_id=doc_id, path=draw(st.one_of(hostile_label, hostile_label.map(lambda s: f"/tmp/{s}.{fmt}"))), text="\n\n".join(texts),
                   blocks=[], n_pages=draw(st.integers(1, 400)), source_format=fmt, warnings=draw(st.lists(hostile_label, max_size=2)))
    thresholds = {"strong": 0.6, "weak": 0.3}
    covs = []
    for ind in indicators:
        evidence = [Evidence(indicator_id=ind.id, passage=p, score=draw(st.floats(0.3, 1.0)), status=draw(st.sampled_from(["strong", "weak"])),
                             evidence_type=draw(st.sampled_from(TYPES)))
                    for p in draw(st.lists(st.sampled_from(passages), max_size=3, unique_by=lambda p: p.index))]
        covs.append(IndicatorCoverage(indicator=ind, status=draw(st.sampled_from(STATUSES)), score=draw(st.floats(0.0, 1.0)), evidence=evidence,
                                      nearest=draw(st.one_of(st.none(), st.sampled_from(passages))), maturity=draw(st.sampled_from(MATURITIES)),
                                      strength=draw(st.sampled_from(["strong", "weak", "none"])), in_scope=draw(st.booleans())))
    scope = draw(st.sampled_from([(), ("institutions",)]))
    return Coverage(document=doc, framework=fw, scorer=draw(st.sampled_from(["ranker", "similarity"])), indicators=covs, n_passages=len(passages),
                    thresholds=thresholds, notes=draw(st.lists(hostile_label, max_size=3)), passages=passages, scope=scope,
                    scope_reason=draw(st.sampled_from(["", "inferred: the document reads as an organisation's own report"])))


def _inputs(cov: Coverage) -> list[str]:
    """Every text in the coverage that came from outside."""
    fw, doc = cov.framework, cov.document
    out = [fw.id, fw.name, doc.doc_id, doc.path, *cov.notes, *fw.audiences.values()]
    for ind in fw.indicators:
        out += [ind.id, ind.title, ind.text, *ind.extra]
    for p in cov.passages:
        out += [p.text, *p.heading_path]
    return out


@FUZZ
@given(cov=coverages())
def test_html_report_interprets_nothing_from_the_input(cov):
    from nlp_tagger.html_report import render_html

    page = render_html(cov)
    parser = _Collect()
    parser.feed(page)
    parser.close()
    tags, attrs = _template_names()
    seen_tags = {t for t, _ in parser.tags}
    seen_attrs = {a for _, al in parser.tags for a, _ in al}
    assert seen_tags <= tags, seen_tags - tags  # no element the input injected
    assert seen_attrs <= attrs, seen_attrs - attrs  # no attribute either
    assert not [a for a in seen_attrs if a.startswith("on")]
    assert [t for t, _ in parser.tags].count("script") == 2  # the data block and the report's own script
    data = json.loads(parser.script_data["report-data"])  # the data block is still JSON, and says what came in
    assert data["document"] == cov.document.doc_id
    assert {int(k): v["text"] for k, v in data["passages"].items()} == {p.index: p.text for p in cov.passages}
    for _, al in parser.tags:  # no link the input could point at script
        for name, value in al:
            if name in ("href", "src", "action", "formaction"):
                assert not re.sub(r"[\s\x00-\x1f]", "", value or "").lower().startswith(("javascript:", "data:", "vbscript:")), (name, value)
    text = "".join(parser.data)
    for root in cov.framework.roots:  # shown as written, not taken as markup
        assert f"{root.id} {root.title}" in text


def _csv_rows(out: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(out, newline="")))


@FUZZ
@given(cov=coverages())
def test_csv_report_has_no_formula_cells(cov):
    from nlp_tagger.report import to_csv

    rows = _csv_rows(to_csv(cov))
    assert len(rows) == 1 + sum(max(1, len(c.evidence)) for c in cov.indicators)  # no row split or merged by the input
    for row in rows:
        assert len(row) == len(rows[0])
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    titles = {r[2] for r in rows[1:]}
    for c in cov.indicators:  # shown as written, behind an apostrophe where it would be a formula
        t = c.indicator.title
        assert t in titles or (t[:1] in "=+-@\t\r" and "'" + t in titles)


@FUZZ
@given(cov=coverages())
def test_terminal_table_shows_no_control_characters_from_the_input(cov):
    from rich.console import Console

    from nlp_tagger.report import print_table

    out = io.StringIO()
    print_table(cov, Console(file=out, width=160, force_terminal=True, color_system=None, legacy_windows=False))
    text = out.getvalue()
    bad = re.findall(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)  # with no colours, every control character would be the input's
    assert not bad, (bad, text)


def _markdown_tokens(md: str):
    from markdown_it import MarkdownIt

    stack = list(MarkdownIt("commonmark").parse(md))
    while stack:
        tok = stack.pop()
        yield tok
        stack.extend(tok.children or [])


def _markdown_problems(md: str) -> set[str]:
    return {t.type for t in _markdown_tokens(md)} & {"html_inline", "html_block", "link_open", "image"}


@FUZZ
@given(cov=coverages(audience_label=plain))  # hostile audience labels: the next test
def test_markdown_report_has_no_raw_html_or_links_from_the_input(cov):
    from nlp_tagger.report import to_markdown

    assert not _markdown_problems(to_markdown(cov))


def test_markdown_out_of_scope_heading_escapes_audience_labels():
    from nlp_tagger.report import to_markdown

    cov = _simple_coverage(audience_label="<script>alert(1)</script>", in_scope=False)
    assert not _markdown_problems(to_markdown(cov))


def _simple_coverage(audience_label: str = "Institutions", in_scope: bool = True) -> Coverage:
    p = Passage(doc_id="d", index=0, text="All staff can book free counselling.", page=1, heading_path=(), start=0, end=36)
    root = Indicator(id="P", parent=None, title="People", text="People are supported")
    leaf = Indicator(id="P1", parent="P", title="Wellbeing", text="Wellbeing is supported", audience="institutions")
    fw = Framework(id="fw", name="Framework", version="", source="", path="fw.yaml", indicators=[root, leaf], audiences={"institutions": audience_label})
    doc = Document(doc_id="d", path="d.md", text=p.text, blocks=[], n_pages=1, source_format="markdown")
    ev = [Evidence(indicator_id="P1", passage=p, score=0.8, status="strong", evidence_type="action")]
    covs = [IndicatorCoverage(indicator=root, status="strong", score=0.8, evidence=[], in_scope=in_scope),
            IndicatorCoverage(indicator=leaf, status="strong", score=0.8, evidence=ev, in_scope=in_scope)]
    return Coverage(document=doc, framework=fw, scorer="ranker", indicators=covs, n_passages=1, thresholds={"strong": 0.6, "weak": 0.3},
                    passages=[p], scope=("other",) if not in_scope else ())


@FUZZ
@given(cov=coverages())
def test_json_report_round_trips_the_input(cov):
    from nlp_tagger.report import to_json

    data = json.loads(to_json(cov))
    assert data["document"]["doc_id"] == cov.document.doc_id and data["notes"] == cov.notes
    assert [i["id"] for i in data["indicators"]] == [c.indicator.id for c in cov.indicators]
    assert [i["title"] for i in data["indicators"]] == [c.indicator.title for c in cov.indicators]


# -- PDF running headers and footers (careless input) -------------------------------------------

def _templated_pdf(path: Path, n_pages: int) -> Path:
    """Every page: a real running header and a 'Page N of M' footer, and body paragraphs in the
    same place on each page that differ only in a number (an action plan printed from a template),
    the first reaching into the top margin zone and the last into the bottom one."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    w, h = A4
    c = canvas.Canvas(str(path), pagesize=A4)
    for i in range(1, n_pages + 1):
        c.setFont("Helvetica", 8)
        c.drawString(56, h - 34, "Northgate University - Researcher Development Concordat action plan 2024")
        c.drawCentredString(w / 2, 28, f"Page {i} of {n_pages}")
        c.setFont("Helvetica", 10)
        y = h - 66  # the first line lies inside the top 9% of the page, where headers are looked for
        for line in (f"Action {i + 6}. The University will review the induction of research staff with the research",
                     "staff association and report progress against the action plan to the Research Committee",
                     "every term, publishing the minutes on the staff intranet."):
            c.drawString(56, y, line)
            y -= 13
        y -= 10
        for k in range(6):
            c.drawString(56, y, f"Line {k} of the narrative on page {i}: mentoring and training for postdoctoral researchers.")
            y -= 13
        y = 90  # a closing paragraph whose last line lies inside the bottom 9%
        c.drawString(56, y, f"Table {i} shows the uptake of mentoring by faculty in the year to July and the")
        c.drawString(56, y - 13, "change since the last review of the plan by the committee.")
        c.showPage()
    c.save()
    return path


def test_templated_body_paragraphs_survive_and_running_headers_are_dropped_with_a_warning(tmp_path):
    n = 40
    doc = extract(_templated_pdf(tmp_path / "templated.pdf", n))
    actions = [b for b in doc.blocks if b.text.startswith("Action ")]
    assert len(actions) == n  # every page's templated paragraph, whole
    assert all(b.text.endswith("publishing the minutes on the staff intranet.") for b in actions)
    assert [b.page for b in actions] == list(range(1, n + 1))
    assert len([b for b in doc.blocks if b.text.startswith("Table ") and b.text.endswith("by the committee.")]) == n
    assert "Northgate University" not in doc.text and not re.search(r"Page \d+ of", doc.text)  # the real header and footer are gone
    warning = [w for w in doc.warnings if "running headers or footers" in w]
    assert len(warning) == 1 and warning[0].startswith(f"{2 * n} lines ")  # a header and a footer on every page
    assert "Northgate University" in warning[0]


def test_a_short_pdf_without_running_lines_has_no_header_warning(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "plain.pdf"
    c = canvas.Canvas(str(path))
    for i in range(3):
        c.drawString(72, 720, f"Page {i + 1} body: every researcher has a named mentor within a month of starting.")
        c.showPage()
    c.save()
    doc = extract(path)
    assert len([b for b in doc.blocks if "named mentor" in b.text]) == 3
    assert not [w for w in doc.warnings if "running headers" in w]
