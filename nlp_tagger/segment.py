"""Stage 2: a Document becomes passages, each with page, heading path and character span.

One passage per paragraph, bullet or table row; paragraphs longer than `max_words` are cut at
sentence boundaries (spaCy's rule-based sentencizer: no model to download, and fast) into windows
that each stand alone as evidence.
"""

from __future__ import annotations

from functools import lru_cache

from .types import Document, Passage

MAX_WORDS = 90
WINDOW_WORDS = 60
MIN_WORDS = 4


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
    passages: list[Passage] = []
    stack: list[tuple[int, str]] = []  # (level, heading text)
    for block in doc.blocks:
        if block.kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, block.text))
            continue
        if len(block.text.split()) < min_words:
            continue
        spans = [(block.start, block.end)]
        if block.kind == "paragraph" and len(block.text.split()) > max_words:
            spans = _windows(block.text, block.start, window_words)
        for start, end in spans:
            passages.append(
                Passage(
                    doc_id=doc.doc_id,
                    index=len(passages),
                    text=doc.text[start:end],
                    page=doc.page_at(start),
                    heading_path=tuple(h for _, h in stack),
                    start=start,
                    end=end,
                    kind=block.kind,
                )
            )
    return passages
