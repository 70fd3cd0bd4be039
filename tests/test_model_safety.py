"""Model folders cannot run code: a pickle is never unpickled, a skops file may hold only the
allow-listed types, and a file changed after training (its SHA-256 no longer the manifest's) or
missing is refused, each with one line naming the file and the fix."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp_tagger import ModelError, load_framework
from nlp_tagger import safe_model
from nlp_tagger.evidence_type import CLASSIFIER_FILE, CLASSIFIER_TRUSTED, EvidenceTypeClassifier
from nlp_tagger.match import build_context
from nlp_tagger.ranker import MODELS_DIR, RANKER_FILE, RANKER_TRUSTED, RankerScorer
from nlp_tagger.types import Passage

from .conftest import ROOT

FW = "aua-cpd"
TEXTS = [
    "We introduced a reverse mentoring scheme for professional services staff in 2022.",
    "Uptake of the leadership programme rose from 40% to 65% after the review.",
    "We will launch a peer coaching network by the end of 2025.",
]


class Evil:
    """Unpickling (or building) this would write the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))

    def __setstate__(self, state):  # what skops would call if it ever built one
        Path(state["marker"]).write_text("pwned")


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture()
def models(tmp_path):
    """A copy of the shipped AUA ranker and evidence-type model, with the ranker's manifest
    matched to the current framework file (so these tests are about files, not staleness)."""
    out = tmp_path / "models"
    shutil.copytree(MODELS_DIR / FW, out / FW)
    shutil.copytree(MODELS_DIR / "evidence-type", out / "evidence-type")
    fw = load_framework(FW)
    m = _manifest(out / FW)
    m["framework_sha256"], m["leaves"] = fw.content_hash, [l.id for l in fw.leaves]
    if "framework_scoring_sha256" in m:
        m["framework_scoring_sha256"] = fw.scoring_hash
    _write_manifest(out / FW, m)
    return out, fw


def _one_line(err: pytest.ExceptionInfo, path: Path, *needles: str) -> str:
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_shipped_models_are_skops_with_recorded_hashes():
    assert not list(MODELS_DIR.rglob("*.joblib")) and not list(MODELS_DIR.rglob("*.pkl"))
    folders = [d for d in MODELS_DIR.iterdir() if (d / RANKER_FILE).exists() or (d / CLASSIFIER_FILE).exists()]
    assert len(folders) >= 4  # three framework rankers and the evidence-type classifier
    for d in folders:
        m = _manifest(d)
        assert m["model_format"] == "skops"
        for name, sha in m["files"].items():
            assert safe_model.sha256_file(d / name) == sha, d / name
        if (d / RANKER_FILE).exists():
            blob = safe_model.load(safe_model.verify(d, m, RANKER_FILE, ""), RANKER_TRUSTED, "")
            X = np.random.default_rng(0).random((50, blob["estimator"].model_.n_features_in_)).astype(np.float32)
            p = blob["estimator"].predict_proba(X)
            assert p.shape == (50, 2) and np.all((p >= 0) & (p <= 1))
        else:
            safe_model.load(safe_model.verify(d, m, CLASSIFIER_FILE, ""), CLASSIFIER_TRUSTED, "")


def test_shipped_ranker_and_type_classifier_load_and_score(models, embedder):
    out, fw = models
    scorer = RankerScorer.load(fw, out)
    ctx = build_context([Passage("d", i, t, 1, (), 0, len(t)) for i, t in enumerate(TEXTS)], fw, embedder)
    probs = scorer.predict_proba(ctx)
    assert probs.shape == (len(TEXTS), len(fw.leaves)) and np.all((probs >= 0) & (probs <= 1)) and probs.max() > 0
    assert set(scorer.thresholds) == {"strong", "weak"} and scorer.bank.emb.shape[0] > 0
    clf = EvidenceTypeClassifier.load(MODELS_DIR / "evidence-type")
    assert clf is not None
    # loads and types: the clear outcome (a figure that rose) and plan (will ... by) are right; the
    # classifier's accuracy is measured out of fold by `train --types`, not asserted here
    pred = clf.predict(TEXTS, embedder.encode(TEXTS))
    assert set(pred) <= {"outcome", "action", "plan", "statement"} and list(pred[1:]) == ["outcome", "plan"]


