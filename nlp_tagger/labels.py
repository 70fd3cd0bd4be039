"""Hand-labelled passages (the shared JSONL format), read from a file or a folder of files.

Every problem is an error naming the file and line: invalid JSON, a missing field, an indicator
id the framework does not have. Nothing is skipped silently, since a skipped label changes a score.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabelError
from .types import Framework, Passage

EVIDENCE_TYPES = ("outcome", "action", "plan", "statement")
REQUIRED = ("doc_id", "framework", "passage", "labels")


@dataclass(frozen=True)
class GoldPassage:
    doc_id: str
    framework: str
    text: str
    labels: tuple[str, ...]
    label_source: str = ""
    page: int = 1
    section: str = ""
    evidence_type: str | None = None
    file: str = ""
    line: int = 0

    def as_passage(self, index: int) -> Passage:
        heading = tuple(s.strip() for s in self.section.split(">") if s.strip())
        return Passage(self.doc_id, index, self.text, self.page, heading, 0, len(self.text))


@dataclass
class GoldSet:
    passages: list[GoldPassage]
    files: list[Path] = field(default_factory=list)

    @property
    def doc_ids(self) -> list[str]:
        return sorted({g.doc_id for g in self.passages})

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for g in self.passages:
            h.update(json.dumps([g.doc_id, g.text, g.labels, g.evidence_type]).encode())  # ASCII: lone surrogates too
        return h.hexdigest()


def _page(value, f: Path, n: int) -> int:
    if value is None or value == "":
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value < 10**7 or value != int(value):
        raise LabelError(f, f"'page' must be a page number, not {str(value)[:20]!r}", "Write e.g. \"page\": 3, or leave it out", line=n)
    return int(value)


def gold_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("*.jsonl"))
        if not files:
            raise LabelError(path, "folder holds no .jsonl label files", "Point --gold at a JSONL file or a folder of them")
        return files
    if not path.exists():
        raise LabelError(path, "gold file not found", "Check the path")
    return [path]


def load_gold(path: str | Path, framework: Framework | None = None) -> GoldSet:
    """Read labels; with `framework`, keep that framework's lines and check every id against it."""
    files = gold_files(path)
    out: list[GoldPassage] = []
    for f in files:
        try:
            # JSON Lines are split on "\n" only: a passage may hold U+2028/U+2029 or other Unicode
            # line separators, which str.splitlines() would cut in the middle of a JSON string
            lines = f.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
        except UnicodeDecodeError:
            raise LabelError(f, "is not UTF-8 text", "Save the label file as UTF-8") from None
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise LabelError(f, f"invalid JSON ({exc.msg} at column {exc.colno})", "Each line must be one JSON object", line=n) from None
            if not isinstance(row, dict):
                raise LabelError(f, "line is not a JSON object", "Each line must be one JSON object", line=n)
            for key in REQUIRED:
                if key not in row:
                    raise LabelError(f, f"missing required field '{key}'", f"Add '{key}' (see shared/corpora/FORMAT.md)", line=n)
            labels = row["labels"]
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise LabelError(f, "'labels' must be a list of indicator ids ([] for none)", "Write e.g. \"labels\": [\"EI1\"]", line=n)
            if not isinstance(row["passage"], str) or not row["passage"].strip():
                raise LabelError(f, "'passage' is empty", "Give the passage text verbatim", line=n)
            if framework is not None and row["framework"] != framework.id:
                continue
            if framework is not None:
                for lab in labels:
                    if lab not in framework:
                        raise LabelError(f, f"unknown indicator id '{lab}' for framework {framework.id}", f"Use an id from {framework.path}", line=n)
            etype = row.get("evidence_type")
            if etype is not None and etype not in EVIDENCE_TYPES:
                raise LabelError(f, f"unknown evidence_type '{etype}'", f"Use one of: {', '.join(EVIDENCE_TYPES)}", line=n)
            out.append(
                GoldPassage(
                    doc_id=str(row["doc_id"]),
                    framework=str(row["framework"]),
                    text=row["passage"],
                    labels=tuple(labels),
                    label_source=str(row.get("label_source") or ""),
                    page=_page(row.get("page"), f, n),
                    section=str(row.get("section") or ""),
                    evidence_type=etype,
                    file=str(f),
                    line=n,
                )
            )
    if framework is not None and not out:
        raise LabelError(path, f"no labelled passages for framework {framework.id}", "Check the 'framework' field of the label lines")
    return GoldSet(out, files)


REVIEW_SOURCE = "review"  # label_source of corrections exported from the HTML report's review


def merge_gold(base: GoldSet, extra: GoldSet) -> GoldSet:
    """`extra` added to `base`; a passage in both (same document, same text) takes `extra`'s
    labels, so a reviewer's correction replaces what was there instead of contradicting it."""
    key = {(g.doc_id, g.text) for g in extra.passages}
    kept = [g for g in base.passages if (g.doc_id, g.text) not in key]
    return GoldSet(kept + list(extra.passages), list(base.files) + [f for f in extra.files if f not in base.files])


def is_review_only(gold: GoldSet) -> bool:
    return bool(gold.passages) and all(g.label_source == REVIEW_SOURCE for g in gold.passages)
