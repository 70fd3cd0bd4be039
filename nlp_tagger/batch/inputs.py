"""What a batch reads: folders (recursive), glob patterns and ZIP archives, safely.

ZIP members are checked before anything is extracted: no absolute paths or `..` (path traversal),
a cap on member count and on total uncompressed size (zip bombs), and a cap on the compression
ratio of any member. Only supported document types are extracted, each into a folder of its own
archive (two archives with the same name never overwrite each other's members).

Careless input is recorded, never fatal: a member that cannot be read (bad CRC, corrupt deflate
stream, encrypted, an unknown compression method) is an input problem naming `archive.zip!member`,
and the rest of the archive and of the batch is still read. A ZIP inside a ZIP is read, one level
deep, with the same guards (and the size budget of the outer archive); deeper ones are recorded as
skipped. An archive with no documents in it is recorded, not passed over in silence. macOS
resource forks (`__MACOSX/`, `._name`) are not documents and are ignored.

Metadata from paths: the year is taken from the file name, else the nearest folder that looks like
a year (`2021`, `2020-21`, `AY2020-21`); the institution is the nearest folder above the file that
does not look like a year, so `inst-a/2021/report.pdf` is institution `inst-a`, year 2021.
"""

from __future__ import annotations

import glob
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InputError
from ..ingest import SUPPORTED

MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_RATIO = 200  # uncompressed / compressed, per member
MAX_ZIP_DEPTH = 1  # a ZIP inside a ZIP is read; one inside that is recorded as skipped
YEAR_RE = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)")
# a folder that names a year or an academic/financial year, not an institution
YEAR_FOLDER_RE = re.compile(r"^(?:(?:AY|FY|year)[ _-]?)?(19[89]\d|20[0-4]\d)(?:\s*[-_/\u2013]\s*(?:\d{2}|\d{4}))?$", re.IGNORECASE)
ZIP_FIX = "Re-create the archive, or extract it and pass the files"


@dataclass(frozen=True)
class Item:
    path: Path  # where the file is on disk (extracted, for ZIP members)
    label: str  # what to call it: the path given, or archive.zip!member
    institution: str | None = None
    year: int | None = None


def is_year_folder(name: str) -> bool:
    return bool(YEAR_FOLDER_RE.match(name.strip()))


def _meta(rel: PurePosixPath | Path) -> tuple[str | None, int | None]:
    """(institution, year) from a path: the year from the file name, else the nearest folder that
    names a year; the institution from the nearest folder that is not a year."""
    parts = [p for p in rel.parts if p not in ("", ".", "..") and not p.endswith(("/", "\\")) and not re.match(r"^[A-Za-z]:\\?$", p)]
    if not parts:
        return None, None
    folders, name = parts[:-1], parts[-1]
    institution = next((f for f in reversed(folders) if not is_year_folder(f)), None)
    m = YEAR_RE.search(name)
    if not m:
        for f in reversed(folders):
            m = YEAR_RE.search(f) if is_year_folder(f) else None
            if m:
                break
    if not m:  # a year anywhere else on the path (e.g. `reports-2019/inst/doc.pdf`)
        m = YEAR_RE.search("/".join(folders))
    return institution, int(m.group(1)) if m else None


def _is_junk(rel: PurePosixPath) -> bool:
    """macOS resource forks and folder metadata: never documents."""
    return "__MACOSX" in rel.parts or rel.name.startswith("._") or rel.name in (".DS_Store", "Thumbs.db")


class _Budget:
    """Uncompressed bytes one top-level archive may still extract, nested archives included."""

    def __init__(self, left: int = MAX_TOTAL_BYTES):
        self.left = left


