"""The data that flows one way through the pipeline.

Document -> Passage -> Match -> Evidence -> Coverage. Every stage takes the previous stage's
dataclasses and returns its own, so a notebook can stop at any stage and inspect the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list_item", "table_row"]
# "planned": the evidence found is only intentions, so a writer sees what still needs results
Status = Literal["strong", "weak", "planned", "none"]
Maturity = Literal["outcomes", "actions", "plans", "statements"]
EvidenceType = Literal["outcome", "action", "plan", "statement"]


@dataclass(frozen=True)
class Block:
    """A unit of layout: one heading, paragraph, bullet or table row, on one page.

    `start`/`end` index into `Document.text`, so every character stays traceable to its page.
    """

    text: str
    page: int
    kind: BlockKind
    start: int
    end: int
    level: int = 0  # heading depth (1 = top) for headings; 0 otherwise
    line: int = 0  # PDF: the block's first line on its page (1 = top); 0 where lines mean nothing


@dataclass
class Document:
    doc_id: str
    path: str
    text: str
    blocks: list[Block]
    n_pages: int
    source_format: str
    content_hash: str = ""
    warnings: list[str] = field(default_factory=list)
    # (offset, page): where each block starts, and where a block running over a page end crosses it
    page_marks: list[tuple[int, int]] = field(default_factory=list)

    def page_at(self, offset: int) -> int:
        """The page a character of `text` was printed on."""
        import bisect

        if not 0 <= offset < len(self.text):
            raise ValueError(f"offset {offset} is outside {self.doc_id}")
        i = bisect.bisect_right(self.page_marks, (offset, float("inf"))) - 1
        return self.page_marks[max(i, 0)][1]


@dataclass(frozen=True)
class Passage:
    """A span of a document small enough to be evidence for one or two indicators."""

    doc_id: str
    index: int
    text: str
    page: int
    heading_path: tuple[str, ...]
    start: int
    end: int
    kind: BlockKind = "paragraph"
    para: int = 0  # its block's place under its heading: paragraphs, list items and table rows (1 = first)
    line: int = 0  # PDF only: first line on the page

    @property
    def section(self) -> str:
        return " > ".join(self.heading_path)

    def locator(self, source_format: str = "pdf") -> str:
        """Where a reader finds the passage: page and line in a PDF; section and paragraph in
        text, Markdown and Word files, where every page number would be 1."""
        if source_format == "pdf":
            return f"p. {self.page}" + (f", line {self.line}" if self.line else "")
        where = f"para {self.para}" if self.para else ""
        if self.heading_path:
            where = f"\u00a7 {self.heading_path[-1]}" + (f", {where}" if where else "")
        return where or f"p. {self.page}"


@dataclass(frozen=True)
class Indicator:
    id: str
    parent: str | None
    title: str
    text: str
    level: str = ""
    extra: tuple[str, ...] = ()
    audience: str = ""  # who the indicator asks to act (Concordat: institutions, managers, ...); "" = everyone  # evidence requirements, positive indicators, mapped statements, evidence forms

    def facets(self, parent: "Indicator | None") -> list[str]:
        """Texts embedded for this indicator: its statement, then each requirement or example.

        Each carries the title and parent principle, so a short text keeps its context; matching
        takes the best facet, so a long list of examples does not dilute the statement.
        """
        head = f"{parent.title}: {self.title}" if parent else self.title
        main = self.text if self.text.rstrip(".") == self.title.rstrip(".") else f"{self.title}. {self.text}"
        if parent:
            main = f"{parent.title}: {main}"
        return [main] + [f"{head}. {e}" for e in self.extra]


@dataclass
class Framework:
    id: str
    name: str
    version: str
    source: str
    path: str
    indicators: list[Indicator]
    content_hash: str = ""
    audiences: dict[str, str] = field(default_factory=dict)  # audience id -> label
    default_audiences: tuple[str, ...] = ()  # the scope of a typical submission
    older_editions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, phrases that betray it)

    @property
    def scoring_hash(self) -> str:
        """A hash of what scoring reads (ids, hierarchy, wording): a model stays valid when only
        comments, audiences or notes in the file change."""
        import hashlib
        import json

        rows = [[i.id, i.parent, i.title, i.text, i.level, list(i.extra)] for i in self.indicators]
        return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()

    def __post_init__(self) -> None:
        self._by_id = {i.id: i for i in self.indicators}

    def get(self, indicator_id: str) -> Indicator:
        return self._by_id[indicator_id]

    def __contains__(self, indicator_id: str) -> bool:
        return indicator_id in self._by_id

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.indicators]

    def children(self, indicator_id: str | None) -> list[Indicator]:
        return [i for i in self.indicators if i.parent == indicator_id]

    @property
    def roots(self) -> list[Indicator]:
        return self.children(None)

    @property
    def leaves(self) -> list[Indicator]:
        """Indicators with no children: what passages are scored against."""
        parents = {i.parent for i in self.indicators}
        return [i for i in self.indicators if i.id not in parents]

    def root_of(self, indicator_id: str) -> str:
        ind = self._by_id[indicator_id]
        while ind.parent is not None:
            ind = self._by_id[ind.parent]
        return ind.id

    def ancestors(self, indicator_id: str) -> list[str]:
        out, ind = [], self._by_id[indicator_id]
        while ind.parent is not None:
            out.append(ind.parent)
            ind = self._by_id[ind.parent]
        return out


@dataclass(frozen=True)
class Match:
    """One passage scored against one indicator."""

    passage: Passage
    indicator_id: str
    similarity: float
    score: float  # calibrated probability that the passage evidences the indicator
    rank: int  # 1 = this indicator is the passage's best match


@dataclass(frozen=True)
class Evidence:
    indicator_id: str
    passage: Passage
    score: float
    status: Status
    evidence_type: EvidenceType = "statement"


@dataclass
class IndicatorCoverage:
    indicator: Indicator
    status: Status
    score: float
    evidence: list[Evidence]
    nearest: Passage | None = None  # best passage even below the threshold: what a writer can build on
    maturity: Maturity | None = None  # the furthest its evidence gets: outcomes > actions > plans > statements
    strength: Status = "none"  # strong / weak / none from the score alone, before plans are set apart
    in_scope: bool = True  # False: the indicator is for an audience the document does not speak for


@dataclass
class Coverage:
    document: Document
    framework: Framework
    scorer: str
    indicators: list[IndicatorCoverage]
    n_passages: int
    thresholds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    scope: tuple[str, ...] = ()  # audiences in scope; () = the framework declares none
    scope_reason: str = ""

    def by_id(self) -> dict[str, IndicatorCoverage]:
        return {c.indicator.id: c for c in self.indicators}
