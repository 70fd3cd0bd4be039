"""Framework files: the ids every labelled data set relies on, and validation errors."""

from __future__ import annotations

import re

import pytest

from nlp_tagger import FrameworkError, load_framework
from nlp_tagger.frameworks import builtin_ids, load_framework_file

CONCORDAT_RE = re.compile(r"^(EC|E|PCD)[FIMR]\d+$")


def test_builtin_frameworks_have_the_shared_ids():
    assert {"concordat-2019", "iip-lm-model", "aua-cpd"} <= set(builtin_ids())
    c = load_framework("concordat-2019")
    assert [r.id for r in c.roots] == ["EC", "E", "PCD"]
    obligations = [i for i in c.indicators if i.parent]
    assert all(CONCORDAT_RE.match(i.id) for i in obligations)
    for principle in ("EC", "E", "PCD"):
        for group in "FIMR":
            nums = [int(i.id[len(principle) + 1 :]) for i in obligations if i.parent == principle and i.id[len(principle)] == group]
            assert nums == list(range(1, len(nums) + 1)) and nums, (principle, group)
    assert {"EI1", "EI7", "ECI3", "ECM5", "PCDR2", "PCDI6"} <= set(c.ids)

    iip = load_framework("iip-lm-model")
    assert [r.id for r in iip.roots] == [f"LM{i}" for i in range(1, 10)]
    assert all(iip.children(f"LM{i}") for i in range(1, 10))
    assert iip.get("LM1.1").parent == "LM1"
    assert iip.get("LM1").extra  # the mapped IIP Standard statements are kept

    aua = load_framework("aua-cpd")
    assert aua.ids == [f"AUA{i}" for i in range(1, 10)]
    assert aua.get("AUA4").title == "Embracing change"
    assert all(len(i.extra) >= 3 for i in aua.indicators)  # positive indicators


def test_leaves_and_hierarchy():
    c = load_framework("concordat-2019")
    assert "EI1" in {l.id for l in c.leaves} and "E" not in {l.id for l in c.leaves}
    assert c.root_of("PCDR2") == "PCD"
    assert c.ancestors("ECI3") == ["EC"]
    assert load_framework("iip-lm-model").ancestors("LM3.2") == ["LM3"]


def _write(tmp_path, text, name="fw.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD = """id: mini
name: Mini framework
indicators:
  - id: A
    parent: null
    title: Alpha
    text: Staff wellbeing is supported.
  - id: A1
    parent: A
    title: Counselling
    text: Free counselling is available to all staff.
"""


def test_custom_framework_by_path(tmp_path):
    fw = load_framework(_write(tmp_path, GOOD))
    assert fw.id == "mini" and [l.id for l in fw.leaves] == ["A1"]


@pytest.mark.parametrize(
    "text, problem, line",
    [
        (GOOD.replace("id: A1\n    parent: A", "id: A1\n    parent: Z"), "unknown parent 'Z'", 8),
        (GOOD.replace("id: A1", "id: A"), "duplicate indicator id 'A'", 8),
        (GOOD.replace("text: Free counselling is available to all staff.", "text: ''"), "has empty text", 8),
        (GOOD.replace("title: Alpha", "title: Alpha: [unclosed"), "invalid YAML", 6),
        ("- just\n- a list\n", "top level must be a mapping", None),
        (GOOD.replace("name: Mini framework\n", ""), "missing required key 'name'", 1),
    ],
)
def test_invalid_framework_names_file_and_line(tmp_path, text, problem, line):
    p = _write(tmp_path, text)
    with pytest.raises(FrameworkError) as err:
        load_framework_file(p)
    msg = str(err.value)
    assert problem in msg and str(p) in msg
    if line:
        assert f"{p}:{line}:" in msg


def test_unknown_framework_id_lists_the_known_ones():
    with pytest.raises(FrameworkError) as err:
        load_framework("concordat-2018")
    assert "unknown framework id" in str(err.value) and "concordat-2019" in str(err.value)
