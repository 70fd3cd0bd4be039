"""Framework files: YAML, validated on load, with errors that name the file and line.

A framework is referred to by id (a file in `corpora/frameworks/`) or by the path to a user's own
YAML file, wherever either is accepted.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import FrameworkError
from .types import Framework, Indicator

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS_DIR = ROOT / "corpora" / "frameworks"
EXTRA_LIST_KEYS = ("positive_indicators", "evidence_requirements", "maps_to", "evidence_forms")


class _LineLoader(yaml.SafeLoader):
    """Records each mapping's line so that validation errors can point at it."""

    def construct_mapping(self, node, deep=False):  # noqa: D401 - PyYAML hook
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def builtin_ids() -> list[str]:
    return sorted(p.stem for p in FRAMEWORKS_DIR.glob("*.yaml"))


def _extra_texts(raw: dict, path: Path | None = None) -> tuple[str, ...]:
    out: list[str] = []
    for key in EXTRA_LIST_KEYS:
        items = raw.get(key) or []
        if not isinstance(items, list):
            raise FrameworkError(path, f"'{key}' of indicator {str(raw.get('id'))[:40]!r} must be a list", f"Write each entry as '- text' under '{key}:'", line=raw.get("__line__"))
        for item in items:
            text = item.get("text") if isinstance(item, dict) else item
            if isinstance(text, str) and text.strip():
                out.append(" ".join(text.split()))
    return tuple(out)


