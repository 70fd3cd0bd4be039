"""What a batch reads: folders (recursive), glob patterns and ZIP archives, safely.

ZIP members are checked before anything is extracted: no absolute paths or `..` (path traversal),
a cap on member count and on total uncompressed size (zip bombs), and a cap on the compression
ratio of any member. Only supported document types are extracted.
"""

from __future__ import annotations

import glob
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InputError
from ..ingest import SUPPORTED

MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_RATIO = 200  # uncompressed / compressed, per member
YEAR_RE = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)")


@dataclass(frozen=True)
class Item:
    path: Path  # where the file is on disk (extracted, for ZIP members)
    label: str  # what to call it: the path given, or archive.zip!member
    institution: str | None = None
    year: int | None = None


def _meta(rel: PurePosixPath | Path) -> tuple[str | None, int | None]:
    """Institution from the folder a file sits in, year from its name or folders."""
    parts = list(rel.parts)
    m = YEAR_RE.search("/".join(parts))
    institution = parts[-2] if len(parts) >= 2 else None
    return institution, int(m.group(1)) if m else None


def safe_members(archive: Path) -> list[zipfile.ZipInfo]:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise InputError(archive, "is not a readable ZIP archive", "Re-create the archive") from exc
    with zf:
        infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(archive, f"has {len(infos)} members (limit {MAX_MEMBERS})", "Split the archive")
    total = 0
    for info in infos:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", info.filename):
            raise InputError(archive, f"member '{info.filename}' would be written outside the extraction folder (path traversal)", "Refusing the whole archive; re-create it with relative paths")
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1024**2:
            raise InputError(archive, f"member '{info.filename}' expands {info.file_size // max(info.compress_size, 1)}x (a zip bomb?)", "Refusing the archive")
    if total > MAX_TOTAL_BYTES:
        raise InputError(archive, f"expands to {total / 1024**3:.1f} GiB (limit {MAX_TOTAL_BYTES / 1024**3:.0f} GiB)", "Split the archive")
    return [i for i in infos if not i.is_dir() and Path(i.filename).suffix.lower() in SUPPORTED]


def extract_zip(archive: Path, into: Path) -> list[Item]:
    members = safe_members(archive)
    out = []
    target_root = (into / archive.stem).resolve()
    with zipfile.ZipFile(archive) as zf:
        for info in members:
            rel = PurePosixPath(info.filename.replace("\\", "/"))
            dest = (target_root / Path(*rel.parts)).resolve()
            if target_root not in dest.parents:  # belt and braces after the name check
                raise InputError(archive, f"member '{info.filename}' escapes the extraction folder", "Refusing the archive")
            dest.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(dest, "wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size:  # a lying header: stop at the declared size
                        raise InputError(archive, f"member '{info.filename}' is larger than its header says", "Refusing the archive")
                    dst.write(chunk)
            inst, year = _meta(rel)
            out.append(Item(dest, f"{archive}!{info.filename}", inst or archive.stem, year))
    return out


def collect(inputs: list[str], workdir: Path) -> tuple[list[Item], list[tuple[str, str]]]:
    """Items to analyse, and (input, reason) for inputs that cannot be read at all."""
    items: list[Item] = []
    problems: list[tuple[str, str]] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in SUPPORTED:
                    inst, year = _meta(f.relative_to(p))
                    items.append(Item(f, str(f), inst, year))
                elif f.is_file() and f.suffix.lower() == ".zip":
                    _add_zip(f, workdir, items, problems)
        elif p.is_file() and p.suffix.lower() == ".zip":
            _add_zip(p, workdir, items, problems)
        elif p.is_file():
            inst, year = _meta(p)
            items.append(Item(p, str(p), inst if len(p.parts) > 1 else None, year))
        else:
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                problems.append((raw, "no such file, folder or matching pattern"))
            for m in matches:
                sub, sub_problems = collect([m], workdir) if Path(m).is_dir() or m.endswith(".zip") else ([Item(Path(m), m, *_meta(Path(m)))], [])
                items.extend(sub)
                problems.extend(sub_problems)
    return items, problems


def _add_zip(path: Path, workdir: Path, items: list[Item], problems: list[tuple[str, str]]) -> None:
    try:
        items.extend(extract_zip(path, workdir))
    except InputError as exc:
        problems.append((str(path), str(exc)))
