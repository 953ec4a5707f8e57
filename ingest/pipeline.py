"""Files → loaded documents → clean blocks → chunks: the whole ingest stage for one file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.chunk import ChunkSettings, TokenCounter, chunk_blocks
from ingest.clean import clean_lines
from ingest.document import Chunk, LoadedDocument
from ingest.errors import BadInput, SkippedFile
from ingest.load import SUPPORTED_EXTENSIONS, load_bytes, load_document


@dataclass(frozen=True, slots=True)
class ChunkedDocument:
    """A document and its chunks, ready to index."""

    document: LoadedDocument
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not ingested, and why (one line, shown in the summary)."""

    path: str
    reason: str


def collect_files(paths: Sequence[Path]) -> list[Path]:
    """Expand folders (recursively, hidden entries skipped) into a sorted list of files.

    A path that does not exist is an error (BadInput); files of unsupported types inside
    folders are left out silently, but a file named explicitly is kept so the caller can
    report why it was skipped.
    """
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise BadInput(f"no such file or folder: {path}")
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_EXTENSIONS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def chunk_document(
    document: LoadedDocument, count_tokens: TokenCounter, settings: ChunkSettings | None = None
) -> ChunkedDocument:
    """Clean and chunk one loaded document."""
    blocks = clean_lines(document.lines)
    chunks = chunk_blocks(
        blocks,
        doc_id=document.doc_id,
        source=document.source,
        title=document.title,
        count_tokens=count_tokens,
        settings=settings,
    )
    if not chunks:
        raise SkippedFile("no text left after cleaning")
    return ChunkedDocument(document, tuple(chunks))


def chunk_file(
    path: Path, count_tokens: TokenCounter, settings: ChunkSettings | None = None
) -> ChunkedDocument:
    """Load, clean and chunk one file; raises SkippedFile with a one-line reason."""
    return chunk_document(load_document(path), count_tokens, settings)


def chunk_upload(
    data: bytes, filename: str, count_tokens: TokenCounter, settings: ChunkSettings | None = None
) -> ChunkedDocument:
    """Load, clean and chunk uploaded bytes; the filename only names the document."""
    return chunk_document(load_bytes(data, filename), count_tokens, settings)


def chunk_files(
    files: Iterable[Path], count_tokens: TokenCounter, settings: ChunkSettings | None = None
) -> Iterable[ChunkedDocument | Skipped]:
    """Chunk each file in turn, yielding a Skipped record instead of raising for bad files."""
    for path in files:
        try:
            yield chunk_file(path, count_tokens, settings)
        except SkippedFile as exc:
            yield Skipped(str(path), str(exc))
