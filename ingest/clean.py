"""Turn extracted lines into clean blocks: headings, paragraphs, list items, table rows.

Text converted from PDFs breaks sentences at the page's right edge (often with blank lines
between the pieces), repeats page furniture, and mixes HTML, markdown and LaTeX into the
text. `clean_lines` undoes that while remembering, for every character it keeps, which
source line it came from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.document import Block, BlockKind, SourceLine
from ingest.normalize import normalize_line

SENTENCE_END = "。！？；!?;…"
# Closing marks that may follow a sentence end and still end the sentence.
_CLOSERS = "”’」』）)】》\"'"
_CN_NUM = "一二三四五六七八九十百零〇两"

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_CHAPTER = re.compile(rf"^第[{_CN_NUM}\d]+[章篇部分]\s*\S")
_SECTION = re.compile(rf"^第[{_CN_NUM}\d]+节\s*\S")
_CN_ENUM = re.compile(rf"^[{_CN_NUM}]+、\s*\S")
_CN_PAREN_ENUM = re.compile(rf"^[（(][{_CN_NUM}]+[）)]\s*\S")
_DOTTED = re.compile(r"^(\d+(?:\.\d+)+)\.?\s*[^\d.\s%]")
_LIST = re.compile(r"^(?:[-*+•◆◇▲△■□●○▪►✓√]|\d{1,2}[.)、](?!\d)|[（(]\d{1,2}[）)]|[①-⑳])\s*")
_BULLET_ONLY = re.compile(r"^[-*+•◆◇▲△■□●○▪►✓√]+\s*")
# Parentheses are allowed: titles such as "封装技术 (1/3)" carry them.
_PUNCT_INSIDE = re.compile(r"[，。！？；：、,;:!?]")
_NUMBERED_TITLE = re.compile(r"^\d{1,2}[.、]\s*\S")

# A heading is short; longer unpunctuated lines are more likely broken sentences.
MAX_HEADING_CHARS = 40
MAX_BARE_HEADING_WIDTH = 30  # display columns (a CJK character counts two)
BOILERPLATE_MIN_REPEATS = 3
MAX_FOLDED_FURNITURE_CHARS = 24
# Lines shorter than this are labels or list entries, not sentences cut at the right edge;
# 36 columns still catches the narrow two-column pages of journal papers (≈ 44 columns).
MIN_BROKEN_LINE_WIDTH = 36
WRAP_WINDOW = 12  # content lines looked at on each side
WRAP_TOLERANCE = 6  # columns
WRAP_MIN_PEERS = 2


@dataclass(frozen=True, slots=True)
class _Line:
    kind: BlockKind | None  # None for an empty line
    text: str
    line: int
    page: int | None
    level: int = 0


def display_width(text: str) -> int:
    """Columns a line takes on the page: CJK and full-width characters count two."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def ends_sentence(text: str) -> bool:
    """True when `text` ends a sentence (closing quotes and brackets allowed after the mark)."""
    stripped = text.rstrip().rstrip(_CLOSERS)
    if not stripped:
        return False
    last = stripped[-1]
    if last in SENTENCE_END:
        return True
    # An English full stop, not a decimal point or an initial.
    return last == "." and len(stripped) > 2 and not stripped[-2].isdigit()


def heading_level(text: str) -> int:
    """Heading depth of a line by its numbering (0 = not a numbered heading)."""
    if len(text) > MAX_HEADING_CHARS:
        return 0
    if _CHAPTER.match(text):
        return 1
    if _CN_ENUM.match(text) and not ends_sentence(text):
        return 2
    if _SECTION.match(text) or (_CN_PAREN_ENUM.match(text) and not ends_sentence(text)):
        return 3
    if _NUMBERED_TITLE.match(text) and display_width(text) <= MAX_BARE_HEADING_WIDTH + 10:
        if not _PUNCT_INSIDE.search(text[2:]) and not ends_sentence(text):
            return 4  # "2. 日本的引进模式": a numbered title, not a list item
    dotted = _DOTTED.match(text)
    if dotted and not ends_sentence(text):
        return 2 + dotted.group(1).count(".")
    return 0


def _is_bare_heading(text: str) -> bool:
    """A short line without sentence punctuation, like a slide or figure title."""
    return (
        display_width(text) <= MAX_BARE_HEADING_WIDTH
        and not _PUNCT_INSIDE.search(text)
        and not ends_sentence(text)
        and not text.isdigit()
    )


def _classify(raw: SourceLine) -> _Line:
    text = normalize_line(raw.text)
    if not text.replace("\t", "").strip():
        return _Line(None, "", raw.line, raw.page)
    if "\t" in text.strip(" "):
        return _Line(BlockKind.TABLE_ROW, text, raw.line, raw.page)
    md = _MD_HEADING.match(text)
    if md:
        title = _BULLET_ONLY.sub("", md.group(2)).strip()
        if title:
            return _Line(BlockKind.HEADING, title, raw.line, raw.page, level=len(md.group(1)))
        return _Line(None, "", raw.line, raw.page)
    level = heading_level(text)
    if level:
        return _Line(BlockKind.HEADING, text, raw.line, raw.page, level=level)
    if _LIST.match(text):
        return _Line(BlockKind.LIST_ITEM, text, raw.line, raw.page)
    return _Line(BlockKind.PARAGRAPH, text, raw.line, raw.page)


