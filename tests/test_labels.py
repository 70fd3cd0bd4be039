"""Gold label files: the shared format, from anywhere, with errors that name file and line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app
from nlp_tagger import LabelError, load_framework
from nlp_tagger.labels import load_gold

ROW = {"doc_id": "d1", "framework": "concordat-2019", "passage": "All new research staff now get a local induction.", "labels": ["EI2"]}


def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "bad, problem",
    [
        ({**ROW, "labels": ["EI99"]}, "unknown indicator id 'EI99'"),
        ({k: v for k, v in ROW.items() if k != "labels"}, "missing required field 'labels'"),
        ('{"doc_id": "d1", "framework": ', "invalid JSON"),
        ({**ROW, "labels": "EI2"}, "'labels' must be a list"),
        ({**ROW, "evidence_type": "promise"}, "unknown evidence_type"),
    ],
)
def test_bad_gold_line_names_file_and_line(tmp_path, bad, problem):
    path = _write(tmp_path / "gold.jsonl", [ROW, bad])
    with pytest.raises(LabelError) as err:
        load_gold(path, load_framework("concordat-2019"))
    assert f"{path}:2:" in str(err.value) and problem in str(err.value)


def test_folder_of_files_and_other_frameworks_filtered(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "a.jsonl", [ROW, {**ROW, "framework": "aua-cpd", "labels": ["AUA7"]}])
    _write(tmp_path / "sub" / "b.jsonl", [{**ROW, "doc_id": "d2", "labels": []}])
    gold = load_gold(tmp_path, load_framework("concordat-2019"))
    assert [g.doc_id for g in gold.passages] == ["d1", "d2"]


def test_evaluate_cli_bad_gold_is_one_line(tmp_path):
    path = _write(tmp_path / "gold.jsonl", [ROW, {**ROW, "labels": ["XX1"]}])
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(path), "--framework", "concordat-2019"])
    assert result.exit_code != 0
    assert result.output.strip().count("\n") == 0 and f"{path}:2:" in result.output


def test_evaluate_json_on_gold_outside_the_repo(tmp_path):
    """Someone else's labels: a small gold file in a temp folder, evaluated with every baseline."""
    rows = []
    texts = {
        "EI2": ["Every new postdoc now has a structured induction and a departmental buddy.", "Induction for research staff was redesigned and 90% rated it useful."],
        "ECI3": ["We launched a mental health first aider network and a workload review for researchers.", "Bullying and harassment reporting routes were simplified and publicised."],
        "PCDI1": ["Researchers are given ten days a year for professional development, tracked in PDR.", "Uptake of the ten development days reached 64% of research staff."],
        None: ["The committee met four times.", "This report was prepared by the research office."],
    }
    for d in ("x1", "x2"):
        for lab, ts in texts.items():
            for t in ts:
                rows.append({"doc_id": d, "framework": "concordat-2019", "passage": t + f" ({d})", "labels": [lab] if lab else []})
    path = _write(tmp_path / "theirs.jsonl", rows)
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(path), "--framework", "concordat-2019", "--json", "--scorer", "similarity", "--folds", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n_passages"] == 16 and data["n_documents"] == 2
    assert set(data["scorers"]) == {"similarity", "embedding", "tfidf", "bm25"}
    keys = {"top1", "recall_at_3", "recall_at_5", "mrr", "micro_f1", "macro_f1", "principle_top1", "principle_macro_f1", "doc_f1", "brier", "ece"}
    for m in data["scorers"].values():
        assert keys <= set(m) and all(0 <= m[k] <= 1 for k in keys)
    assert data["scorers"]["similarity"]["recall_at_5"] > 0.5
