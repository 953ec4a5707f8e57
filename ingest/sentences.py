"""Sentence splitting for Chinese, English and mixed text, with character offsets."""

from __future__ import annotations

import re
from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

# A Chinese sentence ends at 。！？；… (and their ASCII twins); an English one at . ! ? that
# is followed by space or the end and not preceded by a digit (decimals, "Fig. 2").
# Closing quotes and brackets stay with the sentence they close.
_SENTENCE_END = re.compile(
    r"(?:[。！？；…]+|[!?;]+(?=\s|$)|(?<![\d.])\.(?=\s|$))[”’」』）)】》\"']*\s*"
)
# Where to cut a sentence that alone is longer than a chunk, coarsest first.
_CLAUSE_SEPARATORS = ["\n", "，", "：", ", ", "、", "；", " ", ""]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Offsets `(start, end)` of each sentence; together they cover `text` exactly."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if end > start:
            spans.append((start, end))
            start = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def split_long_sentence(
    text: str, max_tokens: int, count_tokens: Callable[[str], int]
) -> list[tuple[int, int]]:
    """Cut one over-long sentence at clause boundaries into spans under `max_tokens`.

    LangChain's recursive splitter picks the cut points; its pieces are then located in
    `text` to get offsets, so nothing is re-joined or lost. Pieces are contiguous and cover
    the sentence.
    """
    splitter = RecursiveCharacterTextSplitter(
        separators=_CLAUSE_SEPARATORS,
        chunk_size=max_tokens,
        chunk_overlap=0,
        length_function=count_tokens,
        keep_separator="end",
        strip_whitespace=False,
    )
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in splitter.split_text(text):
        found = text.find(piece, cursor)
        if found < 0 or not piece:
            continue
        end = found + len(piece)
        spans.append((cursor, end))  # any gap (whitespace) joins the piece before
        cursor = end
    if cursor < len(text):
        if spans:
            spans[-1] = (spans[-1][0], len(text))
        else:
            spans.append((0, len(text)))
    return spans
