"""End to end: a rendered PDF in, a coverage report out, against each framework."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import jsonschema

from nlp_tagger import check, extract, load_framework, segment
from nlp_tagger.match import build_context
from nlp_tagger.report import SCHEMA_PATH, to_csv, to_dict, to_markdown
from nlp_tagger.scorers import resolve_scorer
from nlp_tagger.segment import _nlp

from .conftest import AUA, ROOT


def test_passages_carry_page_heading_and_span(rendered):
    doc = extract(rendered["pdf"])
    passages = segment(doc)
    assert len(passages) > 40
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
        assert p.page == doc.page_at(p.start)
        assert len(p.text.split()) >= 4
    coaching = next(p for p in passages if "Nurture a coaching culture" in p.text)
    assert coaching.heading_path[0].startswith("4. Strategic Objectives")
    assert coaching.heading_path[-1] == "Principle 3: Professional and Career Development"
    assert coaching.kind == "table_row"


def test_long_paragraph_split_at_sentences(uol_doc):
    long_blocks = [b for b in uol_doc.blocks if b.kind == "paragraph" and len(b.text.split()) > 90]
    assert long_blocks
    passages = segment(uol_doc)
    for b in long_blocks:
        parts = [p for p in passages if b.start <= p.start < b.end]
        assert len(parts) >= 2
        # a window is at most 90 words, unless it is one sentence that is longer on its own
        assert all(len(p.text.split()) <= 90 or len(list(_nlp()(p.text).sents)) == 1 for p in parts)
        assert parts[0].start == b.start and parts[-1].end == b.end
        for a, z in zip(parts, parts[1:]):  # windows tile the paragraph: nothing lost between them
            assert uol_doc.text[a.end : z.start].strip() == ""


def test_employment_section_maps_to_employment(uol_doc, embedder):
    """Passages under the Liverpool summary's 'Principle 2: Employment' match Employment obligations
    with the scorer `check` uses by default (a wiring test: this seed is in the training data)."""
    fw = load_framework("concordat-2019")
    passages = [p for p in segment(uol_doc) if p.heading_path and p.heading_path[-1] == "Principle 2: Employment" or "Principle 2: Employment" in p.heading_path[-2:]]
    assert len(passages) >= 5
    ctx = build_context(passages, fw, embedder)
    probs = resolve_scorer(fw, "auto")[0].predict_proba(ctx)
    roots = Counter(fw.root_of(ctx.leaf_ids[j]) for j in probs.argmax(axis=1))
    assert roots["E"] / len(passages) > 0.5, roots


def test_check_pdf_report_formats(rendered, embedder, tmp_path):
    cov = check(rendered["pdf"], "concordat-2019", embedder=embedder)
    data = to_dict(cov)
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    fw = load_framework("concordat-2019")
    assert [i["id"] for i in data["indicators"]] == fw.ids
    assert {s["id"] for s in data["summary"]} == {"EC", "E", "PCD"}
    e = next(s for s in data["summary"] if s["id"] == "E")
    # a university's report: the funders' obligations are out of scope, listed apart, never gaps
    assert data["scope"]["audiences"] == ["institutions", "managers", "researchers"]
    funders = [l.id for l in fw.leaves if l.audience == "funders"]
    assert sorted(data["out_of_scope"]) == sorted(funders) and not set(funders) & set(data["gaps"])
    assert e["leaves"] == len([l for l in fw.leaves if fw.root_of(l.id) == "E" and l.audience != "funders"])
    # every quoted passage really is on the page it claims, and is listed once
    doc = extract(rendered["pdf"])
    passages = {p["id"]: p for p in data["passages"]}
    assert len(passages) == len(data["passages"]) == len({p["index"] for p in data["passages"]})
    for p in data["passages"]:
        assert doc.text[p["start"] : p["end"]] == p["text"]
        assert doc.page_at(p["start"]) == p["page"] and p["line"] >= 1
        assert p["locator"] == f"p. {p['page']}, line {p['line']}"
    by_id = {i["id"]: i for i in data["indicators"]}
    for ind in data["indicators"]:
        for ev in ind["evidence"]:
            assert {"id": ind["id"], "score": ev["score"], "status": ev["status"]} in passages[ev["passage"]]["indicators"]
        if fw.children(ind["id"]):  # parents quote nothing of their own
            assert ind["evidence"] == []
    evidenced = [i for i in data["indicators"] if i["status"] != "none" and not fw.children(i["id"]) and i["in_scope"]]
    assert evidenced and all(i["evidence"] for i in evidenced)
    for i in evidenced:  # planned only exactly when the evidence goes no further than plans
        assert (i["status"] == "planned") == (i["maturity"] == "plans")
    # a score printed with two decimals never contradicts its status
    t = {k: round(v, 2) for k, v in data["thresholds"].items()}
    for i in by_id.values():
        if i["strength"] == "strong":
            assert round(i["score"], 2) >= t["strong"]
        elif i["strength"] == "weak":
            assert t["weak"] <= round(i["score"], 2) < t["strong"]
    md = to_markdown(cov)
    assert "## Summary" in md and "## No evidence" in md and "## Out of scope" in md
    assert "### EF1" not in md and "none\n\n###" not in md
    for p in data["passages"]:  # whole passages, each quoted once
        assert md.count(f"**{p['id']}**") == 1
    rows = to_csv(cov).splitlines()
    assert rows[0].startswith("indicator,parent,title,audience,in_scope,status,strength,maturity,score")
    assert len(rows) > len(fw.ids)


def test_check_docx_and_markdown_against_other_frameworks(rendered, embedder, tmp_path):
    cov = check(rendered["docx"], "concordat-2019", embedder=embedder)
    assert cov.document.source_format == "docx" and cov.n_passages > 40
    aua = check(AUA, "aua-cpd", embedder=embedder)
    assert [c.indicator.id for c in aua.indicators] == [f"AUA{i}" for i in range(1, 10)]
    # the LJMU case study is about staff development: 'Developing self and others' is evidenced
    assert aua.by_id()["AUA7"].status != "none"


def test_custom_framework_zero_shot(tmp_path, embedder):
    fw_path = tmp_path / "wellbeing.yaml"
    fw_path.write_text(
        "id: wellbeing\nname: Staff wellbeing\nindicators:\n"
        "  - {id: W, parent: null, title: Wellbeing, text: Staff wellbeing is supported}\n"
        "  - {id: W1, parent: W, title: Counselling, text: Free confidential counselling is available to all staff}\n"
        "  - {id: W2, parent: W, title: Cycling, text: A cycle-to-work scheme and secure bike storage are provided}\n",
        encoding="utf-8",
    )
    doc = tmp_path / "report.md"
    doc.write_text("# Our year\n\nAll employees can now book up to six free sessions with an independent counsellor.\n", encoding="utf-8")
    cov = check(doc, fw_path, embedder=embedder)
    assert cov.by_id()["W1"].score > cov.by_id()["W2"].score
    assert any("zero-shot" in n for n in cov.notes)


def test_second_run_encodes_nothing(rendered, cache_dir):
    from nlp_tagger.embed import Embedder

    first = Embedder(cache_dir=cache_dir)
    check(rendered["pdf2col"], "iip-lm-model", embedder=first)
    second = Embedder(cache_dir=cache_dir)
    check(rendered["pdf2col"], "iip-lm-model", embedder=second)
    assert first.n_encoded > 0 and second.n_encoded == 0


NO_NETWORK = """
import socket, sys
def refuse(*a, **k):
    raise RuntimeError("network access attempted")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
