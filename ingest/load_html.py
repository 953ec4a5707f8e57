"""HTML loading: main text via trafilatura, each line mapped back to the HTML source line.

trafilatura drops boilerplate (navigation, footers) and re-flows text, so its output has no
line numbers. We parse the source once more with the stdlib parser to get its visible text
with whitespace removed plus a char→line map, and find each extracted line in it, in order.
"""

from __future__ import annotations

import bisect
import logging
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import trafilatura

from ingest.document import SourceLine
from ingest.load_text import decode_text

log = logging.getLogger(__name__)

# Contents of these never show up in extracted text (the title is kept apart for the title).
_HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template", "title"})
# Tags that end a run of text in the fallback extractor (inline tags like <b> do not).
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 h3 h4"
    " h5 h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{2,40})""", re.IGNORECASE
)
_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")
# How far ahead of the last match an extracted line is searched for; bounds the cost of
# lines that trafilatura re-worded (they are not found and cost one scan each).
_SEARCH_WINDOW = 200_000
_PREFIX_CHARS = 12
_HEADING_REND = re.compile(r"h([1-6])")


def _squeeze(text: str) -> str:
    """Text with all whitespace and zero-width characters removed (the matching key)."""
    return _INVISIBLE.sub("", text)


def _collapse(text: str) -> str:
    return " ".join(text.split())


class _SourceText(HTMLParser):
    """Visible text of an HTML page with the source line of each piece."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.squeezed: list[str] = []  # pieces of the matching key, one per source-line piece
        self.starts: list[int] = []  # offset of each piece in the joined key
        self.piece_lines: list[int] = []
        self.runs: list[tuple[int, str]] = []  # (line, text or separator) for the fallback
        self.title = ""
        self.h1 = ""
        self._hidden = 0
        self._in_title = False
        self._in_h1 = False
        self._length = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
            self._in_title = self._in_title or tag == "title"
        self._in_h1 = self._in_h1 or (tag == "h1" and not self.h1)
        self._separate(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._separate(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS and self._hidden:
            self._hidden -= 1
            self._in_title = self._in_title and tag != "title"
        self._in_h1 = self._in_h1 and tag != "h1"
        self._separate(tag)

    def handle_data(self, data: str) -> None:
        line = self.getpos()[0]
        if self._in_title:
            self.title += data
        if self._hidden:
            return
        if self._in_h1:
            self.h1 += data
        for offset, piece in enumerate(data.split("\n")):
            self.runs.append((line + offset, piece))
            key = _squeeze(piece)
            if key:
                self.starts.append(self._length)
                self.piece_lines.append(line + offset)
                self.squeezed.append(key)
                self._length += len(key)

    def _separate(self, tag: str) -> None:
        if tag in _CELL_TAGS:
            self.runs.append((self.getpos()[0], "\t"))
        elif tag in _BLOCK_TAGS:
            self.runs.append((self.getpos()[0], " "))

    def line_at(self, offset: int) -> int:
        """Source line of the character at `offset` of the joined key."""
        return self.piece_lines[bisect.bisect_right(self.starts, offset) - 1]

    def fallback_lines(self) -> list[SourceLine]:
        """Visible text grouped by source line; table cells on one line joined by tabs."""
        by_line: dict[int, list[str]] = {}
        for line, text in self.runs:
            by_line.setdefault(line, []).append(text)
        out: list[SourceLine] = []
        for line in sorted(by_line):
            cells = (_collapse(cell) for cell in "".join(by_line[line]).split("\t"))
            text = "\t".join(cell for cell in cells if cell)
            if text:
                out.append(SourceLine(text=text, line=line))
        return out


def _text_of(element: ET.Element, skip: frozenset[str] = frozenset()) -> str:
    """Text inside an element, <lb/> as a newline, children tagged in `skip` left out."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag not in skip:
            parts.append(_text_of(child, skip))
        parts.append(child.tail or "")
    return "".join(parts)


_NESTED_BLOCKS = frozenset({"list", "table", "p", "quote", "head"})


class _Unit:
    """One extracted line: what downstream sees and the texts to look for in the source."""

    def __init__(self, text: str, needles: list[str]) -> None:
        self.text = text
        self.needles = [squeezed for squeezed in map(_squeeze, needles) if squeezed]


def _walk(element: ET.Element, out: list[_Unit]) -> None:
    """Turn trafilatura's XML into lines: `#` headings, `- ` items, tab-joined table rows."""
    tag = element.tag
    if tag == "list":
        for child in element:
            _walk(child, out)
        return
    if tag == "table":
        for row in element.findall("row"):
            cells = [_collapse(_text_of(cell)) for cell in row.findall("cell")]
            cells = [cell for cell in cells if cell]
            if cells:
                out.append(_Unit("\t".join(cells), ["".join(cells), cells[0]]))
        return
    if tag in {"graphic", "ref"}:
        return
    prefix = ""
    if tag == "head":
        match = _HEADING_REND.fullmatch(element.get("rend", "h2"))
        prefix = "#" * (int(match.group(1)) if match else 2) + " "
    elif tag == "item":
        prefix = "- "
    for piece in _text_of(element, _NESTED_BLOCKS).split("\n"):
        text = _collapse(piece)
        if text:
            out.append(_Unit(prefix + text, [text]))
    for child in element:
        if child.tag in _NESTED_BLOCKS:
            _walk(child, out)


def _extract_units(html: str) -> list[_Unit]:
    try:
        xml = trafilatura.extract(
            html,
            output_format="xml",
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            include_formatting=False,
            favor_recall=True,
            deduplicate=False,
            with_metadata=False,
        )
        if not xml:
            return []
        main = ET.fromstring(xml).find("main")
    except Exception as exc:  # any extractor failure (bad markup, lxml limits): use the fallback
        log.warning("trafilatura failed (%s); using plain tag stripping", type(exc).__name__)
        return []
    units: list[_Unit] = []
    for child in [] if main is None else list(main):
        _walk(child, units)
    return units


def _map_lines(units: list[_Unit], source: _SourceText) -> list[SourceLine]:
    """Give each unit the source line where its text starts (else the previous unit's)."""
    key = "".join(source.squeezed)
    cursor, previous = 0, (source.piece_lines[0] if source.piece_lines else 1)
    out: list[SourceLine] = []
    for unit in units:
        needles = unit.needles + [n[:_PREFIX_CHARS] for n in unit.needles[:1]]
        for needle in needles:
            found = key.find(needle, cursor, cursor + _SEARCH_WINDOW + len(needle))
            if found >= 0:
                previous, cursor = source.line_at(found), found + len(needle)
                break
        out.append(SourceLine(text=unit.text, line=previous))
    return out


def load_html(data: bytes) -> tuple[str | None, list[SourceLine]]:
    """Title (<title>, else first <h1>) and main-text lines of an HTML file."""
    match = _META_CHARSET.search(data[:4096])
    text = decode_text(data, hint=match.group(1).decode("ascii") if match else None)
    # The stdlib parser counts only \n; normalise so its numbers match an editor's.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    source = _SourceText()
    source.feed(text)
    source.close()
    title = _collapse(source.title) or _collapse(source.h1) or None
    units = _extract_units(text)
    lines = _map_lines(units, source) if units else source.fallback_lines()
    return title, lines
