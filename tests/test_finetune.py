"""Fine-tuning the encoder: a short real training run, exported to int8 ONNX, loaded back as an
encoder folder, and refused when its file does not match the manifest."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nlp_tagger import ModelError, load_framework
from nlp_tagger.embed import BASE_MODEL, Embedder
from nlp_tagger.finetune import indicator_pairs, passage_pairs, train_encoder

from .conftest import ROOT


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    d = tmp_path_factory.mktemp("ft")
    gold = d / "gold"
    gold.mkdir()
    for f in sorted((ROOT / "corpora" / "labelled" / "aua").glob("a1-*.jsonl"))[:2]:
        shutil.copy(f, gold / f.name)
    manifest = train_encoder(gold, d / "encoder", epochs=1, lr=1e-4, frameworks=("aua-cpd",))
    return d / "encoder", gold, manifest


def test_finetuned_encoder_is_saved_with_a_manifest_and_loads(tuned, tmp_path):
    folder, gold, manifest = tuned
    saved = json.loads((folder / "manifest.json").read_text())
    assert saved["training_pairs"] == manifest["training_pairs"] > 50
    assert len(saved["training_documents"]) == 2 and saved["base_model"] == BASE_MODEL
    emb = Embedder(str(folder), cache_dir=tmp_path)
    assert emb.cache_key.startswith("nlp-tagger-minilm@" + saved["onnx_sha256"][:12])
    v = emb.encode(["Colleagues reviewed the enrolment process together and cut queues by half."])
    assert v.shape == (1, 384) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-4)


def test_finetuning_pulls_passages_towards_their_indicators(tuned, tmp_path):
    folder, gold, _ = tuned
    fw = load_framework("aua-cpd")
    pairs = passage_pairs(fw, gold) + indicator_pairs(fw)
    a, p = [x for x, _ in pairs], [y for _, y in pairs]

    def mean_pair_cosine(emb):
        return float(np.mean(np.sum(emb.encode(a) * emb.encode(p), axis=1)))

    assert mean_pair_cosine(Embedder(str(folder), cache_dir=tmp_path)) > mean_pair_cosine(Embedder(BASE_MODEL, cache_dir=tmp_path)) + 0.05


def test_damaged_encoder_is_refused(tuned, tmp_path):
    folder, _, _ = tuned
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    data = bytearray((bad / "model.int8.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    (bad / "model.int8.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its manifest"):
        Embedder(str(bad), cache_dir=tmp_path).encode(["x"])
    (bad / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="manifest is unreadable"):
        Embedder(str(bad), cache_dir=tmp_path)


def test_finetuned_encoder_refuses_the_torch_backend(tuned, tmp_path):
    folder, _, _ = tuned
    with pytest.raises(ModelError, match="int8 ONNX only"):
        Embedder(str(folder), cache_dir=tmp_path, backend="torch")
