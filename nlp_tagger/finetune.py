"""Fine-tune the sentence encoder on labelled (passage, indicator) pairs, contrastively.

Why: the frozen all-MiniLM-L6-v2 ranks real submissions poorly (obligation top-1 0.20 by plain
cosine on real documents), because submissions describe practices ("bridging funds", "CEDARS
results") while indicators state obligations. In-batch-negatives training (sentence-transformers'
MultipleNegativesRankingLoss) pulls each labelled passage towards its indicator's statement and
away from the other indicators in the batch; each indicator's evidence forms and requirements are
trained towards its statement too, so the encoder learns the sector's vocabulary even for
indicators with few labelled passages. One encoder serves every framework. It is exported to int8
ONNX like the base encoder and shipped in `models/encoder/` with a manifest.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import random
import time
from pathlib import Path

from . import __version__
from .embed import BASE_MODEL, ENCODER_DIR, TUNED_MODEL, export_onnx_int8, model_path
from .errors import ModelError
from .frameworks import load_framework
from .labels import load_gold
from .types import Framework

FRAMEWORKS = ("concordat-2019", "iip-lm-model", "aua-cpd")


def indicator_pairs(framework: Framework) -> list[tuple[str, str]]:
    """(evidence form or requirement, the indicator's statement) for every leaf."""
    out = []
    for leaf in framework.leaves:
        parent = framework.get(leaf.parent) if leaf.parent else None
        main, *extras = leaf.facets(parent)
        out += [(e, main) for e in extras]
    return out


def passage_pairs(framework: Framework, gold_path: Path, exclude_docs: set[str] = frozenset()) -> list[tuple[str, str]]:
    """(labelled passage, its indicator's statement) for every leaf label."""
    gold = load_gold(gold_path, framework)
    statement = {}
    for leaf in framework.leaves:
        parent = framework.get(leaf.parent) if leaf.parent else None
        statement[leaf.id] = leaf.facets(parent)[0]
    return [(g.text, statement[l]) for g in gold.passages if g.doc_id not in exclude_docs for l in g.labels if l in statement]


def training_pairs(gold_root: Path, frameworks=FRAMEWORKS, exclude_docs: set[str] = frozenset()) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for fid in frameworks:
        fw = load_framework(fid)
        pairs += passage_pairs(fw, gold_root, exclude_docs) + indicator_pairs(fw)
    return pairs


def finetune(pairs: list[tuple[str, str]], epochs: int = 2, batch_size: int = 32, lr: float = 3e-5, seed: int = 0):
    """A fresh copy of the base SentenceTransformer, trained on the pairs; returns the model."""
    import os
    import tempfile

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    try:
        from datasets import Dataset
        import accelerate  # noqa: F401 - the trainer needs it
    except ImportError:
        raise ModelError("nlp-tagger train --encoder", "fine-tuning needs the packages datasets and accelerate", "pip install -e '.[train]'") from None
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    random.Random(seed).shuffle(pairs := list(pairs))
    model = SentenceTransformer(str(model_path(BASE_MODEL)), device="cpu", local_files_only=True)
    model.max_seq_length = 128  # passages are at most ~90 words; halves the training time of 256
    data = Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [p for _, p in pairs]})
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, num_train_epochs=epochs, per_device_train_batch_size=batch_size, learning_rate=lr,
            warmup_steps=0.1, batch_sampler=BatchSamplers.NO_DUPLICATES, seed=seed, report_to="none",
            save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model))
        trainer.train()
    return model.eval()


def pairs_hash(pairs: list[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(sorted(pairs), ensure_ascii=False).encode()).hexdigest()


def corpus_documents(gold_root: Path, frameworks=FRAMEWORKS) -> list[str]:
    return sorted({d for fid in frameworks for d in load_gold(gold_root, load_framework(fid)).doc_ids})


def document_halves(docs: list[str]) -> dict[str, int]:
    """Each document to half 0 or 1, alternating in a fixed order so each framework and genre is split."""
    return {d: i % 2 for i, d in enumerate(sorted(docs))}


def train_encoder(gold_root: Path, out_dir: Path | None = None, epochs: int = 2, batch_size: int = 32, lr: float = 3e-5,
                  exclude_docs: set[str] = frozenset(), frameworks=FRAMEWORKS) -> dict:
    """Fine-tune on the labelled corpora (less `exclude_docs`), export to int8 ONNX, save with a manifest."""
    t0 = time.time()
    out_dir = out_dir or ENCODER_DIR
    pairs = training_pairs(gold_root, frameworks, exclude_docs)
    model = finetune(pairs, epochs, batch_size, lr)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx = export_onnx_int8(model, out_dir / "model.int8.onnx")
    model.tokenizer.save_pretrained(str(out_dir))
    for junk in ("special_tokens_map.json",):  # the tokenizer needs tokenizer.json, its config and vocab only
        (out_dir / junk).unlink(missing_ok=True)
    manifest = {
        "model": TUNED_MODEL,
        "version": __version__,
        "base_model": BASE_MODEL,
        "loss": "MultipleNegativesRankingLoss (in-batch negatives, no duplicate indicators in a batch)",
        "epochs": epochs, "batch_size": batch_size, "learning_rate": lr,
        "training_pairs": len(pairs),
        "training_pairs_sha256": pairs_hash(pairs),
        "training_documents": [d for d in corpus_documents(gold_root, frameworks) if d not in exclude_docs],
        "frameworks": {fid: load_framework(fid).content_hash for fid in frameworks},
        "onnx_sha256": hashlib.sha256(onnx.read_bytes()).hexdigest(),
        "format": "ONNX, int8 weights (dynamic quantisation, per channel); mean pooling, L2-normalised",
        "trained_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "train_seconds": round(time.time() - t0, 1),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def fold_encoders(gold_root: Path, cache_dir: Path, epochs: int = 2) -> dict[str, str]:
    """Two encoders, each fine-tuned on half the documents, for the ranker's cross-fitted training
    features (`RankerScorer.fit(views=...)`); kept in the cache folder, keyed by the training pairs.
    Returns, per document, the folder of the encoder that did not see it."""
    halves = document_halves(corpus_documents(gold_root))
    key = pairs_hash(training_pairs(gold_root))[:16]
    out = {}
    for h in (0, 1):
        folder = cache_dir / "encoder-folds" / key / str(h)
        if not (folder / "manifest.json").exists():
            train_encoder(gold_root, folder, epochs=epochs, exclude_docs={d for d, x in halves.items() if x != h})
        out.update({d: str(folder) for d, x in halves.items() if x != h})
    return out