def _boilerplate_keys(lines: Sequence[_Line]) -> set[str]:
    """Lines (digits ignored) repeated many times in one document: page furniture."""
    counts = Counter(_furniture_key(ln.text) for ln in lines if ln.kind is not None)
    return {key for key, n in counts.items() if n >= BOILERPLATE_MIN_REPEATS and len(key) >= 4}


def _furniture_key(text: str) -> str:
    # Page headers and footers differ only in their page number; longer lines must repeat
    # exactly, so a template sentence with different figures is never taken for furniture.
    if len(text) <= MAX_FOLDED_FURNITURE_CHARS and not _PUNCT_INSIDE.search(text):
        return re.sub(r"\d+", "#", text)
    return text


def _glue(left: str, right: str) -> str:
    """Join two pieces of one sentence: no space between CJK, one between Latin words."""
    if left and right and left[-1].isascii() and right[0].isascii() and left[-1] != "-":
        return " "
    return ""


def clean_lines(raw_lines: Sequence[SourceLine]) -> list[Block]:
    """Clean extracted lines into blocks that map back to their source lines.

    Broken sentences are re-joined across line breaks (and the blank lines PDF converters
    put between them) unless the next line is a heading, list item or table row; short
    unpunctuated lines followed by text become headings; page furniture repeated at least
    `BOILERPLATE_MIN_REPEATS` times is kept once; an immediately repeated line is dropped.
    """
    lines = [_classify(raw) for raw in raw_lines]
    furniture = _boilerplate_keys([ln for ln in lines if ln.kind is not BlockKind.TABLE_ROW])
    broken = _wrapped_lines(lines, furniture)
    seen_furniture: set[str] = set()

    blocks: list[Block] = []
    parts: list[_Line] = []  # lines of the paragraph or list item being built

    def flush() -> None:
        if not parts:
            return
        text, offsets = "", []
        for part in parts:
            text += _glue(text, part.text)
            offsets.append(len(text))
            text += part.text
        first = parts[0]
        blocks.append(
            Block(
                kind=first.kind or BlockKind.PARAGRAPH,
                text=text,
                offsets=tuple(offsets),
                lines=tuple(p.line for p in parts),
                page=first.page,
            )
        )
        parts.clear()

    previous_text = ""
    for index, ln in enumerate(lines):
        if ln.kind is None:
            continue
        if ln.text == previous_text and ln.kind is not BlockKind.TABLE_ROW:
            continue  # a line repeated back to back (watermarks, converter echoes)
        previous_text = ln.text
        key = _furniture_key(ln.text)
        if ln.kind is not BlockKind.TABLE_ROW and key in furniture:
            if key in seen_furniture:
                continue
            seen_furniture.add(key)

        kind = ln.kind
        if kind is BlockKind.PARAGRAPH and _is_bare_heading(ln.text):
            nxt = _next_content(lines, index)
            if nxt is not None and nxt.kind is not BlockKind.TABLE_ROW:
                kind = BlockKind.HEADING
        if kind is BlockKind.PARAGRAPH and parts and parts[-1].line in broken:
            parts.append(ln)  # continuation of a sentence broken at the line end
            continue
        flush()
        if kind in (BlockKind.HEADING, BlockKind.TABLE_ROW):
            level = ln.level if kind is BlockKind.HEADING and ln.level else 9
            blocks.append(
                Block(
                    kind=kind,
                    text=ln.text,
                    offsets=(0,),
                    lines=(ln.line,),
                    page=ln.page,
                    level=level if kind is BlockKind.HEADING else 0,
                )
            )
        else:
            parts.append(_Line(kind, ln.text, ln.line, ln.page))
    flush()
    return blocks


def _wrapped_lines(lines: Sequence[_Line], furniture: set[str]) -> set[int]:
    """Source lines that were cut at the page's right edge in the middle of a sentence.

    A PDF page wraps its text at a fixed column, so a cut line stops mid-sentence and has
    neighbours of about the same width that also stop mid-sentence. Requiring such
    neighbours tells a wrapped line from a long list item or caption that simply lacks a
    full stop, across documents with different (or several) column widths.
    """
    open_lines = [
        (i, display_width(ln.text))
        for i, ln in enumerate(lines)
        if ln.kind in (BlockKind.PARAGRAPH, BlockKind.LIST_ITEM)
        and not ends_sentence(ln.text)
        and display_width(ln.text) >= MIN_BROKEN_LINE_WIDTH
        and _furniture_key(ln.text) not in furniture
    ]
    content_rank = {i: r for r, i in enumerate(j for j, ln in enumerate(lines) if ln.kind)}
    broken: set[int] = set()
    for pos, (i, width) in enumerate(open_lines):
        peers = 0
        for j, other in open_lines[max(0, pos - WRAP_WINDOW) : pos + WRAP_WINDOW + 1]:
            close = abs(content_rank[j] - content_rank[i]) <= WRAP_WINDOW
            if j != i and close and abs(other - width) <= WRAP_TOLERANCE:
                peers += 1
        if peers >= WRAP_MIN_PEERS:
            broken.add(lines[i].line)
    return broken


def _next_content(lines: Sequence[_Line], index: int) -> _Line | None:
    for ln in lines[index + 1 :]:
        if ln.kind is not None:
            return ln
    return None
