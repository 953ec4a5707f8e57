"""Data that crosses the ingest boundary: source lines, loaded documents, blocks and chunks.

Every piece of text keeps where it came from. A loader yields `SourceLine`s (the text of
one physical line of the file on disk, or of one line of a PDF page / DOCX paragraph);
cleaning turns them into `Block`s whose characters map back to those lines; chunking
cuts blocks into `Chunk`s whose `line_start..line_end` are the lines that hold them.
"""

from __future__ import annotations

import bisect
import enum
import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One line of extracted text and where it sits in the source file."""

    text: str
    line: int  # 1-based line of the file on disk (PDF: line within the page's text)
    page: int | None = None  # 1-based page for PDFs


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A file read into lines, before cleaning."""

    source: str  # file name as shown to users
    doc_id: str  # sha256 of the file's bytes (hex, first 16 chars)
    title: str
    lines: tuple[SourceLine, ...]
    path: str = ""  # where it was read from (informational; never trusted as a path)


class BlockKind(enum.StrEnum):
    """What a cleaned block is; chunking treats each kind differently."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE_ROW = "table_row"


@dataclass(frozen=True, slots=True)
class Block:
    """Cleaned text of one logical unit (a paragraph re-joined from broken lines, a heading,
    a list item or a table row) with a map from character offsets back to source lines.

    `offsets[i]` is the character offset in `text` where the contribution of source line
    `lines[i]` begins; offsets are strictly increasing and start at 0.
    """

    kind: BlockKind
    text: str
    offsets: tuple[int, ...]
    lines: tuple[int, ...]
    page: int | None = None
    level: int = 0  # heading depth (1 = top); 0 for non-headings

    def line_span(self, start: int = 0, end: int | None = None) -> tuple[int, int]:
        """Source lines that hold characters `text[start:end]`."""
        end = len(self.text) if end is None else end
        first = bisect.bisect_right(self.offsets, start) - 1
        last = bisect.bisect_right(self.offsets, max(start, end - 1)) - 1
        return self.lines[max(first, 0)], self.lines[max(last, 0)]


def content_hash(*parts: str, length: int = 16) -> str:
    """Stable short hex digest of text parts (NUL-separated so parts cannot run together)."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def bytes_hash(data: bytes, length: int = 16) -> str:
    """Stable short hex digest of raw bytes (a document's identity)."""
    return hashlib.sha256(data).hexdigest()[:length]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage with exact provenance (the Hit fields less rank and score)."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    section: str | None
    text: str
    line_start: int
    line_end: int
    page: int | None = None
    tokens: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields in CONTRACT order (token count left out: it is internal)."""
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "text": self.text,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "page": self.page,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Chunk:
        """Inverse of `to_dict` (extra keys ignored)."""
        page = data.get("page")
        section = data.get("section")
        return cls(
            chunk_id=str(data["chunk_id"]),
            doc_id=str(data["doc_id"]),
            source=str(data["source"]),
            title=str(data["title"]),
            section=None if section is None else str(section),
            text=str(data["text"]),
            line_start=int(str(data["line_start"])),
            line_end=int(str(data["line_end"])),
            page=None if page is None else int(str(page)),
            tokens=int(str(data.get("tokens", 0))),
        )