sys.argv = ["nlp-tagger"] + sys.argv[1:]
from cli import main
main()
"""


def test_check_never_touches_the_network(rendered, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NLP_TAGGER_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, "check", str(rendered["pdf"]), "--framework", "concordat-2019", "--out", str(out), "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "network access attempted" not in proc.stderr
    written = sorted(p.suffix for p in out.iterdir())
    assert written == [".csv", ".json", ".md"]


def test_document_cache_and_onnx_backend_agree_with_torch(rendered, cache_dir):
    """A re-run reads the parsed document from the cache; int8 ONNX embeddings stay close to fp32."""
    from nlp_tagger.embed import BASE_MODEL, Embedder

    cached = list((cache_dir / "documents").glob("*.json"))
    assert cached, "check() with a cache folder stores the parsed document"
    again = extract(rendered["pdf2col"], cache_dir=cache_dir)
    assert again.text == extract(rendered["pdf2col"]).text
    texts = ["We introduced a buddy scheme for new postdoctoral researchers.", "Ten days of development time are protected for every researcher."]
    fast = Embedder(BASE_MODEL, cache_dir=cache_dir, backend="onnx-int8", use_cache=False).encode(texts)
    exact = Embedder(BASE_MODEL, cache_dir=cache_dir, backend="torch", use_cache=False).encode(texts)
    assert ((fast * exact).sum(axis=1) > 0.97).all()