def _open_zip(archive: Path, label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except Exception as exc:  # noqa: BLE001 - BadZipFile, OSError, EOFError, ValueError...: all mean the same to the user
        raise InputError(label, f"is not a readable ZIP archive ({type(exc).__name__}: {str(exc)[:80]})", ZIP_FIX) from None


def _checked_infos(archive: Path, label: str | None = None, budget: _Budget | None = None) -> list[zipfile.ZipInfo]:
    """Every member, after the traversal and bomb checks; an InputError refuses the archive."""
    label = label or str(archive)
    zf = _open_zip(archive, label)
    with zf:
        infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(label, f"has {len(infos)} members (limit {MAX_MEMBERS})", "Split the archive")
    total = 0
    for info in infos:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", info.filename):
            raise InputError(label, f"member '{info.filename}' would be written outside the extraction folder (path traversal)", "Refusing the whole archive; re-create it with relative paths")
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1024**2:
            raise InputError(label, f"member '{info.filename}' expands {info.file_size // max(info.compress_size, 1)}x (a zip bomb?)", "Refusing the archive")
    limit = budget.left if budget is not None else MAX_TOTAL_BYTES
    if total > limit:
        raise InputError(label, f"expands to {total / 1024**3:.1f} GiB (limit {limit / 1024**3:.1f} GiB left of {MAX_TOTAL_BYTES / 1024**3:.0f} GiB)", "Split the archive")
    if budget is not None:
        budget.left -= total
    return infos


def safe_members(archive: Path) -> list[zipfile.ZipInfo]:
    """The supported document members of a ZIP that passes the safety checks."""
    return [i for i in _checked_infos(archive) if not i.is_dir() and Path(i.filename).suffix.lower() in SUPPORTED]


def _member_problem(exc: BaseException) -> str:
    """What went wrong reading one member, in the user's words."""
    msg = str(exc)
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in msg:
        return "is corrupt: its checksum (CRC-32) does not match its contents"
    if isinstance(exc, zipfile.BadZipFile):
        return f"is corrupt ({msg[:80]})"
    if isinstance(exc, RuntimeError) and "encrypted" in msg:
        return "is encrypted (password-protected)"
    if isinstance(exc, NotImplementedError):
        return f"uses a compression method this tool cannot read ({msg[:60]})"
    if isinstance(exc, EOFError):
        return "is corrupt: its compressed data ends early (a truncated archive?)"
    if type(exc).__name__ in ("error", "LZMAError") or (isinstance(exc, OSError) and "data stream" in msg):
        return f"is corrupt: its compressed data cannot be decompressed ({msg[:60]})"
    return f"cannot be read ({type(exc).__name__}: {msg[:80]})"


class _MemberError(Exception):
    pass


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    if info.flag_bits & 0x1:
        raise _MemberError("is encrypted (password-protected)")
    written = 0
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(dest, "xb") as dst:  # "x": never overwrite a file
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size:  # a lying header: stop at the declared size
                    raise _MemberError("is larger than its header says (a zip bomb?)")
                dst.write(chunk)
    except _MemberError:
        dest.unlink(missing_ok=True)
        raise
    except FileExistsError:  # another member's name on a case-insensitive disk: keep the first
        raise _MemberError("has the same name as another member (ignoring case); only the first is read") from None
    except Exception as exc:  # noqa: BLE001 - one unreadable member never stops the others
        try:
            dest.unlink(missing_ok=True)
        except OSError:
            pass
        raise _MemberError(_member_problem(exc)) from None


def extract_zip(archive: Path, into: Path, label: str | None = None, depth: int = 0, budget: _Budget | None = None,
                meta_prefix: tuple[str, ...] | None = None) -> tuple[list[Item], list[tuple[str, str]]]:
    """The documents in an archive, extracted under `into`, and (label, reason) for each member
    (or the whole archive) that could not be read. Raises InputError when the whole archive is
    refused (unreadable, path traversal, zip bomb)."""
    label = label or str(archive)
    budget = budget or _Budget()
    infos = _checked_infos(archive, label, budget)
    prefix = meta_prefix if meta_prefix is not None else (archive.stem,)
    into.mkdir(parents=True, exist_ok=True)
    target_root = Path(tempfile.mkdtemp(prefix=f"{archive.stem[:40]}-", dir=into)).resolve()  # one folder per archive
    items: list[Item] = []
    problems: list[tuple[str, str]] = []
    n_files = n_documents = 0
    written: set[Path] = set()
    with _open_zip(archive, label) as zf:
        for info in infos:
            if info.is_dir():
                continue
            rel = PurePosixPath(info.filename.replace("\\", "/"))
            if _is_junk(rel):
                continue
            n_files += 1
            member_label = f"{label}!{info.filename}"
            suffix = rel.suffix.lower()
            if suffix != ".zip" and suffix not in SUPPORTED:
                continue
            n_documents += 1
            if suffix == ".zip" and depth >= MAX_ZIP_DEPTH:
                problems.append((member_label, "skipped: a ZIP inside a ZIP inside a ZIP is not read. Extract it and pass it as an input"))
                continue
            dest = (target_root / Path(*rel.parts)).resolve()
            if target_root not in dest.parents:  # belt and braces after the name check
                raise InputError(label, f"member '{info.filename}' escapes the extraction folder", "Refusing the archive")
            if dest in written:
                problems.append((member_label, "skipped: the archive holds another member of the same name, which was read. Re-create the archive with unique names"))
                continue
            try:
                _extract_member(zf, info, dest)
            except _MemberError as exc:
                problems.append((member_label, f"{exc}. {ZIP_FIX}"))
                continue
            written.add(dest)
            parts = (*prefix, *rel.parts)
            if suffix == ".zip":
                try:
                    sub_items, sub_problems = extract_zip(dest, target_root / "_nested", member_label, depth + 1, budget,
                                                          meta_prefix=(*prefix, *rel.parent.parts, rel.stem))
                except InputError as exc:
                    problems.append((member_label, _reason(exc)))
                    continue
                items.extend(sub_items)
                problems.extend(sub_problems)
                continue
            inst, year = _meta(PurePosixPath(*parts))
            items.append(Item(dest, member_label, inst, year))
    if n_files == 0:
        problems.append((label, "is empty: no files in the archive. Check you zipped the right folder"))
    elif n_documents == 0:
        problems.append((label, f"has no PDF, DOCX, TXT or Markdown files ({n_files} other file(s) ignored). Check you zipped the right folder"))
    return items, problems


def _reason(exc: InputError) -> str:
    return f"{exc.problem}. {exc.fix}" if exc.fix else exc.problem


def collect(inputs: list[str], workdir: Path) -> tuple[list[Item], list[tuple[str, str]]]:
    """Items to analyse, and (input, reason) for inputs that cannot be read at all."""
    items: list[Item] = []
    problems: list[tuple[str, str]] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not f.is_file() or _is_junk(PurePosixPath(f.relative_to(p).as_posix())):
                    continue
                if f.suffix.lower() in SUPPORTED:
                    inst, year = _meta(f.relative_to(p))
                    items.append(Item(f, str(f), inst, year))
                elif f.suffix.lower() == ".zip":
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
                sub, sub_problems = collect([m], workdir) if Path(m).is_dir() or m.lower().endswith(".zip") else ([Item(Path(m), m, *_meta(Path(m)))], [])
                items.extend(sub)
                problems.extend(sub_problems)
    return items, problems


def _add_zip(path: Path, workdir: Path, items: list[Item], problems: list[tuple[str, str]]) -> None:
    try:
        got, bad = extract_zip(path, workdir)
    except InputError as exc:
        problems.append((str(path), _reason(exc)))
        return
    items.extend(got)
    problems.extend(bad)