def test_malicious_old_pickle_is_refused_and_never_run(models, tmp_path):
    out, fw = models
    marker = tmp_path / "marker"
    d = out / FW
    (d / RANKER_FILE).unlink()
    (d / "ranker.joblib").write_bytes(pickle.dumps({"estimator": Evil(marker)}))
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    _one_line(err, d / "ranker.joblib", "old pickled model", "convert_models.py", "nlp-tagger train --framework aua-cpd")
    assert not marker.exists()
    # the evidence-type model likewise, with or without a manifest beside it
    t = out / "evidence-type"
    (t / CLASSIFIER_FILE).unlink()
    (t / "classifier.joblib").write_bytes(pickle.dumps(Evil(marker)))
    for _ in range(2):
        with pytest.raises(ModelError) as err:
            EvidenceTypeClassifier.load(t)
        _one_line(err, t / "classifier.joblib", "old pickled model", "nlp-tagger train --types")
        (t / "manifest.json").unlink(missing_ok=True)
    assert not marker.exists()


def test_pickle_under_the_skops_name_is_refused_even_with_a_matching_hash(models, tmp_path):
    out, fw = models
    marker = tmp_path / "marker"
    d = out / FW
    (d / RANKER_FILE).write_bytes(pickle.dumps({"estimator": Evil(marker)}))
    m = _manifest(d)
    m["files"][RANKER_FILE] = safe_model.sha256_file(d / RANKER_FILE)  # the attacker edits the manifest too
    _write_manifest(d, m)
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    _one_line(err, d / RANKER_FILE, "not a skops model file", "looks like a pickle")
    assert not marker.exists()


@pytest.mark.parametrize("payload", ["class", "exec", "system"])
def test_skops_file_with_an_untrusted_type_is_refused_before_anything_is_built(models, tmp_path, payload):
    import os

    out, fw = models
    marker = tmp_path / "marker"
    d = out / FW
    blob = safe_model.load(d / RANKER_FILE, RANKER_TRUSTED, "")
    blob["estimator"] = {"class": Evil(marker), "exec": exec, "system": os.system}[payload]
    sha = safe_model.dump(blob, d / RANKER_FILE)
    m = _manifest(d)
    m["files"][RANKER_FILE] = sha
    _write_manifest(d, m)
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    msg = _one_line(err, d / RANKER_FILE, "holds types this model may not contain", "nlp-tagger train")
    assert {"class": "test_model_safety.Evil", "exec": "builtins.exec", "system": ".system"}[payload] in msg
    assert not marker.exists()
    # the same file under the evidence-type model's name is refused by its allow-list too
    t = out / "evidence-type"
    shutil.copy(d / RANKER_FILE, t / CLASSIFIER_FILE)
    m = _manifest(t)
    m["files"][CLASSIFIER_FILE] = sha
    _write_manifest(t, m)
    with pytest.raises(ModelError) as err:
        EvidenceTypeClassifier.load(t)
    _one_line(err, t / CLASSIFIER_FILE, "holds types this model may not contain")
    assert not marker.exists()


def test_a_ranker_file_is_not_accepted_as_a_type_classifier(models):
    """Each model has its own allow-list: the ranker's tree type is refused in the type model."""
    out, _ = models
    t = out / "evidence-type"
    shutil.copy(out / FW / RANKER_FILE, t / CLASSIFIER_FILE)
    m = _manifest(t)
    m["files"][CLASSIFIER_FILE] = safe_model.sha256_file(t / CLASSIFIER_FILE)
    _write_manifest(t, m)
    with pytest.raises(ModelError) as err:
        EvidenceTypeClassifier.load(t)
    _one_line(err, t / CLASSIFIER_FILE, "EvidenceRanker")


@pytest.mark.parametrize("name", [RANKER_FILE, "examples.npz"])
def test_tampered_file_is_refused(models, name):
    out, fw = models
    path = out / FW / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    _one_line(err, path, "does not match the SHA-256 recorded in manifest.json", "Retrain")


def test_tampered_type_classifier_is_refused(models):
    out, _ = models
    path = out / "evidence-type" / CLASSIFIER_FILE
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ModelError) as err:
        EvidenceTypeClassifier.load(path.parent)
    _one_line(err, path, "SHA-256", "nlp-tagger train --types")