def load_framework_file(path: str | Path) -> Framework:
    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise FrameworkError(path, "framework file not found", f"Use a path to a YAML file or one of: {', '.join(builtin_ids())}") from None
    try:
        data = yaml.load(content.decode("utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrameworkError(path, f"invalid YAML ({problem})", "Fix the syntax at that line (quote texts that contain ': ')", line=mark.line + 1 if mark else None) from None
    except UnicodeDecodeError:
        raise FrameworkError(path, "is not UTF-8 text", "Save the framework file as UTF-8") from None
    if not isinstance(data, dict):
        raise FrameworkError(path, "is not a framework: the top level must be a mapping with id, name and indicators", "See corpora/frameworks/*.yaml for the layout")
    for key in ("id", "name", "indicators"):
        if data.get(key) is None or data.get(key) == "":
            raise FrameworkError(path, f"missing required key '{key}'", "Add it at the top level", line=data.get("__line__"))
    if data["indicators"] == []:
        raise FrameworkError(path, "has no indicators", "List at least one indicator under 'indicators'", line=data.get("__line__"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}", str(data["id"])):
        raise FrameworkError(path, f"framework id {str(data['id'])[:40]!r} is not a plain name", "Use letters, digits, '.', '_' or '-' only (it names report files)", line=data.get("__line__"))
    if not isinstance(data["indicators"], list):
        raise FrameworkError(path, "'indicators' must be a list", "Write each indicator as '- id: ...'")

    indicators: list[Indicator] = []
    seen: dict[str, int] = {}
    for raw in data["indicators"]:
        if not isinstance(raw, dict):
            raise FrameworkError(path, "an indicator is not a mapping", "Each indicator needs id, parent, title and text")
        line = raw.get("__line__")
        iid = raw.get("id")
        if not isinstance(iid, (str, int, float)) or not str(iid).strip():
            raise FrameworkError(path, "indicator without an id", "Give every indicator a unique 'id'", line=line)
        iid = str(iid).strip()
        if iid in seen:
            raise FrameworkError(path, f"duplicate indicator id '{iid}' (first at line {seen[iid]})", "Make indicator ids unique", line=line)
        seen[iid] = line
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameworkError(path, f"indicator '{iid}' has empty text", "Give it the framework's own wording in 'text'", line=line)
        parent = raw.get("parent")
        indicators.append(
            Indicator(
                id=iid,
                parent=str(parent).strip() if parent is not None else None,
                title=" ".join(str(raw.get("title") or iid).split()),
                text=" ".join(text.split()),
                level=str(raw.get("level") or ""),
                extra=_extra_texts(raw, path),
                audience=str(raw.get("audience") or raw.get("stakeholder") or "").strip(),
            )
        )
    for ind in indicators:
        if ind.parent is not None and ind.parent not in seen:
            raise FrameworkError(path, f"indicator '{ind.id}' names unknown parent '{ind.parent}'", "Use the id of an indicator in this file, or null for a top-level one", line=seen[ind.id])
    by_id = {i.id: i for i in indicators}
    for ind in indicators:  # a parent chain must end at a root
        chain, cur = {ind.id}, ind
        while cur.parent is not None:
            if cur.parent in chain:
                raise FrameworkError(path, f"indicator '{ind.id}' is its own ancestor", "Break the cycle in 'parent'", line=seen[ind.id])
            chain.add(cur.parent)
            cur = by_id[cur.parent]

    audiences, default_audiences = _audiences(path, data, indicators, seen)
    # an indicator without its own audience takes its parent's
    resolved: list[Indicator] = []
    for ind in indicators:
        cur = ind
        while not cur.audience and cur.parent is not None:
            cur = by_id[cur.parent]
        resolved.append(ind if ind.audience or not cur.audience else replace(ind, audience=cur.audience))

    return Framework(
        id=str(data["id"]),
        name=str(data["name"]),
        version=str(data.get("version") or ""),
        source=str(data.get("source") or ""),
        path=str(path),
        indicators=resolved,
        content_hash=hashlib.sha256(content).hexdigest(),
        audiences=audiences,
        default_audiences=default_audiences,
        older_editions=_older_editions(path, data),
    )


def _older_editions(path: Path, data: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`older_editions: [{name, cues: [phrases]}]`: plain phrases, never patterns, since a
    framework file is outside input."""
    raw = data.get("older_editions") or []
    out = []
    for item in raw if isinstance(raw, list) else [None]:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("cues"), list)):
            raise FrameworkError(path, "'older_editions' must be a list of {name, cues: [phrases]}", "See corpora/frameworks/concordat-2019.yaml", line=data.get("__line__"))
        out.append((" ".join(item["name"].split()), tuple(str(c) for c in item["cues"] if str(c).strip())))
    return tuple(out)


def _audiences(path: Path, data: dict, indicators: list[Indicator], seen: dict[str, int]) -> tuple[dict[str, str], tuple[str, ...]]:
    """`audiences: {id: label}` and `default_audience: [ids]`: who each indicator is for, so a
    report scopes itself to what the submitting organisation can evidence."""
    raw = data.get("audiences") or {}
    if not isinstance(raw, dict):
        raise FrameworkError(path, "'audiences' must be a mapping of audience id to label", "Write e.g. 'audiences: {institutions: Institutions}'", line=data.get("__line__"))
    audiences = {str(k): " ".join(str(v).split()) for k, v in raw.items() if k != "__line__"}
    for ind in indicators:
        if ind.audience and ind.audience not in audiences:
            raise FrameworkError(path, f"indicator '{ind.id}' names unknown audience '{ind.audience}'", f"Use one of: {', '.join(audiences) or '(declare them under audiences:)'}", line=seen[ind.id])
    default = data.get("default_audience") or list(audiences)
    if isinstance(default, str):
        default = [default]
    if not isinstance(default, list) or any(str(a) not in audiences for a in default):
        raise FrameworkError(path, "'default_audience' must list audience ids declared under 'audiences'", f"Use some of: {', '.join(audiences)}", line=data.get("__line__"))
    return audiences, tuple(str(a) for a in default)


@lru_cache(maxsize=32)
def _load_cached(path: str, mtime: float) -> Framework:
    return load_framework_file(path)


def load_framework(id_or_path: str | Path) -> Framework:
    """A built-in framework by id, or a user's framework file by path."""
    s = str(id_or_path)
    candidate = Path(s)
    if candidate.suffix.lower() in {".yaml", ".yml"} or candidate.exists():
        if not candidate.exists():
            raise FrameworkError(candidate, "framework file not found", f"Check the path, or use a built-in id: {', '.join(builtin_ids())}")
        return _load_cached(str(candidate.resolve()), candidate.stat().st_mtime)
    builtin = FRAMEWORKS_DIR / f"{s}.yaml"
    if not builtin.exists():
        raise FrameworkError(s, "unknown framework id", f"Use one of: {', '.join(builtin_ids())}, or a path to a framework YAML file")
    return _load_cached(str(builtin), builtin.stat().st_mtime)
