"""Model files that cannot run code.

Trained models are saved with skops (`skops.io`), a zip of JSON and numpy arrays, never a pickle,
and loaded only when every type in the file is on the model's allow-list; anything else is refused
before a single object is built. The model folder's manifest.json records each file's SHA-256, and
a file that no longer matches it (changed after training) is refused too. An old pickle
(`*.joblib`) is never unpickled: `scripts/convert_models.py` converts a model folder you trust.

Every refusal is a one-line ModelError naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path
from typing import Any, Iterable

from .errors import ModelError

FORMAT = "skops"
SUFFIX = ".skops"
MANIFEST = "manifest.json"
MAX_UNPACKED = 2 << 30  # a model file that would unpack to more than this is refused (a zip bomb)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dump(obj: Any, path: Path) -> str:
    """Save `obj` with skops (deflate-compressed); returns the file's SHA-256."""
    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sio.dump(obj, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    tmp.replace(path)  # a crash mid-write never leaves a half file under the real name
    return sha256_file(path)


def record_files(manifest: dict, folder: Path, names: Iterable[str]) -> dict:
    """Write the model files' SHA-256 into `manifest` (in place, also returned)."""
    manifest["model_format"] = FORMAT
    manifest["files"] = {n: sha256_file(folder / n) for n in names}
    return manifest


def read_manifest(path: Path, fix: str) -> dict:
    """A model folder's manifest.json as a dict, or a one-line error naming it."""
    import json

    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(path, f"is unreadable ({type(exc).__name__})", fix) from None
    if not isinstance(manifest, dict):
        raise ModelError(path, "is not a model manifest (a JSON object)", fix)
    return manifest


def verify(folder: Path, manifest: dict, name: str, fix: str) -> Path:
    """The path of model file `name` once it is present and matches the manifest's SHA-256."""
    path = folder / name
    files = manifest.get("files")
    if not isinstance(files, dict) or name not in files:
        raise ModelError(folder / MANIFEST, f"records no SHA-256 for {name} (a model saved before model files were checked, or an edited manifest)", fix)
    if not path.is_file():
        raise ModelError(path, "model file is missing", fix)
    if sha256_file(path) != files[name]:
        raise ModelError(path, "does not match the SHA-256 recorded in manifest.json: the file was changed after training", fix)
    return path


def load(path: Path, trusted: Iterable[str], fix: str) -> Any:
    """Load a skops file if every type it holds is a default-trusted one or in `trusted`.

    The types are read from the file's schema first; nothing is constructed when any is not
    allowed, and a file that is not a skops archive (a pickle, say) is never unpickled."""
    import skops.io as sio

    trusted = sorted(set(trusted))
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(info.file_size for info in z.infolist())
        if unpacked > MAX_UNPACKED:
            raise ModelError(path, f"would unpack to {unpacked >> 20} MiB, far more than any model of this tool", fix)
        untrusted = sio.get_untrusted_types(file=path)
    except ModelError:
        raise
    except zipfile.BadZipFile:
        hint = " (it looks like a pickle, which is never loaded because unpickling can run code)" if _looks_like_pickle(path) else ""
        raise ModelError(path, f"is not a skops model file{hint}", fix) from None
    except Exception as exc:
        raise ModelError(path, f"model file is unreadable ({type(exc).__name__})", fix) from None
    refused = sorted(set(untrusted) - set(trusted))
    if refused:
        # type names come from the file: shown plain and short, so they cannot drive the terminal
        shown = ", ".join(re.sub(r"[^\w.\[\], -]", "?", t)[:120] for t in refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
        raise ModelError(path, f"holds types this model may not contain ({shown}); it was not loaded", fix)
    try:
        return sio.load(path, trusted=trusted)
    except Exception as exc:
        raise ModelError(path, f"model file is unreadable ({type(exc).__name__})", fix) from None


def refuse_pickle(path: Path, fix: str) -> None:
    """An old pickled model: name it and how to convert or replace it, never unpickle it."""
    raise ModelError(
        path,
        "is an old pickled model, which is never loaded because unpickling can run code",
        f"If you trust where it came from, convert it with `python scripts/convert_models.py {path.parent}`; otherwise {fix[0].lower() + fix[1:] if fix else 'retrain'}",
    )


def _looks_like_pickle(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError:
        return False
    return head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"]", b"}")