def test_missing_files_and_unrecorded_hashes_are_refused(models):
    out, fw = models
    d = out / FW
    (d / "examples.npz").unlink()
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    _one_line(err, d / "examples.npz", "model file is missing")
    m = _manifest(d)
    del m["files"]
    _write_manifest(d, m)
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    _one_line(err, d / "manifest.json", "records no SHA-256 for ranker.skops")
    (d / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    _one_line(err, d / "manifest.json", "unreadable")
    t = out / "evidence-type"
    (t / CLASSIFIER_FILE).unlink()
    with pytest.raises(ModelError) as err:
        EvidenceTypeClassifier.load(t)
    _one_line(err, t / CLASSIFIER_FILE, "model file is missing")
    assert EvidenceTypeClassifier.load(out / "no-such-folder") is None  # no model at all: the cue rules


def test_save_writes_skops_and_hashes_and_removes_an_old_pickle(models, tmp_path):
    out, fw = models
    scorer = RankerScorer.load(fw, out)
    dest = tmp_path / "saved" / fw.id
    dest.mkdir(parents=True)
    (dest / "ranker.joblib").write_bytes(b"old")
    manifest = {k: v for k, v in scorer.manifest.items() if k not in ("files", "model_format")}
    scorer.save(dest, manifest)
    assert not (dest / "ranker.joblib").exists() and manifest["model_format"] == "skops"
    assert set(manifest["files"]) == {RANKER_FILE, "examples.npz"} and _manifest(dest)["files"] == manifest["files"]
    again = RankerScorer.load(fw, tmp_path / "saved")
    assert again.thresholds == scorer.thresholds and again.groups == scorer.groups
    np.testing.assert_array_equal(again.bank.emb, scorer.bank.emb)
    clf = EvidenceTypeClassifier.load(out / "evidence-type")
    clf.save(tmp_path / "types", {"model": "t"})
    assert EvidenceTypeClassifier.load(tmp_path / "types").predict(TEXTS, np.zeros((3, 384), np.float32))


def test_convert_script_converts_a_trusted_pickle_folder_and_is_idempotent(models, tmp_path, capsys):
    import joblib

    out, fw = models
    # a folder as an older `nlp-tagger train` wrote it: ranker.joblib, and no hashes in the manifest
    d, t = out / FW, out / "evidence-type"
    blob = safe_model.load(d / RANKER_FILE, RANKER_TRUSTED, "")
    joblib.dump({**blob, "groups": tuple(blob["groups"])}, d / "ranker.joblib")
    clf = EvidenceTypeClassifier.load(t)
    joblib.dump(clf, t / "classifier.joblib")
    for folder, name in ((d, RANKER_FILE), (t, CLASSIFIER_FILE)):
        (folder / name).unlink()
        m = _manifest(folder)
        del m["files"], m["model_format"]
        _write_manifest(folder, m)
    script = ROOT / "scripts" / "convert_models.py"
    run = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=120)  # as a user runs it
    assert run.returncode == 0, run.stderr
    assert "ranker.joblib -> ranker.skops" in run.stdout and "classifier.joblib -> classifier.skops" in run.stdout
    assert not list(out.rglob("*.joblib"))
    loaded = RankerScorer.load(fw, out)
    X = np.random.default_rng(1).random((40, blob["estimator"].model_.n_features_in_)).astype(np.float32)
    np.testing.assert_array_equal(loaded.estimator.predict_proba(X), blob["estimator"].predict_proba(X))
    assert EvidenceTypeClassifier.load(t) is not None
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    convert = _script(script)  # the second and third runs in process: same code, no start-up
    assert convert.main([str(d), str(t)]) == 0
    assert capsys.readouterr().out.count("already skops, checked") == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # a converted folder whose file was then tampered with is reported, not re-blessed
    (d / RANKER_FILE).write_bytes((d / RANKER_FILE).read_bytes() + b"\0")
    assert convert.main([str(d)]) == 1
    err = capsys.readouterr().err
    assert "SHA-256" in err and str(d / RANKER_FILE) in err


def _script(path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("convert_models", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_type_names_from_the_file_cannot_break_the_error_line(models, tmp_path):
    """The refused type names are read from the file: shown plain, never with its line breaks or escapes."""
    import zipfile

    out, fw = models
    d = out / FW
    blob = safe_model.load(d / RANKER_FILE, RANKER_TRUSTED, "")
    blob["estimator"] = Evil(tmp_path / "marker")
    safe_model.dump(blob, tmp_path / "evil.skops")
    with zipfile.ZipFile(tmp_path / "evil.skops") as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    members["schema.json"] = members["schema.json"].replace(b'"Evil"', b'"Evil\\n\\u001b[2J\\u001b]8;;http://x\\u0007"')
    with zipfile.ZipFile(d / RANKER_FILE, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    m = _manifest(d)
    m["files"][RANKER_FILE] = safe_model.sha256_file(d / RANKER_FILE)
    _write_manifest(d, m)
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    msg = _one_line(err, d / RANKER_FILE, "holds types this model may not contain", "Evil")
    assert "\x1b" not in msg and "\x07" not in msg
    assert not (tmp_path / "marker").exists()


def test_a_model_file_that_would_unpack_too_far_is_refused(models, monkeypatch):
    out, fw = models
    monkeypatch.setattr(safe_model, "MAX_UNPACKED", 1000)
    with pytest.raises(ModelError) as err:
        RankerScorer.load(fw, out)
    _one_line(err, out / FW / RANKER_FILE, "would unpack to")
