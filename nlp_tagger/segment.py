"""Stage 2: a Document becomes passages, each with page, heading path and character span.

One passage per paragraph, bullet or table row; paragraphs longer than `max_words` are cut at
sentence boundaries (spaCy's rule-based sentencizer: no model to download, and fast) into windows
that each stand alone as evidence.
"""

from __future__ import annotations

from functools import lru_cache

from .types import Block, Document, Passage

SEGMENTER_VERSION = "3"  # 3: a short run of two words is kept; 2: short blocks merged, paragraphs counted per heading; bump when passages change
MAX_WORDS = 90
WINDOW_WORDS = 60
MIN_WORDS = 4
MIN_RUN_WORDS = 2


@lru_cache(maxsize=1)
def _nlp():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    # the rule-based sentencizer needs no parser memory, so spaCy's 1,000,000-character guard
    # (meant for the parser) would only turn a huge unbroken paragraph into a crash
    nlp.max_length = 50_000_000
    return nlp


def _windows(text: str, offset: int, window_words: int) -> list[tuple[int, int]]:
    """Greedy runs of whole sentences up to `window_words`, as absolute (start, end) spans."""
    sents = [(s.start_char, s.end_char, len(s.text.split())) for s in _nlp()(text).sents]
    spans: list[tuple[int, int]] = []
    cur_start, cur_end, cur_words = None, None, 0
    for start, end, n in sents:
        if cur_start is not None and cur_words + n > window_words:
            spans.append((cur_start, cur_end))
            cur_start, cur_words = None, 0
        if cur_start is None:
            cur_start = start
        cur_end, cur_words = end, cur_words + n
    if cur_start is not None:
        spans.append((cur_start, cur_end))
    return [(offset + a, offset + b) for a, b in spans]


def segment(doc: Document, max_words: int = MAX_WORDS, window_words: int = WINDOW_WORDS, min_words: int = MIN_WORDS) -> list[Passage]:
    """Short blocks (a lettered list of one-line items, a two-word table row) are not dropped:
    a run of them under one heading becomes one passage, so a list of short items still counts."""
    passages: list[Passage] = []
    stack: list[tuple[int, str]] = []  # (level, heading text)
    short: list[tuple[Block, int]] = []  # consecutive blocks under min_words, with their ordinals
    para = 0

    def add(start: int, end: int, kind, ordinal: int, line: int) -> None:
        passages.append(
            Passage(
                doc_id=doc.doc_id,
                index=len(passages),
                text=doc.text[start:end],
                page=doc.page_at(start),
                heading_path=tuple(h for _, h in stack),
                start=start,
                end=end,
                kind=kind,
                para=ordinal,
                line=line,
            )
        )

    def flush_short() -> None:
        words = [w for b, _ in short for w in b.text.split() if any(c.isalpha() for c in w)]
        # a run of numbers from a broken table, or a lone word, is not a passage; two words are
        # ("workplace shadowing" in a list of development activities)
        if len(words) >= MIN_RUN_WORDS:
            first = short[0][0]
            add(first.start, short[-1][0].end, first.kind, short[0][1], first.line)
        short.clear()

    for block in doc.blocks:
        if block.kind == "heading":
            flush_short()
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, block.text))
            para = 0  # paragraphs count from each heading, as a reader counts them
            continue
        para += 1
        if len(block.text.split()) < min_words:
            short.append((block, para))
            continue
        flush_short()
        spans = [(block.start, block.end)]
        if block.kind == "paragraph" and len(block.text.split()) > max_words:
            spans = _windows(block.text, block.start, window_words)
        for start, end in spans:
            add(start, end, block.kind, para, block.line)
    flush_short()
    return passages
